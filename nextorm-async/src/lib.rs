//! The one implementation of nextorm's statements, transactions and pool over SQLite (rusqlite),
//! PostgreSQL and MariaDB (sqlx), and the async facade [`AsyncDatabase`].
//!
//! Statements are `async fn`s on [`Conn`]. The rusqlite connection answers with futures that are
//! ready at once, so the blocking facade (`nextorm-sync`) drives the same code without a runtime
//! on SQLite and with a runtime it owns on PostgreSQL and MariaDB.

mod database;
mod driver;
mod ops;
mod options;
mod session;

pub use database::{
    AsyncDatabase, AsyncSession, AsyncTransaction, BoxFuture, CurrentAsync, DbCore, PoolStatus, current_async,
    finish_session,
};
pub use driver::{Conn, Facade};
pub use ops::CreateTables;
pub use options::OpenOptions;
pub use session::{SessionCore, SessionOptions, SessionStats, retry_pause};
