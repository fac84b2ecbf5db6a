use nextorm::prelude::*;
use nextorm_macros::{cond, select};

#[derive(Entity)]
pub struct Product {
    #[pk]
    pub id: i64,
    pub name: String,
    pub price: f64,
}

fn main() {
    let _ = select!(p for p in Product).filter(cond!(|p| p.price as i64 > 1));
    let _ = select!(p for p in Product).filter(cond!(p.price > 1.0));
    let _ = select!(p for p in Product).filter(cond!(|p| p.nmae > 1.0));
}
