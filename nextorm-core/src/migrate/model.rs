//! The schema model: a dialect-neutral description of tables (columns in order, primary key,
//! unique keys, indexes, foreign keys), built from the entities (`migrate/entities.rs`), changed
//! by operations, stored in `migrations/snapshot.toml` and rendered to DDL per dialect.

use crate::ast::{ColumnChecks, OnDelete};
use crate::error::{Error, Result};
use crate::value::DataType;
use serde::{Deserialize, Serialize};

/// A database schema: its tables, in the order they were created.
///
/// ```text
/// [[table]]
/// name = "post"
/// primary_key = ["id"]
///
/// [[table.column]]
/// name = "id"
/// type = "bigint"
/// auto_increment = true
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The tables.
    #[serde(default, rename = "table", skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<Table>,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    /// The table name.
    pub name: String,
    /// The primary-key column names, in key order.
    pub primary_key: Vec<String>,
    /// The columns, in the table's order.
    #[serde(default, rename = "column")]
    pub columns: Vec<Column>,
    /// The unique keys (other than the primary key).
    #[serde(default, rename = "unique", skip_serializing_if = "Vec::is_empty")]
    pub unique_keys: Vec<UniqueKey>,
    /// The (non-unique) indexes.
    #[serde(default, rename = "index", skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// The foreign keys.
    #[serde(default, rename = "foreign_key", skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// The table's own `CHECK`s (`#[orm(check = "...")]` on the struct), beside the columns'.
    #[serde(default, rename = "check", skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<TableCheck>,
}

/// A table's own named `CHECK` (`CONSTRAINT name CHECK (sql)`), which may name several
/// columns. The name is generated from the table and the condition's text
/// (`ck_<table>__<hash>`), so an edited condition is a new check.
///
/// ```text
/// [[table.check]]
/// name = "ck_booking__5e1c09a2"
/// sql = "starts <= ends"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableCheck {
    /// The constraint name.
    pub name: String,
    /// The condition, raw SQL as the entity wrote it.
    pub sql: String,
}

/// One column. In a file its type is a name (`type = "bigint"`: `bool`, `smallint`, `int`,
/// `bigint`, `real`, `double`, `text`, `bytes`, `decimal`, `date`, `datetime`, `timestamp`,
/// `uuid`, `json`), an enum's with its values (`type = "text_enum"`, `values = ["Draft",
/// "live"]`), then `max_len`, `decimal = [precision, scale]`, `nullable`, `auto_increment`,
/// `default`, `sql_type`, `check`, `min` and `max` (number literals as text: `min = "0"`) where
/// they apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ColumnForm", into = "ColumnForm")]
pub struct Column {
    /// The column name.
    pub name: String,
    /// The neutral type; each dialect spells it its own way.
    pub ty: DataType,
    /// The longest text, in characters (`VARCHAR(n)`).
    pub max_len: Option<u32>,
    /// A decimal's precision and scale.
    pub decimal: Option<(u32, u32)>,
    /// Whether `NULL` is allowed.
    pub nullable: bool,
    /// The table's auto-increment key.
    pub auto_increment: bool,
    /// A raw SQL `DEFAULT` expression.
    pub default: Option<String>,
    /// The SQL type as the entity wrote it (`sql_type`), in place of `ty`'s spelling.
    pub sql_type: Option<String>,
    /// The column's `CHECK`s besides an enum's values (`check`, `min`, `max`).
    pub checks: ColumnChecks,
}

/// A column as a file has it: the type's name and an enum's values side by side.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnForm {
    name: String,
    #[serde(rename = "type")]
    ty: TypeName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    values: Option<EnumValues>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_len: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decimal: Option<(u32, u32)>,
    #[serde(default, skip_serializing_if = "is_false")]
    nullable: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    auto_increment: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sql_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    check: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<String>,
}

/// The name of a [`DataType`] in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TypeName {
    Bool,
    #[serde(rename = "smallint")]
    SmallInt,
    Int,
    #[serde(rename = "bigint")]
    BigInt,
    Real,
    Double,
    Text,
    Bytes,
    Decimal,
    Date,
    #[serde(rename = "datetime")]
    DateTime,
    Timestamp,
    Uuid,
    Json,
    TextEnum,
    IntEnum,
}

