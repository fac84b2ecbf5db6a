//! The blocking facade.

use crate::runtime::FutureRunner;
use nextorm_core::dict::{Dict, DictOptions};
use nextorm_core::migrate::{MigrateOptions, MigrateReport, MigrationSource, MigrationStatus};
use nextorm_core::query::Query;
use nextorm_core::session::{Handle, SessionEntity};
use nextorm_core::{Dialect, Entity, Error, FromRow, IntoParams, Result};
use nextorm_engine::{
    Conn, CreateTables, DbCore, Facade, MigrationProgress, OpenOptions, PoolStatus, SessionCore, SessionEnd,
    SessionOptions, SessionStats, SqlTarget, TracingProgress, finish_session,
};
use std::cell::RefCell;

nextorm_engine::executor_impl!(blocking, connection, impl<'a> for &'a Database, out 'a, with_conn);
nextorm_engine::executor_impl!(blocking, connection, impl<'a, 'db> for &'a Transaction<'db>, out 'a, run);
nextorm_engine::executor_impl!(blocking, session, impl<'a> for &'a Session, out 'a, run);
nextorm_engine::executor_impl!(blocking, session, impl<> for Current, out 'static, with_current);

/// A database used from ordinary blocking code. SQLite runs on the caller's thread; PostgreSQL
/// and MariaDB run on a small runtime the database owns. Every method has the same name and
/// meaning as on `AsyncDatabase`. In async code on a server it fails with
/// [`nextorm_core::ErrorKind::Config`] (use `AsyncDatabase` there); inside
/// `tokio::task::spawn_blocking` it works.
///
/// ```
/// use nextorm_sync::Database;
/// let db = Database::open("sqlite::memory:")?;
/// assert_eq!(db.get::<i64>("SELECT ? + 1", (41,))?, 42);
/// # Ok::<(), nextorm_core::Error>(())
/// ```
pub struct Database {
    core: DbCore,
    runner: FutureRunner,
    /// Tells this database's sessions from another's, for joining nested sessions.
    id: usize,
}

thread_local! {
    /// The sessions running on this thread, innermost last.
    static CURRENT: RefCell<Vec<Session>> = const { RefCell::new(Vec::new()) };
}

/// Pops the current session when the body ends, by return or by panic.
struct CurrentGuard;

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().pop());
    }
}

/// A session body that runs once, as the `FnMut` the session runner takes: without retry it is
/// never called twice.
fn once<E: From<Error>, T>(
    body: impl FnOnce(&Session) -> std::result::Result<T, E>,
) -> impl FnMut(&Session) -> std::result::Result<T, E> {
    let mut body = Some(body);
    move |s| match body.take() {
        Some(body) => body(s),
        None => Err(Error::internal("the session body ran twice").into()),
    }
}

fn current_for(db: usize) -> Option<Session> {
    CURRENT.with(|c| c.borrow().iter().rev().find(|s| s.shared.db == db).cloned())
}

impl Database {
    /// Opens a database from a URL (`sqlite::memory:`, `sqlite://file.db`, `postgres://…`,
    /// `mariadb://…` or `mysql://…`) and checks that it answers. TLS is set in a server's URL:
    /// `postgres://…?sslmode=verify-full&sslrootcert=ca.pem` (`disable`, `prefer`, the default,
    /// `require`, `verify-ca`, `verify-full`), `mariadb://…?ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem`
    /// (`DISABLED`, `PREFERRED`, the default, `REQUIRED`, `VERIFY_CA`, `VERIFY_IDENTITY`).
    pub fn open(url: &str) -> Result<Database> {
        Self::open_with(url, OpenOptions::default())
    }

    /// Opens a database with pool and mapping options.
    pub fn open_with(url: &str, options: OpenOptions) -> Result<Database> {
        let core = DbCore::new(url, options, Facade::Blocking)?;
        let runner = if core.needs_runtime() { FutureRunner::for_server()? } else { FutureRunner::Inline };
        static IDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let id = IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let db = Database { core, runner, id };
        db.with_conn(async |_| Ok(()))?;
        Ok(db)
    }

    /// Runs `f` on a pooled connection, dropping the connection inside the runtime.
    fn with_conn<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.runner.block(self.core.acquire())?;
        let result = self.runner.block(f(&mut conn));
        self.runner.drop_inside(conn);
        result
    }

    /// Runs `f` where raw SQL runs: inside a session of this database on this thread, on the
    /// session (it joins it); else on a pooled connection.
    fn run_sql<T>(&self, f: impl AsyncFnOnce(SqlTarget<'_>) -> Result<T>) -> Result<T> {
        match current_for(self.id) {
            Some(session) => session.run(async |c| f(SqlTarget::Session(c)).await),
            None => self.with_conn(async |c| f(SqlTarget::Conn(c)).await),
        }
    }

    /// The dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.core.dialect()
    }

    /// Checks that the entities map onto this database, and with [`CreateTables::Yes`] creates
    /// their tables and indexes (`CREATE TABLE IF NOT EXISTS`, so it is safe to run twice). With
    /// [`CreateTables::Check`] it compares the database's tables with the entities and returns
    /// an `ErrorKind::Mapping` error listing every difference (see `schema_differences`).
    pub fn generate_mapping(&self, create: CreateTables) -> Result<()> {
        self.runner.block(self.core.generate_mapping(create))
    }

    /// How the database's tables differ from the mapped entities' (the `nextorm check`
    /// command), one line each, such as ``table `post`: column `rating` is missing``; empty
    /// when they agree. Types are compared as the dialect stores them, keys and indexes by their
    /// columns; defaults are not compared.
    pub fn schema_differences(&self) -> Result<Vec<String>> {
        self.runner.block(self.core.schema_differences())
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
    /// db.migrate(&MIGRATIONS)?;
    /// ```
    pub fn migrate(&self, migrations: &dyn MigrationSource) -> Result<MigrateReport> {
        self.migrate_with(migrations, &MigrateOptions::default(), &mut TracingProgress)
    }

    /// [`Database::migrate`] with options (a target to migrate back to, `fake`, `resume`,
    /// `allow_lossy`) and a progress receiver.
    pub fn migrate_with(
        &self,
        migrations: &dyn MigrationSource,
        options: &MigrateOptions,
        progress: &mut dyn MigrationProgress,
    ) -> Result<MigrateReport> {
        self.runner.block(self.core.migrate(migrations, options, progress))
    }

    /// Where each migration stands in this database, followed by recorded migrations whose file
    /// is gone (`showmigrations`).
    pub fn migration_status(&self, migrations: &dyn MigrationSource) -> Result<Vec<MigrationStatus>> {
        self.runner.block(self.core.migration_status(migrations))
    }

    /// Drops every mapped table, with its data.
    pub fn drop_all_tables(&self) -> Result<()> {
        self.runner.block(self.core.drop_all_tables())
    }

    nextorm_engine::statement_methods!(blocking, with_conn, run_sql);

    /// Runs `body` inside one transaction on one connection: `Ok` commits, `Err` rolls back and
    /// returns the error, a panic rolls back and resumes the panic.
    ///
    /// ```
    /// # use nextorm_sync::Database;
    /// let db = Database::open("sqlite::memory:")?;
    /// db.execute("CREATE TABLE t (x INTEGER)", ())?;
    /// db.transaction(|tx| {
    ///     tx.execute("INSERT INTO t VALUES (?)", (1,))?;
    ///     tx.execute("INSERT INTO t VALUES (?)", (2,))
    /// })?;
    /// assert_eq!(db.get::<i64>("SELECT SUM(x) FROM t", ())?, 3);
    /// # Ok::<(), nextorm_core::Error>(())
    /// ```
    pub fn transaction<T>(&self, body: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.transaction_as(body)
    }

    /// [`Database::transaction`] whose body returns the caller's own error type `E`, rolled back
    /// the same way: see [`Database::session_as`] for why it is a method of its own and how it
    /// is spelled.
    ///
    /// ```
    /// # use nextorm_sync::Database;
    /// #[derive(Debug)]
    /// enum AppError { Db(nextorm_core::Error), Parse(std::num::ParseIntError) }
    /// impl From<nextorm_core::Error> for AppError { fn from(e: nextorm_core::Error) -> Self { AppError::Db(e) } }
    /// impl From<std::num::ParseIntError> for AppError { fn from(e: std::num::ParseIntError) -> Self { AppError::Parse(e) } }
    ///
    /// let db = Database::open("sqlite::memory:")?;
    /// db.execute("CREATE TABLE t (x INTEGER)", ())?;
    /// let r = db.transaction_as::<AppError, _>(|tx| {
    ///     tx.execute("INSERT INTO t VALUES (?)", (1,))?;
    ///     let n: i64 = "x".parse()?; // fails: the insert is rolled back
    ///     tx.execute("INSERT INTO t VALUES (?)", (n,))?;
    ///     Ok(())
    /// });
    /// assert!(matches!(r, Err(AppError::Parse(_))));
    /// assert_eq!(db.get::<i64>("SELECT COUNT(*) FROM t", ())?, 0);
    /// # Ok::<(), nextorm_core::Error>(())
    /// ```
    pub fn transaction_as<E: From<Error>, T>(
        &self,
        body: impl FnOnce(&Transaction<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let conn = self.runner.block(self.core.acquire())?;
        let tx = Transaction { runner: &self.runner, dialect: self.dialect(), conn: RefCell::new(Some(conn)) };
        tx.run(async |c| c.begin().await)?;
        match body(&tx) {
            Ok(value) => Ok(tx.run(async |c| c.commit().await).map(|()| value)?),
            Err(e) => {
                let _ = tx.run(async |c| c.rollback().await);
                Err(e)
            }
        }
    }

    /// Runs `body` in a session (PonyORM's `db_session`): objects it loads or creates live in an
    /// identity map, changes are flushed before queries and at the end, with optimistic checks.
    /// `Ok` commits; `Err` or a panic rolls back. A session opened inside another one on the
    /// same database joins it (no savepoint, as in Pony): the outer one commits or rolls back;
    /// [`Session::transaction`] is the nested transaction that rolls back alone. Inside,
    /// [`crate::current`] stands for the session.
    ///
    /// ```
    /// # use nextorm_sync::Database;
    /// # use nextorm_core::Result;
    /// # fn demo(db: &Database) -> Result<()> {
    /// db.session(|s| {
    ///     // let p = s.by_pk::<Product>(&1)?;  p.set_price(p.price() * 0.9)?;
    ///     s.flush()
    /// })
    /// # }
    /// ```
    pub fn session<T>(&self, body: impl FnOnce(&Session) -> Result<T>) -> Result<T> {
        // Without retry, `session_as` decides nothing on the error's kind.
        self.session_as(body)
    }

    /// [`Database::session`] with options: with `retry(n)` the body is re-run after an
    /// optimistic conflict, a serialization failure or deadlock, or a busy database. Inside
    /// another session on the same database it joins it and runs once.
    pub fn session_with<T>(&self, options: SessionOptions, body: impl FnMut(&Session) -> Result<T>) -> Result<T> {
        self.run_session(options, body, Error::may_rerun_session)
    }

    /// [`Database::session`] whose body returns the caller's own error type `E` (any type with
    /// `From<nextorm::Error>`), so `?` works on nextorm's calls and on the caller's own
    /// (`"5".parse::<i32>()?`) alike. `Err` rolls back as in `session`; a failed commit comes
    /// back converted into `E`.
    ///
    /// A method of its own, not a generic `session`: with `E` generic, the `?` in an ordinary
    /// `db.session(|s| { ...?; Ok(..) })` would leave `E` unknown (Diesel's generic
    /// `Connection::transaction` has that cost: its users write `transaction::<_, Error, _>`).
    /// So `session` keeps returning `nextorm::Error` and infers as before, and the user-error
    /// path has one spelling, the error type named first: `db.session_as::<AppError, _>(|s| ..)`.
    ///
    /// ```
    /// # use nextorm_sync::Database;
    /// #[derive(Debug)]
    /// enum AppError { Db(nextorm_core::Error), Parse(std::num::ParseIntError) }
    /// impl From<nextorm_core::Error> for AppError { fn from(e: nextorm_core::Error) -> Self { AppError::Db(e) } }
    /// impl From<std::num::ParseIntError> for AppError { fn from(e: std::num::ParseIntError) -> Self { AppError::Parse(e) } }
    ///
    /// let db = Database::open("sqlite::memory:")?;
    /// db.execute("CREATE TABLE t (x INTEGER)", ())?;
    /// let r = db.session_as::<AppError, _>(|s| {
    ///     s.execute("INSERT INTO t VALUES (?)", (1,))?;
    ///     let n: i64 = "x".parse()?; // fails: the session rolls back
    ///     Ok(n)
    /// });
    /// assert!(matches!(r, Err(AppError::Parse(_))));
    /// assert_eq!(db.get::<i64>("SELECT COUNT(*) FROM t", ())?, 0);
    /// # Ok::<(), nextorm_core::Error>(())
    /// ```
    pub fn session_as<E: From<Error>, T>(
        &self,
        body: impl FnOnce(&Session) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.run_session(SessionOptions::default(), once(body), |_| false)
    }

    /// [`Database::session_with`] whose body returns the caller's own error type (see
    /// [`Database::session_as`]). `retry(n)` decides on nextorm's own errors before they are
    /// converted: a commit that fails with a conflict, or a conflict (serialization failure,
    /// busy database) that made the session rollback-only, even when the body's `?` turned it
    /// into `E`. An error of the caller's own is never retried.
    pub fn session_with_as<E: From<Error>, T>(
        &self,
        options: SessionOptions<E>,
        body: impl FnMut(&Session) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.run_session(options, body, |_| false)
    }

    /// The session runner behind `session*`: joins an outer session, or runs the body in a new
    /// one, re-running it as `options` and `body_error_may_rerun` allow (see [`finish_session`]).
    fn run_session<E: From<Error>, T>(
        &self,
        options: SessionOptions<E>,
        mut body: impl FnMut(&Session) -> std::result::Result<T, E>,
        body_error_may_rerun: impl Fn(&E) -> bool,
    ) -> std::result::Result<T, E> {
        if let Some(outer) = current_for(self.id) {
            options.check_join(outer.shared.core.borrow().as_ref())?;
            return body(&outer);
        }
        let mut attempt = 0;
        loop {
            let session = self.open_session(&options)?;
            let result = {
                CURRENT.with(|c| c.borrow_mut().push(session.clone()));
                let _pop = CurrentGuard;
                body(&session)
            };
            let end = session.finish(result, &options, &body_error_may_rerun);
            match options.pause_before_retry(&mut attempt, &end) {
                Some(pause) => std::thread::sleep(pause),
                None => return end.result,
            }
        }
    }

    fn open_session<E>(&self, options: &SessionOptions<E>) -> Result<Session> {
        let conn = self.runner.block(self.core.acquire())?;
        Ok(Session {
            shared: std::rc::Rc::new(SessionShared {
                runner: self.runner.clone(),
                dialect: self.dialect(),
                db: self.id,
                core: RefCell::new(Some(SessionCore::new(conn, options, self.core.session_maps()))),
            }),
        })
    }

    /// Open and idle connections of the pool.
    pub fn pool_status(&self) -> PoolStatus {
        self.core.pool_status()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Idle server connections are closed politely, inside the runtime that owns their sockets.
        let _ = self.runner.block(async {
            self.core.close().await;
            Ok(())
        });
    }
}

/// A transaction of the blocking facade, given to the body of [`Database::transaction`]. It has
/// the statement methods of [`Database`], all on the transaction's one connection, and runs
/// queries: `select!(...).fetch_all(tx)`.
pub struct Transaction<'db> {
    runner: &'db FutureRunner,
    dialect: Dialect,
    conn: RefCell<Option<Conn>>,
}

impl Transaction<'_> {
    fn run<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut slot = self.conn.try_borrow_mut().map_err(|_| Error::config("the transaction is busy"))?;
        match slot.as_mut() {
            Some(conn) => self.runner.block(f(conn)),
            None => Err(Error::config("the transaction has ended")),
        }
    }

    /// Runs `f` with the transaction's connection as where raw SQL runs.
    fn run_sql<T>(&self, f: impl AsyncFnOnce(SqlTarget<'_>) -> Result<T>) -> Result<T> {
        self.run(async |c| f(SqlTarget::Conn(c)).await)
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
    /// ```
    /// # use nextorm_sync::Database;
    /// # use nextorm_core::Error;
    /// let db = Database::open("sqlite::memory:")?;
    /// db.execute("CREATE TABLE t (x INTEGER)", ())?;
    /// db.transaction(|tx| {
    ///     tx.execute("INSERT INTO t VALUES (?)", (1,))?;
    ///     let inner = tx.transaction(|tx| {
    ///         tx.execute("INSERT INTO t VALUES (?)", (2,))?;
    ///         Err::<(), _>(Error::config("changed my mind"))
    ///     });
    ///     assert!(inner.is_err());
    ///     Ok(())
    /// })?;
    /// assert_eq!(db.get::<i64>("SELECT SUM(x) FROM t", ())?, 1);
    /// # Ok::<(), nextorm_core::Error>(())
    /// ```
    pub fn transaction<T>(&self, body: impl FnOnce(&Self) -> Result<T>) -> Result<T> {
        self.transaction_as(body)
    }

    /// [`Transaction::transaction`] whose body returns the caller's own error type `E`: the
    /// caller's error rolls back to the savepoint as nextorm's does, and comes back as it was
    /// (a failed `ROLLBACK TO SAVEPOINT` comes back converted into `E` instead). Spelled with the
    /// error type first, `tx.transaction_as::<AppError, _>(|tx| ..)` (see
    /// [`Database::session_as`] for why it is a method of its own).
    ///
    /// ```
    /// # use nextorm_sync::Database;
    /// #[derive(Debug)]
    /// enum AppError { Db(nextorm_core::Error), Parse(std::num::ParseIntError) }
    /// impl From<nextorm_core::Error> for AppError { fn from(e: nextorm_core::Error) -> Self { AppError::Db(e) } }
    /// impl From<std::num::ParseIntError> for AppError { fn from(e: std::num::ParseIntError) -> Self { AppError::Parse(e) } }
    ///
    /// let db = Database::open("sqlite::memory:")?;
    /// db.execute("CREATE TABLE t (x INTEGER)", ())?;
    /// db.transaction_as::<AppError, _>(|tx| {
    ///     tx.execute("INSERT INTO t VALUES (?)", (1,))?;
    ///     let inner = tx.transaction_as::<AppError, _>(|tx| {
    ///         tx.execute("INSERT INTO t VALUES (?)", (2,))?;
    ///         Ok("x".parse::<i64>()?) // fails: only the 2 is undone
    ///     });
    ///     assert!(matches!(inner, Err(AppError::Parse(_))));
    ///     Ok(())
    /// }).unwrap();
    /// assert_eq!(db.get::<i64>("SELECT SUM(x) FROM t", ())?, 1);
    /// # Ok::<(), nextorm_core::Error>(())
    /// ```
    pub fn transaction_as<E: From<Error>, T>(
        &self,
        body: impl FnOnce(&Self) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let n = self.run(async |c| c.savepoint().await)?;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(self)));
        let undo = || self.run(async |c| c.rollback_to_savepoint(n).await);
        match outcome {
            Ok(Ok(value)) => Ok(self.run(async |c| c.release_savepoint(n).await).map(|()| value)?),
            Ok(Err(e)) => {
                undo()?;
                Err(e)
            }
            Err(panic) => {
                let _ = undo();
                std::panic::resume_unwind(panic)
            }
        }
    }

    nextorm_engine::statement_methods!(blocking, run, run_sql);
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // Reached with the transaction open only on a panic: the connection rolls itself back
        // (SQLite) or is closed (servers), inside the runtime.
        if let Some(conn) = self.conn.get_mut().take() {
            self.runner.drop_inside(conn);
        }
    }
}

