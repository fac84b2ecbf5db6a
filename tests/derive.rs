//! `#[derive(Entity)]` and `#[derive(DbEnum)]` used through the `nextorm` facade: the metadata
//! they build and the row mapping they implement, checked without a database.

use chrono::NaiveDate;
use nextorm::prelude::*;
use nextorm::{ColumnType, FromRow, FromSql, SqlField, ToValue, Value};
use nextorm_core::RowRead;
use rust_decimal::Decimal;
use std::str::FromStr;

// clippy's `duplicated_attributes` reads the field lists of `#[orm(...)]` as repeated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "products", unique(name, sku), index(price, name), index(name = "idx_custom", stock, price))]
struct Product {
    #[pk]
    id: i64,
    #[orm(max_len = 64)]
    name: String,
    price: f64,
    #[orm(column = "product_sku", unique)]
    sku: String,
    summary: Option<String>,
    #[orm(default = 5)]
    stock: i32,
    #[orm(sql_default = "CURRENT_TIMESTAMP")]
    created: chrono::NaiveDateTime,
    #[orm(precision = 12, scale = 2)]
    cost: rust_decimal::Decimal,
    #[orm(index)]
    a: i32,
    #[orm(index = "my_index_name", default = "x")]
    b: String,
    status: Status,
    level: Option<Level>,
}

/// A composite key, in declaration order; never auto.
#[derive(Entity, Debug, Clone, PartialEq)]
struct OrderLine {
    #[pk]
    order_code: String,
    qty: i32,
    #[orm(pk)]
    line: i32,
}

/// SQL keywords as table and column names; `id` is the key without `#[pk]`.
#[derive(Entity, Debug, Clone, PartialEq)]
struct Order {
    id: i64,
    r#group: String,
}

/// A small integer key, with the `crate = ...` escape hatch spelled as the default.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(crate = "nextorm")]
struct Tag {
    id: i16,
    label: String,
}

/// An integer key that is not auto-increment.
#[derive(Entity, Debug, Clone, PartialEq)]
struct Country {
    #[pk(auto = false)]
    code: i32,
    name: String,
}

#[derive(DbEnum, Debug, Clone, Copy, PartialEq, Default)]
enum Status {
    #[default]
    Active,
    #[orm(rename = "gone")]
    Deleted,
}

#[derive(DbEnum, Debug, Clone, Copy, PartialEq)]
#[orm(int)]
enum Level {
    Low = 1,
    High = 5,
}

/// A row held as values, read the way a driver would.
struct FakeRow(Vec<Value>);

impl FakeRow {
    fn get(&self, idx: usize) -> nextorm::Result<&Value> {
        match self.0.get(idx) {
            Some(Value::Null(_)) => Err(Error::new(ErrorKind::Decode, format!("column {idx} is NULL"))),
            Some(v) => Ok(v),
            None => Err(Error::new(ErrorKind::Decode, format!("no column {idx}"))),
        }
    }
}

fn mismatch<T>(idx: usize, v: &Value) -> nextorm::Result<T> {
    Err(Error::new(ErrorKind::Decode, format!("column {idx} holds {v:?}")))
}

