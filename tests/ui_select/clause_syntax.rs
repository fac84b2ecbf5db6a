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
    let _ = select!(for p in Product);
    let _ = select!(p for p Product);
    let _ = select!(p for p in Product if);
    let _ = select!(p for in Product);
    let _ = select!(p if p.price > 1.0 for p in Product);
}