/// A session of the blocking facade, given to the body of [`Database::session`]: PonyORM's
/// `db_session`. Objects it loads or creates live in its identity map; changes are flushed before
/// every query and at the end. A cheap handle to the session's state.
#[derive(Clone)]
pub struct Session {
    shared: std::rc::Rc<SessionShared>,
}

struct SessionShared {
    runner: FutureRunner,
    dialect: Dialect,
    db: usize,
    core: RefCell<Option<SessionCore>>,
}

impl Drop for SessionShared {
    fn drop(&mut self) {
        // Reached with the session open only on a panic: its connection rolls itself back
        // (SQLite) or is closed (servers), inside the runtime.
        if let Some(core) = self.core.get_mut().take() {
            self.runner.drop_inside(core);
        }
    }
}

impl Session {
    fn run<T>(&self, f: impl AsyncFnOnce(&mut SessionCore) -> Result<T>) -> Result<T> {
        if nextorm_core::session::in_hook() {
            return Err(nextorm_core::session::hook_cannot_use_the_session());
        }
        let mut slot = self.shared.core.try_borrow_mut().map_err(|_| Error::config("the session is busy"))?;
        match slot.as_mut() {
            Some(core) => self.shared.runner.block(f(core)),
            None => Err(Error::config("the session has ended")),
        }
    }

