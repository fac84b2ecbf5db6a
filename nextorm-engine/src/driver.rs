//! The connection every statement runs on: one type over the three drivers, and the code that
//! runs statements, written once as `async fn`s.

#[cfg(feature = "mariadb")]
pub(crate) mod mariadb;
pub(crate) mod pool;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(any(feature = "postgres", feature = "mariadb"))]
pub(crate) mod server;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_decimal;

use crate::options::{OpenOptions, Target};
use nextorm_core::{Dialect, Error, ErrorKind, Result, RowRead, Value};
#[cfg(any(feature = "postgres", feature = "mariadb"))]
use pool::Connect;
use pool::{Pool, Pooled};

/// Which facade drives the connections: it decides how waits happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facade {
    /// The blocking facade: waits block the thread.
    Blocking,
    /// The async facade: waits yield to the runtime.
    Async,
}

#[derive(Clone)]
pub(crate) enum AnyPool {
    #[cfg(feature = "sqlite")]
    Sqlite(Pool<sqlite::SqliteDriver>),
    #[cfg(feature = "postgres")]
    Postgres(Pool<postgres::PgDriver>),
    #[cfg(feature = "mariadb")]
    MariaDb(Pool<mariadb::MariaDbDriver>),
}

fn not_built(dialect: Dialect) -> Error {
    Error::new(ErrorKind::Unsupported, format!("nextorm was built without the `{}` feature", dialect.name()))
}

/// Turns the error of a connection attempt into [`ErrorKind::ConnectFailed`], its message led by
/// `what`; the database's code is kept and the original error stays as the source.
pub(crate) fn connect_failed(e: Error, what: impl std::fmt::Display) -> Error {
    let code = e.code().map(str::to_owned);
    let failed = Error::with_source(ErrorKind::ConnectFailed, format!("{what}: {}", e.message()), e);
    match code {
        Some(code) => failed.with_code(code),
        None => failed,
    }
}

impl AnyPool {
    #[cfg_attr(not(feature = "sqlite"), allow(unused_variables))]
    pub(crate) fn open(url: &str, options: &OpenOptions, facade: Facade) -> Result<AnyPool> {
        let target = Target::parse(url)?;
        let max = options.max_connections_or_default();
        match target {
            #[cfg(feature = "sqlite")]
            Target::Sqlite(t) => {
                // Every `:memory:` connection would be another database.
                let max = if t == crate::options::SqliteTarget::Memory { 1 } else { max };
                let driver = sqlite::SqliteDriver::new(t, options, facade);
                let blocking_wait = facade == Facade::Blocking;
                Ok(AnyPool::Sqlite(Pool::new(driver, max, options.acquire_timeout, None, blocking_wait)))
            }
            #[cfg(feature = "postgres")]
            Target::Postgres(sqlx_url) => {
                let driver = postgres::PgDriver::new(&sqlx_url, options, url)?;
                let ping_after = Some(options.ping_idle_after);
                Ok(AnyPool::Postgres(Pool::new(driver, max, options.acquire_timeout, ping_after, false)))
            }
            #[cfg(feature = "mariadb")]
            Target::MariaDb(sqlx_url) => {
                let driver = mariadb::MariaDbDriver::new(&sqlx_url, options, url)?;
                let ping_after = Some(options.ping_idle_after);
                Ok(AnyPool::MariaDb(Pool::new(driver, max, options.acquire_timeout, ping_after, false)))
            }
            #[allow(unreachable_patterns)]
            other => Err(not_built(other.dialect())),
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            AnyPool::Postgres(_) => Dialect::Postgres,
            #[cfg(feature = "mariadb")]
            AnyPool::MariaDb(_) => Dialect::MariaDb,
        }
    }

    /// Whether the driver's futures need a tokio runtime (see [`crate::DbCore::needs_runtime`]).
    pub(crate) fn needs_runtime(&self) -> bool {
        match self {
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite(_) => false,
            #[cfg(feature = "postgres")]
            AnyPool::Postgres(_) => true,
            #[cfg(feature = "mariadb")]
            AnyPool::MariaDb(_) => true,
        }
    }

