use nextorm::Entity;

#[derive(Entity)]
struct Product {
    id: i64,
    #[orm(maxlen = 64)]
    name: String,
}

fn main() {}
