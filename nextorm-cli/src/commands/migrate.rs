//! `migrate [TARGET]`: applies the pending migrations, or goes to TARGET, printing each
//! migration and step as the runner reports them.

use crate::console::Console;
use crate::database::with_database;
use crate::dir::MigrationDir;
use crate::progress::PrintedProgress;
use nextorm_core::Result;
use nextorm_core::migrate::{MigrateOptions, MigrateTarget};

/// The runner's options from the command line: a TARGET of `zero` reverts everything.
pub(super) fn options(target: Option<&str>, fake: bool, resume: bool, allow_lossy: bool) -> MigrateOptions {
    let target = match target {
        None => MigrateTarget::Latest,
        Some("zero") => MigrateTarget::Zero,
        Some(name) => MigrateTarget::Name(name.to_owned()),
    };
    MigrateOptions { target, fake, resume, allow_lossy }
}

/// Reads the directory and runs the migrations on `url`.
pub(super) fn run(
    dir: &MigrationDir<'_>,
    url: &str,
    options: &MigrateOptions,
    console: &mut Console<'_>,
) -> Result<()> {
    let migrations = dir.read()?.migrations;
    let report = with_database(url, &[], async |db| {
        let mut progress = PrintedProgress::new(console.out());
        db.migrate(&migrations, options, &mut progress).await
    })?;
    if report.applied.is_empty() && report.reverted.is_empty() {
        console.line("No migrations to apply");
    }
    Ok(())
}
