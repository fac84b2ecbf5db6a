//! MariaDB through sqlx, in strict SQL mode with utf8mb4 and UTC.

use super::pool::Connect;
use super::server::{connect_within, map_error as map_sqlx, unexpected_null};
use crate::options::OpenOptions;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures_util::TryStreamExt;
use nextorm_core::{Error, ErrorKind, Kind, Result, RowRead, Value};
use rust_decimal::Decimal;
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlDatabaseError, MySqlRow};
use sqlx::{Arguments, AssertSqlSafe, Column, Connection, MySqlConnection, Row, TypeInfo, ValueRef};
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

pub(crate) struct MariaDbDriver {
    options: MySqlConnectOptions,
    connect_timeout: Duration,
    read_deadline: Option<Duration>,
    /// What every new connection runs first: [`SESSION_SETUP`] and the statement timeout.
    setup: String,
    label: String,
}

impl MariaDbDriver {
    /// The driver of `sqlx_url` (the URL as sqlx reads it), named by `url` with its password
    /// masked in messages: `utf8mb4`, UTC, up to 256 prepared statements per connection, and
    /// `SET SESSION max_statement_time = …` and `idle_transaction_timeout = …` when `options`
    /// has those limits.
    pub(crate) fn new(sqlx_url: &str, options: &OpenOptions, url: &str) -> Result<MariaDbDriver> {
        let parsed: MySqlConnectOptions =
            sqlx_url.parse().map_err(|e: sqlx::Error| Error::config(format!("invalid MariaDB URL: {e}")))?;
        let mut setup = SESSION_SETUP.to_owned();
        if let Some(limit) = options.statement_timeout {
            // Seconds, with microseconds; 0 would mean no limit.
            setup.push_str(&format!(", max_statement_time = {:.6}", limit.as_secs_f64().max(0.000_001)));
        }
        if let Some(limit) = options.idle_in_transaction_timeout {
            // Whole seconds, rounded up; 0 would mean no limit.
            let seconds = limit.as_secs() + u64::from(limit.subsec_nanos() > 0);
            setup.push_str(&format!(", idle_transaction_timeout = {}", seconds.max(1)));
        }
        let parsed = match &options.tls_root_certificate {
            Some(pem) => parsed.ssl_ca_from_pem(pem.clone()),
            None => parsed,
        };
        Ok(MariaDbDriver {
            options: parsed.statement_cache_capacity(256).charset("utf8mb4").timezone(Some("+00:00".into())),
            connect_timeout: options.connect_timeout,
            read_deadline: super::server::read_deadline(options.statement_timeout),
            setup,
            label: crate::options::masked(url),
        })
    }
}

/// Strict mode: an over-long string or an out-of-range number is an error, never truncated.
const SESSION_SETUP: &str = "SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO'), group_concat_max_len = 4294967295";

impl Connect for MariaDbDriver {
    type Conn = MySqlConnection;

    async fn connect(&self) -> Result<MySqlConnection> {
        connect_within(self.connect_timeout, &self.label, async {
            let mut conn = MySqlConnection::connect_with(&self.options).await.map_err(map_error)?;
            batch(&mut conn, &self.setup).await?;
            Ok(conn)
        })
        .await
    }

    async fn is_alive(&self, conn: &mut MySqlConnection) -> bool {
        super::server::answers(conn, self.connect_timeout).await
    }

    fn read_deadline(&self) -> Option<Duration> {
        self.read_deadline
    }
}

pub(crate) fn map_error(e: sqlx::Error) -> Error {
    map_sqlx(e, |db| {
        let number = db.try_downcast_ref::<MySqlDatabaseError>().map(|m| m.number()).unwrap_or(0);
        let kind = match number {
            1062 | 1586 => ErrorKind::UniqueViolation,
            1451 | 1452 | 1216 | 1217 => ErrorKind::ForeignKeyViolation,
            1048 | 1364 => ErrorKind::NotNullViolation,
            3819 | 4025 => ErrorKind::CheckViolation,
            1213 | 1205 => ErrorKind::SerializationFailure,
            1406 | 1264 | 1366 | 1292 | 1265 | 4078 => ErrorKind::InvalidValue,
            2006 | 2013 | 1927 | 1053 | 4031 => ErrorKind::ConnectionLost,
            // MariaDB's `max_statement_time exceeded`, MySQL's `max_execution_time` one.
            1969 | 3024 => ErrorKind::StatementTimeout,
            _ => ErrorKind::Database,
        };
        (kind, number.to_string())
    })
}

