//! The async facade: the database, its transactions and sessions, each method awaiting the engine.

use futures_util::FutureExt;
use nextorm_core::dict::{Dict, DictOptions};
use nextorm_core::migrate::{MigrateOptions, MigrateReport, MigrationSource, MigrationStatus};
use nextorm_core::query::Query;
use nextorm_core::session::{Handle, SessionEntity};
use nextorm_core::{Dialect, Entity, Error, FromRow, IntoParams, Result};
use nextorm_engine::{
    Conn, CreateTables, DbCore, Facade, MigrationProgress, OpenOptions, PoolStatus, SessionCore, SessionEnd,
    SessionOptions, SessionStats, SqlTarget, TracingProgress, finish_session,
};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

nextorm_engine::executor_impl!(async, connection, impl<'a> for &'a AsyncDatabase, out 'a, with_conn);
nextorm_engine::executor_impl!(async, connection, impl<'a> for &'a AsyncTransaction, out 'a, with_conn);
nextorm_engine::executor_impl!(async, session, impl<'a> for &'a AsyncSession, out 'a, with);
nextorm_engine::executor_impl!(async, session, impl<> for CurrentAsync, out 'static, with_current);

/// A transaction of the async facade, given to the body of [`AsyncDatabase::transaction`]. It
/// has the statement methods of [`AsyncDatabase`], all on the transaction's one connection, and
/// runs queries: `select!(...).fetch_all(tx).await`.
pub struct AsyncTransaction {
    conn: tokio::sync::Mutex<Conn>,
    dialect: Dialect,
}

impl AsyncTransaction {
    /// Runs `f` on the transaction's connection.
    async fn with_conn<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().await;
        f(&mut conn).await
    }

    /// Runs `f` with the transaction's connection as where raw SQL runs.
    async fn with_sql<T>(&self, f: impl AsyncFnOnce(SqlTarget<'_>) -> Result<T>) -> Result<T> {
        self.with_conn(async |c| f(SqlTarget::Conn(c)).await).await
    }

    /// The dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Runs `body` in a nested transaction, a savepoint of this one
    /// (`SAVEPOINT nextorm_sp_<n>`): `Ok` keeps its work in the outer transaction
    /// (`RELEASE SAVEPOINT nextorm_sp_<n>`), `Err` undoes only its work
    /// (`ROLLBACK TO SAVEPOINT nextorm_sp_<n>`) and returns the error, a panic undoes only its
    /// work and resumes the panic. The outer transaction still commits or rolls back all.
    ///
    /// ```no_run
    /// # async fn demo(db: nextorm_async::AsyncDatabase) -> nextorm_core::Result<()> {
    /// db.transaction(async |tx| {
    ///     tx.execute("INSERT INTO t VALUES (?)", (1,)).await?;
    ///     // Undone alone if it fails; the 1 stays.
    ///     let _ = tx.transaction(async |tx| tx.execute("INSERT INTO t VALUES (?)", (2,)).await).await;
    ///     Ok(())
    /// }).await
    /// # }
    /// ```
    pub async fn transaction<T>(&self, body: impl AsyncFnOnce(&AsyncTransaction) -> Result<T>) -> Result<T> {
        self.transaction_as(body).await
    }

    /// [`AsyncTransaction::transaction`] whose body returns the caller's own error type `E`:
    /// the caller's error rolls back to the savepoint as nextorm's does and comes back as it was
    /// (a failed `ROLLBACK TO SAVEPOINT` comes back converted into `E`). Spelled
    /// `tx.transaction_as::<AppError, _>(async |tx| ..).await` (see
    /// [`AsyncDatabase::session_as`]).
    pub async fn transaction_as<E: From<Error>, T>(
        &self,
        body: impl AsyncFnOnce(&AsyncTransaction) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let n = self.with_conn(async |c| c.savepoint().await).await?;
        let outcome = AssertUnwindSafe(body(self)).catch_unwind().await;
        match outcome {
            Ok(Ok(value)) => Ok(self.with_conn(async |c| c.release_savepoint(n).await).await.map(|()| value)?),
            Ok(Err(e)) => {
                self.with_conn(async |c| c.rollback_to_savepoint(n).await).await?;
                Err(e)
            }
            Err(panic) => {
                let _ = self.with_conn(async |c| c.rollback_to_savepoint(n).await).await;
                std::panic::resume_unwind(panic)
            }
        }
    }

    nextorm_engine::statement_methods!(async, with_conn, with_sql);
}

/// A session of the async facade, given to the body of [`AsyncDatabase::session`]: PonyORM's
/// `db_session`. Objects it loads or creates live in its identity map; changes are flushed before
/// every query and at the end. A cheap handle: the body owns it, so its future is `Send` and can
/// be spawned.
#[derive(Clone)]
pub struct AsyncSession {
    core: Arc<tokio::sync::Mutex<Option<SessionCore>>>,
    dialect: Dialect,
    db: usize,
}

tokio::task_local! {
    /// The session the current task runs in.
    static CURRENT: AsyncSession;
}

/// The session the current task runs in, as an executor: `select!(...).fetch_all(current_async())`
/// inside `db.session(...)` without passing the session along. Outside a session its methods
/// fail with [`nextorm_core::ErrorKind::Config`].
#[derive(Debug, Clone, Copy)]
pub struct CurrentAsync;

/// The session the current task runs in (see [`CurrentAsync`]).
pub fn current_async() -> CurrentAsync {
    CurrentAsync
}

fn innermost() -> Result<AsyncSession> {
    CURRENT
        .try_with(AsyncSession::clone)
        .map_err(|_| Error::config("no session is running in this task: call this inside db.session(...)"))
}

impl CurrentAsync {
    /// The dialect of the current session's database; SQLite outside a session, where every
    /// statement fails before it is sent.
    fn dialect(self) -> Dialect {
        innermost().map(|s| s.dialect).unwrap_or(Dialect::Sqlite)
    }

    /// Runs `f` on the state of the session the task runs in.
    async fn with_current<T>(self, f: impl AsyncFnOnce(&mut SessionCore) -> Result<T>) -> Result<T> {
        innermost()?.with(f).await
    }
}

impl AsyncSession {
    fn open(core: SessionCore, dialect: Dialect, db: usize) -> AsyncSession {
        AsyncSession { core: Arc::new(tokio::sync::Mutex::new(Some(core))), dialect, db }
    }

    /// Runs `f` on the session's state; an error once the session has ended.
    async fn with<T>(&self, f: impl AsyncFnOnce(&mut SessionCore) -> Result<T>) -> Result<T> {
        if nextorm_core::session::in_hook() {
            return Err(nextorm_core::session::hook_cannot_use_the_session());
        }
        let mut slot = self.core.lock().await;
        match slot.as_mut() {
            Some(core) => f(core).await,
            None => Err(Error::config("the session has ended")),
        }
    }

    /// Takes the state out to finish the session.
    async fn take(&self) -> Option<SessionCore> {
        self.core.lock().await.take()
    }

    /// The dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Registers a new object, inserted at the next flush (its generated key is set then).
    pub async fn create<E: Entity>(&self, value: E) -> Result<Handle<E>> {
        self.with(async |c| c.create(value)).await
    }

    /// Marks an object for deletion at the next flush.
    pub async fn delete<E: Entity>(&self, obj: &Handle<E>) -> Result<()> {
        obj.delete()
    }

    /// The object with this key, from the identity map when the session holds it; NotFound else.
    pub async fn by_pk<E: Entity>(&self, key: &E::Key) -> Result<Handle<E>> {
        self.with(async |c| c.by_pk(key).await).await
    }

    /// The object with this key, if there is one.
    pub async fn find<E: Entity>(&self, key: &E::Key) -> Result<Option<Handle<E>>> {
        self.with(async |c| c.find(key).await).await
    }

    /// The session's objects for the rows of an entity query.
    pub async fn select<E: SessionEntity, V: Clone>(&self, query: &Query<E, V>) -> Result<Vec<Handle<E>>> {
        query.fetch_all(self).await
    }

    /// The session's objects for the rows of a raw query, which returns `E`'s columns in its
    /// order (PonyORM's `select_by_sql`): `s.select_by_sql::<Product>("SELECT * FROM product
    /// WHERE price < ?", (20,))`. Pending changes are flushed first; a row the session holds
    /// already is that object. See `SessionCore::select_by_sql`.
    pub async fn select_by_sql<E: Entity>(&self, sql: &str, params: impl IntoParams) -> Result<Vec<Handle<E>>> {
        self.with(async |c| c.select_by_sql(sql, params).await).await
    }

    /// Inserts plain values (not session objects) with multi-row `INSERT`s on the session's
    /// connection, after a flush and inside its transaction (opened now if need be), so they
    /// commit or roll back with the session; generated keys are stored back. See
    /// `Conn::insert_many` for the SQL.
    pub async fn insert_many<E: Entity>(&self, objs: &mut [E]) -> Result<()> {
        self.with(async |c| c.insert_many(objs).await).await
    }

    /// Runs raw SQL with `?` placeholders on the session's connection, after a flush and inside
    /// its transaction (opened now if need be), so it commits or rolls back with the session;
    /// the rows affected. `db.execute` inside the session does the same.
    pub async fn execute(&self, sql: &str, params: impl IntoParams) -> Result<u64> {
        self.with(async |c| c.execute(sql, params).await).await
    }

    /// Runs a raw query on the session's connection after a flush, so it sees the session's
    /// writes, and decodes every row (`db.select` inside the session does the same; `select`
    /// on a session takes an entity query).
    pub async fn select_rows<R: FromRow + Send>(&self, sql: &str, params: impl IntoParams) -> Result<Vec<R>> {
        self.with(async |c| c.select(sql, params).await).await
    }

    /// [`AsyncSession::select_rows`] of exactly one row: `NotFound` for none, `SeveralFound`
    /// for more.
    pub async fn get<R: FromRow + Send>(&self, sql: &str, params: impl IntoParams) -> Result<R> {
        self.with(async |c| c.get(sql, params).await).await
    }

    /// [`AsyncSession::select_rows`] of at most one row: `SeveralFound` for more.
    pub async fn get_optional<R: FromRow + Send>(&self, sql: &str, params: impl IntoParams) -> Result<Option<R>> {
        self.with(async |c| c.get_optional(sql, params).await).await
    }

    /// Sends pending changes now.
    pub async fn flush(&self) -> Result<()> {
        self.with(async |c| c.flush().await).await
    }

    /// Flushes and commits; the session goes on.
    pub async fn commit(&self) -> Result<()> {
        self.with(async |c| c.commit().await).await
    }

    /// Rolls back and forgets every object.
    pub async fn rollback(&self) -> Result<()> {
        self.with(async |c| c.rollback().await).await
    }

    /// Runs `body` in a nested transaction, a savepoint of the session's transaction (which it
    /// opens if none is open yet). Pending changes are flushed first, and the body's changes
    /// are flushed before `RELEASE SAVEPOINT nextorm_sp_<n>`, so `Ok` keeps them for the
    /// session to commit. `Err` (returned) or a panic (resumed) undoes only the body's work with
    /// `ROLLBACK TO SAVEPOINT nextorm_sp_<n>`; the session then forgets every object (they stay
    /// readable and refuse writes; load them again), since rows changed inside the savepoint
    /// are back as they were.
    ///
    /// ```text
    /// db.session(async |s| {
    ///     s.by_pk::<Product>(&1).await?.set_stock(0)?;
    ///     let _ = s.transaction(async |s| s.by_pk::<Product>(&2).await?.set_stock(-1)).await;
    ///     Ok(())
    /// }).await?;
    /// ```
    pub async fn transaction<T>(&self, body: impl AsyncFnOnce(&AsyncSession) -> Result<T>) -> Result<T> {
        self.transaction_as(body).await
    }

    /// [`AsyncSession::transaction`] whose body returns the caller's own error type `E`: the
    /// caller's error undoes the body's work with `ROLLBACK TO SAVEPOINT nextorm_sp_<n>` as
    /// nextorm's does (the session forgets its objects) and comes back as it was; nextorm's own
    /// failures come back converted into `E`. Spelled
    /// `s.transaction_as::<AppError, _>(async |s| ..).await` (see [`AsyncDatabase::session_as`]).
    pub async fn transaction_as<E: From<Error>, T>(
        &self,
        body: impl AsyncFnOnce(&AsyncSession) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let n = self.with(async |c| c.savepoint().await).await?;
        let outcome = AssertUnwindSafe(body(self)).catch_unwind().await;
        let undo = async || self.with(async |c| c.rollback_to_savepoint(n).await).await;
        match outcome {
            Ok(Ok(value)) => match self.with(async |c| c.release_savepoint(n).await).await {
                Ok(()) => Ok(value),
                // The body's changes failed to flush: they are undone with the savepoint.
                Err(e) => Err(undo().await.err().unwrap_or(e).into()),
            },
            Ok(Err(e)) => {
                undo().await?;
                Err(e)
            }
            Err(panic) => {
                let _ = undo().await;
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// The object's fields as JSON with its relations (PonyORM's `to_dict(with_collections=True,
    /// related_objects=True)`): `s.to_dict(&customer, &DictOptions::new().with_collections()).await`
    /// gives `{"id": 1, "name": "Ann", "orders": [7, 9]}`. References are keys, or nested
    /// objects with `related_objects`; decimals and dates are text (see `nextorm_core::dict`).
    /// What is not loaded yet is loaded as `get`/`load` would (see `SessionCore::to_dict`):
    ///
    /// ```text
    /// SELECT "order"."id", "order"."total", "order"."customer" FROM "order" "order"
    ///     WHERE "order"."customer" IN (?)
    /// ```
    pub async fn to_dict<E: Entity>(&self, obj: &Handle<E>, options: &DictOptions) -> Result<Dict> {
        self.with(async |c| c.to_dict(obj, options).await).await
    }

    /// What the session has sent so far.
    pub async fn stats(&self) -> SessionStats {
        self.core.lock().await.as_ref().map(SessionCore::stats).unwrap_or_default()
    }

    /// The last statement sent.
    pub async fn last_sql(&self) -> Option<String> {
        self.core.lock().await.as_ref().and_then(|c| c.last_sql().map(str::to_owned))
    }
}

/// A database driven by tokio: the async facade. Every method has the same name and meaning as on
/// the blocking `Database`.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct AsyncDatabase {
    core: Arc<DbCore>,
    dialect: Dialect,
    /// Tells this database's sessions from another's, for joining nested sessions.
    id: usize,
}

impl AsyncDatabase {
    /// Opens a database from a URL (`sqlite::memory:`, `sqlite://file.db`, `postgres://…`,
    /// `mariadb://…` or `mysql://…`) and checks that it answers. TLS is set in a server's URL:
    /// `postgres://…?sslmode=verify-full&sslrootcert=ca.pem` (`disable`, `prefer`, the default,
    /// `require`, `verify-ca`, `verify-full`), `mariadb://…?ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem`
    /// (`DISABLED`, `PREFERRED`, the default, `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`).
    pub async fn open(url: &str) -> Result<AsyncDatabase> {
        Self::open_with(url, OpenOptions::default()).await
    }

    /// Opens a database with pool and mapping options.
    pub async fn open_with(url: &str, options: OpenOptions) -> Result<AsyncDatabase> {
        let core = DbCore::new(url, options, Facade::Async)?;
        drop(core.acquire().await?);
        let dialect = core.dialect();
        static IDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let id = IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(AsyncDatabase { core: Arc::new(core), dialect, id })
    }

    /// The shared state, for the crates built on this one.
    pub fn core(&self) -> &DbCore {
        &self.core
    }

    /// The dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Checks that the entities map onto this database, and with [`CreateTables::Yes`] creates
    /// their tables and indexes (`CREATE TABLE IF NOT EXISTS`, so it is safe to run twice). With
    /// [`CreateTables::Check`] it compares the database's tables with the entities and returns
    /// an `ErrorKind::Mapping` error listing every difference (see `schema_differences`).
    pub async fn generate_mapping(&self, create: CreateTables) -> Result<()> {
        self.core.generate_mapping(create).await
    }

    /// How the database's tables differ from the mapped entities' (the `nextorm check`
    /// command), one line each, such as ``table `post`: column `rating` is missing``; empty
    /// when they agree. Types are compared as the dialect stores them, keys and indexes by their
    /// columns; defaults are not compared.
    pub async fn schema_differences(&self) -> Result<Vec<String>> {
        self.core.schema_differences().await
    }

    /// The `CREATE` statements of the mapped entities, without running them.
    pub fn ddl(&self) -> Result<Vec<String>> {
        self.core.ddl()
    }

    /// Applies the pending migrations, in order, under the database's migration lock: each in one
    /// transaction on PostgreSQL and SQLite, step by step with each step recorded on MariaDB.
    /// Progress goes to the `tracing` target `nextorm::migrate`.
    ///
    /// ```text
    /// static MIGRATIONS: nextorm::migrate::EmbeddedMigrations = nextorm::migrations!("migrations");
    /// db.migrate(&MIGRATIONS).await?;
    /// ```
    pub async fn migrate(&self, migrations: &dyn MigrationSource) -> Result<MigrateReport> {
        self.migrate_with(migrations, &MigrateOptions::default(), &mut TracingProgress).await
    }

    /// [`AsyncDatabase::migrate`] with options (a target to migrate back to, `fake`, `resume`,
    /// `allow_lossy`) and a progress receiver.
    pub async fn migrate_with(
        &self,
        migrations: &dyn MigrationSource,
        options: &MigrateOptions,
        progress: &mut dyn MigrationProgress,
    ) -> Result<MigrateReport> {
        self.core.migrate(migrations, options, progress).await
    }

    /// Where each migration stands in this database, followed by recorded migrations whose file
    /// is gone (`showmigrations`).
    pub async fn migration_status(&self, migrations: &dyn MigrationSource) -> Result<Vec<MigrationStatus>> {
        self.core.migration_status(migrations).await
    }

    /// Drops every mapped table, with its data.
    pub async fn drop_all_tables(&self) -> Result<()> {
        self.core.drop_all_tables().await
    }

    nextorm_engine::statement_methods!(async, with_conn, with_sql);

    /// Runs `body` inside one transaction on one connection: `Ok` commits, `Err` rolls back and
    /// returns the error. If `body` panics or the future is dropped, the transaction is rolled
    /// back and the connection never returns to the pool inside it.
    ///
    /// ```no_run
    /// # async fn demo(db: nextorm_async::AsyncDatabase) -> nextorm_core::Result<()> {
    /// db.transaction(async |tx| {
    ///     tx.execute("UPDATE account SET balance = balance - ? WHERE id = ?", (10, 1)).await?;
    ///     tx.execute("UPDATE account SET balance = balance + ? WHERE id = ?", (10, 2)).await
    /// }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<T>(&self, body: impl AsyncFnOnce(&AsyncTransaction) -> Result<T>) -> Result<T> {
        self.transaction_as(body).await
    }

    /// [`AsyncDatabase::transaction`] whose body returns the caller's own error type `E`, rolled
    /// back the same way; spelled `db.transaction_as::<AppError, _>(async |tx| ..)` (see
    /// [`AsyncDatabase::session_as`]).
    pub async fn transaction_as<E: From<Error>, T>(
        &self,
        body: impl AsyncFnOnce(&AsyncTransaction) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut conn = self.core.acquire().await?;
        conn.begin().await?;
        let tx = AsyncTransaction { conn: tokio::sync::Mutex::new(conn), dialect: self.dialect() };
        let result = body(&tx).await;
        let mut conn = tx.conn.into_inner();
        match result {
            Ok(value) => Ok(conn.commit().await.map(|()| value)?),
            Err(e) => {
                // A failed rollback leaves the connection marked, so it is discarded on drop.
                let _ = conn.rollback().await;
                Err(e)
            }
        }
    }

    /// Runs `f` on a pooled connection.
    async fn with_conn<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.core.acquire().await?;
        f(&mut conn).await
    }

    /// Runs `f` where raw SQL runs: inside a session of this database in this task, on the
    /// session (it joins it); else on a pooled connection.
    async fn with_sql<T>(&self, f: impl AsyncFnOnce(SqlTarget<'_>) -> Result<T>) -> Result<T> {
        if let Ok(session) = CURRENT.try_with(AsyncSession::clone)
            && session.db == self.id
        {
            return session.with(async |c| f(SqlTarget::Session(c)).await).await;
        }
        self.with_conn(async |c| f(SqlTarget::Conn(c)).await).await
    }

    /// Runs `body` in a session (PonyORM's `db_session`): objects it loads or creates live in an
    /// identity map, changes are flushed before queries and at the end, with optimistic checks.
    /// `Ok` commits; `Err`, a panic or a dropped future rolls back. A session opened inside
    /// another one of the same database, in the same task, joins it
    /// ([`AsyncSession::transaction`] is the nested transaction that rolls back alone); inside,
    /// [`current_async`] stands for the session.
    ///
    /// ```no_run
    /// # async fn demo(db: nextorm_async::AsyncDatabase) -> nextorm_core::Result<()> {
    /// db.session(async |s| {
    ///     // let p = s.by_pk::<Product>(&1).await?;  p.set_price(p.price() * 0.9)?;
    ///     s.flush().await
    /// })
    /// .await
    /// # }
    /// ```
    pub async fn session<T>(&self, body: impl AsyncFnOnce(AsyncSession) -> Result<T>) -> Result<T> {
        // Without retry, `session_as` decides nothing on the error's kind.
        self.session_as(body).await
    }

    /// [`AsyncDatabase::session`] with options: with `retry(n)` the body is re-run after an
    /// optimistic conflict, a serialization failure or deadlock, or a busy database. The body is
    /// a closure returning a future that owns its session handle, so the whole call stays `Send`:
    /// `db.session_with(opts, |s| async move { ... })`.
    pub async fn session_with<T, F, Fut>(&self, options: SessionOptions, body: F) -> Result<T>
    where
        F: FnMut(AsyncSession) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.run_session(options, body, Error::may_rerun_session).await
    }

    /// [`AsyncDatabase::session`] whose body returns the caller's own error type `E` (any type
    /// with `From<nextorm::Error>`), so `?` works on nextorm's calls and the caller's own alike;
    /// `Err` rolls back, a failed commit comes back converted into `E`. Spelled with the error
    /// type first: `db.session_as::<AppError, _>(async |s| ..).await`. A method of its own
    /// rather than a generic `session`, so that `session`'s `?` keeps inferring `nextorm::Error`
    /// (the blocking `Database::session_as` says more).
    ///
    /// ```no_run
    /// # #[derive(Debug)] enum AppError { Db(nextorm_core::Error), Parse(std::num::ParseIntError) }
    /// # impl From<nextorm_core::Error> for AppError { fn from(e: nextorm_core::Error) -> Self { AppError::Db(e) } }
    /// # impl From<std::num::ParseIntError> for AppError { fn from(e: std::num::ParseIntError) -> Self { AppError::Parse(e) } }
    /// # async fn demo(db: nextorm_async::AsyncDatabase) -> Result<i64, AppError> {
    /// db.session_as::<AppError, _>(async |s| {
    ///     s.execute("INSERT INTO t VALUES (?)", (1,)).await?;
    ///     Ok("x".parse::<i64>()?) // fails: the session rolls back
    /// })
    /// .await
    /// # }
    /// ```
    pub async fn session_as<E: From<Error>, T>(
        &self,
        body: impl AsyncFnOnce(AsyncSession) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        // Without retry the body runs once.
        let mut body = Some(body);
        let once = |s| {
            let body = body.take();
            async move {
                match body {
                    Some(body) => body(s).await,
                    None => Err(Error::internal("the session body ran twice").into()),
                }
            }
        };
        self.run_session(SessionOptions::default(), once, |_| false).await
    }

    /// [`AsyncDatabase::session_with`] whose body returns the caller's own error type (see
    /// [`AsyncDatabase::session_as`]): `db.session_with_as::<AppError, _, _>(opts, |s| async move
    /// { .. })`. `retry(n)` decides on nextorm's own errors before they are converted: a commit
    /// that fails with a conflict, or a conflict that made the session rollback-only, even when
    /// the body's `?` turned it into `E`. An error of the caller's own is never retried.
    pub async fn session_with_as<E: From<Error>, T, Fut>(
        &self,
        options: SessionOptions<E>,
        body: impl FnMut(AsyncSession) -> Fut,
    ) -> std::result::Result<T, E>
    where
        Fut: std::future::Future<Output = std::result::Result<T, E>>,
    {
        self.run_session(options, body, |_| false).await
    }

    /// The session runner behind `session*`: joins an outer session of this task, or runs the
    /// body in a new one, re-running it as `options` and `body_error_may_rerun` allow.
    async fn run_session<E: From<Error>, T, Fut>(
        &self,
        options: SessionOptions<E>,
        mut body: impl FnMut(AsyncSession) -> Fut,
        body_error_may_rerun: impl Fn(&E) -> bool,
    ) -> std::result::Result<T, E>
    where
        Fut: std::future::Future<Output = std::result::Result<T, E>>,
    {
        if let Ok(outer) = CURRENT.try_with(AsyncSession::clone)
            && outer.db == self.id
        {
            options.check_join(outer.core.lock().await.as_ref())?;
            return body(outer).await;
        }
        let mut attempt = 0;
        loop {
            let core = SessionCore::new(self.core.acquire().await?, &options, self.core.session_maps());
            let session = AsyncSession::open(core, self.dialect, self.id);
            let result = CURRENT.scope(session.clone(), body(session.clone())).await;
            let end = match session.take().await {
                Some(core) => finish_session(core, result, &options, &body_error_may_rerun).await,
                None => SessionEnd { result, may_rerun: false },
            };
            match options.pause_before_retry(&mut attempt, &end) {
                Some(pause) => tokio::time::sleep(pause).await,
                None => return end.result,
            }
        }
    }

    /// Open and idle connections of the pool.
    pub fn pool_status(&self) -> PoolStatus {
        self.core.pool_status()
    }

    /// Closes the pool's idle connections; later calls fail with [`nextorm_core::ErrorKind::ConnectionLost`].
    pub async fn close(&self) {
        self.core.close().await
    }
}