impl RowRead for FakeRow {
    fn column_count(&self) -> usize {
        self.0.len()
    }
    fn column_name(&self, idx: usize) -> String {
        format!("c{idx}")
    }
    fn is_null(&self, idx: usize) -> nextorm::Result<bool> {
        Ok(matches!(self.0.get(idx), Some(Value::Null(_))))
    }
    fn get_bool(&self, idx: usize) -> nextorm::Result<bool> {
        match self.get(idx)? {
            Value::Bool(b) => Ok(*b),
            v => mismatch(idx, v),
        }
    }
    fn get_i64(&self, idx: usize) -> nextorm::Result<i64> {
        match self.get(idx)? {
            Value::Int(i) => Ok(*i),
            v => mismatch(idx, v),
        }
    }
    fn get_f64(&self, idx: usize) -> nextorm::Result<f64> {
        match self.get(idx)? {
            Value::Float(f) => Ok(*f),
            v => mismatch(idx, v),
        }
    }
    fn get_string(&self, idx: usize) -> nextorm::Result<String> {
        match self.get(idx)? {
            Value::Text(s) => Ok(s.clone()),
            v => mismatch(idx, v),
        }
    }
    fn get_bytes(&self, idx: usize) -> nextorm::Result<Vec<u8>> {
        match self.get(idx)? {
            Value::Bytes(b) => Ok(b.clone()),
            v => mismatch(idx, v),
        }
    }
    fn get_decimal(&self, idx: usize) -> nextorm::Result<Decimal> {
        match self.get(idx)? {
            Value::Decimal(d) => Ok(*d),
            v => mismatch(idx, v),
        }
    }
    fn get_date(&self, idx: usize) -> nextorm::Result<NaiveDate> {
        match self.get(idx)? {
            Value::Date(d) => Ok(*d),
            v => mismatch(idx, v),
        }
    }
    fn get_datetime(&self, idx: usize) -> nextorm::Result<chrono::NaiveDateTime> {
        match self.get(idx)? {
            Value::DateTime(t) => Ok(*t),
            v => mismatch(idx, v),
        }
    }
    fn get_timestamp(&self, idx: usize) -> nextorm::Result<chrono::DateTime<chrono::Utc>> {
        match self.get(idx)? {
            Value::Timestamp(t) => Ok(*t),
            v => mismatch(idx, v),
        }
    }
    fn get_uuid(&self, idx: usize) -> nextorm::Result<uuid::Uuid> {
        match self.get(idx)? {
            Value::Uuid(u) => Ok(*u),
            v => mismatch(idx, v),
        }
    }
    fn get_json(&self, idx: usize) -> nextorm::Result<serde_json::Value> {
        match self.get(idx)? {
            Value::Json(j) => Ok(j.clone()),
            v => mismatch(idx, v),
        }
    }
}

fn widget() -> Product {
    Product {
        id: 7,
        name: "Widget".into(),
        price: 9.99,
        sku: "WGT-1".into(),
        summary: None,
        stock: 3,
        created: NaiveDate::from_ymd_opt(2024, 5, 6).unwrap().and_hms_micro_opt(7, 8, 9, 123_456).unwrap(),
        cost: Decimal::from_str("1234.50").unwrap(),
        a: 1,
        b: "b".into(),
        status: Status::Deleted,
        level: Some(Level::High),
    }
}

#[test]
fn product_meta() {
    let meta = Product::meta();
    assert_eq!(meta.name, "Product");
    assert_eq!(meta.table, "products");
    let names: Vec<&str> = meta.columns.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        ["id", "name", "price", "product_sku", "summary", "stock", "created", "cost", "a", "b", "status", "level"]
    );
    let fields: Vec<&str> = meta.columns.iter().map(|c| c.field).collect();
    assert_eq!(fields[3], "sku");
    let types: Vec<ColumnType> = meta.columns.iter().map(|c| c.ty).collect();
    assert_eq!(
        types,
        [
            ColumnType::BigInt,
            ColumnType::Text,
            ColumnType::Double,
            ColumnType::Text,
            ColumnType::Text,
            ColumnType::Int,
            ColumnType::DateTime,
            ColumnType::Decimal,
            ColumnType::Int,
            ColumnType::Text,
            ColumnType::TextEnum(&["Active", "gone"]),
            ColumnType::IntEnum(&[1, 5]),
        ]
    );
    let nullable: Vec<&str> = meta.columns.iter().filter(|c| c.nullable).map(|c| c.name).collect();
    assert_eq!(nullable, ["summary", "level"]);

    assert_eq!(meta.primary_key, &[0]);
    let id = &meta.columns[0];
    assert!(id.primary_key && id.auto);
    assert_eq!(meta.auto_key().map(|c| c.name), Some("id"));
    assert!(meta.columns[1..].iter().all(|c| !c.primary_key && !c.auto));

    assert_eq!(meta.columns[1].max_len, Some(64));
    assert!(meta.columns.iter().filter(|c| c.name != "name").all(|c| c.max_len.is_none()));
    assert_eq!(meta.columns[7].decimal, Some((12, 2)));
    assert!(meta.columns[3].unique);
    assert_eq!(meta.columns.iter().filter(|c| c.unique).count(), 1);
    assert_eq!(meta.columns[8].index, Some(None));
    assert_eq!(meta.columns[9].index, Some(Some("my_index_name")));
    assert_eq!(meta.columns[6].sql_default, Some("CURRENT_TIMESTAMP"));
    assert_eq!(meta.columns.iter().filter(|c| c.sql_default.is_some()).count(), 1);

    let composites: Vec<(Option<&str>, &[&str], bool)> =
        meta.composites.iter().map(|c| (c.name, c.columns, c.unique)).collect();
    assert_eq!(
        composites,
        [
            (None, &["name", "product_sku"][..], true),
            (None, &["price", "name"][..], false),
            (Some("idx_custom"), &["stock", "price"][..], false),
        ]
    );
}