    pub(crate) async fn acquire(&self) -> Result<Conn> {
        let inner = self.acquire_inner().await?;
        Ok(Conn { inner, pool: self.clone(), fresh: true, in_transaction: false, savepoints: 0, broken: false })
    }

    async fn acquire_inner(&self) -> Result<Inner> {
        Ok(match self {
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite(p) => Inner::Sqlite(p.acquire().await?),
            #[cfg(feature = "postgres")]
            AnyPool::Postgres(p) => Inner::Postgres(p.acquire().await?),
            #[cfg(feature = "mariadb")]
            AnyPool::MariaDb(p) => Inner::MariaDb(p.acquire().await?),
        })
    }

    /// Open and idle connection counts, and the callers waiting for one.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        match self {
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite(p) => p.counts(),
            #[cfg(feature = "postgres")]
            AnyPool::Postgres(p) => p.counts(),
            #[cfg(feature = "mariadb")]
            AnyPool::MariaDb(p) => p.counts(),
        }
    }

    /// Closes the pool and its idle connections.
    pub(crate) async fn close(&self) {
        match self {
            #[cfg(feature = "sqlite")]
            AnyPool::Sqlite(p) => drop(p.close()),
            #[cfg(feature = "postgres")]
            AnyPool::Postgres(p) => {
                for c in p.close() {
                    let _ = sqlx::Connection::close(c).await;
                }
            }
            #[cfg(feature = "mariadb")]
            AnyPool::MariaDb(p) => {
                for c in p.close() {
                    let _ = sqlx::Connection::close(c).await;
                }
            }
        }
    }
}

enum Inner {
    #[cfg(feature = "sqlite")]
    Sqlite(Pooled<sqlite::SqliteDriver>),
    #[cfg(feature = "postgres")]
    Postgres(Pooled<postgres::PgDriver>),
    #[cfg(feature = "mariadb")]
    MariaDb(Pooled<mariadb::MariaDbDriver>),
}

/// One connection checked out of the pool, held for a statement or a whole transaction.
///
/// It goes back to the pool when dropped, unless it is inside a transaction or broken: then an
/// SQLite connection is rolled back on the spot and a server connection is closed, so no pooled
/// connection ever carries someone else's transaction.
///
/// When the first statement of a checkout finds the connection dead and is one that may run
/// again (a query that delivered no row, or `BEGIN`), the connection is closed and the statement
/// runs on another one: a connection that died while idle costs the caller nothing.
pub struct Conn {
    inner: Inner,
    /// The pool, for a replacement when the connection is found dead.
    pool: AnyPool,
    /// Nothing has been sent on this checkout yet.
    fresh: bool,
    /// Set before `BEGIN` is sent and cleared only once `COMMIT` or `ROLLBACK` was acknowledged,
    /// so a future dropped at any await point leaves it set.
    in_transaction: bool,
    /// How many savepoints are open inside the transaction; the innermost is
    /// `nextorm_sp_<savepoints>`.
    savepoints: u32,
    broken: bool,
}

/// Starts timing a statement when SQL logging is on (`tracing` target `nextorm::sql`).
fn log_start() -> Option<std::time::Instant> {
    tracing::enabled!(target: "nextorm::sql", tracing::Level::DEBUG).then(std::time::Instant::now)
}

/// Logs a statement: text, bind count and duration at DEBUG; the bound values only at TRACE,
/// since they may be private.
fn log_end<T>(started: Option<std::time::Instant>, sql: &str, binds: &[Value], r: &Result<T>) {
    let Some(started) = started else { return };
    let elapsed_us = started.elapsed().as_micros() as u64;
    let error = r.as_ref().err().map(|e| e.to_string());
    if tracing::enabled!(target: "nextorm::sql", tracing::Level::TRACE) {
        tracing::trace!(target: "nextorm::sql", sql, binds = ?binds, elapsed_us, error);
    } else {
        tracing::debug!(target: "nextorm::sql", sql, binds = binds.len(), elapsed_us, error);
    }
}

/// A row callback.
pub(crate) type EachRow<'a> = &'a mut (dyn FnMut(&dyn RowRead) -> Result<()> + Send);

