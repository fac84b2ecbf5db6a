// Every form of the expansion contract, type-checked against the real query layer.
use nextorm::Dialect;
use nextorm::prelude::*;
use nextorm_macros::{cond, select};

#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Product {
    #[pk]
    pub id: i64,
    pub name: String,
    pub price: f64,
    pub stock: i32,
    pub nickname: Option<String>,
}

#[derive(Entity, Debug, Clone, PartialEq)]
pub struct Sale {
    #[pk]
    pub id: i64,
    pub product: i64,
    pub qty: i32,
    pub code: String,
}

fn sql<R: Send + 'static, V: Clone>(q: &nextorm::query::Query<R, V>) -> String {
    q.sql(Dialect::Sqlite).text.to_string()
}

fn main() {
    let prefix = "W";
    let max_price = 20.0;
    let ids = vec![1_i64, 2, 3];
    let lo = 1;

    let q = select!(p for p in Product if p.price < max_price && p.name.starts_with(prefix));
    println!("{}", sql(&q));
    let q = select!((p.name, p.price * 2 + 1.5, -p.stock) for p in Product if !(p.stock > 3) || p.id % 2 == 0);
    println!("{}", sql(&q));
    let q = select!((p.name, count(), sum(s.qty), avg(s.qty), min(s.qty), max(s.qty), count(s.code))
        for p in Product for s in Sale if s.product == p.id if count() > 1);
    println!("{}", sql(&q));
    let q = select!((group_concat(s.code), group_concat(s.code, "; ")) for s in Sale);
    println!("{}", sql(&q));
    let q = select!(p.name for p in Product
        if exists(s for s in Sale if s.product == p.id && s.qty > lo)
        && p.id.is_in(s.product for s in Sale)
        && p.id.not_in(&ids)
        && p.id.is_in([1, 2])
        && count(s for s in Sale if s.product == p.id) >= 2
        && p.stock > sum(s.qty for s in Sale)
        && p.price > avg(x.price for x in Product)
        && p.stock >= min(s.qty for s in Sale)
        && p.stock <= max(s.qty for s in Sale)
        && group_concat(s.code for s in Sale, ",") != "");
    println!("{}", sql(&q));
    let q = select!((p.name[0..3], p.name[2..], p.name[..4], p.name[0..=lo],
        if p.price > 100.0 { "high" } else if p.price > 10.0 { "mid" } else { "low" },
        coalesce(p.nickname, p.name), raw_sql::<i64>("abs({}) + {}", p.stock, 1))
        for p in Product if between(p.price, 1.0, max_price) && raw_sql::<bool>("random() > 0"));
    println!("{}", sql(&q));
    let q = select!(p for p in Product).filter(cond!(|p| p.price > 10.0 && p.name != "x"));
    println!("{}", sql(&q));
    let q = select!((p, s) for p in Product for s in Sale).filter(cond!(|(p, s)| p.id == s.product));
    println!("{}", sql(&q));
    let q = select!(p.name.to_uppercase() for p in Product if p.name.len() > 3 && p.nickname.is_none());
    println!("{}", sql(&q));
}
