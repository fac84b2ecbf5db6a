//! The SQL nextorm renders, three dialects side by side: DDL and the statements of single-entity
//! CRUD. A change to any of it shows up as an explicit snapshot diff.

#![allow(missing_docs)]

use nextorm::Dialect;
use nextorm::sql::ast::{BinOp, Delete, Expr, Select, Statement};
use nextorm::{Entity, Value};
use nextorm_core::{crud, schema};

#[derive(nextorm::Entity)]
#[orm(unique(maker, sku), index(maker, price))]
struct Product {
    #[pk]
    id: i64,
    #[orm(max_len = 64)]
    name: String,
    #[orm(max_len = 32)]
    maker: String,
    #[orm(column = "product_sku", unique, max_len = 32)]
    sku: String,
    price: f64,
    #[orm(precision = 12, scale = 2)]
    cost: rust_decimal::Decimal,
    summary: Option<String>,
    #[orm(index, sql_default = "0")]
    stock: i32,
    added: chrono::DateTime<chrono::Utc>,
    tags: serde_json::Value,
    ref_id: uuid::Uuid,
    status: Status,
}

#[derive(nextorm::DbEnum)]
enum Status {
    Draft,
    #[orm(rename = "live")]
    Published,
}

/// Reserved words and a composite key.
#[derive(nextorm::Entity)]
struct Order {
    #[pk]
    #[orm(max_len = 10)]
    r#group: String,
    #[pk]
    select: i32,
    from: Option<bool>,
    #[orm(column = "where")]
    condition: Vec<u8>,
}

fn side_by_side(render: impl Fn(Dialect) -> Vec<String>) -> String {
    Dialect::ALL.iter().map(|&d| format!("-- {}\n{}\n", d.name(), render(d).join(";\n"))).collect::<Vec<_>>().join("\n")
}

fn crud_statements(meta: &'static nextorm::EntityMeta, d: Dialect) -> Vec<String> {
    vec![
        crud::insert(meta, d, true).to_owned(),
        crud::insert(meta, d, false).to_owned(),
        crud::select_by_key(meta, d).to_owned(),
        crud::select_all(meta, d).to_owned(),
        crud::update_by_key(meta, d).to_owned(),
        crud::delete_by_key(meta, d).to_owned(),
    ]
}

#[test]
fn product_ddl() {
    insta::assert_snapshot!(side_by_side(|d| schema::create_statements(&[Product::meta()], d).unwrap()));
}

#[test]
fn product_crud() {
    insta::assert_snapshot!(side_by_side(|d| crud_statements(Product::meta(), d)));
}

#[test]
fn reserved_words_and_composite_key_ddl() {
    insta::assert_snapshot!(side_by_side(|d| {
        let mut all = schema::create_statements(&[Order::meta()], d).unwrap();
        all.extend(schema::drop_statements(&[Order::meta()], d));
        all
    }));
}

#[test]
fn reserved_words_and_composite_key_crud() {
    insta::assert_snapshot!(side_by_side(|d| crud_statements(Order::meta(), d)));
}

#[test]
fn values_are_binds_never_text() {
    let stmt = Statement::Select(Select {
        columns: vec![Expr::CountStar],
        from: vec![nextorm::sql::ast::FromItem { table: "product".into(), alias: None, query: None }],
        filter: Some(Expr::Binary {
            op: BinOp::Or,
            lhs: Box::new(Expr::column("name").eq(Expr::Value(Value::Text("x'; DROP TABLE product; --".into())))),
            rhs: Box::new(Expr::IsNull { expr: Box::new(Expr::column("summary")), negated: false }),
        }),
        limit: Some(Expr::Value(Value::Int(1))),
        ..Select::default()
    });
    let stmt2 = Statement::Delete(Delete {
        alias: None,
        table: "product".into(),
        filter: Some(Expr::column("id").eq(Expr::Value(Value::Int(3)))),
    });
    insta::assert_snapshot!(side_by_side(|d| {
        [&stmt, &stmt2]
            .iter()
            .map(|s| {
                let sql = nextorm::sql::render(s, d);
                assert!(!sql.text.contains("DROP"), "a value reached the SQL text");
                format!("{}  -- binds: {:?}", sql.text, sql.binds)
            })
            .collect()
    }));
}
