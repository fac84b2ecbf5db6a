//! Migrations, everything of them that does no IO: the schema model and how the entities give
//! one, the operations that change it, the differ, the SQL of each operation per dialect, and
//! the migration and snapshot files. The runner (history table, locks, transactions) lives in
//! the engine.
//!
//! How a migration is made: the entities' model ([`Schema::from_entities`]) is diffed against
//! the snapshot of the migrations so far ([`diff`]), giving operations; they become the next
//! numbered file, and the snapshot moves on by applying them.

pub(crate) mod ddl;
mod diff;
mod entities;
mod model;
mod operation;

pub use diff::{RenameHints, diff};
pub use model::{Column, ForeignKey, Index, Schema, Table, UniqueKey};
pub use operation::{Operation, RawSql};
