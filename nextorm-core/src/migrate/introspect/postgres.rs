//! PostgreSQL's catalog: `pg_catalog` in `current_schema()`, types as `format_type` spells them
//! (`character varying(100)`, `numeric(10,2)`, `timestamp with time zone`).

use super::catalog::{Catalog, CatalogQueries, SqlType, TypeSpelling};
use crate::value::DataType;

/// PostgreSQL.
pub(crate) struct PostgresCatalog;

/// An identity column or a `serial` (a `nextval` default) is auto-increment.
const COLUMNS: &str = "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
     CASE WHEN a.attnotnull THEN '0' ELSE '1' END, \
     CASE WHEN a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%' THEN '1' ELSE '0' END, \
     pg_get_expr(d.adbin, d.adrelid), COALESCE(array_position(k.conkey, a.attnum), 0)::text \
     FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
     LEFT JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'p' \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> 'nextorm_migrations' \
     ORDER BY c.relname, a.attnum";

/// Unique constraints are unique indexes of the same name.
const INDEXES: &str = "SELECT t.relname::text, i.relname::text, CASE WHEN x.indisunique THEN '1' ELSE '0' END, \
     a.attname::text \
     FROM pg_index x \
     JOIN pg_class i ON i.oid = x.indexrelid \
     JOIN pg_class t ON t.oid = x.indrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, position) \
     LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0 \
     WHERE n.nspname = current_schema() AND NOT x.indisprimary AND t.relname <> 'nextorm_migrations' \
     ORDER BY t.relname, i.relname, k.position";

const FOREIGN_KEYS: &str = "SELECT t.relname::text, c.conname::text, c.conname::text, a.attname::text, \
     r.relname::text, ra.attname::text, \
     CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' \
     WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END \
     FROM pg_constraint c \
     JOIN pg_class t ON t.oid = c.conrelid \
     JOIN pg_namespace n ON n.oid = t.relnamespace \
     JOIN pg_class r ON r.oid = c.confrelid \
     CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, refnum, position) \
     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
     JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = k.refnum \
     WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname <> 'nextorm_migrations' \
     ORDER BY t.relname, c.conname, k.position";

impl Catalog for PostgresCatalog {
    fn queries(&self) -> CatalogQueries {
        CatalogQueries { columns: COLUMNS, indexes: INDEXES, foreign_keys: FOREIGN_KEYS }
    }

    /// `format_type`'s spellings of the types nextorm writes: `VARCHAR(n)` is `character
    /// varying(n)`, `TIMESTAMP` is `timestamp without time zone`, `NUMERIC(p, s)` is
    /// `numeric(p,s)`. A `varchar` without a length holds any text, as `text` does.
    fn read_type(&self, spelling: &TypeSpelling) -> Option<SqlType> {
        use DataType as T;
        let ty = match (spelling.name.as_str(), spelling.args.as_slice(), spelling.suffix.as_str()) {
            ("character varying", [n], "") => {
                return Some(SqlType { ty: T::Text, max_len: Some(*n), decimal: None });
            }
            ("numeric", [p, s], "") => return Some(SqlType { ty: T::Decimal, max_len: None, decimal: Some((*p, *s)) }),
            (name, [], "") => match name {
                "boolean" => T::Bool,
                "smallint" => T::SmallInt,
                "integer" => T::Int,
                "bigint" => T::BigInt,
                "real" => T::Real,
                "double precision" => T::Double,
                "text" | "character varying" => T::Text,
                "bytea" => T::Bytes,
                "numeric" => T::Decimal,
                "date" => T::Date,
                "timestamp without time zone" => T::DateTime,
                "timestamp with time zone" => T::Timestamp,
                "uuid" => T::Uuid,
                "jsonb" => T::Json,
                _ => return None,
            },
            _ => return None,
        };
        Some(SqlType::plain(ty))
    }
}
