//! `showmigrations`: where each migration stands in the database, one line each.
//!
//! ```text
//! [X] 0001_initial  applied at 2025-06-01 12:00:03 UTC
//! [~] 0002_gated  stopped after step 1 of 2 while being applied: ...
//! [ ] 0003_more
//! ```

use crate::console::Console;
use crate::database::with_database;
use crate::dir::MigrationDir;
use nextorm_core::Result;
use nextorm_core::migrate::{Direction, MigrationState, MigrationStatus};

/// Prints the status of every migration of the directory, then of recorded ones whose file is gone.
pub(super) fn run(dir: &MigrationDir<'_>, url: &str, console: &mut Console<'_>) -> Result<()> {
    let migrations = dir.read()?.migrations;
    let statuses = with_database(url, &[], async |db| db.migration_status(&migrations).await)?;
    if statuses.is_empty() {
        console.line("No migrations");
    }
    for status in &statuses {
        console.line(line(status));
    }
    Ok(())
}

/// One migration's line.
fn line(status: &MigrationStatus) -> String {
    let name = &status.name;
    match &status.state {
        MigrationState::Pending => format!("[ ] {name}"),
        MigrationState::Applied { at, checksum_matches: true } => {
            format!("[X] {name}  applied at {}", at.format("%Y-%m-%d %H:%M:%S UTC"))
        }
        MigrationState::Applied { at, checksum_matches: false } => format!(
            "[X] {name}  applied at {}, EDITED since: the file's checksum differs from the one applied",
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        MigrationState::Partial { direction: Direction::Forwards, steps_done, steps_total } => format!(
            "[~] {name}  stopped after step {steps_done} of {steps_total} while being applied: fix the cause, then \
             `migrate --resume`, or migrate back to the migration before it"
        ),
        MigrationState::Partial { direction: Direction::Backwards, steps_done, steps_total } => format!(
            "[~] {name}  stopped while being reverted, {steps_done} of its {steps_total} steps still applied: fix \
             the cause, then migrate back past it again, or `migrate --resume`"
        ),
        MigrationState::Unknown => format!("[?] {name}  applied, but its file is missing"),
        other => format!("[?] {name}  {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: MigrationState) -> MigrationStatus {
        MigrationStatus { name: "0002_gated".into(), state }
    }

    #[test]
    fn each_state_has_its_mark() {
        let at = chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap();
        assert_eq!(line(&status(MigrationState::Pending)), "[ ] 0002_gated");
        assert_eq!(
            line(&status(MigrationState::Applied { at, checksum_matches: true })),
            "[X] 0002_gated  applied at 2025-06-15 15:06:40 UTC"
        );
        assert!(line(&status(MigrationState::Applied { at, checksum_matches: false })).contains("EDITED since"));
        let partial = MigrationState::Partial { direction: Direction::Forwards, steps_done: 1, steps_total: 2 };
        assert!(line(&status(partial)).starts_with("[~] 0002_gated  stopped after step 1 of 2 while being applied"));
        assert_eq!(line(&status(MigrationState::Unknown)), "[?] 0002_gated  applied, but its file is missing");
    }
}
