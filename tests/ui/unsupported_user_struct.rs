use nextorm::Entity;

struct Address {
    street: String,
}

#[derive(Entity)]
struct Customer {
    id: i64,
    address: Address,
    previous: Option<Address>,
}

fn main() {}
