//! SQLite through rusqlite, on the caller's thread. Every future here is ready at once, except
//! while another writer holds the lock: then the statement is retried after a pause that blocks
//! the thread in the blocking facade and yields to the runtime in the async facade.

use super::Facade;
use super::pool::Connect;
use crate::options::{OpenOptions, SqliteTarget};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use nextorm_core::{Error, ErrorKind, Result, RowRead, Value};
use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
use rust_decimal::Decimal;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How a statement waits for a lock held by another writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WaitMode {
    /// Sleep the thread (blocking facade).
    Block,
    /// Sleep the task (async facade), so the runtime keeps serving other tasks.
    Yield,
}

pub(crate) struct SqliteDriver {
    target: SqliteTarget,
    busy_timeout: Duration,
    wait: WaitMode,
}

impl SqliteDriver {
    /// The driver of `target`: waits for another writer's lock block the thread in the blocking
    /// facade and yield to the runtime in the async one.
    pub(crate) fn new(target: SqliteTarget, options: &OpenOptions, facade: Facade) -> SqliteDriver {
        let wait = match facade {
            Facade::Blocking => WaitMode::Block,
            Facade::Async => WaitMode::Yield,
        };
        SqliteDriver { target, busy_timeout: options.busy_timeout, wait }
    }
}

pub(crate) struct SqliteConn {
    pub(crate) raw: Connection,
    busy_timeout: Duration,
    wait: WaitMode,
}

impl Connect for SqliteDriver {
    type Conn = SqliteConn;

    async fn connect(&self) -> Result<SqliteConn> {
        let raw = match &self.target {
            SqliteTarget::Memory => Connection::open_in_memory(),
            SqliteTarget::File { path, create, read_only } => {
                let mut flags = OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                flags |= if *read_only {
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                } else if *create {
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
                } else {
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                };
                Connection::open_with_flags(path, flags)
            }
        }
        .map_err(|e| super::connect_failed(map_error(e), self.target.describe()))?;
        // Our retry loop waits for locks, so that the async facade can yield while it waits.
        raw.busy_timeout(Duration::ZERO).map_err(map_error)?;
        // A double-quoted name that matches no column is an error, never the string literal
        // SQLite's compatibility mode would make of it (a missing column read as its own name).
        for dqs in [DbConfig::SQLITE_DBCONFIG_DQS_DML, DbConfig::SQLITE_DBCONFIG_DQS_DDL] {
            raw.set_db_config(dqs, false).map_err(map_error)?;
        }
        super::sqlite_decimal::register(&raw).map_err(map_error)?;
        raw.set_prepared_statement_cache_capacity(256);
        let mut conn = SqliteConn { raw, busy_timeout: self.busy_timeout, wait: self.wait };
        // LIKE is case-sensitive, as on PostgreSQL and MariaDB's binary collation: starts_with and
        // contains match exactly what Rust's str methods match.
        conn.batch("PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON").await?;
        if let SqliteTarget::File { read_only: false, .. } = self.target {
            conn.batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL").await?;
        }
        Ok(conn)
    }

    /// A SQLite connection is a file handle in this process: it cannot die while idle.
    async fn is_alive(&self, _conn: &mut SqliteConn) -> bool {
        true
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            // A stale snapshot cannot be cured by waiting: the transaction must restart.
            && f.extended_code != rusqlite::ffi::SQLITE_BUSY_SNAPSHOT)
}

