use nextorm::prelude::*;
use nextorm_macros::select;

#[derive(Entity)]
pub struct Product {
    #[pk]
    pub id: i64,
    pub name: String,
    pub price: f64,
}

fn main() {
    let _ = select!(p for p in Product if match p.price { _ => true });
}