#[test]
fn product_key() {
    let mut p = widget();
    assert_eq!(p.key(), 7);
    assert!(!p.key_is_unset());
    p.id = 0;
    assert!(p.key_is_unset());
    p.set_generated_key(42).unwrap();
    assert_eq!(p.id, 42);
    assert!(!p.key_is_unset());
}

#[test]
fn column_values_are_checked_and_in_order() {
    let values = widget().column_values().unwrap();
    assert_eq!(
        values,
        [
            Value::Int(7),
            Value::Text("Widget".into()),
            Value::Float(9.99),
            Value::Text("WGT-1".into()),
            Value::Null(nextorm_core::Kind::Text),
            Value::Int(3),
            Value::DateTime(NaiveDate::from_ymd_opt(2024, 5, 6).unwrap().and_hms_micro_opt(7, 8, 9, 123_456).unwrap()),
            Value::Decimal(Decimal::from_str("1234.50").unwrap()),
            Value::Int(1),
            Value::Text("b".into()),
            Value::Text("gone".into()),
            Value::Int(5),
        ]
    );

    let mut long = widget();
    long.name = "x".repeat(65);
    let err = long.column_values().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    assert!(err.message().contains("Product.name"), "{err}");
    long.name = "é".repeat(64);
    assert!(long.column_values().is_ok(), "max_len counts characters");

    let mut costly = widget();
    costly.cost = Decimal::from_str("12345678901.5").unwrap();
    let err = costly.column_values().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidValue);
    assert!(err.message().contains("Product.cost"), "{err}");
}

/// The session reaches columns and references only by indexes the metadata hands out, so any
/// other index is a bug in nextorm, not the caller's doing.
#[test]
fn column_indexes_the_metadata_never_gives_are_internal_errors() {
    let mut p = widget();
    assert_eq!(p.column_value_at(99).unwrap_err().kind(), ErrorKind::Internal);
    assert_eq!(p.clear_reference(0).unwrap_err().kind(), ErrorKind::Internal, "the key is no reference");
    assert_eq!(p.set_reference(0, &()).unwrap_err().kind(), ErrorKind::Internal, "the key is no reference");
    assert!(p.column_value_at(99).unwrap_err().to_string().contains("a bug in nextorm"));
}

#[test]
fn rows_round_trip() {
    let p = widget();
    let row = FakeRow(p.column_values().unwrap());
    assert_eq!(Product::from_row(&row).unwrap(), p);

    // Read at an offset, as a join would.
    let mut shifted = vec![Value::Text("first".into()), Value::Int(0)];
    shifted.extend(p.column_values().unwrap());
    assert_eq!(Product::from_row_at(&FakeRow(shifted), 2).unwrap(), p);

    // A bad value names the entity, the field and the column.
    let mut values = p.column_values().unwrap();
    values[10] = Value::Text("nope".into());
    let err = Product::from_row(&FakeRow(values)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.message().contains("Product.status (column `status`)"), "{err}");
    assert!(err.message().contains("unknown value \"nope\" for enum `Status`"), "{err}");
}

#[test]
fn default_uses_the_given_values() {
    let d = Product::default();
    assert_eq!(d.stock, 5);
    assert_eq!(d.b, "x");
    assert_eq!(d.id, 0);
    assert_eq!(d.name, "");
    assert_eq!(d.summary, None);
    assert_eq!(d.status, Status::Active);
    assert_eq!(d.level, None);
}

#[test]
fn composite_key() {
    let meta = OrderLine::meta();
    assert_eq!(meta.table, "order_line");
    assert_eq!(meta.primary_key, &[0, 2]);
    assert!(meta.auto_key().is_none());
    let key_names: Vec<&str> = meta.key_columns().map(|c| c.name).collect();
    assert_eq!(key_names, ["order_code", "line"]);

    let mut l = OrderLine { order_code: "A-1".into(), qty: 2, line: 3 };
    let key: (String, i32) = l.key();
    assert_eq!(key, ("A-1".to_owned(), 3));
    assert_eq!(nextorm::Key::key_values(&key).unwrap(), [Value::Text("A-1".into()), Value::Int(3)]);
    assert!(!l.key_is_unset());
    l.set_generated_key(99).unwrap();
    assert_eq!(l, OrderLine { order_code: "A-1".into(), qty: 2, line: 3 });
}