impl SqliteConn {
    /// Runs `attempt` until it succeeds, fails with something other than a lock conflict, or the
    /// busy timeout passes.
    async fn retry<T>(&mut self, mut attempt: impl FnMut(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut deadline = None;
        let mut pause = Duration::from_millis(1);
        loop {
            match attempt(&self.raw) {
                Err(e) if is_busy(&e) => {
                    let deadline = *deadline.get_or_insert_with(|| Instant::now() + self.busy_timeout);
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(Error::with_source(
                            ErrorKind::Busy,
                            format!("the database stayed locked by another writer for {:?}", self.busy_timeout),
                            e,
                        ));
                    }
                    let sleep = pause.min(deadline - now);
                    match self.wait {
                        WaitMode::Block => std::thread::sleep(sleep),
                        WaitMode::Yield => tokio::time::sleep(sleep).await,
                    }
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => return other.map_err(map_error),
            }
        }
    }

    pub(crate) async fn batch(&mut self, sql: &str) -> Result<()> {
        self.retry(|c| c.execute_batch(sql)).await
    }

    pub(crate) async fn execute(&mut self, sql: &str, binds: &[Value]) -> Result<u64> {
        self.retry(|c| {
            let mut stmt = c.prepare_cached(sql)?;
            bind_all(&mut stmt, binds)?;
            stmt.raw_execute().map(|n| n as u64)
        })
        .await
    }

    /// Runs an `INSERT` and returns the rowid it generated.
    pub(crate) async fn insert(&mut self, sql: &str, binds: &[Value]) -> Result<i64> {
        self.retry(|c| {
            let mut stmt = c.prepare_cached(sql)?;
            bind_all(&mut stmt, binds)?;
            stmt.raw_execute()?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    /// Calls `each` on every row. A lock conflict can only surface before the first row, so the
    /// retry never repeats rows already seen.
    pub(crate) async fn fetch(
        &mut self,
        sql: &str,
        binds: &[Value],
        each: &mut (dyn FnMut(&dyn RowRead) -> Result<()> + Send),
    ) -> Result<()> {
        let mut failure = None;
        self.retry(|c| fetch_rows(c, sql, binds, each, &mut failure)).await?;
        failure.map_or(Ok(()), Err)
    }

    /// Whether the connection is outside any transaction.
    pub(crate) fn is_idle(&self) -> bool {
        self.raw.is_autocommit()
    }
}

/// The rows of one query, each given to `each` (its error kept in `failure`). A plain function,
/// so the row loop is compiled once rather than inside each future that awaits a fetch.
fn fetch_rows(
    c: &Connection,
    sql: &str,
    binds: &[Value],
    each: &mut (dyn FnMut(&dyn RowRead) -> Result<()> + Send),
    failure: &mut Option<Error>,
) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(sql)?;
    bind_all(&mut stmt, binds)?;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        if let Err(e) = each(&SqliteRow(row)) {
            *failure = Some(e);
            break;
        }
    }
    Ok(())
}

fn bind_all(stmt: &mut rusqlite::CachedStatement<'_>, binds: &[Value]) -> rusqlite::Result<()> {
    let expected = stmt.parameter_count();
    if expected != binds.len() {
        return Err(rusqlite::Error::InvalidParameterCount(binds.len(), expected));
    }
    for (i, v) in binds.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, Bind(v))?;
    }
    Ok(())
}

struct Bind<'a>(&'a Value);

impl rusqlite::ToSql for Bind<'_> {
    #[inline]
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        use rusqlite::types::Value as Owned;
        Ok(match self.0 {
            Value::Null(_) => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Bool(b) => ToSqlOutput::Owned(Owned::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Owned(Owned::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Owned(Owned::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            // Decimals, dates, times, UUIDs and JSON are stored as text; arrays and invalid values
            // have no text form and are refused.
            other => match other.stored_text() {
                Some(text) => ToSqlOutput::Owned(Owned::Text(text)),
                None => {
                    return Err(rusqlite::Error::ToSqlConversionFailure("this value cannot be bound on SQLite".into()));
                }
            },
        })
    }
}

struct SqliteRow<'a>(&'a rusqlite::Row<'a>);

impl SqliteRow<'_> {
    fn value(&self, idx: usize) -> Result<ValueRef<'_>> {
        self.0.get_ref(idx).map_err(map_error)
    }

    fn text(&self, idx: usize, what: &str) -> Result<&str> {
        match self.value(idx)? {
            ValueRef::Text(t) => std::str::from_utf8(t).map_err(|_| Error::decode("text is not valid UTF-8")),
            other => Err(mismatch(other, what)),
        }
    }
}

fn mismatch(v: ValueRef<'_>, what: &str) -> Error {
    match v {
        ValueRef::Null => {
            Error::decode(format!("unexpected NULL; expected {what} (use Option<_> for a nullable column)"))
        }
        other => Error::decode(format!("expected {what}, found SQLite {}", other.data_type())),
    }
}

fn parse<T>(s: &str, what: &str, parsed: std::result::Result<T, impl std::fmt::Display>) -> Result<T> {
    parsed.map_err(|e| Error::decode(format!("cannot read {s:?} as {what}: {e}")))
}

fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim_end_matches('Z');
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%z"]
        .iter()
        .find_map(|f| DateTime::parse_from_str(s, f).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| parse_datetime(s).map(|t| t.and_utc()))
}

