//! The schema model: a dialect-neutral description of tables (columns in order, primary key,
//! unique keys, indexes, foreign keys), built from the entities (`migrate/entities.rs`), changed
//! by operations, stored in `migrations/snapshot.toml` and rendered to DDL per dialect.

use crate::ast::OnDelete;
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
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    /// The column name.
    pub name: String,
    /// The neutral type; each dialect spells it its own way.
    #[serde(rename = "type")]
    pub ty: DataType,
    /// The longest text, in characters (`VARCHAR(n)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// A decimal's precision and scale, `[12, 2]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal: Option<(u32, u32)>,
    /// Whether `NULL` is allowed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nullable: bool,
    /// The table's auto-increment key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_increment: bool,
    /// A raw SQL `DEFAULT` expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
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
