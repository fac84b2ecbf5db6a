//! An entity as JSON (PonyORM's `to_dict`): the JSON shape of each value, [`to_dict`] of a value's
//! columns, the options of a session's `to_dict` with relations ([`DictOptions`]), and, with the
//! `serde` feature, `serde::Serialize` for entities (through the derive; `Handle`'s impl is in
//! `session/handle.rs`).
//!
//! The JSON shape, the same in `to_dict` and `Serialize`: integers, floats, booleans and text
//! as JSON's own; `Decimal` as its exact text (`"12.50"`), since a JSON number is read as a
//! double by most consumers (JavaScript included) and would lose digits; dates and times as
//! ISO 8601 text (`"2024-05-01"`, `"2024-05-01T09:30:00.250"`, `"2024-05-01T09:30:00+00:00"`),
//! JSON having no date type; UUIDs as hyphenated text; bytes as lowercase hex; a reference
//! (`Single`) as the key it holds; `NULL` as `null`.

use crate::entity::{Entity, EntityMeta};
use crate::error::{Error, ErrorKind, Result};
use crate::value::Value;
use serde_json::Value as Json;

/// A JSON object, field name to value.
pub type Dict = serde_json::Map<String, Json>;

/// What a session's `to_dict` puts in (PonyORM's `to_dict(only, exclude, with_collections,
/// related_objects)`): every column by default, a reference as the key it holds; a one-to-one's
/// other side (`HasOne`) as its key or `null`.
///
/// ```text
/// s.to_dict(&customer, &DictOptions::new().with_collections().related_objects())?
/// // {"id": 1, "name": "Ann", "orders": [{"id": 7, "total": "12.50", "customer": 1}]}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DictOptions {
    /// Only these fields (columns or relations), when not empty.
    pub only: Vec<String>,
    /// Not these fields.
    pub exclude: Vec<String>,
    /// Collections (`Set`s) as lists of their members' keys (loaded as `load` does).
    pub with_collections: bool,
    /// References, one-to-one sides and (with `with_collections`) members as nested objects
    /// (their columns, references as keys) rather than keys.
    pub related_objects: bool,
}

impl DictOptions {
    /// Every column, references as keys, no collections.
    pub fn new() -> DictOptions {
        DictOptions::default()
    }

    /// Only these fields.
    pub fn only<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> DictOptions {
        self.only = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Leaves these fields out.
    pub fn exclude<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> DictOptions {
        self.exclude = fields.into_iter().map(Into::into).collect();
        self
    }

    /// Adds the collections, as lists of keys (or of objects with [`DictOptions::related_objects`]).
    pub fn with_collections(mut self) -> DictOptions {
        self.with_collections = true;
        self
    }

    /// Related objects nested as objects rather than keys.
    pub fn related_objects(mut self) -> DictOptions {
        self.related_objects = true;
        self
    }

    /// Whether field `field` goes in.
    pub fn includes(&self, field: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|f| f == field)) && !self.exclude.iter().any(|f| f == field)
    }

    /// Checks that every field named in `only` and `exclude` is a column or relation of `meta`.
    pub fn check_fields(&self, meta: &EntityMeta) -> Result<()> {
        check_fields(meta, self.only.iter().chain(&self.exclude).map(String::as_str))
    }
}

fn check_fields<'a>(meta: &EntityMeta, names: impl IntoIterator<Item = &'a str>) -> Result<()> {
    for name in names {
        if !meta.columns.iter().any(|c| c.field == name) && meta.relation(name).is_none() {
            return Err(Error::new(ErrorKind::Config, format!("{} has no field `{name}`", meta.name)));
        }
    }
    Ok(())
}

/// An entity's fields as a JSON object keyed by field name (PonyORM's `to_dict`): all of them, or
/// only those in `only` when it is not empty, less those in `exclude` (a relation's name is
/// accepted there too; collections need a session's `to_dict`). The values' shape is the
/// module's. A reference to a new object that has no key yet is an
/// [`ErrorKind::InvalidValue`] error naming the field (a session's `to_dict` flushes first).
///
/// ```text
/// to_dict(&product, &[], &["summary"])  // {"id": 1, "name": "Widget", "price": 9.99}
/// ```
pub fn to_dict<E: Entity>(entity: &E, only: &[&str], exclude: &[&str]) -> Result<Dict> {
    let meta = E::meta();
    check_fields(meta, only.iter().chain(exclude).copied())?;
    values_to_dict(meta, entity.column_values()?, |field| {
        (only.is_empty() || only.contains(&field)) && !exclude.contains(&field)
    })
}

