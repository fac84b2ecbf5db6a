//! The three SQL dialects. [`Dialect`] is the name users pass around; what each dialect does
//! differently lives in its own file under `render/` (an implementation of the renderer's
//! private `SqlDialect` trait). This file maps the enum to those implementations, once.

use crate::error::{Error, Result};
use crate::render::SqlDialect;
use crate::value::{ColumnType, Value};

/// Runs `$body` with `$d` naming the [`SqlDialect`] implementation of `$dialect`: the one place
/// the enum is matched to its implementation, so everything generic over the dialect is
/// resolved at compile time.
macro_rules! with_sql_dialect {
    ($dialect:expr, $d:ident => $body:expr) => {
        match $dialect {
            $crate::dialect::Dialect::Sqlite => {
                type $d = $crate::render::Sqlite;
                $body
            }
            $crate::dialect::Dialect::Postgres => {
                type $d = $crate::render::Postgres;
                $body
            }
            $crate::dialect::Dialect::MariaDb => {
                type $d = $crate::render::MariaDb;
                $body
            }
        }
    };
}
pub(crate) use with_sql_dialect;

/// An SQL dialect. The renderer is shared; a dialect holds only its differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite 3.35 or newer (the bundled library).
    Sqlite,
    /// PostgreSQL 12 or newer.
    Postgres,
    /// MariaDB 10.6 or newer.
    MariaDb,
}

impl Dialect {
    /// Every dialect, in a fixed order.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MariaDb];