impl RowRead for SqliteRow<'_> {
    fn column_count(&self) -> usize {
        self.0.as_ref().column_count()
    }

    fn column_name(&self, idx: usize) -> String {
        self.0.as_ref().column_name(idx).map(str::to_owned).unwrap_or_else(|_| idx.to_string())
    }

    fn is_null(&self, idx: usize) -> Result<bool> {
        Ok(matches!(self.value(idx)?, ValueRef::Null))
    }

    fn get_bool(&self, idx: usize) -> Result<bool> {
        match self.value(idx)? {
            ValueRef::Integer(0) => Ok(false),
            ValueRef::Integer(1) => Ok(true),
            other => Err(mismatch(other, "a boolean (0 or 1)")),
        }
    }

    fn get_i64(&self, idx: usize) -> Result<i64> {
        match self.value(idx)? {
            ValueRef::Integer(i) => Ok(i),
            ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            other => Err(mismatch(other, "an integer")),
        }
    }

    fn get_f64(&self, idx: usize) -> Result<f64> {
        match self.value(idx)? {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Integer(i) => Ok(i as f64),
            other => Err(mismatch(other, "a float")),
        }
    }

    fn get_string(&self, idx: usize) -> Result<String> {
        self.text(idx, "text").map(str::to_owned)
    }

    fn get_bytes(&self, idx: usize) -> Result<Vec<u8>> {
        match self.value(idx)? {
            ValueRef::Blob(b) | ValueRef::Text(b) => Ok(b.to_vec()),
            other => Err(mismatch(other, "bytes")),
        }
    }

    fn get_decimal(&self, idx: usize) -> Result<Decimal> {
        match self.value(idx)? {
            ValueRef::Text(_) => nextorm_core::sqlite_decimal::parse_text(self.text(idx, "a decimal")?),
            ValueRef::Integer(i) => Ok(Decimal::from(i)),
            // The shortest text that reads back as this double, e.g. 1234.56, not 1234.5599999…
            ValueRef::Real(f) => nextorm_core::sqlite_decimal::parse_text(&f.to_string()),
            other => Err(mismatch(other, "a decimal")),
        }
    }

    fn get_date(&self, idx: usize) -> Result<NaiveDate> {
        let s = self.text(idx, "a date")?;
        parse(s, "a date", NaiveDate::parse_from_str(s, "%Y-%m-%d"))
    }

    fn get_datetime(&self, idx: usize) -> Result<NaiveDateTime> {
        let s = self.text(idx, "a date-time")?;
        parse_datetime(s).ok_or_else(|| Error::decode(format!("cannot read {s:?} as a date-time")))
    }

    fn get_timestamp(&self, idx: usize) -> Result<DateTime<Utc>> {
        match self.value(idx)? {
            ValueRef::Integer(secs) => DateTime::from_timestamp(secs, 0)
                .ok_or_else(|| Error::decode(format!("{secs} is out of range for a timestamp"))),
            _ => {
                let s = self.text(idx, "a timestamp")?;
                parse_timestamp(s).ok_or_else(|| Error::decode(format!("cannot read {s:?} as a timestamp")))
            }
        }
    }

    fn get_uuid(&self, idx: usize) -> Result<Uuid> {
        match self.value(idx)? {
            ValueRef::Blob(b) => parse("blob", "a UUID", Uuid::from_slice(b)),
            _ => {
                let s = self.text(idx, "a UUID")?;
                parse(s, "a UUID", Uuid::parse_str(s))
            }
        }
    }

    fn get_json(&self, idx: usize) -> Result<serde_json::Value> {
        match self.value(idx)? {
            ValueRef::Text(_) => {
                let s = self.text(idx, "JSON")?;
                parse(s, "JSON", serde_json::from_str(s))
            }
            ValueRef::Integer(i) => Ok(serde_json::Value::from(i)),
            ValueRef::Real(f) => Ok(serde_json::Value::from(f)),
            other => Err(mismatch(other, "JSON")),
        }
    }
}

/// Maps a rusqlite error to nextorm's error kinds.
pub(crate) fn map_error(e: rusqlite::Error) -> Error {
    use rusqlite::ffi;
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let kind = match f.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
                ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
                ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
                _ => match f.code {
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => ErrorKind::Busy,
                    rusqlite::ErrorCode::TooBig => ErrorKind::InvalidValue,
                    _ => ErrorKind::Database,
                },
            };
            let message = msg.clone().unwrap_or_else(|| f.to_string());
            let code = f.extended_code.to_string();
            Error::with_source(kind, message, e).with_code(code)
        }
        rusqlite::Error::InvalidParameterCount(given, expected) => {
            Error::config(format!("the statement has {expected} parameter(s) but {given} were given"))
        }
        rusqlite::Error::NulError(_) => Error::new(ErrorKind::InvalidValue, e.to_string()),
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::InvalidColumnIndex(_)
        | rusqlite::Error::Utf8Error(..) => Error::with_source(ErrorKind::Decode, e.to_string(), e),
        rusqlite::Error::QueryReturnedNoRows => Error::new(ErrorKind::NotFound, "the query returned no rows"),
        _ => Error::with_source(ErrorKind::Database, e.to_string(), e),
    }
}