    fn finish<T, E: From<Error>>(
        self,
        result: std::result::Result<T, E>,
        options: &SessionOptions<E>,
        body_error_may_rerun: impl FnOnce(&E) -> bool,
    ) -> SessionEnd<T, E> {
        let core = self.shared.core.borrow_mut().take();
        match core {
            Some(core) => {
                let end = self
                    .shared
                    .runner
                    .block(async { Ok(finish_session(core, result, options, body_error_may_rerun).await) });
                end.unwrap_or_else(|e| SessionEnd { result: Err(e.into()), may_rerun: false })
            }
            None => SessionEnd { result, may_rerun: false },
        }
    }

    /// The dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// Registers a new object, inserted at the next flush (its generated key is set then).
    pub fn create<E: Entity>(&self, value: E) -> Result<Handle<E>> {
        self.run(async |c| c.create(value))
    }

    /// Marks an object for deletion at the next flush.
    pub fn delete<E: Entity>(&self, obj: &Handle<E>) -> Result<()> {
        obj.delete()
    }

    /// The object with this key, from the identity map when the session holds it; NotFound else.
    pub fn by_pk<E: Entity>(&self, key: &E::Key) -> Result<Handle<E>> {
        self.run(async |c| c.by_pk(key).await)
    }

    /// The object with this key, if there is one.
    pub fn find<E: Entity>(&self, key: &E::Key) -> Result<Option<Handle<E>>> {
        self.run(async |c| c.find(key).await)
    }