    /// A short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MariaDb => "mariadb",
        }
    }

    /// An index for per-dialect caches.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The identifier quote character.
    pub fn quote_char(self) -> char {
        with_sql_dialect!(self, D => D::QUOTE)
    }

    /// The longest identifier the dialect keeps intact: PostgreSQL truncates past 63 bytes and
    /// MariaDB refuses past 64 characters. `None`: no practical limit.
    pub fn max_identifier_len(self) -> Option<usize> {
        with_sql_dialect!(self, D => D::MAX_IDENTIFIER_LEN)
    }

    /// The most bind parameters one statement may carry.
    pub fn max_binds(self) -> usize {
        with_sql_dialect!(self, D => D::MAX_BINDS)
    }

    /// Writes the placeholder of parameter `n` (1-based).
    pub fn write_placeholder(self, out: &mut String, n: usize) {
        with_sql_dialect!(self, D => D::write_placeholder(out, n))
    }

    /// Whether an `INSERT` returns its generated key with `RETURNING` (PostgreSQL) rather than
    /// through the driver's last-insert id (SQLite, MariaDB).
    pub fn returns_key_with_returning(self) -> bool {
        with_sql_dialect!(self, D => D::RETURNS_KEY_WITH_RETURNING)
    }

    /// The statements that open a transaction, `SERIALIZABLE` if asked: `BEGIN` (`BEGIN
    /// IMMEDIATE` on SQLite, whose transactions are all serializable),
    /// `BEGIN ISOLATION LEVEL SERIALIZABLE` on PostgreSQL,
    /// `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE` then `START TRANSACTION` on MariaDB.
    pub fn begin_statements(self, serializable: bool) -> &'static [&'static str] {
        if serializable {
            with_sql_dialect!(self, D => D::BEGIN_SERIALIZABLE)
        } else {
            with_sql_dialect!(self, D => D::BEGIN)
        }
    }

    /// Whether `$tag$ ... $tag$` quotes a string (PostgreSQL), so a `?` inside is no placeholder.
    pub(crate) fn has_dollar_quoted_strings(self) -> bool {
        with_sql_dialect!(self, D => D::DOLLAR_QUOTED_STRINGS)
    }

    /// Whether a key or index may be on text without a length limit (not on MariaDB).
    pub(crate) fn indexes_unbounded_text(self) -> bool {
        with_sql_dialect!(self, D => D::INDEXES_UNBOUNDED_TEXT)
    }

    /// Checks that an identifier can be used on this dialect: not empty, no NUL, within the
    /// length limit, and on MariaDB only characters of the Basic Multilingual Plane.
    pub fn check_identifier(self, ident: &str) -> Result<()> {
        if ident.is_empty() {
            return Err(Error::mapping("an SQL identifier cannot be empty"));
        }
        if ident.contains('\0') {
            return Err(Error::mapping(format!("the SQL identifier {ident:?} contains a NUL byte")));
        }
        let (len, unit) = with_sql_dialect!(self, D => D::identifier_len(ident));
        if let Some(max) = self.max_identifier_len()
            && len > max
        {
            return Err(Error::mapping(format!(
                "the identifier `{ident}` is {len} {unit} long; {} allows at most {max} and would not keep it intact",
                self.name()
            )));
        }
        with_sql_dialect!(self, D => D::check_identifier_chars(ident))
    }

    /// Writes `ident` quoted, doubling any quote character inside it.
    pub fn write_ident(self, out: &mut String, ident: &str) {
        with_sql_dialect!(self, D => D::write_ident(out, ident))
    }

    /// The quoted form of `ident`.
    pub fn quote(self, ident: &str) -> String {
        let mut s = String::with_capacity(ident.len() + 2);
        self.write_ident(&mut s, ident);
        s
    }

    /// The DDL type of a column.
    pub fn column_type(self, ty: ColumnType, max_len: Option<u32>, decimal: Option<(u32, u32)>) -> String {
        with_sql_dialect!(self, D => D::column_type(ty, max_len, decimal))
    }

    /// Refuses a value this dialect would store unfaithfully: NaN on SQLite (it becomes NULL) and
    /// MariaDB (no NaN), a NUL byte in PostgreSQL text, a date outside the years 0 to 9999 on SQLite
    /// (its text would no longer sort as the date does).
    pub fn check_value(self, value: &Value) -> Result<()> {
        if let Value::Invalid(message) = value {
            return Err(Error::invalid_value(message.clone()));
        }
        with_sql_dialect!(self, D => D::check_value(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_the_quote_doubled() {
        assert_eq!(Dialect::Postgres.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::MariaDb.quote("a`b"), "`a``b`");
        assert_eq!(Dialect::Sqlite.quote("order"), "\"order\"");
    }

    #[test]
    fn identifier_limits_are_enforced_not_truncated() {
        let long = "x".repeat(64);
        assert!(Dialect::Postgres.check_identifier(&long).is_err());
        assert!(Dialect::Postgres.check_identifier(&long[..63]).is_ok());
        assert!(Dialect::MariaDb.check_identifier(&long).is_ok());
        assert!(Dialect::MariaDb.check_identifier(&"x".repeat(65)).is_err());
        assert!(Dialect::Sqlite.check_identifier("a\0b").is_err());
        assert!(Dialect::MariaDb.check_identifier("emoji😀").is_err());
        // 32 two-byte characters: 64 bytes, over PostgreSQL's limit, fine on MariaDB.
        let wide = "é".repeat(32);
        assert!(Dialect::Postgres.check_identifier(&wide).is_err());
        assert!(Dialect::MariaDb.check_identifier(&wide).is_ok());
    }

    #[test]
    fn placeholders() {
        let mut s = String::new();
        Dialect::Postgres.write_placeholder(&mut s, 12);
        Dialect::Sqlite.write_placeholder(&mut s, 3);
        assert_eq!(s, "$12?");
    }

    #[test]
    fn unfaithful_values_are_refused() {
        assert!(Dialect::Sqlite.check_value(&Value::Float(f64::NAN)).is_err());
        assert!(Dialect::Postgres.check_value(&Value::Float(f64::NAN)).is_ok());
        assert!(Dialect::Postgres.check_value(&Value::Text("a\0".into())).is_err());
        assert!(Dialect::Sqlite.check_value(&Value::Text("a\0".into())).is_ok());
        let far = chrono::NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
        assert!(Dialect::Sqlite.check_value(&Value::Date(far)).is_err());
        assert!(Dialect::Postgres.check_value(&Value::Date(far)).is_ok());
    }
}
