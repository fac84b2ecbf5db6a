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
    // `exists` over a generator projecting something other than a test: refused, with the `if` form.
    let _ = select!(p for p in Product if exists(q.name for q in Product if q.price > p.price));
}
