//! The three SQL dialects and the few things in which they differ.

use crate::error::{Error, Result};
use crate::value::{SqlType, Value};

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
        match self {
            Dialect::MariaDb => '`',
            Dialect::Sqlite | Dialect::Postgres => '"',
        }
    }

    /// The longest identifier the dialect keeps intact: PostgreSQL truncates past 63 bytes and
    /// MariaDB refuses past 64 characters. `None`: no practical limit.
    pub fn max_identifier_len(self) -> Option<usize> {
        match self {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(63),
            Dialect::MariaDb => Some(64),
        }
    }

    /// The most bind parameters one statement may carry.
    pub fn max_binds(self) -> usize {
        match self {
            Dialect::Sqlite => 32766,
            Dialect::Postgres | Dialect::MariaDb => 65535,
        }
    }

    /// Writes the placeholder of parameter `n` (1-based).
    pub fn write_placeholder(self, out: &mut String, n: usize) {
        match self {
            Dialect::Postgres => {
                out.push('$');
                out.push_str(itoa(n).as_str());
            }
            Dialect::Sqlite | Dialect::MariaDb => out.push('?'),
        }
    }

    /// Whether an `INSERT` returns its generated key with `RETURNING` (PostgreSQL) rather than
    /// through the driver's last-insert id (SQLite, MariaDB).
    pub fn returns_key_with_returning(self) -> bool {
        matches!(self, Dialect::Postgres)
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
        let len = match self {
            Dialect::Postgres => ident.len(),
            _ => ident.chars().count(),
        };
        if let Some(max) = self.max_identifier_len()
            && len > max
        {
            let unit = if self == Dialect::Postgres { "bytes" } else { "characters" };
            return Err(Error::mapping(format!(
                "the identifier `{ident}` is {len} {unit} long; {} allows at most {max} and would not keep it intact",
                self.name()
            )));
        }
        if self == Dialect::MariaDb && ident.chars().any(|c| c as u32 > 0xFFFF) {
            return Err(Error::mapping(format!(
                "the identifier `{ident}` has a character outside the Basic Multilingual Plane, which MariaDB refuses"
            )));
        }
        Ok(())
    }

    /// Writes `ident` quoted, doubling any quote character inside it.
    pub fn write_ident(self, out: &mut String, ident: &str) {
        let q = self.quote_char();
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
    }

    /// The quoted form of `ident`.
    pub fn quote(self, ident: &str) -> String {
        let mut s = String::with_capacity(ident.len() + 2);
        self.write_ident(&mut s, ident);
        s
    }

    /// The DDL type of a column.
    pub fn column_type(self, ty: SqlType, max_len: Option<u32>, decimal: Option<(u32, u32)>) -> String {
        use Dialect::*;
        use SqlType as T;
        match (self, ty) {
            (Sqlite, T::Bool) => "BOOLEAN".into(),
            (Sqlite, T::SmallInt | T::Int | T::BigInt | T::IntEnum(_)) => "INTEGER".into(),
            (Sqlite, T::Real | T::Double) => "REAL".into(),
            (Sqlite, T::Text | T::TextEnum(_)) => match max_len {
                Some(n) => format!("VARCHAR({n})"),
                None => "TEXT".into(),
            },
            (Sqlite, T::Bytes) => "BLOB".into(),
            // NUMERIC affinity would round a 28-digit decimal through a double: keep the text.
            (Sqlite, T::Decimal) => "TEXT".into(),
            (Sqlite, T::Date | T::DateTime | T::Timestamp | T::Uuid | T::Json) => "TEXT".into(),

            (Postgres | MariaDb, T::Bool) => "BOOLEAN".into(),
            (Postgres | MariaDb, T::SmallInt) => "SMALLINT".into(),
            (Postgres | MariaDb, T::Int) => "INTEGER".into(),
            (Postgres | MariaDb, T::BigInt | T::IntEnum(_)) => "BIGINT".into(),
            (Postgres, T::Real) => "REAL".into(),
            (MariaDb, T::Real) => "FLOAT".into(),
            (Postgres, T::Double) => "DOUBLE PRECISION".into(),
            (MariaDb, T::Double) => "DOUBLE".into(),
            (Postgres, T::Text) => match max_len {
                Some(n) => format!("VARCHAR({n})"),
                None => "TEXT".into(),
            },
            (MariaDb, T::Text) => match max_len {
                Some(n) => format!("VARCHAR({n})"),
                None => "LONGTEXT".into(),
            },
            (Postgres | MariaDb, T::TextEnum(values)) => {
                let n = values.iter().map(|v| v.chars().count()).max().unwrap_or(1).max(1);
                format!("VARCHAR({n})")
            }
            (Postgres, T::Bytes) => "BYTEA".into(),
            (MariaDb, T::Bytes) => "LONGBLOB".into(),
            (Postgres, T::Decimal) => match decimal {
                Some((p, s)) => format!("NUMERIC({p}, {s})"),
                None => "NUMERIC".into(),
            },
            // 65 digits with 28 after the point holds every rust_decimal value exactly.
            (MariaDb, T::Decimal) => {
                let (p, s) = decimal.unwrap_or((65, 28));
                format!("DECIMAL({p}, {s})")
            }
            (Postgres | MariaDb, T::Date) => "DATE".into(),
            (Postgres, T::DateTime) => "TIMESTAMP".into(),
            (Postgres, T::Timestamp) => "TIMESTAMPTZ".into(),
            (MariaDb, T::DateTime | T::Timestamp) => "DATETIME(6)".into(),
            (Postgres, T::Uuid) => "UUID".into(),
            (MariaDb, T::Uuid) => "CHAR(36)".into(),
            (Postgres, T::Json) => "JSONB".into(),
            (MariaDb, T::Json) => "JSON".into(),
        }
    }

    /// Refuses a value this dialect would store unfaithfully: NaN on SQLite (it becomes NULL) and
    /// MariaDB (no NaN), a NUL byte in PostgreSQL text, a date outside the years 0 to 9999 on SQLite
    /// (its text would no longer sort as the date does).
    pub fn check_value(self, value: &Value) -> Result<()> {
        use chrono::Datelike;
        let sqlite_year = |year: i32| {
            if (0..=9999).contains(&year) {
                Ok(())
            } else {
                Err(Error::invalid_value(format!(
                    "the year {year} cannot be stored in SQLite, which keeps dates as text that sorts only for the years 0 to 9999"
                )))
            }
        };
        match (self, value) {
            (Dialect::Sqlite, Value::Date(d)) => sqlite_year(d.year()),
            (Dialect::Sqlite, Value::DateTime(t)) => sqlite_year(t.year()),
            (Dialect::Sqlite, Value::Timestamp(t)) => sqlite_year(t.year()),
            (_, Value::Invalid(message)) => Err(Error::invalid_value(message.clone())),
            (Dialect::Sqlite | Dialect::MariaDb, Value::Float(f)) if f.is_nan() => {
                Err(Error::invalid_value(format!("NaN cannot be stored in {} (it has no NaN)", self.name())))
            }
            (Dialect::MariaDb, Value::Float(f)) if f.is_infinite() => {
                Err(Error::invalid_value("an infinite float cannot be stored in MariaDB"))
            }
            (Dialect::Postgres, Value::Text(s)) if s.contains('\0') => {
                Err(Error::invalid_value("PostgreSQL text cannot hold a NUL byte (U+0000)"))
            }
            (Dialect::Postgres, Value::Json(j)) if json_has_nul(j) => {
                Err(Error::invalid_value("PostgreSQL JSONB cannot hold a NUL character (\\u0000)"))
            }
            _ => Ok(()),
        }
    }
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
