//! nextorm's blocking facade, [`Database`]. It drives the same implementation as the async
//! facade: SQLite on the caller's thread with no runtime, PostgreSQL and MariaDB on a runtime the
//! database owns.

mod database;
mod runtime;

pub use database::{Current, Database, Session, Transaction, current};