fn arguments(binds: &[Value]) -> Result<MySqlArguments> {
    let mut args = MySqlArguments::default();
    for v in binds {
        let added = match v {
            Value::Null(kind) => match kind {
                Kind::Bool => args.add(None::<bool>),
                Kind::Int => args.add(None::<i64>),
                Kind::Float => args.add(None::<f64>),
                Kind::Bytes => args.add(None::<Vec<u8>>),
                Kind::Decimal => args.add(None::<Decimal>),
                Kind::Date => args.add(None::<NaiveDate>),
                Kind::DateTime | Kind::Timestamp => args.add(None::<NaiveDateTime>),
                Kind::Text | Kind::Uuid | Kind::Json => args.add(None::<String>),
            },
            Value::Bool(b) => args.add(*b),
            Value::Int(i) => args.add(*i),
            Value::Float(f) => args.add(*f),
            Value::Text(s) => args.add(s.as_str()),
            Value::Bytes(b) => args.add(b.as_slice()),
            Value::Decimal(d) => args.add(*d),
            Value::Date(d) => args.add(*d),
            Value::DateTime(t) => args.add(*t),
            // Sessions run with time_zone '+00:00'; DATETIME(6) holds the UTC wall-clock time.
            Value::Timestamp(t) => args.add(t.naive_utc()),
            Value::Uuid(u) => args.add(u.hyphenated().to_string()),
            Value::Json(j) => args.add(j.to_string()),
            Value::Array(..) | Value::Invalid(_) => {
                return Err(Error::invalid_value(format!("{v:?} cannot be bound on MariaDB")));
            }
        };
        added.map_err(|e| Error::invalid_value(format!("cannot bind {v:?}: {e}")))?;
    }
    Ok(args)
}

/// The text sqlx prepares and caches a statement under: the statement itself, since MariaDB's
/// binary protocol sends the type of every bind with each execution.
fn prepared_text<'a>(sql: &'a str, _binds: &[Value]) -> std::borrow::Cow<'a, str> {
    sql.into()
}

/// Runs a statement; returns the rows it matched and the id it generated.
pub(crate) async fn execute(conn: &mut MySqlConnection, sql: &str, binds: &[Value]) -> Result<(u64, u64)> {
    let args = arguments(binds)?;
    let done = sqlx::query_with(AssertSqlSafe(sql), args).execute(conn).await.map_err(map_error)?;
    Ok((done.rows_affected(), done.last_insert_id()))
}

/// Runs an `INSERT` of one row and returns the key the database generated.
pub(crate) async fn insert(conn: &mut MySqlConnection, sql: &str, binds: &[Value]) -> Result<i64> {
    let (_, id) = execute(conn, sql, binds).await?;
    i64::try_from(id).map_err(|_| Error::decode(format!("generated key {id} does not fit in i64")))
}

super::server::sqlx_statements!(MySqlConnection, MyRowRead);

struct MyRowRead<'a>(&'a MySqlRow);

impl MyRowRead<'_> {
    fn type_name(&self, idx: usize) -> Result<&str> {
        let col = self.0.try_column(idx).map_err(map_error)?;
        Ok(col.type_info().name())
    }

    fn not_null(&self, idx: usize) -> Result<()> {
        if self.is_null(idx)? {
            return Err(unexpected_null());
        }
        Ok(())
    }

    fn get<'r, T: sqlx::Decode<'r, sqlx::MySql> + sqlx::Type<sqlx::MySql>>(&'r self, idx: usize) -> Result<T> {
        super::server::column(self.0, idx, map_error)
    }

    /// The text form the server sent, for DECIMAL, CHAR-typed UUIDs and JSON.
    fn raw_text(&self, idx: usize) -> Result<&str> {
        self.not_null(idx)?;
        self.0.try_get_unchecked::<&str, _>(idx).map_err(map_error)
    }
}

