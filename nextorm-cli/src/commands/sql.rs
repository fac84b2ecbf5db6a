//! `sqlmigrate NAME [--backwards]`: a migration's SQL for the dialect of the database URL, read
//! from its scheme without connecting.
//!
//! ```text
//! -- 0002_add_author_rating, forwards, on postgres
//! -- step 1 of 1: add column author.rating
//! ALTER TABLE "author" ADD COLUMN "rating" INTEGER NOT NULL DEFAULT 0;
//! ```

use crate::console::Console;
use crate::dir::MigrationDir;
use nextorm_core::migrate::Direction;
use nextorm_core::{Error, Result};

/// Prints the steps of migration `name` one way, each statement ending in `;`.
pub(super) fn run(
    dir: &MigrationDir<'_>,
    url: &str,
    name: &str,
    backwards: bool,
    console: &mut Console<'_>,
) -> Result<()> {
    let dialect = nextorm_engine::dialect_of_url(url)?;
    let migrations = dir.read()?.migrations;
    let Some(migration) = migrations.find(name) else {
        return Err(Error::config(format!(
            "there is no migration `{name}` in {}; `showmigrations` lists them",
            dir.file("").display()
        )));
    };
    let (direction, way) =
        if backwards { (Direction::Backwards, "backwards") } else { (Direction::Forwards, "forwards") };
    let plan = migrations.plan(migration.number, direction, dialect)?;
    console.line(format_args!("-- {}, {way}, on {}", migration.id(), dialect.name()));
    if plan.foreign_keys_off {
        console.line("-- run with foreign keys off around the transaction (PRAGMA foreign_keys = OFF), checked by PRAGMA foreign_key_check before COMMIT");
    }
    for lost in &plan.lossy {
        console.line(format_args!("-- cannot restore: {lost}"));
    }
    if plan.steps.is_empty() {
        console.line(format_args!("-- no statements on {}", dialect.name()));
    }
    let total = plan.steps.len();
    for (i, step) in plan.steps.iter().enumerate() {
        console.line(format_args!("-- step {} of {total}: {}", i + 1, step.description));
        for statement in &step.statements {
            console.line(format_args!("{statement};"));
        }
    }
    Ok(())
}
