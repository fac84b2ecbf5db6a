//! nextorm's blocking facade, [`Database`]. It drives the engine (`nextorm-engine`), the same
//! implementation the async facade awaits: SQLite on the caller's thread with no runtime,
//! PostgreSQL and MariaDB on a runtime the database owns.

mod database;
mod navigate;
mod runtime;

pub use database::{Current, Database, Session, Transaction, current};
pub use navigate::Navigate;