impl RowRead for MyRowRead<'_> {
    super::server::sqlx_row_shape!();

    fn get_bool(&self, idx: usize) -> Result<bool> {
        match self.get_i64(idx)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(Error::decode(format!("expected a boolean (0 or 1), found {other}"))),
        }
    }

    fn get_i64(&self, idx: usize) -> Result<i64> {
        let name = self.type_name(idx)?;
        // Keys and references are BIGINT: the first test, before any search of the name.
        if name == "BIGINT" {
            return self.get(idx);
        }
        if name.ends_with(" UNSIGNED") {
            let u: u64 = self.get(idx)?;
            return i64::try_from(u).map_err(|_| Error::decode(format!("{u} does not fit in i64")));
        }
        match name {
            "DECIMAL" => {
                let d = self.get_decimal(idx)?;
                if d.fract().is_zero() {
                    i64::try_from(d).map_err(|_| Error::decode(format!("{d} does not fit in i64")))
                } else {
                    Err(Error::decode(format!("{d} is not an integer")))
                }
            }
            "BOOLEAN" => self.get::<bool>(idx).map(i64::from),
            "TINYINT" => self.get::<i8>(idx).map(i64::from),
            "SMALLINT" => self.get::<i16>(idx).map(i64::from),
            "INT" | "MEDIUMINT" => self.get::<i32>(idx).map(i64::from),
            _ => self.get(idx),
        }
    }

    fn get_f64(&self, idx: usize) -> Result<f64> {
        match self.type_name(idx)? {
            "DOUBLE" => self.get(idx),
            "FLOAT" => self.get::<f32>(idx).map(f64::from),
            "DECIMAL" => {
                let d = self.get_decimal(idx)?;
                rust_decimal::prelude::ToPrimitive::to_f64(&d)
                    .ok_or_else(|| Error::decode(format!("{d} does not fit in f64")))
            }
            _ => self.get_i64(idx).map(|i| i as f64),
        }
    }

    fn get_string(&self, idx: usize) -> Result<String> {
        self.get(idx)
    }

    fn get_bytes(&self, idx: usize) -> Result<Vec<u8>> {
        self.get(idx)
    }

    fn get_decimal(&self, idx: usize) -> Result<Decimal> {
        match self.type_name(idx)? {
            "DECIMAL" => {
                let s = self.raw_text(idx)?;
                // DECIMAL(65, 28) pads to 28 places; drop the padding before it overflows 28 digits.
                let trimmed = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s };
                Decimal::from_str(trimmed).map_err(|e| Error::decode(format!("cannot read {s:?} as a decimal: {e}")))
            }
            "DOUBLE" | "FLOAT" => {
                let f = self.get_f64(idx)?.to_string();
                Decimal::from_str(&f).map_err(|e| Error::decode(format!("cannot read {f} as a decimal: {e}")))
            }
            _ => self.get_i64(idx).map(Decimal::from),
        }
    }

    fn get_date(&self, idx: usize) -> Result<NaiveDate> {
        self.get(idx)
    }

    fn get_datetime(&self, idx: usize) -> Result<NaiveDateTime> {
        self.get(idx)
    }

    fn get_timestamp(&self, idx: usize) -> Result<DateTime<Utc>> {
        self.get::<NaiveDateTime>(idx).map(|t| t.and_utc())
    }

    fn get_uuid(&self, idx: usize) -> Result<Uuid> {
        self.not_null(idx)?;
        let raw: &[u8] = self.0.try_get_unchecked(idx).map_err(map_error)?;
        // BINARY(16) holds the bytes; CHAR(36) the hyphenated text.
        if raw.len() == 16 {
            return Ok(Uuid::from_slice(raw).unwrap_or_default());
        }
        Uuid::try_parse_ascii(raw)
            .map_err(|e| Error::decode(format!("cannot read {:?} as a UUID: {e}", String::from_utf8_lossy(raw))))
    }

    fn get_json(&self, idx: usize) -> Result<serde_json::Value> {
        let s = self.raw_text(idx)?;
        serde_json::from_str(s).map_err(|e| Error::decode(format!("cannot read {s:?} as JSON: {e}")))
    }
}