#[test]
fn keyword_names() {
    let meta = Order::meta();
    assert_eq!(meta.table, "order");
    assert_eq!(meta.columns[1].name, "group");
    assert_eq!(meta.columns[1].field, "group");
    assert_eq!(meta.primary_key, &[0]);
    assert!(meta.columns[0].auto);
    let o = Order { id: 1, r#group: "g".into() };
    let back = Order::from_row(&FakeRow(o.column_values().unwrap())).unwrap();
    assert_eq!(back, o);
}

#[test]
fn generated_key_that_does_not_fit() {
    let mut t = Tag { id: 0, label: "x".into() };
    assert!(Tag::meta().columns[0].auto);
    assert_eq!(Tag::meta().columns[0].ty, ColumnType::SmallInt);
    let err = t.set_generated_key(i64::from(i16::MAX) + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    t.set_generated_key(12).unwrap();
    assert_eq!(t.id, 12);
}

#[test]
fn integer_key_with_auto_off() {
    let meta = Country::meta();
    assert_eq!(meta.primary_key, &[0]);
    assert!(!meta.columns[0].auto);
    assert!(meta.auto_key().is_none());
    let mut c = Country { code: 0, name: "x".into() };
    assert!(!c.key_is_unset());
    c.set_generated_key(5).unwrap();
    assert_eq!(c.code, 0);
}

#[test]
fn db_enum_text_round_trip() {
    assert_eq!(<Status as SqlField>::COLUMN_TYPE, ColumnType::TextEnum(&["Active", "gone"]));
    const { assert!(!<Status as SqlField>::NULLABLE) };
    for (s, text) in [(Status::Active, "Active"), (Status::Deleted, "gone")] {
        let v = s.to_value().unwrap();
        assert_eq!(v, Value::Text(text.into()));
        assert_eq!(Status::from_sql(&FakeRow(vec![v]), 0).unwrap(), s);
    }
    let err = Status::from_sql(&FakeRow(vec![Value::Text("Deleted".into())]), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.message(), "unknown value \"Deleted\" for enum `Status`");
}

#[test]
fn db_enum_int_round_trip() {
    assert_eq!(<Level as SqlField>::COLUMN_TYPE, ColumnType::IntEnum(&[1, 5]));
    for (l, i) in [(Level::Low, 1), (Level::High, 5)] {
        let v = l.to_value().unwrap();
        assert_eq!(v, Value::Int(i));
        assert_eq!(Level::from_sql(&FakeRow(vec![v]), 0).unwrap(), l);
    }
    let err = Level::from_sql(&FakeRow(vec![Value::Int(2)]), 0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.message(), "unknown value 2 for enum `Level`");
    assert_eq!(
        <Option<Level> as FromSql>::from_sql(&FakeRow(vec![Value::Null(nextorm_core::Kind::Int)]), 0).unwrap(),
        None
    );
}

#[test]
fn entities_are_registered() {
    let tables: Vec<&str> = nextorm::registered_entities().iter().map(|m| m.table).collect();
    for table in ["products", "order_line", "order", "tag", "country"] {
        assert!(tables.contains(&table), "{table} missing from {tables:?}");
    }
    let core_tables: Vec<&str> = nextorm_core::registered_entities().iter().map(|m| m.table).collect();
    assert_eq!(tables, core_tables);
}

/// Every token of this entity, types included, comes from a `macro_rules!` body.
macro_rules! entity_from_macro {
    ($field_ty:ty) => {
        #[derive(Entity, Debug, Clone, PartialEq)]
        struct FromMacro {
            id: i64,
            label: String,
            extra: $field_ty,
        }
    };
}
entity_from_macro!(Option<i32>);

#[test]
fn entity_declared_by_a_macro() {
    let e = FromMacro { id: 3, label: "m".into(), extra: Some(1) };
    let back = FromMacro::from_row(&FakeRow(e.column_values().unwrap())).unwrap();
    assert_eq!(back, e);
    assert_eq!(FromMacro::meta().table, "from_macro");
    assert!(FromMacro::meta().columns[2].nullable);
}