    /// The session's objects for the rows of an entity query.
    pub fn select<E: SessionEntity, V: Clone>(&self, query: &Query<E, V>) -> Result<Vec<Handle<E>>> {
        query.fetch_all(self)
    }

    /// The session's objects for the rows of a raw query, which returns `E`'s columns in its
    /// order (PonyORM's `select_by_sql`): `s.select_by_sql::<Product>("SELECT * FROM product
    /// WHERE price < ?", (20,))`. Pending changes are flushed first; a row the session holds
    /// already is that object. See `SessionCore::select_by_sql`.
    pub fn select_by_sql<E: Entity>(&self, sql: &str, params: impl IntoParams) -> Result<Vec<Handle<E>>> {
        self.run(async |c| c.select_by_sql(sql, params).await)
    }

    /// Inserts plain values (not session objects) with multi-row `INSERT`s on the session's
    /// connection, after a flush and inside its transaction (opened now if need be), so they
    /// commit or roll back with the session; generated keys are stored back. See
    /// `Conn::insert_many` for the SQL.
    pub fn insert_many<E: Entity>(&self, objs: &mut [E]) -> Result<()> {
        self.run(async |c| c.insert_many(objs).await)
    }

    /// Runs raw SQL with `?` placeholders on the session's connection, after a flush and inside
    /// its transaction (opened now if need be), so it commits or rolls back with the session;
    /// the rows affected. `db.execute` inside the session does the same.
    pub fn execute(&self, sql: &str, params: impl IntoParams) -> Result<u64> {
        self.run(async |c| c.execute(sql, params).await)
    }

