use nextorm::Entity;

#[derive(Entity)]
struct Product {
    id: i64,
    #[orm(max_len = 10)]
    stock: i32,
}

fn main() {}
