//! SQLite's departures from the common SQL: decimals kept as text and computed through the
//! `nextorm_decimal_*` functions, long lists as a JSON array, `strftime` date parts, no row
//! locks, `AUTOINCREMENT` keys, dates limited to the years 0 to 9999, and tables rebuilt where
//! `ALTER TABLE` cannot change them.

use super::syntax::{SqlDialect, json_list};
use super::writer::{Spelling, Writer};
use crate::ast::{AggFunc, BinOp, ColumnDef, Expr, Func, LikeMode, Lock, UnOp};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::sqlite_decimal::{self, DecimalAggregate, DecimalFn};
use crate::value::{DataType, Kind, Value};

/// SQLite 3.35 or newer.
pub(crate) struct Sqlite;

impl Spelling for Sqlite {}

impl SqlDialect for Sqlite {
    const DIALECT: Dialect = Dialect::Sqlite;
    const MAX_BINDS: usize = 32766;
    const OFFSET_WITHOUT_LIMIT: &'static str = " LIMIT -1 OFFSET ";
    /// The write lock at once, so a transaction never fails halfway on a lock it could not
    /// upgrade; SQLite's transactions are serializable anyway.
    const BEGIN: &'static [&'static str] = &["BEGIN IMMEDIATE"];
    const BEGIN_SERIALIZABLE: &'static [&'static str] = Self::BEGIN;
    const REBUILDS_TABLES: bool = true;
    const MIGRATION_BEGIN: &'static str = "BEGIN EXCLUSIVE";
    // SQLite ignores `foreign_keys` inside a transaction, so it is set around it.
    const REBUILD_FOREIGN_KEYS: Option<[&'static str; 3]> =
        Some(["PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON", "PRAGMA foreign_key_check"]);

    /// A decimal is stored as text, which compares with a number as text: `CAST` it, so any
    /// tool writing to the table meets the check (nextorm's own check in Rust is exact).
    fn bounded_column(w: &mut Writer<'_, Self>, c: &ColumnDef) {
        if c.ty == DataType::Decimal && c.sql_type.is_none() {
            w.sql("CAST(");
            w.ident(&c.name);
            w.sql(" AS NUMERIC)");
        } else {
            w.ident(&c.name);
        }
    }

    fn column_type(ty: &DataType, max_len: Option<u32>, _decimal: Option<(u32, u32)>) -> String {
        use DataType as T;
        match ty {
            T::Bool => "BOOLEAN".into(),
            T::SmallInt | T::Int | T::BigInt | T::IntEnum(_) => "INTEGER".into(),
            T::Real | T::Double => "REAL".into(),
            T::Text | T::TextEnum(_) => match max_len {
                Some(n) => format!("VARCHAR({n})"),
                None => "TEXT".into(),
            },
            T::Bytes => "BLOB".into(),
            // NUMERIC affinity would round a 28-digit decimal through a double: keep the text.
            T::Decimal => "TEXT".into(),
            T::Date | T::DateTime | T::Timestamp | T::Uuid | T::Json => "TEXT".into(),
        }
    }

    /// NaN would become NULL; a date outside the years 0 to 9999 would no longer sort as text.
    #[inline]
    fn check_value(value: &Value) -> Result<()> {
        use chrono::Datelike;
        match value {
            Value::Date(d) => check_year(d.year()),
            Value::DateTime(t) => check_year(t.year()),
            Value::Timestamp(t) => check_year(t.year()),
            Value::Float(f) if f.is_nan() => {
                Err(Error::invalid_value(format!("NaN cannot be stored in {} (it has no NaN)", Self::DIALECT.name())))
            }
            _ => Ok(()),
        }
    }

    /// An operation on decimals stored as text: through the functions every nextorm SQLite
    /// connection registers, never through SQLite's text or floating-point arithmetic.
    fn decimal(w: &mut Writer<'_, Self>, operation: &Expr) {
        let comparison =
            |op: BinOp| matches!(op, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge);
        match operation {
            Expr::Binary { op, lhs, rhs } if comparison(*op) => {
                w.call(DecimalFn::Cmp.name(), [&**lhs, &**rhs]);
                w.sql(" ");
                w.sql(op.sql());
                w.sql(" 0");
            }
            Expr::Binary { op, lhs, rhs } => {
                let func = match op {
                    BinOp::Add => DecimalFn::Add,
                    BinOp::Sub => DecimalFn::Sub,
                    BinOp::Mul => DecimalFn::Mul,
                    BinOp::Rem => DecimalFn::Rem,
                    BinOp::Div => DecimalFn::Div,
                    _ => return w.expr(operation),
                };
                w.call(func.name(), [&**lhs, &**rhs]);
            }
            Expr::Unary { op: UnOp::Neg, expr } => w.call(DecimalFn::Neg.name(), [&**expr]),
            Expr::Func { func: Func::Abs, args } => w.call(DecimalFn::Abs.name(), args),
            Expr::Between { expr, low, high } => w.call(DecimalFn::Between.name(), [&**expr, &**low, &**high]),
            Expr::Agg { func, arg: Some(arg), distinct } => {
                let aggregate = match func {
                    AggFunc::Sum => DecimalAggregate::Sum,
                    AggFunc::Avg => DecimalAggregate::Avg,
                    AggFunc::Min => DecimalAggregate::Min,
                    AggFunc::Max => DecimalAggregate::Max,
                    _ => return w.expr(operation),
                };
                if aggregate == DecimalAggregate::Sum {
                    w.sql("COALESCE(");
                }
                w.sql(aggregate.name());
                w.sql(if *distinct { "(DISTINCT " } else { "(" });
                w.expr(arg);
                w.sql(")");
                // The sum of nothing is the text '0', like every other decimal result: an integer
                // 0 would never equal, group or sort with the text values.
                if aggregate == DecimalAggregate::Sum {
                    w.sql(", '0')");
                }
            }
            other => w.expr(other),
        }
    }

    fn decimal_strength(op: &Expr) -> u8 {
        match op {
            // `nextorm_decimal_cmp(a, b) < 0` is a comparison; every other form is a call.
            Expr::Binary { op, .. } if op.precedence() == 4 => 4,
            _ => 9,
        }
    }

    /// As text, so that a value computed as an integer or a double (a `CASE` branch) sorts and
    /// matches by the same collation as the stored text.
    fn decimal_key(w: &mut Writer<'_, Self>, key: &Expr) {
        w.sql("CAST(");
        w.expr(key);
        w.sql(" AS TEXT) COLLATE ");
        w.sql(sqlite_decimal::COLLATION);
    }

    fn decimal_key_strength(_key: &Expr) -> u8 {
        9
    }

    /// Never named by position: only the key carries the decimal collation.
    fn position_key(key: &Expr) -> &Expr {
        key
    }

    fn long_list(w: &mut Writer<'_, Self>, values: &[Value], _kind: Kind) {
        w.sql("SELECT value FROM json_each(");
        w.bind(Value::Text(json_list(values)));
        w.sql("))");
    }

    /// `LIKE` reads a text only up to its first NUL, so a match after a NUL would be missed: the
    /// test compares UTF-8 bytes as BLOBs instead (`instr`, `substr` and `length` count bytes in
    /// a BLOB and go past NUL), byte-exact like Rust's `str` methods. With `b` for
    /// `CAST(x AS BLOB)` and `n` for `CAST(? AS BLOB)`:
    /// `instr(b, n) > 0` (contains), `instr(b, n) = 1` (prefix), and
    /// `(substr(b, length(b) - length(n) + 1) = n OR length(n) = 0 AND b IS NOT NULL)` (suffix:
    /// when the needle is longer the start falls before the text and the shorter result never
    /// equals it; `substr` of an empty BLOB is NULL, hence the second arm). A literal prefix
    /// without NUL keeps `x LIKE ? ESCAPE '!'` (case-sensitive: the driver sets
    /// `PRAGMA case_sensitive_like`): a text cut at its first NUL starts with such a prefix
    /// exactly when the whole text does, and `LIKE 'abc%'` can use an index on `x`.
    fn text_test(w: &mut Writer<'_, Self>, expr: &Expr, needle: &Expr, mode: LikeMode) {
        let nul_free_literal = matches!(needle, Expr::Value(Value::Text(s)) if !s.contains('\0'));
        if mode == LikeMode::Prefix && nul_free_literal {
            return w.like(expr, needle, mode);
        }
        let blob = |w: &mut Writer<'_, Self>, e: &Expr| {
            w.sql("CAST(");
            w.expr(e);
            w.sql(" AS BLOB)");
        };
        if mode == LikeMode::Suffix {
            w.sql("(substr(");
            blob(w, expr);
            w.sql(", length(");
            blob(w, expr);
            w.sql(") - length(");
            blob(w, needle);
            w.sql(") + 1) = ");
            blob(w, needle);
            w.sql(" OR length(");
            blob(w, needle);
            w.sql(") = 0 AND ");
            blob(w, expr);
            w.sql(" IS NOT NULL)");
            return;
        }
        w.sql("instr(");
        blob(w, expr);
        w.sql(", ");
        blob(w, needle);
        w.sql(if mode == LikeMode::Prefix { ") = 1" } else { ") > 0" });
    }

    fn date_part(w: &mut Writer<'_, Self>, part: Func, args: &[Expr]) {
        w.sql("CAST(strftime('");
        w.sql(match part {
            Func::Year => "%Y",
            Func::Month => "%m",
            Func::Day => "%d",
            Func::Hour => "%H",
            Func::Minute => "%M",
            _ => "%S",
        });
        w.sql("', ");
        w.args(args);
        w.sql(") AS INTEGER)");
    }

    fn group_concat(w: &mut Writer<'_, Self>, arg: &Expr, sep: &str) {
        w.sql("GROUP_CONCAT(");
        w.expr(arg);
        w.sql(", ");
        w.string_literal(sep);
        w.sql(")");
    }

    /// No row locks: a write transaction already holds the database lock.
    fn lock(_w: &mut Writer<'_, Self>, _lock: Lock) {}

    /// `INTEGER PRIMARY KEY` aliases the rowid; `AUTOINCREMENT` never reuses a deleted key.
    fn auto_increment_column(w: &mut Writer<'_, Self>, _ty: &DataType) {
        w.sql("INTEGER PRIMARY KEY AUTOINCREMENT");
    }
}

fn check_year(year: i32) -> Result<()> {
    if (0..=9999).contains(&year) {
        Ok(())
    } else {
        Err(Error::invalid_value(format!(
            "the year {year} cannot be stored in SQLite, which keeps dates as text that sorts only for the years 0 to 9999"
        )))
    }
}