    /// Runs a raw query on the session's connection after a flush, so it sees the session's
    /// writes, and decodes every row (`db.select` inside the session does the same; `select`
    /// on a session takes an entity query).
    pub fn select_rows<R: FromRow + Send>(&self, sql: &str, params: impl IntoParams) -> Result<Vec<R>> {
        self.run(async |c| c.select(sql, params).await)
    }

    /// [`Session::select_rows`] of exactly one row: `NotFound` for none, `SeveralFound` for more.
    pub fn get<R: FromRow + Send>(&self, sql: &str, params: impl IntoParams) -> Result<R> {
        self.run(async |c| c.get(sql, params).await)
    }

    /// [`Session::select_rows`] of at most one row: `SeveralFound` for more.
    pub fn get_optional<R: FromRow + Send>(&self, sql: &str, params: impl IntoParams) -> Result<Option<R>> {
        self.run(async |c| c.get_optional(sql, params).await)
    }

    /// Sends pending changes now.
    pub fn flush(&self) -> Result<()> {
        self.run(async |c| c.flush().await)
    }

    /// Flushes and commits; the session goes on.
    pub fn commit(&self) -> Result<()> {
        self.run(async |c| c.commit().await)
    }

    /// Rolls back and forgets every object.
    pub fn rollback(&self) -> Result<()> {
        self.run(async |c| c.rollback().await)
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
    /// db.session(|s| {
    ///     let p = s.by_pk::<Product>(&1)?;
    ///     p.set_stock(0)?;
    ///     let _ = s.transaction(|s| s.by_pk::<Product>(&2)?.set_stock(-1)); // kept or undone alone
    ///     Ok(())
    /// })?;
    /// ```
    pub fn transaction<T>(&self, body: impl FnOnce(&Session) -> Result<T>) -> Result<T> {
        self.transaction_as(body)
    }

    /// [`Session::transaction`] whose body returns the caller's own error type `E`: the
    /// caller's error undoes the body's work with `ROLLBACK TO SAVEPOINT nextorm_sp_<n>` as
    /// nextorm's does (the session forgets its objects) and comes back as it was; nextorm's own
    /// failures (the savepoint, the flush before `RELEASE`) come back converted into `E`.
    /// Spelled with the error type first: `s.transaction_as::<AppError, _>(|s| ..)` (see
    /// [`Database::session_as`] for why it is a method of its own).
    ///
    /// ```text
    /// db.session_as::<AppError, _>(|s| {
    ///     let kept = s.transaction_as::<AppError, _>(|s| {
    ///         s.by_pk::<Product>(&2)?.set_stock("x".parse::<i32>()?) // AppError::Parse: undone alone
    ///     });
    ///     Ok(())
    /// })?;
    /// ```
    pub fn transaction_as<E: From<Error>, T>(
        &self,
        body: impl FnOnce(&Session) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let n = self.run(async |c| c.savepoint().await)?;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(self)));
        let undo = || self.run(async |c| c.rollback_to_savepoint(n).await);
        match outcome {
            Ok(Ok(value)) => match self.run(async |c| c.release_savepoint(n).await) {
                Ok(()) => Ok(value),
                // The body's changes failed to flush: they are undone with the savepoint.
                Err(e) => Err(undo().err().unwrap_or(e).into()),
            },
            Ok(Err(e)) => {
                undo()?;
                Err(e)
            }
            Err(panic) => {
                let _ = undo();
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// The object's fields as JSON with its relations (PonyORM's `to_dict(with_collections=True,
    /// related_objects=True)`): `s.to_dict(&customer, &DictOptions::new().with_collections())`
    /// gives `{"id": 1, "name": "Ann", "orders": [7, 9]}`. References are keys, or nested
    /// objects with `related_objects`; decimals and dates are text (see `nextorm_core::dict`).
    /// What is not loaded yet is loaded as `get`/`load` would (see `SessionCore::to_dict`):
    ///
    /// ```text
    /// SELECT "order"."id", "order"."total", "order"."customer" FROM "order" "order"
    ///     WHERE "order"."customer" IN (?)
    /// ```
    pub fn to_dict<E: Entity>(&self, obj: &Handle<E>, options: &DictOptions) -> Result<Dict> {
        self.run(async |c| c.to_dict(obj, options).await)
    }

    /// What the session has sent so far.
    pub fn stats(&self) -> SessionStats {
        self.shared.core.borrow().as_ref().map(SessionCore::stats).unwrap_or_default()
    }

    /// The last statement sent.
    pub fn last_sql(&self) -> Option<String> {
        self.shared.core.borrow().as_ref().and_then(|c| c.last_sql().map(str::to_owned))
    }
}

/// The session running on this thread, as an executor: `select!(...).fetch_all(current())`
/// inside `db.session(...)` without passing the session along. Outside a session its methods
/// fail with [`nextorm_core::ErrorKind::Config`].
#[derive(Debug, Clone, Copy)]
pub struct Current;

/// The session running on this thread (see [`Current`]).
pub fn current() -> Current {
    Current
}

fn innermost() -> Result<Session> {
    CURRENT
        .with(|c| c.borrow().last().cloned())
        .ok_or_else(|| Error::config("no session is running on this thread: call this inside db.session(...)"))
}

impl Current {
    /// The dialect of the current session's database; SQLite outside a session, where every
    /// statement fails before it is sent.
    fn dialect(self) -> Dialect {
        innermost().map(|s| s.dialect()).unwrap_or(Dialect::Sqlite)
    }

    /// Runs `f` on the state of the session running on this thread.
    fn with_current<T>(self, f: impl AsyncFnOnce(&mut SessionCore) -> Result<T>) -> Result<T> {
        innermost()?.run(f)
    }
}
