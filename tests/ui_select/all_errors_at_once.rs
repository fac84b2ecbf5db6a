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
    let _ = select!((p.price as i64, |x: i64| p.id + x) for p in Product for p in Product
        if match p.name { _ => true } && desc(p.id) && sum(max(p.price)) > 1.0 && &p.id == 1);
}
