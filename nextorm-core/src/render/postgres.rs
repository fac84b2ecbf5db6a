//! PostgreSQL's departures from the common SQL: numbered `$n` placeholders, `RETURNING` for
//! generated keys, long lists as one array, `SUBSTR` with integer casts, `EXTRACT` date parts,
//! `STRING_AGG`, NULL sorted lowest on request, identity keys, `DROP TABLE ... CASCADE`, no NUL
//! in text, `ALTER COLUMN ... TYPE ... USING`, and the names it gives enum `CHECK`s.

use super::syntax::SqlDialect;
use super::writer::{Spelling, Writer};
use crate::ast::{ColumnDef, Expr, Func};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::value::{DataType, Kind, Value};

/// PostgreSQL 12 or newer.
pub(crate) struct Postgres;

impl Spelling for Postgres {
    fn write_placeholder(out: &mut String, n: usize) {
        out.push('$');
        out.push_str(itoa(n).as_str());
    }
}

impl SqlDialect for Postgres {
    const DIALECT: Dialect = Dialect::Postgres;
    /// Longer identifiers are truncated.
    const MAX_IDENTIFIER_LEN: Option<usize> = Some(63);
    const MAX_BINDS: usize = 65535;
    const RETURNS_KEY_WITH_RETURNING: bool = true;
    const DROP_TABLE_SUFFIX: Option<&'static str> = Some(" CASCADE");
    const DOLLAR_QUOTED_STRINGS: bool = true;
    const BEGIN_SERIALIZABLE: &'static [&'static str] = &["BEGIN ISOLATION LEVEL SERIALIZABLE"];
    // An advisory lock per schema: the first key is nextorm's, the second the schema's.
    const MIGRATION_LOCK: Option<(&'static str, &'static str)> = Some((
        "SELECT 1 FROM pg_advisory_lock(1852797042, hashtext(current_schema()))",
        "SELECT pg_advisory_unlock(1852797042, hashtext(current_schema()))",
    ));

    /// The limit counts bytes.
    fn identifier_len(ident: &str) -> (usize, &'static str) {
        (ident.len(), "bytes")
    }

    fn column_type(ty: &DataType, max_len: Option<u32>, decimal: Option<(u32, u32)>) -> String {
        use DataType as T;
        match ty {
            T::Bool => "BOOLEAN".into(),
            T::SmallInt => "SMALLINT".into(),
            T::Int => "INTEGER".into(),
            T::BigInt | T::IntEnum(_) => "BIGINT".into(),
            T::Real => "REAL".into(),
            T::Double => "DOUBLE PRECISION".into(),
            T::Text => match max_len {
                Some(n) => format!("VARCHAR({n})"),
                None => "TEXT".into(),
            },
            T::TextEnum(values) => super::syntax::enum_varchar(values),
            T::Bytes => "BYTEA".into(),
            T::Decimal => match decimal {
                Some((p, s)) => format!("NUMERIC({p}, {s})"),
                None => "NUMERIC".into(),
            },
            T::Date => "DATE".into(),
            T::DateTime => "TIMESTAMP".into(),
            T::Timestamp => "TIMESTAMPTZ".into(),
            T::Uuid => "UUID".into(),
            T::Json => "JSONB".into(),
        }
    }

    #[inline]
    fn check_value(value: &Value) -> Result<()> {
        match value {
            Value::Text(s) if s.contains('\0') => {
                Err(Error::invalid_value("PostgreSQL text cannot hold a NUL byte (U+0000)"))
            }
            Value::Json(j) if json_has_nul(j) => {
                Err(Error::invalid_value("PostgreSQL JSONB cannot hold a NUL character (\\u0000)"))
            }
            _ => Ok(()),
        }
    }

    /// Every long list is one array, whatever its length.
    fn padded_list_width(_len: usize) -> Option<usize> {
        None
    }

    fn long_list(w: &mut Writer<'_, Self>, values: &[Value], kind: Kind) {
        w.sql("SELECT UNNEST(");
        w.bind(Value::Array(kind, values.to_vec()));
        w.sql("))");
    }

    /// PostgreSQL has `SUBSTR(text, integer, integer)` only, and binds are `BIGINT`.
    fn substr(w: &mut Writer<'_, Self>, args: &[Expr]) {
        w.sql("SUBSTR(");
        for (i, a) in args.iter().enumerate() {
            if i == 0 {
                w.expr(a);
            } else {
                w.sql(", CAST(");
                w.expr(a);
                w.sql(" AS INTEGER)");
            }
        }
        w.sql(")");
    }

    fn date_part(w: &mut Writer<'_, Self>, part: Func, args: &[Expr]) {
        w.sql("CAST(FLOOR(EXTRACT(");
        w.sql(match part {
            Func::Year => "YEAR",
            Func::Month => "MONTH",
            Func::Day => "DAY",
            Func::Hour => "HOUR",
            Func::Minute => "MINUTE",
            _ => "SECOND",
        });
        w.sql(" FROM ");
        w.args(args);
        w.sql(")) AS INTEGER)");
    }

    fn group_concat(w: &mut Writer<'_, Self>, arg: &Expr, sep: &str) {
        w.sql("STRING_AGG(CAST(");
        w.expr(arg);
        w.sql(" AS TEXT), ");
        w.string_literal(sep);
        w.sql(")");
    }

    /// NULL sorts highest here; SQLite and MariaDB sort it lowest.
    fn nulls_lowest(w: &mut Writer<'_, Self>, desc: bool) {
        w.sql(if desc { " NULLS LAST" } else { " NULLS FIRST" });
    }

    /// `<table>_<column>_check`, shortened as PostgreSQL shortens it to fit 63 bytes.
    fn implicit_check_name(table: &str, column: &str) -> Option<String> {
        Some(object_name(table, column, "check"))
    }

    /// `TYPE t USING c::t`: PostgreSQL casts only where an implicit cast exists unless told how.
    fn set_data_type(w: &mut Writer<'_, Self>, to: &ColumnDef) {
        w.sql("ALTER COLUMN ");
        w.ident(&to.name);
        w.sql(" TYPE ");
        w.column_type(to);
        w.sql(" USING ");
        w.ident(&to.name);
        w.sql("::");
        w.column_type(to);
    }

    fn auto_increment_column(w: &mut Writer<'_, Self>, ty: &DataType) {
        w.sql_dyn(&Self::column_type(ty, None, None));
        w.sql(" GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
    }
}

/// PostgreSQL's name for an object named after `name1` and `name2` (`makeObjectName`): both
/// joined by `_` with `label`, the longer of the two cut first until the whole fits 63 bytes.
fn object_name(name1: &str, name2: &str, label: &str) -> String {
    let available = 63 - (label.len() + 2);
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > available {
        if n1 > n2 { n1 -= 1 } else { n2 -= 1 }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_owned()
    };
    format!("{}_{}_{label}", clip(name1, n1), clip(name2, n2))
}

fn json_has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(json_has_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

/// Formats a small integer without going through `fmt`.
fn itoa(n: usize) -> ItoaBuf {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    ItoaBuf { buf, start: i }
}

struct ItoaBuf {
    buf: [u8; 20],
    start: usize,
}

impl ItoaBuf {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or("0")
    }
}