impl Conn {
    /// The connection's dialect.
    pub fn dialect(&self) -> Dialect {
        match &self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Inner::Postgres(_) => Dialect::Postgres,
            #[cfg(feature = "mariadb")]
            Inner::MariaDb(_) => Dialect::MariaDb,
        }
    }

    /// Records the calling thread or task as holding this connection for a session: while its
    /// sessions hold every connection of the pool, a further checkout by it fails at once
    /// ([`ErrorKind::Config`]) instead of waiting for itself.
    pub(crate) fn hold_for_session(&mut self) {
        match &mut self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(p) => p.hold_for_session(),
            #[cfg(feature = "postgres")]
            Inner::Postgres(p) => p.hold_for_session(),
            #[cfg(feature = "mariadb")]
            Inner::MariaDb(p) => p.hold_for_session(),
        }
    }

    /// Whether a transaction is open on this connection.
    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    fn track<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && e.kind() == ErrorKind::ConnectionLost
        {
            self.broken = true;
        }
        r
    }

    fn check_binds(&self, binds: &[Value]) -> Result<()> {
        let dialect = self.dialect();
        if binds.len() > dialect.max_binds() {
            return Err(Error::invalid_value(format!(
                "the statement has {} parameters; {} allows at most {}",
                binds.len(),
                dialect.name(),
                dialect.max_binds()
            )));
        }
        binds.iter().try_for_each(|v| dialect.check_value(v))
    }

    /// Runs a statement and returns the number of rows it affected (matched, on MariaDB).
    pub(crate) async fn execute_sql(&mut self, sql: &str, binds: &[Value]) -> Result<u64> {
        self.check_binds(binds)?;
        self.execute_checked(sql, binds).await
    }

    /// [`Conn::execute_sql`] for binds already checked (with the entity's context).
    pub(crate) async fn execute_checked(&mut self, sql: &str, binds: &[Value]) -> Result<u64> {
        let started = log_start();
        self.fresh = false;
        let r = match &mut self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(c) => c.get().execute(sql, binds).await,
            #[cfg(feature = "postgres")]
            Inner::Postgres(c) => {
                let deadline = c.driver().read_deadline();
                server::within_deadline(deadline, postgres::execute(c.get(), sql, binds)).await
            }
            #[cfg(feature = "mariadb")]
            Inner::MariaDb(c) => {
                let deadline = c.driver().read_deadline();
                server::within_deadline(deadline, mariadb::execute(c.get(), sql, binds)).await.map(|(n, _)| n)
            }
        };
        log_end(started, sql, binds, &r);
        self.track(r)
    }

    /// Runs an `INSERT` rendered for this dialect and returns the key the database generated.
    pub(crate) async fn insert_sql(&mut self, sql: &str, binds: &[Value]) -> Result<i64> {
        self.check_binds(binds)?;
        self.insert_checked(sql, binds).await
    }

    /// Runs an `INSERT` rendered for this dialect, with binds already checked, and returns the
    /// key the database generated.
    pub(crate) async fn insert_checked(&mut self, sql: &str, binds: &[Value]) -> Result<i64> {
        let started = log_start();
        self.fresh = false;
        let r = match &mut self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(c) => c.get().insert(sql, binds).await,
            #[cfg(feature = "postgres")]
            Inner::Postgres(c) => {
                let deadline = c.driver().read_deadline();
                server::within_deadline(deadline, postgres::insert(c.get(), sql, binds)).await
            }
            #[cfg(feature = "mariadb")]
            Inner::MariaDb(c) => {
                let deadline = c.driver().read_deadline();
                server::within_deadline(deadline, mariadb::insert(c.get(), sql, binds)).await
            }
        };
        log_end(started, sql, binds, &r);
        self.track(r)
    }

    /// Runs an `INSERT … RETURNING` of one generated key per row and returns the keys in the
    /// order of its rows. Never run again on another connection: the rows may be written.
    pub(crate) async fn insert_returning(&mut self, sql: &str, binds: &[Value]) -> Result<Vec<i64>> {
        let mut keys = Vec::with_capacity(binds.len());
        self.fresh = false;
        self.fetch_sql(sql, binds, &mut |row| {
            keys.push(row.get_i64(0)?);
            Ok(())
        })
        .await?;
        Ok(keys)
    }

    /// Runs a query and calls `each` on every row.
    pub(crate) async fn fetch_sql(&mut self, sql: &str, binds: &[Value], each: EachRow<'_>) -> Result<()> {
        self.check_binds(binds)?;
        let started = log_start();
        let mut rows = 0usize;
        let r = loop {
            let fresh = std::mem::take(&mut self.fresh);
            let mut counted = |row: &dyn RowRead| {
                rows += 1;
                each(row)
            };
            let r = match &mut self.inner {
                #[cfg(feature = "sqlite")]
                Inner::Sqlite(c) => c.get().fetch(sql, binds, &mut counted).await,
                #[cfg(feature = "postgres")]
                Inner::Postgres(c) => {
                    let deadline = c.driver().read_deadline();
                    server::within_deadline(deadline, postgres::fetch(c.get(), sql, binds, &mut counted)).await
                }
                #[cfg(feature = "mariadb")]
                Inner::MariaDb(c) => {
                    let deadline = c.driver().read_deadline();
                    server::within_deadline(deadline, mariadb::fetch(c.get(), sql, binds, &mut counted)).await
                }
            };
            // A query that delivered nothing may run again on another connection.
            if fresh && rows == 0 && self.replaced_dead(&r).await {
                continue;
            }
            break r;
        };
        log_end(started, sql, binds, &r);
        self.track(r)
    }

    /// Runs statements without parameters (DDL, transaction control).
    pub(crate) async fn batch(&mut self, sql: &str) -> Result<()> {
        self.batch_replayable(sql, false).await
    }

    /// [`Conn::batch`]; with `replayable` (`BEGIN`), a first statement that finds the connection
    /// dead runs again on another one.
    async fn batch_replayable(&mut self, sql: &str, replayable: bool) -> Result<()> {
        let started = log_start();
        let r = loop {
            let fresh = std::mem::take(&mut self.fresh);
            let r = match &mut self.inner {
                #[cfg(feature = "sqlite")]
                Inner::Sqlite(c) => c.get().batch(sql).await,
                #[cfg(feature = "postgres")]
                Inner::Postgres(c) => {
                    let deadline = c.driver().read_deadline();
                    server::within_deadline(deadline, postgres::batch(c.get(), sql)).await
                }
                #[cfg(feature = "mariadb")]
                Inner::MariaDb(c) => {
                    let deadline = c.driver().read_deadline();
                    server::within_deadline(deadline, mariadb::batch(c.get(), sql)).await
                }
            };
            if fresh && replayable && self.replaced_dead(&r).await {
                continue;
            }
            break r;
        };
        log_end(started, sql, &[], &r);
        self.track(r)
    }

    /// After the first statement of a checkout failed: when it found the connection dead, lets
    /// the connection go and takes another from the pool. Whether the statement may run again.
    async fn replaced_dead<T>(&mut self, r: &Result<T>) -> bool {
        if !matches!(r, Err(e) if e.kind() == ErrorKind::ConnectionLost) {
            return false;
        }
        match &mut self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(p) => p.let_go_broken(),
            #[cfg(feature = "postgres")]
            Inner::Postgres(p) => p.let_go_broken(),
            #[cfg(feature = "mariadb")]
            Inner::MariaDb(p) => p.let_go_broken(),
        }
        // Boxed: the acquire future is large and this path is rare.
        match Box::pin(self.pool.acquire_inner()).await {
            // The dead connection is closed as it is replaced.
            Ok(inner) => {
                self.inner = inner;
                true
            }
            Err(_) => false,
        }
    }

    /// Begins a transaction: `BEGIN`, or `BEGIN IMMEDIATE` on SQLite.
    pub async fn begin(&mut self) -> Result<()> {
        self.begin_with(false).await
    }

    /// Begins a transaction, `SERIALIZABLE` if asked (on SQLite every transaction is).
    pub async fn begin_with(&mut self, serializable: bool) -> Result<()> {
        if self.in_transaction {
            return Err(Error::config("a transaction is already open on this connection"));
        }
        self.in_transaction = true;
        for sql in self.dialect().begin_statements(serializable) {
            self.batch_replayable(sql, true).await?;
        }
        Ok(())
    }

    /// Begins a transaction with `statement` (a migration's `BEGIN EXCLUSIVE` on SQLite).
    pub(crate) async fn begin_statement(&mut self, statement: &str) -> Result<()> {
        if self.in_transaction {
            return Err(Error::config("a transaction is already open on this connection"));
        }
        self.in_transaction = true;
        self.batch(statement).await
    }

    /// Commits the open transaction. If the connection fails during `COMMIT`, the outcome is
    /// unknown and the error says so.
    pub async fn commit(&mut self) -> Result<()> {
        match self.batch("COMMIT").await {
            Ok(()) => {
                self.in_transaction = false;
                self.savepoints = 0;
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::ConnectionLost => Err(e
                .context("the connection failed during COMMIT, so whether the transaction committed is unknown")
                .with_outcome_unknown()),
            Err(e) => Err(e),
        }
    }

    /// Rolls back the open transaction. On a connection found broken nothing is sent (it could
    /// only wait out the read deadline again): the connection is closed on drop, and the server
    /// rolls back a transaction whose connection closed.
    pub async fn rollback(&mut self) -> Result<()> {
        if self.broken {
            return Ok(());
        }
        self.batch("ROLLBACK").await?;
        self.in_transaction = false;
        self.savepoints = 0;
        Ok(())
    }

    /// Opens a savepoint inside the open transaction, `SAVEPOINT nextorm_sp_<n>` (the same on
    /// the three dialects, `n` counting from 1 at each level of nesting), and returns `n`.
    pub async fn savepoint(&mut self) -> Result<u32> {
        if !self.in_transaction {
            return Err(Error::internal("a savepoint needs an open transaction"));
        }
        let n = self.savepoints + 1;
        self.batch(&format!("SAVEPOINT nextorm_sp_{n}")).await?;
        self.savepoints = n;
        Ok(n)
    }

    /// Keeps what savepoint `n` did as part of the transaction: `RELEASE SAVEPOINT nextorm_sp_<n>`.
    pub async fn release_savepoint(&mut self, n: u32) -> Result<()> {
        self.innermost_savepoint(n)?;
        self.batch(&format!("RELEASE SAVEPOINT nextorm_sp_{n}")).await?;
        self.savepoints = n - 1;
        Ok(())
    }

    /// Undoes what savepoint `n` did and closes it, leaving the transaction open:
    /// `ROLLBACK TO SAVEPOINT nextorm_sp_<n>`, then `RELEASE SAVEPOINT nextorm_sp_<n>`.
    pub async fn rollback_to_savepoint(&mut self, n: u32) -> Result<()> {
        self.innermost_savepoint(n)?;
        self.batch(&format!("ROLLBACK TO SAVEPOINT nextorm_sp_{n}")).await?;
        self.batch(&format!("RELEASE SAVEPOINT nextorm_sp_{n}")).await?;
        self.savepoints = n - 1;
        Ok(())
    }

    /// Savepoints close innermost first; anything else is a bug of the facade.
    fn innermost_savepoint(&self, n: u32) -> Result<()> {
        if !self.in_transaction || n == 0 || n != self.savepoints {
            return Err(Error::internal(format!(
                "savepoint nextorm_sp_{n} is not the innermost open one ({} open)",
                self.savepoints
            )));
        }
        Ok(())
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        match &mut self.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(p) => {
                // Rolling back is synchronous here, so the connection can go back to the pool.
                let c = p.get();
                if !c.is_idle() && (c.raw.execute_batch("ROLLBACK").is_err() || !c.is_idle()) || self.broken {
                    drop(p.discard());
                }
            }
            #[cfg(feature = "postgres")]
            Inner::Postgres(p) => {
                if self.broken {
                    drop(p.discard_broken());
                } else if self.in_transaction {
                    drop(p.discard());
                }
            }
            #[cfg(feature = "mariadb")]
            Inner::MariaDb(p) => {
                if self.broken {
                    drop(p.discard_broken());
                } else if self.in_transaction {
                    drop(p.discard());
                }
            }
        }
    }
}