/// An enum's values: texts or integers.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum EnumValues {
    Texts(Vec<String>),
    Ints(Vec<i64>),
}

impl From<Column> for ColumnForm {
    fn from(c: Column) -> ColumnForm {
        use DataType as D;
        let (ty, values) = match c.ty {
            D::Bool => (TypeName::Bool, None),
            D::SmallInt => (TypeName::SmallInt, None),
            D::Int => (TypeName::Int, None),
            D::BigInt => (TypeName::BigInt, None),
            D::Real => (TypeName::Real, None),
            D::Double => (TypeName::Double, None),
            D::Text => (TypeName::Text, None),
            D::Bytes => (TypeName::Bytes, None),
            D::Decimal => (TypeName::Decimal, None),
            D::Date => (TypeName::Date, None),
            D::DateTime => (TypeName::DateTime, None),
            D::Timestamp => (TypeName::Timestamp, None),
            D::Uuid => (TypeName::Uuid, None),
            D::Json => (TypeName::Json, None),
            D::TextEnum(v) => (TypeName::TextEnum, Some(EnumValues::Texts(v))),
            D::IntEnum(v) => (TypeName::IntEnum, Some(EnumValues::Ints(v))),
        };
        ColumnForm {
            name: c.name,
            ty,
            values,
            max_len: c.max_len,
            decimal: c.decimal,
            nullable: c.nullable,
            auto_increment: c.auto_increment,
            default: c.default,
            sql_type: c.sql_type,
            check: c.checks.sql,
            min: c.checks.min,
            max: c.checks.max,
        }
    }
}

impl TryFrom<ColumnForm> for Column {
    type Error = String;

    fn try_from(f: ColumnForm) -> std::result::Result<Column, String> {
        use TypeName as N;
        let ty = match (f.ty, f.values) {
            (N::TextEnum, Some(EnumValues::Texts(v))) => DataType::TextEnum(v),
            // An empty list reads as texts.
            (N::IntEnum, Some(EnumValues::Ints(v))) => DataType::IntEnum(v),
            (N::IntEnum, Some(EnumValues::Texts(v))) if v.is_empty() => DataType::IntEnum(Vec::new()),
            (N::TextEnum, _) => {
                return Err(format!("column `{}`: a text_enum needs `values`, a list of texts", f.name));
            }
            (N::IntEnum, _) => {
                return Err(format!("column `{}`: an int_enum needs `values`, a list of integers", f.name));
            }
            (_, Some(_)) => return Err(format!("column `{}`: only an enum takes `values`", f.name)),
            (N::Bool, None) => DataType::Bool,
            (N::SmallInt, None) => DataType::SmallInt,
            (N::Int, None) => DataType::Int,
            (N::BigInt, None) => DataType::BigInt,
            (N::Real, None) => DataType::Real,
            (N::Double, None) => DataType::Double,
            (N::Text, None) => DataType::Text,
            (N::Bytes, None) => DataType::Bytes,
            (N::Decimal, None) => DataType::Decimal,
            (N::Date, None) => DataType::Date,
            (N::DateTime, None) => DataType::DateTime,
            (N::Timestamp, None) => DataType::Timestamp,
            (N::Uuid, None) => DataType::Uuid,
            (N::Json, None) => DataType::Json,
        };
        Ok(Column {
            name: f.name,
            ty,
            max_len: f.max_len,
            decimal: f.decimal,
            nullable: f.nullable,
            auto_increment: f.auto_increment,
            default: f.default,
            sql_type: f.sql_type,
            checks: ColumnChecks { sql: f.check, min: f.min, max: f.max },
        })
    }
}

/// A named unique key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniqueKey {
    /// The constraint name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
}

/// A named, non-unique index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// The index name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
}

