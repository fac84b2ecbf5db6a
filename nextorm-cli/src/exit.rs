//! The exit codes, and which errors lead to which.

use nextorm_core::ErrorKind;
use std::process::ExitCode;

/// How the command ended, as its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: done.
    Done = 0,
    /// 1: a statement, the connection or the database failed.
    Failed = 1,
    /// 2: usage or configuration (clap's own usage errors are 2 as well).
    Usage = 2,
    /// 3: the migration history refuses the request.
    Refused = 3,
    /// 4: `check` found the database different from the entities.
    Differs = 4,
}

impl Exit {
    /// The exit code for an error of `kind`.
    pub(crate) fn of(kind: ErrorKind) -> Exit {
        match kind {
            ErrorKind::Migration => Exit::Refused,
            ErrorKind::Config | ErrorKind::Mapping | ErrorKind::Unsupported => Exit::Usage,
            _ => Exit::Failed,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// The exit codes as `--help` lists them.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  a statement, the connection or the database failed
  2  usage or configuration: bad arguments, no database URL, a bad migration file, no entities
  3  the migration history refuses: a half-applied migration, an edited or missing file, a lossy revert
  4  check: the database differs from the entities";
