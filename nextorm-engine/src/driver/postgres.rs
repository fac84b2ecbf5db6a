//! PostgreSQL through sqlx.

use super::pool::Connect;
use super::server::{connect_within, map_error as map_sqlx};
use crate::options::OpenOptions;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures_util::TryStreamExt;
use nextorm_core::{Error, ErrorKind, Kind, Result, RowRead, Value};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgRow};
use sqlx::{Arguments, AssertSqlSafe, Column, Connection, PgConnection, Row, TypeInfo, ValueRef};
use std::time::Duration;
use uuid::Uuid;

pub(crate) struct PgDriver {
    options: PgConnectOptions,
    connect_timeout: Duration,
    read_deadline: Option<Duration>,
    label: String,
}

impl PgDriver {
    /// The driver of `sqlx_url` (the URL as sqlx reads it), named by `url` with its password
    /// masked in messages; each connection caches up to 256 prepared statements and starts with
    /// the statement and idle-in-transaction timeouts of `options` (`-c statement_timeout=…`).
    pub(crate) fn new(sqlx_url: &str, options: &OpenOptions, url: &str) -> Result<PgDriver> {
        let parsed: PgConnectOptions =
            sqlx_url.parse().map_err(|e: sqlx::Error| Error::config(format!("invalid PostgreSQL URL: {e}")))?;
        // Server-side limits, in milliseconds, as `-c` startup options of every connection.
        let limits = [
            ("statement_timeout", options.statement_timeout),
            ("idle_in_transaction_session_timeout", options.idle_in_transaction_timeout),
        ];
        let limits: Vec<(&str, u128)> =
            limits.into_iter().filter_map(|(name, limit)| Some((name, limit?.as_millis().max(1)))).collect();
        let parsed = if limits.is_empty() { parsed } else { parsed.options(limits) };
        let parsed = match &options.tls_root_certificate {
            Some(pem) => parsed.ssl_root_cert_from_pem(pem.clone()),
            None => parsed,
        };
        Ok(PgDriver {
            options: parsed.statement_cache_capacity(256),
            connect_timeout: options.connect_timeout,
            read_deadline: super::server::read_deadline(options.statement_timeout),
            label: crate::options::masked(url),
        })
    }
}

impl Connect for PgDriver {
    type Conn = PgConnection;

    async fn connect(&self) -> Result<PgConnection> {
        connect_within(self.connect_timeout, &self.label, async {
            PgConnection::connect_with(&self.options).await.map_err(map_error)
        })
        .await
    }

    async fn is_alive(&self, conn: &mut PgConnection) -> bool {
        super::server::answers(conn, self.connect_timeout).await
    }

    fn read_deadline(&self) -> Option<Duration> {
        self.read_deadline
    }
}

pub(crate) fn map_error(e: sqlx::Error) -> Error {
    map_sqlx(e, |db| {
        let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
        let kind = match code.as_str() {
            "23505" => ErrorKind::UniqueViolation,
            "23503" => ErrorKind::ForeignKeyViolation,
            "23502" => ErrorKind::NotNullViolation,
            "23514" => ErrorKind::CheckViolation,
            // 55P03: a row lock not available (`FOR UPDATE NOWAIT`), as MariaDB's 1205.
            "40001" | "40P01" | "55P03" => ErrorKind::SerializationFailure,
            "22001" | "22003" | "22021" | "22P05" | "22007" | "22008" => ErrorKind::InvalidValue,
            // 57014: cancelled, by the statement timeout (or an administrator).
            "57014" => ErrorKind::StatementTimeout,
            // 25P03, 57P05: the server ended a connection idle (in a transaction) past its limit.
            "57P01" | "57P02" | "57P03" | "57P05" | "25P03" => ErrorKind::ConnectionLost,
            c if c.starts_with("08") => ErrorKind::ConnectionLost,
            _ => ErrorKind::Database,
        };
        (kind, code)
    })
}

