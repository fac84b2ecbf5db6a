use nextorm::prelude::*;
use nextorm_macros::select;

#[derive(Entity)]
pub struct Customer {
    #[pk]
    pub id: i64,
    pub name: String,
    pub orders: Set<Order>,
}

#[derive(Entity)]
pub struct Order {
    #[pk]
    pub id: i64,
    pub total: f64,
    pub customer: Single<Customer>,
}

fn main() {
    // A field that is not there, and a column that is not a collection: each reported on the
    // user's field token.
    let _ = select!(o for c in Customer for o in c.ordres);
    let _ = select!(o for c in Customer for o in c.name);
    // Counting a column is fine; a collection's members are not numbers to sum.
    let _ = select!((c.name, count(c.orders)) for c in Customer);
    let _ = select!(sum(c.orders) for c in Customer);
}
