use nextorm::prelude::*;
use nextorm_macros::select;

#[derive(Entity)]
pub struct Product {
    #[pk]
    pub id: i64,
    pub name: String,
    pub price: f64,
}

// A failed select! is an expression of an error type: the method calls and the type annotation
// that follow it add no error of their own.
fn main() {
    let names: Vec<String> = select!(p.name for p in Product if p.price as i64 > 3).limit(10).vars().clone();
    let _ = names;
}
