use nextorm::Entity;

#[derive(Entity)]
struct Product {
    id: i64,
    #[orm(max_len = 64, max_len = 32)]
    name: String,
}

fn main() {}
