//! MariaDB's departures from the common SQL: backquoted identifiers, `CONCAT` and `DIV`, long
//! lists through `JSON_TABLE`, an `OFFSET` needing a `LIMIT`, its own spellings (`CHAR_LENGTH`,
//! `RAND`, `GROUP_CONCAT ... SEPARATOR`, `DAYOFMONTH`), the multi-table form of an aliased
//! `DELETE`, `AUTO_INCREMENT`, byte-exact `utf8mb4` tables, backslash escapes in literals, the
//! values and identifiers it refuses, and its DDL: `MODIFY COLUMN`, `DROP INDEX ... ON`, `DROP
//! FOREIGN KEY`.

use super::syntax::{Piece, SqlDialect, json_list};
use super::writer::{Spelling, Writer};
use crate::ast::{BinOp, ColumnDef, DropIndex, Expr, Func, Name};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::value::{DataType, Kind, Value};

/// MariaDB 10.6 or newer.
pub(crate) struct MariaDb;

impl Spelling for MariaDb {
    const QUOTE: char = '`';
    const BACKSLASH_ESCAPES: bool = true;
}

impl SqlDialect for MariaDb {
    const DIALECT: Dialect = Dialect::MariaDb;
    /// Longer identifiers are refused.
    const MAX_IDENTIFIER_LEN: Option<usize> = Some(64);
    const MAX_BINDS: usize = 65535;
    const INSERT_DEFAULTS: &'static str = " () VALUES ()";
    const UPDATE_ALIAS: &'static str = " ";
    const OFFSET_WITHOUT_LIMIT: &'static str = " LIMIT 18446744073709551615 OFFSET ";
    /// Binary, no-pad comparison: text equality behaves as on SQLite and PostgreSQL.
    const TABLE_OPTIONS: Option<&'static str> =
        Some(" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin");
    const LENGTH: &'static str = "CHAR_LENGTH";
    const RANDOM: &'static str = "RAND()";
    /// A key on unbounded text (`LONGTEXT`) needs a prefix length, which would not be unique.
    const INDEXES_UNBOUNDED_TEXT: bool = false;
    /// `SET TRANSACTION` (without `SESSION`) applies to the next transaction only, so a pooled
    /// connection keeps its default level.
    const BEGIN_SERIALIZABLE: &'static [&'static str] =
        &["SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION"];
    const DROP_UNIQUE: &'static str = "DROP INDEX ";
    const DROP_FOREIGN_KEY: &'static str = "DROP FOREIGN KEY ";
    const TRANSACTIONAL_DDL: bool = false;
    // `GET_LOCK` names are server-wide, so the name carries the database; it waits up to an hour.
    const MIGRATION_LOCK: Option<(&'static str, &'static str)> = Some((
        "SELECT GET_LOCK(CONCAT('nextorm_migrate.', DATABASE()), 3600)",
        "SELECT RELEASE_LOCK(CONCAT('nextorm_migrate.', DATABASE()))",
    ));

    fn check_identifier_chars(ident: &str) -> Result<()> {
        if ident.chars().any(|c| c as u32 > 0xFFFF) {
            return Err(Error::mapping(format!(
                "the identifier `{ident}` has a character outside the Basic Multilingual Plane, which MariaDB refuses"
            )));
        }
        Ok(())
    }

    fn column_type(ty: &DataType, max_len: Option<u32>, decimal: Option<(u32, u32)>) -> String {
        use DataType as T;
        match ty {
            T::Bool => "BOOLEAN".into(),
            T::SmallInt => "SMALLINT".into(),
            T::Int => "INTEGER".into(),
            T::BigInt | T::IntEnum(_) => "BIGINT".into(),
            T::Real => "FLOAT".into(),
            T::Double => "DOUBLE".into(),
            T::Text => match max_len {
                Some(n) => format!("VARCHAR({n})"),
                None => "LONGTEXT".into(),
            },
            T::TextEnum(values) => super::syntax::enum_varchar(values),
            T::Bytes => "LONGBLOB".into(),
            // 65 digits with 28 after the point holds every rust_decimal value exactly.
            T::Decimal => {
                let (p, s) = decimal.unwrap_or((65, 28));
                format!("DECIMAL({p}, {s})")
            }
            T::Date => "DATE".into(),
            T::DateTime | T::Timestamp => "DATETIME(6)".into(),
            T::Uuid => "CHAR(36)".into(),
            T::Json => "JSON".into(),
        }
    }

    #[inline]
    fn check_value(value: &Value) -> Result<()> {
        match value {
            Value::Float(f) if f.is_nan() => {
                Err(Error::invalid_value(format!("NaN cannot be stored in {} (it has no NaN)", Self::DIALECT.name())))
            }
            Value::Float(f) if f.is_infinite() => {
                Err(Error::invalid_value("an infinite float cannot be stored in MariaDB"))
            }
            _ => Ok(()),
        }
    }

    #[inline]
    fn binary(w: &mut Writer<'_, Self>, op: BinOp, lhs: &Expr, rhs: &Expr) {
        match op {
            BinOp::Concat => w.call("CONCAT", [lhs, rhs]),
            BinOp::IntDiv => w.infix(op, "DIV", lhs, rhs),
            _ => w.infix(op, op.sql(), lhs, rhs),
        }
    }

    fn concat<'h>(w: &mut Writer<'h, Self>, pieces: &[Piece<'_, 'h, Self>]) {
        w.sql("CONCAT(");
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                w.sql(", ");
            }
            piece(w);
        }
        w.sql(")");
    }

    fn long_list(w: &mut Writer<'_, Self>, values: &[Value], kind: Kind) {
        w.sql("SELECT jt.v FROM JSON_TABLE(");
        w.bind(Value::Text(json_list(values)));
        w.sql(", '$[*]' COLUMNS (v ");
        w.sql(json_column_type(kind));
        w.sql(" PATH '$')) AS jt)");
    }

    fn date_part(w: &mut Writer<'_, Self>, part: Func, args: &[Expr]) {
        let name = match part {
            Func::Year => "YEAR",
            Func::Month => "MONTH",
            Func::Day => "DAYOFMONTH",
            Func::Hour => "HOUR",
            Func::Minute => "MINUTE",
            _ => "SECOND",
        };
        w.call(name, args);
    }

    fn group_concat(w: &mut Writer<'_, Self>, arg: &Expr, sep: &str) {
        w.sql("GROUP_CONCAT(");
        w.expr(arg);
        w.sql(" SEPARATOR ");
        w.string_literal(sep);
        w.sql(")");
    }

    /// An alias is taken only in the multi-table form.
    fn delete_aliased(w: &mut Writer<'_, Self>, table: &Name, alias: &Name) {
        w.sql("DELETE ");
        w.ident(alias);
        w.sql(" FROM ");
        w.ident(table);
        w.sql(" ");
        w.ident(alias);
    }

    fn drop_index(w: &mut Writer<'_, Self>, i: &DropIndex) {
        w.sql("DROP INDEX ");
        w.ident(&i.name);
        w.sql(" ON ");
        w.ident(&i.table);
    }

    /// `MODIFY COLUMN` with the whole new definition (its `CHECK` too); an auto-increment key
    /// keeps `AUTO_INCREMENT` without restating the primary key.
    fn alter_column(w: &mut Writer<'_, Self>, _table: &Name, _from: &ColumnDef, to: &ColumnDef) {
        w.sql("MODIFY COLUMN ");
        if to.auto_increment {
            w.ident(&to.name);
            w.sql(" ");
            w.sql_dyn(&Self::column_type(&to.ty, None, None));
            w.sql(" NOT NULL AUTO_INCREMENT");
        } else {
            w.column_def(to);
        }
    }

    fn auto_increment_column(w: &mut Writer<'_, Self>, ty: &DataType) {
        w.sql_dyn(&Self::column_type(ty, None, None));
        w.sql(" NOT NULL AUTO_INCREMENT PRIMARY KEY");
    }
}

/// The column type a JSON array's items are read as.
fn json_column_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool | Kind::Int => "BIGINT",
        Kind::Float => "DOUBLE",
        Kind::Decimal => "DECIMAL(65, 28)",
        Kind::Date => "DATE",
        Kind::DateTime | Kind::Timestamp => "DATETIME(6)",
        Kind::Text | Kind::Uuid | Kind::Json | Kind::Bytes => "LONGTEXT COLLATE utf8mb4_nopad_bin",
    }
}
