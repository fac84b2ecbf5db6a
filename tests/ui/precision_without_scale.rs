use nextorm::Entity;
use rust_decimal::Decimal;

#[derive(Entity)]
struct Invoice {
    id: i64,
    #[orm(precision = 12)]
    total: Decimal,
}

fn main() {}
