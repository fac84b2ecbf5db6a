//! Migrations, all of them that does no IO: the schema model and the entities' model, the
//! operations that change it, the differ, the SQL of each operation per dialect, and the
//! migration and snapshot files. The runner (history table, locks, transactions) lives in the
//! engine; it reads the files, builds [`Migrations`], and asks [`Migrations::plan`] for the
//! steps of a migration on its dialect, and [`Migration::checksum`] for what to record.
//!
//! How a migration is made (`makemigrations`):
//!
//! 1. the entities' model: [`Schema::from_entities`] and their [`RenameHints`];
//! 2. the migrations so far: [`Migrations::parse`] of the files, and the snapshot
//!    ([`Schema::parse_snapshot`]) checked against their replay ([`Migrations::check_snapshot`]);
//! 3. [`Migrations::make`]: [`diff`] of the snapshot and the model gives the operations, which
//!    become the next numbered file ([`Migration::to_toml`]) and move the snapshot on
//!    ([`Schema::to_snapshot`]).
//!
//! | file | its one job |
//! | --- | --- |
//! | `migrate/model.rs` | the schema model: tables, columns, keys, indexes, foreign keys |
//! | `migrate/entities.rs` | the model and the rename hints of the mapped entities |
//! | `migrate/ddl.rs` | the model as the AST's DDL nodes, a mapping's or a migration's |
//! | `migrate/operation.rs` | operations: apply to a model, inverse, lossy |
//! | `migrate/diff.rs` | the operations from one model to another |
//! | `migrate/plan.rs` | the SQL steps of operations on one dialect; SQLite's table rebuild |
//! | `migrate/file.rs` | the migration file (TOML) and its checksum |
//! | `migrate/snapshot.rs` | the snapshot file and how two models differ |
//! | `migrate/set.rs` | a directory's migrations: numbering, replay, plans, the next one |
//! | `migrate/source.rs` | where a program's migrations come from: embedded files or a set read |
//! | `migrate/apply.rs` | what a `migrate` run does, from the history rows and the target; what `showmigrations` shows |
//! | `migrate/introspect.rs`, `migrate/introspect/` | a live database's schema read into the model, from each dialect's catalog |
//! | `migrate/check.rs` | the entities' schema compared with a live one: the differences, one line each |

mod apply;
mod check;
pub(crate) mod ddl;
mod diff;
mod entities;
mod file;
mod introspect;
mod model;
mod operation;
mod plan;
mod set;
mod snapshot;
mod source;

pub use crate::ast::ColumnChecks;
pub use apply::{
    MigrateOptions, MigrateReport, MigrateTarget, MigrationState, MigrationStatus, Record, RecordState, RunPlan,
    Unfinished, run_plan, statuses,
};
pub use check::schema_differences;
pub use diff::{RenameHints, diff};
pub use file::{FORMAT_VERSION, Migration};
pub use introspect::{
    CatalogQueries, CatalogRow, CatalogRows, LiveSchema, SqlType, Unmapped, catalog_queries, read_type,
};
pub use model::{Column, ForeignKey, Index, Schema, Table, TableCheck, UniqueKey};
pub use operation::{Operation, RawSql};
pub use plan::{Plan, Step, plan};
pub use set::{Direction, Migrations, NewMigration};
pub use snapshot::SNAPSHOT_FILE;
pub use source::{EmbeddedMigrations, MigrationSource};
