//! nextorm's engine: the one implementation both facades drive. It holds the pool and the
//! drivers (SQLite through rusqlite, PostgreSQL and MariaDB through sqlx), [`Conn`] with every
//! statement as an `async fn`, URL and option parsing, and the session runner [`SessionCore`].
//!
//! The rusqlite connection answers with futures that are ready at once, so the blocking facade
//! (`nextorm-sync`) drives the same code without a runtime on SQLite and with a runtime it owns on
//! PostgreSQL and MariaDB; the async facade (`nextorm-async`) awaits it on tokio.

mod database;
mod driver;
mod facade_glue;
mod introspect;
mod migration;
mod options;
mod session;
mod sql_target;
mod statements;

pub use database::{DbCore, PoolStatus};
pub use driver::{Conn, Facade};
#[doc(hidden)]
pub use facade_glue::__glue;
pub use facade_glue::BoxFuture;
pub use migration::{MigrationEvent, MigrationProgress, TracingProgress};
pub use options::{OpenOptions, dialect_of_url};
pub use session::{SessionCore, SessionEnd, SessionMaps, SessionOptions, SessionStats, finish_session, retry_pause};
pub use sql_target::SqlTarget;
pub use statements::CreateTables;