fn arguments(binds: &[Value]) -> Result<PgArguments> {
    let mut args = PgArguments::default();
    for v in binds {
        let added = match v {
            Value::Null(kind) => match kind {
                Kind::Bool => args.add(None::<bool>),
                Kind::Int => args.add(None::<i64>),
                Kind::Float => args.add(None::<f64>),
                Kind::Text => args.add(None::<String>),
                Kind::Bytes => args.add(None::<Vec<u8>>),
                Kind::Decimal => args.add(None::<Decimal>),
                Kind::Date => args.add(None::<NaiveDate>),
                Kind::DateTime => args.add(None::<NaiveDateTime>),
                Kind::Timestamp => args.add(None::<DateTime<Utc>>),
                Kind::Uuid => args.add(None::<Uuid>),
                Kind::Json => args.add(None::<sqlx::types::Json<serde_json::Value>>),
            },
            Value::Bool(b) => args.add(*b),
            Value::Int(i) => args.add(*i),
            Value::Float(f) => args.add(*f),
            Value::Text(s) => args.add(s.as_str()),
            Value::Bytes(b) => args.add(b.as_slice()),
            Value::Decimal(d) => args.add(*d),
            Value::Date(d) => args.add(*d),
            Value::DateTime(t) => args.add(*t),
            Value::Timestamp(t) => args.add(*t),
            Value::Uuid(u) => args.add(*u),
            Value::Json(j) => args.add(sqlx::types::Json(j)),
            Value::Array(kind, items) => add_array(&mut args, *kind, items),
            Value::Invalid(_) => return Err(Error::invalid_value(format!("{v:?} cannot be bound"))),
        };
        added.map_err(|e| Error::invalid_value(format!("cannot bind {v:?}: {e}")))?;
    }
    Ok(args)
}

/// Binds a list as one PostgreSQL array of the list's kind (NULLs left out: they match nothing).
fn add_array(args: &mut PgArguments, kind: Kind, items: &[Value]) -> Result<(), sqlx::error::BoxDynError> {
    macro_rules! collect {
        ($variant:ident, $t:ty, |$x:ident| $conv:expr) => {{
            let list: Vec<$t> = items
                .iter()
                .filter_map(|v| match v {
                    Value::$variant($x) => Some($conv),
                    _ => None,
                })
                .collect();
            args.add(list)
        }};
    }
    match kind {
        Kind::Bool => collect!(Bool, bool, |b| *b),
        Kind::Int => collect!(Int, i64, |i| *i),
        Kind::Float => collect!(Float, f64, |f| *f),
        Kind::Text | Kind::Json => collect!(Text, String, |s| s.clone()),
        Kind::Bytes => collect!(Bytes, Vec<u8>, |b| b.clone()),
        Kind::Decimal => collect!(Decimal, Decimal, |d| *d),
        Kind::Date => collect!(Date, NaiveDate, |d| *d),
        Kind::DateTime => collect!(DateTime, NaiveDateTime, |t| *t),
        Kind::Timestamp => collect!(Timestamp, DateTime<Utc>, |t| *t),
        Kind::Uuid => collect!(Uuid, Uuid, |u| *u),
    }
}

/// The text sqlx prepares and caches a statement under. sqlx keys its statement cache by text and
/// fixes each parameter's type at the first `PREPARE`; a later run of the same text with a bind of
/// another type (`"amount" > $1` with a decimal, then with an integer) would send the integer's
/// bytes to a NUMERIC parameter, which reads them as another number. The bind types are appended
/// as a comment, so each type signature has a prepared statement of its own.
fn prepared_text<'a>(sql: &'a str, binds: &[Value]) -> std::borrow::Cow<'a, str> {
    if binds.is_empty() {
        return sql.into();
    }
    let letter = |kind: Kind| match kind {
        Kind::Bool => 'b',
        Kind::Int => 'i',
        Kind::Float => 'f',
        Kind::Text => 's',
        Kind::Bytes => 'y',
        Kind::Decimal => 'n',
        Kind::Date => 'd',
        Kind::DateTime => 't',
        Kind::Timestamp => 'z',
        Kind::Uuid => 'u',
        Kind::Json => 'j',
    };
    let mut text = String::with_capacity(sql.len() + 8 + 2 * binds.len());
    text.push_str(sql);
    text.push_str("\n/* ");
    for v in binds {
        if let Value::Array(kind, _) = v {
            text.push('[');
            text.push(letter(*kind));
        } else {
            text.push(letter(v.kind()));
        }
    }
    text.push_str(" */");
    text.into()
}

pub(crate) async fn execute(conn: &mut PgConnection, sql: &str, binds: &[Value]) -> Result<u64> {
    let args = arguments(binds)?;
    let sql = prepared_text(sql, binds);
    let done = sqlx::query_with(AssertSqlSafe(&*sql), args).execute(conn).await.map_err(map_error)?;
    Ok(done.rows_affected())
}

