use nextorm::Entity;

#[derive(Entity)]
#[orm(index(name = "by_price", price, stok))]
struct Product {
    id: i64,
    price: f64,
    stock: i32,
}

fn main() {}