/// The columns of `meta` whose field `keep` accepts, from the row's `values` in column order.
pub fn values_to_dict(meta: &EntityMeta, values: Vec<Value>, keep: impl Fn(&str) -> bool) -> Result<Dict> {
    let mut out = Dict::new();
    for (col, value) in meta.columns.iter().zip(values) {
        if keep(col.field) {
            let json = json_of(value).map_err(|e| e.context(format!("{}.{}", meta.name, col.field)))?;
            out.insert(col.field.to_owned(), json);
        }
    }
    Ok(out)
}

/// A key as JSON: its value for a one-column key, an array of them for a composite one.
pub fn key_json(mut key: Vec<Value>) -> Result<Json> {
    if key.len() == 1 {
        json_of(key.remove(0))
    } else {
        Ok(Json::Array(key.into_iter().map(json_of).collect::<Result<_>>()?))
    }
}

/// One value as JSON (see the module for the shape). A value that has none is an
/// [`ErrorKind::InvalidValue`] error: a reference to a new
/// object not saved yet (flush first), or a list, which no column holds.
pub fn json_of(value: Value) -> Result<Json> {
    Ok(match value {
        Value::Null(_) => Json::Null,
        Value::Bool(b) => Json::from(b),
        Value::Int(i) => Json::from(i),
        Value::Float(f) => Json::from(f),
        Value::Text(t) => Json::from(t),
        Value::Bytes(b) => Json::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        Value::Decimal(d) => Json::from(d.to_string()),
        Value::Date(d) => Json::from(d.to_string()),
        Value::DateTime(t) => Json::from(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        Value::Timestamp(t) => Json::from(t.to_rfc3339()),
        Value::Uuid(u) => Json::from(u.to_string()),
        Value::Json(j) => j,
        Value::Invalid(why) => return Err(Error::invalid_value(why)),
        Value::Array(..) => return Err(Error::invalid_value("a list of values is not a column's value")),
    })
}

/// `serde::Serialize` of an entity, as [`to_dict`] shapes it: the derive's impl calls this when
/// nextorm's `serde` feature is on. A value `to_dict` refuses (a string over its `max_len`) is
/// the serializer's error.
#[cfg(feature = "serde")]
pub fn serialize_entity<E: Entity, S: serde::Serializer>(
    entity: &E,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    use serde::Serialize;
    use serde::ser::Error as _;
    to_dict(entity, &[], &[]).map_err(S::Error::custom)?.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_take_the_documented_json_shape() {
        let date = chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap();
        let moment = date.and_hms_micro_opt(9, 30, 0, 250_000).unwrap();
        let shapes = [
            (Value::Decimal("12.50".parse().unwrap()), json!("12.50")),
            (Value::Date(date), json!("2024-05-01")),
            (Value::DateTime(moment), json!("2024-05-01T09:30:00.250")),
            (Value::Timestamp(moment.and_utc()), json!("2024-05-01T09:30:00.250+00:00")),
            (Value::Uuid(uuid::Uuid::from_u128(0xab)), json!("00000000-0000-0000-0000-0000000000ab")),
            (Value::Bytes(vec![0, 255, 16]), json!("00ff10")),
            (Value::Int(i64::MAX), json!(i64::MAX)),
            (Value::Bool(true), json!(true)),
            (Value::Null(crate::value::Kind::Text), json!(null)),
        ];
        for (value, expected) in shapes {
            assert_eq!(json_of(value.clone()).unwrap(), expected, "{value:?}");
        }
        assert_eq!(key_json(vec![Value::Int(3)]).unwrap(), json!(3));
        assert_eq!(key_json(vec![Value::Text("Calculus".into()), Value::Int(1)]).unwrap(), json!(["Calculus", 1]));
    }

    #[test]
    fn a_value_without_a_json_shape_is_refused() {
        let unsaved = Value::Invalid("the reference is to a new Customer that has not been saved".into());
        let e = json_of(unsaved).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::InvalidValue);
        assert!(e.to_string().contains("has not been saved"), "{e}");
        assert!(json_of(Value::Array(crate::value::Kind::Int, vec![Value::Int(1)])).is_err());
        assert!(key_json(vec![Value::Int(1), Value::Invalid("unsaved".into())]).is_err());
    }

    #[test]
    fn options_pick_fields_as_only_and_exclude_say() {
        let all = DictOptions::new();
        assert!(all.includes("id") && all.includes("orders"));
        let some = DictOptions::new().only(["id", "orders"]).exclude(["orders"]).with_collections().related_objects();
        assert!(some.includes("id") && !some.includes("orders") && !some.includes("name"));
        assert!(some.with_collections && some.related_objects);
    }
}
