//! The metadata of an entity's columns: one [`ColumnMeta`] per mapped field, and the composite
//! keys and indexes ([`CompositeMeta`]).

use crate::value::ColumnType;

/// One mapped field.
#[derive(Debug)]
pub struct ColumnMeta {
    /// The Rust field name.
    pub field: &'static str,
    /// The column name.
    pub name: &'static str,
    /// The column type.
    pub ty: ColumnType,
    /// Whether the column accepts `NULL` (`Option<T>` fields).
    pub nullable: bool,
    /// Part of the primary key.
    pub primary_key: bool,
    /// The auto-increment key.
    pub auto: bool,
    /// Part of a session's optimistic check (`#[orm(optimistic = false)]` leaves it out, for
    /// columns other writers change by design, such as a last-seen time).
    pub optimistic: bool,
    /// The longest string accepted, in characters (`max_len`).
    pub max_len: Option<u32>,
    /// Precision and scale of a decimal column.
    pub decimal: Option<(u32, u32)>,
    /// A single-column unique key.
    pub unique: bool,
    /// A single-column index, with its name if one was given.
    pub index: Option<Option<&'static str>>,
    /// A raw SQL `DEFAULT` for the DDL.
    pub sql_default: Option<&'static str>,
    /// The column's previous name (`#[orm(renamed_from = "old")]`): a migration renames that
    /// column rather than dropping it and adding this one.
    pub renamed_from: Option<&'static str>,
    /// The SQL type written in the DDL in place of the dialect's own (`sql_type = "..."`).
    pub sql_type: Option<&'static str>,
    /// A raw SQL condition the DDL declares as the column's `CHECK` (`check = "..."`).
    pub check: Option<&'static str>,
    /// The smallest value accepted (`min = ..`): checked before a value is sent, and a `CHECK`.
    pub min: Option<Limit>,
    /// The largest value accepted (`max = ..`): checked before a value is sent, and a `CHECK`.
    pub max: Option<Limit>,
    /// Left out of the `SELECT`s that load objects into a session (`#[orm(lazy)]`, Pony's
    /// `lazy=True`): the first read of the field loads it, for every object of the entity the
    /// session holds without it. Runtime only: the DDL does not change.
    pub lazy: bool,
    /// Changed by the database (`#[orm(volatile)]`: by a trigger, or by other writers by design):
    /// read again after a flush that inserted or updated the object, and never part of the
    /// optimistic check. Runtime only: the DDL does not change.
    pub volatile: bool,
}

/// A bound of a number column (`#[orm(min = 0, max = 99.5)]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// An integer bound.
    Int(i64),
    /// A fractional bound.
    Float(f64),
}

impl std::fmt::Display for Limit {
    /// The bound as an SQL number literal: `0`, `-5`, `99.5`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Int(n) => write!(f, "{n}"),
            Limit::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// A composite unique key or index declared on the entity.
#[derive(Debug)]
pub struct CompositeMeta {
    /// The given name, if any.
    pub name: Option<&'static str>,
    /// The column names.
    pub columns: &'static [&'static str],
    /// A unique key rather than an index.
    pub unique: bool,
}
