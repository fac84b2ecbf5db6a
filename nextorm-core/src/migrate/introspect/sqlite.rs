//! SQLite's catalog: `sqlite_master` joined with `pragma_table_info`, `pragma_index_list` /
//! `pragma_index_info` and `pragma_foreign_key_list`, and the declared types as written.

use super::catalog::{Catalog, CatalogQueries, SqlType, TypeSpelling};
use crate::value::DataType;

/// SQLite.
pub(crate) struct SqliteCatalog;

/// An `INTEGER` column that is the whole primary key aliases the rowid, which is never NULL
/// though `pragma_table_info` reports no `NOT NULL`; `AUTOINCREMENT` can only be on that column.
const COLUMNS: &str = "SELECT m.name, p.name, p.type, \
     CASE WHEN p.\"notnull\" = 1 OR (p.pk = 1 AND upper(p.type) = 'INTEGER' \
     AND (SELECT COUNT(*) FROM pragma_table_info(m.name) k WHERE k.pk > 0) = 1) THEN '0' ELSE '1' END, \
     CASE WHEN p.pk = 1 AND upper(m.sql) LIKE '%AUTOINCREMENT%' THEN '1' ELSE '0' END, \
     p.dflt_value, CAST(p.pk AS TEXT) \
     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite!_%' ESCAPE '!' AND m.name <> 'nextorm_migrations' \
     ORDER BY m.name, p.cid";

/// Indexes made for `UNIQUE` constraints (origin `u`) have SQLite's own names
/// (`sqlite_autoindex_<table>_<n>`): they are compared by their columns.
const INDEXES: &str = "SELECT m.name, i.name, CAST(i.\"unique\" AS TEXT), c.name \
     FROM sqlite_master m JOIN pragma_index_list(m.name) i JOIN pragma_index_info(i.name) c \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite!_%' ESCAPE '!' AND m.name <> 'nextorm_migrations' \
     AND i.origin <> 'pk' \
     ORDER BY m.name, i.name, c.seqno";

/// SQLite keeps no foreign-key names; `id` tells the keys of a table apart.
const FOREIGN_KEYS: &str = "SELECT m.name, CAST(f.id AS TEXT), NULL, f.\"from\", f.\"table\", f.\"to\", f.on_delete \
     FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite!_%' ESCAPE '!' AND m.name <> 'nextorm_migrations' \
     ORDER BY m.name, f.id, f.seq";

impl Catalog for SqliteCatalog {
    fn queries(&self) -> CatalogQueries {
        CatalogQueries { columns: COLUMNS, indexes: INDEXES, foreign_keys: FOREIGN_KEYS }
    }

    /// The declared type, as written in `CREATE TABLE`: nextorm writes `INTEGER` for every
    /// integer, `REAL` for both floats and `TEXT` for decimals, dates, times, UUIDs and JSON.
    /// The other integer and float names SQLite gives the same affinity are read as those.
    fn read_type(&self, spelling: &TypeSpelling) -> Option<SqlType> {
        use DataType as T;
        let ty = match (spelling.name.as_str(), spelling.args.as_slice(), spelling.suffix.as_str()) {
            ("varchar", [n], "") => return Some(SqlType { ty: T::Text, max_len: Some(*n), decimal: None }),
            (name, [], "") => match name {
                "integer" | "int" | "bigint" | "smallint" | "tinyint" | "mediumint" => T::BigInt,
                "boolean" | "bool" => T::Bool,
                "real" | "double" | "double precision" | "float" => T::Double,
                "text" | "varchar" => T::Text,
                "blob" => T::Bytes,
                _ => return None,
            },
            _ => return None,
        };
        Some(SqlType::plain(ty))
    }
}