/// A named foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    /// The constraint name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references: String,
    /// The referenced columns, in the order of `columns`.
    pub referenced_columns: Vec<String>,
    /// What deleting a referenced row does.
    pub on_delete: OnDelete,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Schema {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// The table named `name`, to change it.
    pub fn table_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.tables.iter_mut().find(|t| t.name == name)
    }

    /// The same schema with every list sorted by name: two schemas that differ only in the
    /// order of their tables, columns, keys or indexes (which no statement of nextorm depends
    /// on) have the same normal form.
    pub fn normalized(&self) -> Schema {
        let mut tables = self.tables.clone();
        for t in &mut tables {
            t.columns.sort_by(|a, b| a.name.cmp(&b.name));
            t.unique_keys.sort_by(|a, b| a.name.cmp(&b.name));
            t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
            t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
            t.checks.sort_by(|a, b| a.name.cmp(&b.name));
        }
        tables.sort_by(|a, b| a.name.cmp(&b.name));
        Schema { tables }
    }

    /// The tables ordered so that each comes after the tables its foreign keys refer to, keeping
    /// the schema's order otherwise (PostgreSQL and MariaDB check that a referenced table
    /// exists). A cycle of references is a mapping error: it would need constraints added after
    /// both tables exist.
    pub fn creation_order(&self) -> Result<Vec<&Table>> {
        creation_order(self.tables.iter().collect())
    }
}

/// [`Schema::creation_order`] of some tables: a reference to a table outside them is ignored.
pub(crate) fn creation_order(mut pending: Vec<&Table>) -> Result<Vec<&Table>> {
    let mut order = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = |t: &&Table| {
            t.foreign_keys.iter().all(|fk| fk.references == t.name || !pending.iter().any(|p| p.name == fk.references))
        };
        let Some(i) = pending.iter().position(ready) else {
            let names: Vec<&str> = pending.iter().map(|t| t.name.as_str()).collect();
            return Err(Error::mapping(format!(
                "the tables {} refer to each other in a cycle, which is not supported yet",
                names.join(", ")
            )));
        };
        order.push(pending.remove(i));
    }
    Ok(order)
}

impl Table {
    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column named `name`, to change it.
    pub fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }

    /// Whether the key is one auto-increment column, which the DDL declares with the column.
    pub fn has_auto_key(&self) -> bool {
        self.primary_key.len() == 1 && self.column(&self.primary_key[0]).is_some_and(|c| c.auto_increment)
    }
}

impl Column {
    /// A `NOT NULL` column of type `ty` and nothing else: no length, default, check or
    /// auto-increment; set those with struct update syntax (`Column { nullable: true, ..c }`).
    pub fn new(name: impl Into<String>, ty: DataType) -> Column {
        Column {
            name: name.into(),
            ty,
            max_len: None,
            decimal: None,
            nullable: false,
            auto_increment: false,
            default: None,
            sql_type: None,
            checks: ColumnChecks::default(),
        }
    }

    /// Whether a value of `self`'s type always fits `to`'s without loss: the same type, a wider
    /// integer or float, a longer (or unbounded) text, a decimal with at least as many digits on
    /// both sides of the point, or an enum allowing every value it allowed.
    pub fn fits_in(&self, to: &Column) -> bool {
        use DataType as T;
        let int_rank = |t: &DataType| match t {
            T::SmallInt => Some(1),
            T::Int => Some(2),
            T::BigInt | T::IntEnum(_) => Some(3),
            _ => None,
        };
        match (&self.ty, &to.ty) {
            (T::Text, T::Text) => match (self.max_len, to.max_len) {
                (_, None) => true,
                (Some(a), Some(b)) => a <= b,
                (None, Some(_)) => false,
            },
            (T::TextEnum(values), T::Text) => {
                to.max_len.is_none_or(|n| values.iter().all(|v| v.chars().count() <= n as usize))
            }
            (T::TextEnum(a), T::TextEnum(b)) => a.iter().all(|v| b.contains(v)),
            (T::IntEnum(a), T::IntEnum(b)) => a.iter().all(|v| b.contains(v)),
            (T::Real, T::Double) => true,
            (T::Decimal, T::Decimal) => match (self.decimal, to.decimal) {
                (_, None) => true,
                (Some((p1, s1)), Some((p2, s2))) => s1 <= s2 && p1 - s1 <= p2 - s2,
                (None, Some(_)) => false,
            },
            (a, b) if a == b => true,
            (a, b) => matches!((int_rank(a), int_rank(b)), (Some(x), Some(y)) if x <= y && !matches!(b, T::IntEnum(_))),
        }
    }
}
