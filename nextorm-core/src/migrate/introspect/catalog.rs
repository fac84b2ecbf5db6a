//! [`Catalog`]: what one dialect contributes to reading a live schema, its catalog queries and
//! how it spells column types, implemented by `sqlite.rs`, `postgres.rs` and `mariadb.rs`.

use crate::value::DataType;

/// The catalog queries of a dialect. Every column they return is text or `NULL`, so the engine
/// reads each cell the same way; the rows come ordered as listed.
///
/// | query | one row per | columns |
/// | --- | --- | --- |
/// | `columns` | column, by table and position | table, column, type as the database spells it, nullable (`1`/`0`), auto-increment (`1`/`0`), default expression, position in the primary key (`0`: not in it) |
/// | `indexes` | indexed column, by table, index and position; the primary key left out | table, index, unique (`1`/`0`), column (`NULL` for an expression) |
/// | `foreign_keys` | referencing column, by table, key and position | table, key (unique in its table), constraint name (`NULL` where the database keeps none), column, referenced table, referenced column (`NULL`: the referenced primary key's), delete rule (`CASCADE`, `SET NULL`, `RESTRICT`, `NO ACTION` or `SET DEFAULT`) |
///
/// Each reads only the connection's own schema (SQLite's `main`, PostgreSQL's
/// `current_schema()`, MariaDB's `DATABASE()`) and leaves out nextorm's `nextorm_migrations` and
/// SQLite's own `sqlite_%` tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogQueries {
    /// The columns of every table, with nullability, auto-increment, default and key position.
    pub columns: &'static str,
    /// The columns of every index but the primary key's.
    pub indexes: &'static str,
    /// The columns of every foreign key.
    pub foreign_keys: &'static str,
}

/// A column type in the schema model's terms: what a dialect's spelling of it reads back as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlType {
    /// The neutral type.
    pub ty: DataType,
    /// The longest text, for `VARCHAR(n)`.
    pub max_len: Option<u32>,
    /// A decimal's precision and scale.
    pub decimal: Option<(u32, u32)>,
}

impl SqlType {
    /// A type with no length, precision or scale.
    pub(crate) fn plain(ty: DataType) -> SqlType {
        SqlType { ty, max_len: None, decimal: None }
    }
}

/// A type as the database spells it, taken apart: `character varying(100)` is the name
/// `character varying` with the argument 100; `bigint(20) unsigned` is `bigint`, 20 and the
/// suffix `unsigned`. Lower case, spaces collapsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeSpelling {
    /// The name before any parenthesis.
    pub(crate) name: String,
    /// The numbers in parentheses.
    pub(crate) args: Vec<u32>,
    /// What follows the parenthesis.
    pub(crate) suffix: String,
}

impl TypeSpelling {
    /// Takes `spelling` apart; `None` when its parentheses hold anything but numbers.
    pub(crate) fn parse(spelling: &str) -> Option<TypeSpelling> {
        let lower = spelling.trim().to_ascii_lowercase();
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some((name, rest)) = lower.split_once('(') else {
            return Some(TypeSpelling { name: words(&lower), args: Vec::new(), suffix: String::new() });
        };
        let (inside, suffix) = rest.split_once(')')?;
        let args = inside.split(',').map(|a| a.trim().parse().ok()).collect::<Option<Vec<u32>>>()?;
        Some(TypeSpelling { name: words(name), args, suffix: words(suffix) })
    }
}

/// What a dialect contributes to reading a live schema: its catalog queries and how its type
/// spellings read back as the neutral types. The rest (rows into the model, the comparison
/// with the entities) is shared.
pub(crate) trait Catalog {
    /// The dialect's catalog queries.
    fn queries(&self) -> CatalogQueries;

    /// The type a spelling of the catalog reads back as; `None` for a type nextorm never
    /// writes on this dialect.
    fn read_type(&self, spelling: &TypeSpelling) -> Option<SqlType>;
}
