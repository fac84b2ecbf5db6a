use nextorm::prelude::*;

#[derive(Entity)]
struct Reading {
    #[pk]
    id: i64,
    #[orm(min = 1)]
    name: String,
    #[orm(max = 2.5)]
    count: i32,
    #[orm(min = 10, max = 5)]
    level: Option<i64>,
    #[orm(check = "  ", sql_type = "")]
    note: String,
    #[orm(min = "zero")]
    ratio: f64,
}

fn main() {}