/// Runs an `INSERT ... RETURNING` of one generated key and returns the key.
pub(crate) async fn insert(conn: &mut PgConnection, sql: &str, binds: &[Value]) -> Result<i64> {
    let mut key = None;
    fetch(conn, sql, binds, &mut |row| {
        key = Some(row.get_i64(0)?);
        Ok(())
    })
    .await?;
    key.ok_or_else(|| Error::decode("INSERT … RETURNING returned no row"))
}

super::server::sqlx_statements!(PgConnection, PgRowRead);

struct PgRowRead<'a>(&'a PgRow);

impl PgRowRead<'_> {
    fn type_name(&self, idx: usize) -> Result<&str> {
        let col = self.0.try_column(idx).map_err(map_error)?;
        Ok(col.type_info().name())
    }

    fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(&'r self, idx: usize) -> Result<T> {
        super::server::column(self.0, idx, map_error)
    }

    fn wrong(&self, idx: usize, what: &str) -> Error {
        let found = self.type_name(idx).unwrap_or("?");
        Error::decode(format!("expected {what}, found PostgreSQL {found}"))
    }
}

impl RowRead for PgRowRead<'_> {
    super::server::sqlx_row_shape!();

    fn get_bool(&self, idx: usize) -> Result<bool> {
        self.get(idx)
    }

    fn get_i64(&self, idx: usize) -> Result<i64> {
        match self.type_name(idx)? {
            "INT8" => self.get(idx),
            "INT4" => self.get::<i32>(idx).map(i64::from),
            "INT2" => self.get::<i16>(idx).map(i64::from),
            "NUMERIC" => {
                let d: Decimal = self.get(idx)?;
                if d.fract().is_zero() {
                    i64::try_from(d).map_err(|_| Error::decode(format!("{d} does not fit in i64")))
                } else {
                    Err(Error::decode(format!("{d} is not an integer")))
                }
            }
            _ => Err(self.wrong(idx, "an integer")),
        }
    }

    fn get_f64(&self, idx: usize) -> Result<f64> {
        match self.type_name(idx)? {
            "FLOAT8" => self.get(idx),
            "FLOAT4" => self.get::<f32>(idx).map(f64::from),
            "INT8" | "INT4" | "INT2" => self.get_i64(idx).map(|i| i as f64),
            "NUMERIC" => {
                let d: Decimal = self.get(idx)?;
                rust_decimal::prelude::ToPrimitive::to_f64(&d)
                    .ok_or_else(|| Error::decode(format!("{d} does not fit in f64")))
            }
            _ => Err(self.wrong(idx, "a float")),
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
            "NUMERIC" => self.get(idx),
            "INT8" | "INT4" | "INT2" => self.get_i64(idx).map(Decimal::from),
            _ => Err(self.wrong(idx, "a decimal")),
        }
    }

    fn get_date(&self, idx: usize) -> Result<NaiveDate> {
        self.get(idx)
    }

    fn get_datetime(&self, idx: usize) -> Result<NaiveDateTime> {
        match self.type_name(idx)? {
            "TIMESTAMPTZ" => self.get::<DateTime<Utc>>(idx).map(|t| t.naive_utc()),
            _ => self.get(idx),
        }
    }

    fn get_timestamp(&self, idx: usize) -> Result<DateTime<Utc>> {
        match self.type_name(idx)? {
            "TIMESTAMP" => self.get::<NaiveDateTime>(idx).map(|t| t.and_utc()),
            _ => self.get(idx),
        }
    }

    fn get_uuid(&self, idx: usize) -> Result<Uuid> {
        match self.type_name(idx)? {
            "UUID" => self.get(idx),
            _ => {
                let s: String = self.get(idx)?;
                Uuid::parse_str(&s).map_err(|e| Error::decode(format!("cannot read {s:?} as a UUID: {e}")))
            }
        }
    }

    fn get_json(&self, idx: usize) -> Result<serde_json::Value> {
        match self.type_name(idx)? {
            "JSON" | "JSONB" => self.get::<sqlx::types::Json<serde_json::Value>>(idx).map(|j| j.0),
            _ => {
                let s: String = self.get(idx)?;
                serde_json::from_str(&s).map_err(|e| Error::decode(format!("cannot read {s:?} as JSON: {e}")))
            }
        }
    }
}
