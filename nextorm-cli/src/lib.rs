//! The `nextorm` command: `makemigrations`, `migrate`, `showmigrations`, `sqlmigrate` and `check`, a thin
//! layer of arguments ([clap]) and printing over `nextorm_core::migrate` and the engine's
//! migration runner.
//!
//! Rust cannot load a program's entities at run time, so a crate gets the full command from a
//! binary of its own that links its entities (they register themselves at link time):
//!
//! ```text
//! // src/bin/nextorm.rs, with nextorm's `cli` feature on
//! use my_app as _; // when the entities live in the crate's library: link it
//! fn main() -> std::process::ExitCode { nextorm::cli::main() }
//! ```
//!
//! The standalone `nextorm` binary of this crate links no entities: `migrate`, `showmigrations`
//! and `sqlmigrate` work from it, and `makemigrations` and `check` say how to get the one-line binary.
//!
//! Exit codes:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done |
//! | 1 | a statement, the connection or the database failed |
//! | 2 | usage or configuration: bad arguments, no database URL, a bad migration file, no entities |
//! | 3 | the migration history refuses: a half-applied migration, an edited or missing file, a lossy revert |
//! | 4 | `check`: the database differs from the entities |

mod args;
mod commands;
mod console;
mod database;
mod dir;
mod exit;
mod progress;

use clap::Parser;
use console::Console;
use exit::Exit;
use std::ffi::OsString;
use std::process::ExitCode;

/// Runs the command with the process's arguments, printing to stdout and stderr; the exit code
/// says what happened (0 done, 1 a database failure, 2 usage or configuration, 3 the migration
/// history refuses, 4 `check` found a difference).
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs the command with `args` (the program name first, as in `std::env::args_os`), printing
/// to stdout and stderr, and returns its exit code.
///
/// ```
/// use std::process::ExitCode;
/// assert_eq!(nextorm_cli::run(["nextorm", "--version"]), ExitCode::SUCCESS);
/// assert_eq!(nextorm_cli::run(["nextorm", "no-such-command"]), ExitCode::from(2));
/// ```
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    execute(args, &mut Console::new(&mut out, &mut err)).into()
}

/// Parses `args` and runs the command, printing to `console`.
fn execute<I, T>(args: I, console: &mut Console<'_>) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match args::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return console.clap_error(&e),
    };
    match commands::run(&cli, console) {
        Ok(exit) => exit,
        Err(e) => console.error(&e),
    }
}

#[cfg(test)]
mod tests;
