//! The async facade, and the database state both facades share.

use crate::driver::{AnyPool, Conn, Facade};
use crate::ops::CreateTables;
use crate::options::OpenOptions;
use nextorm_core::{Dialect, Entity, EntityMeta, FromRow, IntoParams, Result, registered_entities, schema};
use std::sync::Arc;

/// What a database handle holds, whichever facade drives it: the pool and the mapped entities.
pub struct DbCore {
    pool: AnyPool,
    entities: Vec<&'static EntityMeta>,
}

/// Open and idle connections of a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open, checked out or idle.
    pub open: usize,
    /// Connections idle in the pool.
    pub idle: usize,
}

impl DbCore {
    /// Prepares the pool; no connection is opened yet.
    pub fn new(url: &str, options: OpenOptions, facade: Facade) -> Result<DbCore> {
        let pool = AnyPool::open(url, &options, facade)?;
        let entities = options.entities.unwrap_or_else(registered_entities);
        Ok(DbCore { pool, entities })
    }

    /// Checks out a connection.
    pub async fn acquire(&self) -> Result<Conn> {
        self.pool.acquire().await
    }

    /// The dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.pool.dialect()
    }

    /// The mapped entities.
    pub fn entities(&self) -> &[&'static EntityMeta] {
        &self.entities
    }

    /// The DDL of the mapped entities.
    pub fn ddl(&self) -> Result<Vec<String>> {
        schema::create_statements(&self.entities, self.dialect())
    }

    /// Checks the mapping and optionally creates the tables.
    pub async fn generate_mapping(&self, create: CreateTables) -> Result<()> {
        schema::validate(&self.entities, self.dialect())?;
        if create == CreateTables::Yes {
            self.acquire().await?.create_tables(&self.entities).await?;
        }
        Ok(())
    }

    /// Drops every mapped table, with its data.
    pub async fn drop_all_tables(&self) -> Result<()> {
        self.acquire().await?.drop_tables(&self.entities).await
    }

    /// The pool's connection counts.
    pub fn pool_status(&self) -> PoolStatus {
        let (open, idle) = self.pool.counts();
        PoolStatus { open, idle }
    }

    /// Closes idle connections; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// A database driven by tokio: the async facade. Every method has the same name and meaning as on
/// the blocking `Database`.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct AsyncDatabase {
    core: Arc<DbCore>,
}

impl AsyncDatabase {
    /// Opens a database from a URL (`sqlite::memory:`, `sqlite://file.db`, `postgres://…`,
    /// `mariadb://…` or `mysql://…`) and checks that it answers.
    pub async fn open(url: &str) -> Result<AsyncDatabase> {
        Self::open_with(url, OpenOptions::default()).await
    }

    /// Opens a database with pool and mapping options.
    pub async fn open_with(url: &str, options: OpenOptions) -> Result<AsyncDatabase> {
        let core = DbCore::new(url, options, Facade::Async)?;
        drop(core.acquire().await?);
        Ok(AsyncDatabase { core: Arc::new(core) })
    }

    /// The shared state, for the crates built on this one.
    pub fn core(&self) -> &DbCore {
        &self.core
    }

    /// The dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.core.dialect()
    }

    /// Checks that the entities map onto this database, and with [`CreateTables::Yes`] creates
    /// their tables and indexes (`CREATE TABLE IF NOT EXISTS`, so it is safe to run twice).
    pub async fn generate_mapping(&self, create: CreateTables) -> Result<()> {
        self.core.generate_mapping(create).await
    }

    /// The `CREATE` statements of the mapped entities, without running them.
    pub fn ddl(&self) -> Result<Vec<String>> {
        self.core.ddl()
    }

    /// Drops every mapped table, with its data.
    pub async fn drop_all_tables(&self) -> Result<()> {
        self.core.drop_all_tables().await
    }

    /// See [`Conn::insert`].
    pub async fn insert<E: Entity>(&self, obj: &mut E) -> Result<()> {
        self.core.acquire().await?.insert(obj).await
    }

    /// See [`Conn::find`].
    pub async fn find<E: Entity>(&self, key: &E::Key) -> Result<Option<E>> {
        self.core.acquire().await?.find(key).await
    }

    /// See [`Conn::by_pk`].
    pub async fn by_pk<E: Entity>(&self, key: &E::Key) -> Result<E> {
        self.core.acquire().await?.by_pk(key).await
    }

    /// See [`Conn::all`].
    pub async fn all<E: Entity>(&self) -> Result<Vec<E>> {
        self.core.acquire().await?.all().await
    }

    /// See [`Conn::update`].
    pub async fn update<E: Entity>(&self, obj: &E) -> Result<()> {
        self.core.acquire().await?.update(obj).await
    }

    /// See [`Conn::delete`].
    pub async fn delete<E: Entity>(&self, obj: &E) -> Result<()> {
        self.core.acquire().await?.delete(obj).await
    }

    /// See [`Conn::delete_by_pk`].
    pub async fn delete_by_pk<E: Entity>(&self, key: &E::Key) -> Result<bool> {
        self.core.acquire().await?.delete_by_pk::<E>(key).await
    }

    /// See [`Conn::execute`].
    pub async fn execute(&self, sql: &str, params: impl IntoParams) -> Result<u64> {
        self.core.acquire().await?.execute(sql, params).await
    }

    /// See [`Conn::select`].
    pub async fn select<R: FromRow + Send>(&self, sql: &str, params: impl IntoParams) -> Result<Vec<R>> {
        self.core.acquire().await?.select(sql, params).await
    }

    /// See [`Conn::get`].
    pub async fn get<R: FromRow + Send>(&self, sql: &str, params: impl IntoParams) -> Result<R> {
        self.core.acquire().await?.get(sql, params).await
    }

    /// See [`Conn::get_optional`].
    pub async fn get_optional<R: FromRow + Send>(&self, sql: &str, params: impl IntoParams) -> Result<Option<R>> {
        self.core.acquire().await?.get_optional(sql, params).await
    }

    /// Runs `body` inside one transaction on one connection: `Ok` commits, `Err` rolls back and
    /// returns the error. If `body` panics or the future is dropped, the transaction is rolled
    /// back and the connection never returns to the pool inside it.
    ///
    /// ```no_run
    /// # async fn demo(db: nextorm_async::AsyncDatabase) -> nextorm_core::Result<()> {
    /// let moved = db.transaction(async |tx| {
    ///     tx.execute("UPDATE account SET balance = balance - ? WHERE id = ?", (10, 1)).await?;
    ///     tx.execute("UPDATE account SET balance = balance + ? WHERE id = ?", (10, 2)).await
    /// }).await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<T>(&self, body: impl AsyncFnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.core.acquire().await?;
        conn.begin().await?;
        match body(&mut conn).await {
            Ok(value) => conn.commit().await.map(|()| value),
            Err(e) => {
                // A failed rollback leaves the connection marked, so it is discarded on drop.
                let _ = conn.rollback().await;
                Err(e)
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
