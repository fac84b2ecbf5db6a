//! The database state both facades share: the pool and the mapped entities, with the work on
//! them that needs no facade (mapping, DDL, dropping the tables).

use crate::driver::{AnyPool, Conn, Facade};
use crate::introspect;
use crate::migration::{self, MigrationProgress};
use crate::options::OpenOptions;
use crate::session::SessionMaps;
use crate::statements::CreateTables;
use nextorm_core::migrate::{
    MigrateOptions, MigrateReport, MigrationSource, MigrationStatus, Schema, schema_differences,
};
use nextorm_core::{Dialect, EntityMeta, Error, Result, registered_entities, schema};

/// What a database handle holds, whichever facade drives it: the pool, the mapped entities and
/// the identity maps its ended sessions left for the next ones.
pub struct DbCore {
    pool: AnyPool,
    entities: Vec<&'static EntityMeta>,
    session_maps: SessionMaps,
}

/// Open and idle connections of a pool, and who waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open, checked out or idle.
    pub open: usize,
    /// Connections idle in the pool.
    pub idle: usize,
    /// Threads and tasks waiting for a connection to be returned (every one is in use).
    pub waiting: usize,
}

impl DbCore {
    /// Prepares the pool; no connection is opened yet.
    pub fn new(url: &str, options: OpenOptions, facade: Facade) -> Result<DbCore> {
        let pool = AnyPool::open(url, &options, facade)?;
        let entities = options.entities.unwrap_or_else(registered_entities);
        Ok(DbCore { pool, entities, session_maps: SessionMaps::default() })
    }

    /// The identity maps its ended sessions left for the next ones (see [`SessionMaps`]).
    pub fn session_maps(&self) -> &SessionMaps {
        &self.session_maps
    }

    /// Checks out a connection.
    pub async fn acquire(&self) -> Result<Conn> {
        self.pool.acquire().await
    }

    /// The dialect of the database.
    pub fn dialect(&self) -> Dialect {
        self.pool.dialect()
    }

    /// Whether the driver's futures need a tokio runtime (sqlx: PostgreSQL, MariaDB), rather than
    /// being ready at once on the caller's thread (rusqlite: SQLite, except while it waits for
    /// another writer's lock, which the blocking facade does by sleeping the thread).
    pub fn needs_runtime(&self) -> bool {
        self.pool.needs_runtime()
    }

    /// The mapped entities.
    pub fn entities(&self) -> &[&'static EntityMeta] {
        &self.entities
    }

    /// The DDL of the mapped entities.
    pub fn ddl(&self) -> Result<Vec<String>> {
        schema::create_statements(&self.entities, self.dialect())
    }

    /// Checks the mapping and, as `create` says, creates the tables or compares them with the
    /// entities.
    pub async fn generate_mapping(&self, create: CreateTables) -> Result<()> {
        schema::validate(&self.entities, self.dialect())?;
        match create {
            CreateTables::Yes => {
                let mut conn = self.acquire().await?;
                conn.create_tables(&self.entities).await?;
                // A table that existed before may lack a column the entity has gained.
                conn.check_tables(&self.entities).await
            }
            CreateTables::No => Ok(()),
            CreateTables::Check => match self.schema_differences().await?.as_slice() {
                [] => Ok(()),
                found => Err(Error::mapping(format!(
                    "the database differs from the entities in {} way{}: {}",
                    found.len(),
                    if found.len() == 1 { "" } else { "s" },
                    found.join("; ")
                ))),
            },
        }
    }

    /// How the database's tables differ from the mapped entities' (`nextorm check`), one line
    /// each, such as ``table `post`: column `rating` is missing``; empty when they agree.
    /// Tables of neither the entities nor nextorm are listed as extra. See
    /// [`nextorm_core::migrate::schema_differences`] for what is compared.
    pub async fn schema_differences(&self) -> Result<Vec<String>> {
        let dialect = self.dialect();
        schema::validate(&self.entities, dialect)?;
        let expected = Schema::from_entities(&self.entities)?;
        let live = introspect::live_schema(&mut self.acquire().await?).await?;
        Ok(schema_differences(dialect, &expected, &live))
    }

    /// Drops every mapped table, with its data.
    pub async fn drop_all_tables(&self) -> Result<()> {
        self.acquire().await?.drop_tables(&self.entities).await
    }

    /// Where each migration stands in this database (`showmigrations`), followed by recorded
    /// migrations that were not given. Creates the history table if it is missing.
    pub async fn migration_status(&self, source: &dyn MigrationSource) -> Result<Vec<MigrationStatus>> {
        let migrations = source.load()?;
        migration::status(&mut self.acquire().await?, &migrations).await
    }

    /// Applies or reverts `migrations` to reach `options.target`, under the dialect's migration
    /// lock, reporting each migration and step to `progress`.
    pub async fn migrate(
        &self,
        source: &dyn MigrationSource,
        options: &MigrateOptions,
        progress: &mut dyn MigrationProgress,
    ) -> Result<MigrateReport> {
        let migrations = source.load()?;
        migration::migrate(&mut self.acquire().await?, &migrations, options, progress).await
    }

    /// The pool's connection counts.
    pub fn pool_status(&self) -> PoolStatus {
        let (open, idle, waiting) = self.pool.counts();
        PoolStatus { open, idle, waiting }
    }

    /// Closes idle connections; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await
    }
}
