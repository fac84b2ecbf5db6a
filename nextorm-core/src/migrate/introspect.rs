//! A live database's schema read into the schema model. Each dialect's catalog queries and type
//! spellings are in `introspect/{sqlite,postgres,mariadb}.rs` behind one [`Catalog`] trait; the
//! engine runs [`catalog_queries`] and hands the rows to [`LiveSchema::from_catalog`], which is
//! the same for every dialect.
//!
//! | file | its one job |
//! | --- | --- |
//! | `introspect.rs` | the dialect's catalog, and its rows made into a [`LiveSchema`] |
//! | `introspect/catalog.rs` | [`Catalog`]: what a dialect contributes; [`CatalogQueries`], [`SqlType`] |
//! | `introspect/sqlite.rs` | SQLite's pragmas and declared types |
//! | `introspect/postgres.rs` | PostgreSQL's `pg_catalog` and `format_type` spellings |
//! | `introspect/mariadb.rs` | MariaDB's `information_schema` and `COLUMN_TYPE` spellings |

mod catalog;
mod mariadb;
mod postgres;
mod sqlite;

pub use catalog::{CatalogQueries, SqlType};

use super::model::{Column, ForeignKey, Index, Schema, Table, UniqueKey};
use crate::ast::OnDelete;
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use catalog::{Catalog, TypeSpelling};

/// The dialect's [`Catalog`]: the one place a [`Dialect`] is matched to its catalog.
fn catalog(dialect: Dialect) -> &'static dyn Catalog {
    match dialect {
        Dialect::Sqlite => &sqlite::SqliteCatalog,
        Dialect::Postgres => &postgres::PostgresCatalog,
        Dialect::MariaDb => &mariadb::MariaDbCatalog,
    }
}

/// The queries that read `dialect`'s catalog, for [`LiveSchema::from_catalog`].
pub fn catalog_queries(dialect: Dialect) -> CatalogQueries {
    catalog(dialect).queries()
}

/// The type `spelling`, as `dialect`'s catalog reports it, reads back as: `character
/// varying(100)` on PostgreSQL is text of at most 100 characters, `tinyint(1)` on MariaDB a
/// boolean. `None` for a type nextorm never writes on that dialect.
///
/// ```
/// use nextorm_core::migrate::read_type;
/// use nextorm_core::{DataType, Dialect};
/// let t = read_type(Dialect::Postgres, "numeric(10,2)").unwrap();
/// assert_eq!((t.ty, t.decimal), (DataType::Decimal, Some((10, 2))));
/// assert_eq!(read_type(Dialect::MariaDb, "tinyint(1)").unwrap().ty, DataType::Bool);
/// assert_eq!(read_type(Dialect::MariaDb, "bigint(20) unsigned"), None);
/// ```
pub fn read_type(dialect: Dialect, spelling: &str) -> Option<SqlType> {
    catalog(dialect).read_type(&TypeSpelling::parse(spelling)?)
}

/// One row of a catalog query: each column as text, `None` for `NULL`.
pub type CatalogRow = Vec<Option<String>>;

/// The rows of the three [`CatalogQueries`], in the order the queries return them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogRows {
    /// The rows of [`CatalogQueries::columns`].
    pub columns: Vec<CatalogRow>,
    /// The rows of [`CatalogQueries::indexes`].
    pub indexes: Vec<CatalogRow>,
    /// The rows of [`CatalogQueries::foreign_keys`].
    pub foreign_keys: Vec<CatalogRow>,
}

/// A live database's schema: its tables in the schema model, and what the model cannot hold.
/// Constraint names are the database's: the names it gave unnamed keys, and on SQLite, which
/// keeps no foreign-key names, empty ones. Defaults are as the database writes them back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveSchema {
    /// The tables, by name; a column or foreign key in [`LiveSchema::unmapped`] is left out.
    pub schema: Schema,
    /// What the schema model has no words for.
    pub unmapped: Vec<Unmapped>,
}

/// Something of a live schema that nextorm never writes, so the schema model cannot hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmapped {
    /// A column of a type nextorm does not write on this dialect (`mediumint`, `bigint
    /// unsigned`, `citext`).
    ColumnType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The type as the database spells it.
        spelling: String,
        /// Whether it allows `NULL`.
        nullable: bool,
    },
    /// A foreign key whose delete rule nextorm does not write (`SET DEFAULT`).
    DeleteRule {
        /// The referencing table.
        table: String,
        /// The foreign key, with the rule left as `Restrict`.
        foreign_key: ForeignKey,
        /// The rule as the database spells it.
        rule: String,
    },
}

impl LiveSchema {
    /// The live schema from the rows of `dialect`'s [`catalog_queries`]. A row of another shape
    /// than its query's is an internal error.
    pub fn from_catalog(dialect: Dialect, rows: &CatalogRows) -> Result<LiveSchema> {
        let catalog = catalog(dialect);
        let mut live = LiveSchema::default();
        let mut key_positions: Vec<(String, u32, String)> = Vec::new();
        for row in &rows.columns {
            let [table, column, spelling, nullable, auto, default, key_position] = cells("columns", row)?;
            let (table, column) = (required(table)?, required(column)?);
            let spelling = spelling.as_deref().unwrap_or_default();
            let nullable = flag(nullable)?;
            let position: u32 = number(key_position)?;
            if position > 0 {
                key_positions.push((table.to_owned(), position, column.to_owned()));
            }
            // The table is listed even when none of its columns can be.
            let columns = &mut live.table_mut(table).columns;
            match TypeSpelling::parse(spelling).and_then(|s| catalog.read_type(&s)) {
                Some(SqlType { ty, max_len, decimal }) => columns.push(Column {
                    name: column.to_owned(),
                    ty,
                    max_len,
                    decimal,
                    nullable,
                    auto_increment: flag(auto)?,
                    default: default.clone(),
                    // Not read back: `schema_differences` compares neither.
                    sql_type: None,
                    checks: Default::default(),
                }),
                None => live.unmapped.push(Unmapped::ColumnType {
                    table: table.to_owned(),
                    column: column.to_owned(),
                    spelling: spelling.to_owned(),
                    nullable,
                }),
            }
        }
        key_positions.sort();
        for (table, _, column) in key_positions {
            live.table_mut(&table).primary_key.push(column);
        }
        live.read_indexes(&rows.indexes)?;
        live.read_foreign_keys(&rows.foreign_keys)?;
        Ok(live)
    }

