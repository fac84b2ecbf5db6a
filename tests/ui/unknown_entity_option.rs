use nextorm::Entity;

#[derive(Entity)]
#[orm(tabel = "products")]
struct Product {
    id: i64,
}

fn main() {}
