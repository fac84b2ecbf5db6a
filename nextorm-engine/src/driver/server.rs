//! What PostgreSQL and MariaDB share: both go through sqlx, and their errors map the same way
//! apart from the codes.

use nextorm_core::{Error, ErrorKind};
use std::time::Duration;

/// Maps an sqlx error; `classify` turns the database's own code into a kind.
pub(crate) fn map_error(
    e: sqlx::Error,
    classify: impl Fn(&dyn sqlx::error::DatabaseError) -> (ErrorKind, String),
) -> Error {
    let kind = match &e {
        sqlx::Error::Database(db) => {
            let (kind, code) = classify(db.as_ref());
            let message = db.message().to_owned();
            return Error::with_source(kind, message, e).with_code(code);
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => ErrorKind::ConnectionLost,
        sqlx::Error::PoolTimedOut => ErrorKind::PoolTimeout,
        sqlx::Error::RowNotFound => ErrorKind::NotFound,
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => ErrorKind::Decode,
        sqlx::Error::Encode(_) => ErrorKind::InvalidValue,
        sqlx::Error::Configuration(_) => ErrorKind::Config,
        _ => ErrorKind::Database,
    };
    Error::with_source(kind, e.to_string(), e)
}

/// Runs a connect future under the connect timeout. Any failure is [`ErrorKind::ConnectFailed`]
/// naming the server as the user wrote it (`what`, password masked), with the database's code.
pub(crate) async fn connect_within<T>(
    timeout: std::time::Duration,
    what: &str,
    fut: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r.map_err(|e| super::connect_failed(e, format_args!("cannot connect to {what}"))),
        Err(_) => {
            Err(Error::new(ErrorKind::ConnectFailed, format!("cannot connect to {what}: no answer within {timeout:?}")))
        }
    }
}

/// Whether `conn` answers a ping within `timeout`.
pub(crate) async fn answers(conn: &mut impl sqlx::Connection, timeout: Duration) -> bool {
    matches!(tokio::time::timeout(timeout, conn.ping()).await, Ok(Ok(())))
}

/// How much longer than the server's statement timeout the client waits for an answer: the
/// server's own cancel should arrive first, and only a silent network trips the client's deadline.
pub(crate) const READ_GRACE: Duration = Duration::from_secs(1);

/// The client's read deadline for a statement timeout: the timeout plus [`READ_GRACE`].
pub(crate) fn read_deadline(statement_timeout: Option<Duration>) -> Option<Duration> {
    statement_timeout.map(|t| t + READ_GRACE)
}

/// Runs a statement future under the client's read deadline, if there is one. A statement with
/// no answer by then fails with [`ErrorKind::ConnectionLost`] (the socket may be half-open; the
/// caller discards the connection).
pub(crate) async fn within_deadline<T>(
    deadline: Option<Duration>,
    fut: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    let Some(deadline) = deadline else { return fut.await };
    match tokio::time::timeout(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(Error::new(
            ErrorKind::ConnectionLost,
            format!("the server did not answer within {deadline:?}; the connection is closed"),
        )),
    }
}

/// The statement glue both sqlx drivers share: `batch` (unprepared statements) and `fetch` (a
/// prepared query whose rows stream into a callback). The driver module supplies `arguments`,
/// `map_error` and its row reader.
macro_rules! sqlx_statements {
    ($conn:ty, $row:ident) => {
        pub(crate) async fn batch(conn: &mut $conn, sql: &str) -> Result<()> {
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(conn).await.map_err(map_error)?;
            Ok(())
        }

        pub(crate) async fn fetch(
            conn: &mut $conn,
            sql: &str,
            binds: &[Value],
            each: &mut (dyn FnMut(&dyn RowRead) -> Result<()> + Send),
        ) -> Result<()> {
            let args = arguments(binds)?;
            let sql = prepared_text(sql, binds);
            let mut rows = sqlx::query_with(AssertSqlSafe(&*sql), args).fetch(conn);
            while let Some(row) = rows.try_next().await.map_err(map_error)? {
                each(&$row(&row))?;
            }
            Ok(())
        }
    };
}
pub(crate) use sqlx_statements;

/// The `RowRead` methods that read a sqlx row's shape rather than its values, the same for both
/// sqlx drivers: invoked inside each driver's `impl RowRead`, whose row wrapper holds the row in
/// field `0`.
macro_rules! sqlx_row_shape {
    () => {
        fn column_count(&self) -> usize {
            self.0.columns().len()
        }

        fn column_name(&self, idx: usize) -> String {
            self.0.try_column(idx).map(|c| c.name().to_owned()).unwrap_or_else(|_| idx.to_string())
        }

        fn is_null(&self, idx: usize) -> Result<bool> {
            Ok(self.0.try_get_raw(idx).map_err(map_error)?.is_null())
        }
    };
}
pub(crate) use sqlx_row_shape;

/// Column `idx` of `row` as a `T`, checked as sqlx's `try_get` checks it (`map_error` words
/// sqlx's errors for the driver). Every type the drivers read this way refuses `NULL`, so the
/// column is looked up once, and tested for `NULL` only to word the error.
pub(crate) fn column<'r, R, T>(row: &'r R, idx: usize, map_error: fn(sqlx::Error) -> Error) -> Result<T, Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    use sqlx::ValueRef as _;
    row.try_get(idx).map_err(|e| match row.try_get_raw(idx) {
        Ok(value) if value.is_null() => unexpected_null(),
        _ => map_error(e),
    })
}

/// The error of reading `NULL` into a type without `Option`.
pub(crate) fn unexpected_null() -> Error {
    Error::decode("unexpected NULL (use Option<_> for a nullable column)")
}