    /// The table named `name`, made empty if the rows have not named it yet.
    fn table_mut(&mut self, name: &str) -> &mut Table {
        let tables = &mut self.schema.tables;
        let i = match tables.iter().position(|t| t.name == name) {
            Some(i) => i,
            None => {
                tables.push(Table {
                    name: name.to_owned(),
                    primary_key: Vec::new(),
                    columns: Vec::new(),
                    unique_keys: Vec::new(),
                    indexes: Vec::new(),
                    foreign_keys: Vec::new(),
                    checks: Vec::new(),
                });
                tables.len() - 1
            }
        };
        &mut tables[i]
    }

    /// Unique and other indexes, their columns in order. A column that is an expression is
    /// named by it: `(an expression)`.
    fn read_indexes(&mut self, rows: &[CatalogRow]) -> Result<()> {
        for row in rows {
            let [table, name, unique, column] = cells("indexes", row)?;
            let (table, name, unique) = (required(table)?, required(name)?, flag(unique)?);
            let column = column.clone().unwrap_or_else(|| "(an expression)".to_owned());
            let t = self.table_mut(table);
            if unique {
                match t.unique_keys.iter_mut().find(|u| u.name == name) {
                    Some(u) => u.columns.push(column),
                    None => t.unique_keys.push(UniqueKey { name: name.to_owned(), columns: vec![column] }),
                }
            } else {
                match t.indexes.iter_mut().find(|i| i.name == name) {
                    Some(i) => i.columns.push(column),
                    None => t.indexes.push(Index { name: name.to_owned(), columns: vec![column] }),
                }
            }
        }
        Ok(())
    }

    /// Foreign keys, their columns in order. A referenced column left `NULL` (SQLite's way of
    /// saying "the primary key") is the referenced table's key column at that position.
    fn read_foreign_keys(&mut self, rows: &[CatalogRow]) -> Result<()> {
        // (table, key, rule as spelled, the key so far)
        let mut keys: Vec<(String, String, String, ForeignKey)> = Vec::new();
        for row in rows {
            let [table, key, name, column, references, referenced, rule] = cells("foreign_keys", row)?;
            let (table, key, column) = (required(table)?, required(key)?, required(column)?);
            let (references, rule) = (required(references)?, required(rule)?);
            let i = match keys.iter().position(|(t, k, ..)| t == table && k == key) {
                Some(i) => i,
                None => {
                    let foreign_key = ForeignKey {
                        name: name.clone().unwrap_or_default(),
                        columns: Vec::new(),
                        references: references.to_owned(),
                        referenced_columns: Vec::new(),
                        on_delete: on_delete(rule).unwrap_or(OnDelete::Restrict),
                    };
                    keys.push((table.to_owned(), key.to_owned(), rule.to_owned(), foreign_key));
                    keys.len() - 1
                }
            };
            let fk = &mut keys[i].3;
            let referenced = match referenced {
                Some(c) => c.clone(),
                None => {
                    let position = fk.columns.len();
                    let key = self.schema.table(references).and_then(|t| t.primary_key.get(position));
                    key.cloned().unwrap_or_default()
                }
            };
            fk.columns.push(column.to_owned());
            fk.referenced_columns.push(referenced);
        }
        for (table, _, rule, foreign_key) in keys {
            match on_delete(&rule) {
                Some(_) => self.table_mut(&table).foreign_keys.push(foreign_key),
                None => self.unmapped.push(Unmapped::DeleteRule { table, foreign_key, rule }),
            }
        }
        Ok(())
    }
}

/// The delete rule of a catalog's spelling; `None` for one nextorm never writes (`SET
/// DEFAULT`). nextorm's `Restrict` writes no rule, which a database reports as its default:
/// `NO ACTION` (SQLite, PostgreSQL) or `RESTRICT` (MariaDB).
fn on_delete(rule: &str) -> Option<OnDelete> {
    match rule {
        "CASCADE" => Some(OnDelete::Cascade),
        "SET NULL" => Some(OnDelete::SetNull),
        "RESTRICT" | "NO ACTION" => Some(OnDelete::Restrict),
        _ => None,
    }
}

/// The cells of a row of query `query`, which has `N` columns.
fn cells<'r, const N: usize>(query: &str, row: &'r CatalogRow) -> Result<&'r [Option<String>; N]> {
    row.as_slice().try_into().map_err(|_| {
        Error::internal(format!("a row of the catalog query `{query}` has {} columns, not {N}", row.len()))
    })
}

fn required(cell: &Option<String>) -> Result<&str> {
    cell.as_deref().ok_or_else(|| Error::internal("the catalog returned NULL where it never does"))
}

fn flag(cell: &Option<String>) -> Result<bool> {
    match required(cell)? {
        "1" => Ok(true),
        "0" => Ok(false),
        other => Err(Error::internal(format!("the catalog returned `{other}` for a flag, not 1 or 0"))),
    }
}

fn number(cell: &Option<String>) -> Result<u32> {
    let text = required(cell)?;
    text.parse().map_err(|_| Error::internal(format!("the catalog returned `{text}` for a position")))
}
