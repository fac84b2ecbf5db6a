//! The commands, one file each, and what they share: the database URL they need.

mod make;
mod migrate;
mod show;
mod sql;

use crate::args::{Cli, Command};
use crate::console::Console;
use crate::dir::MigrationDir;
use nextorm_core::{Error, Result};

/// Runs the parsed command.
pub(crate) fn run(cli: &Cli, console: &mut Console<'_>) -> Result<()> {
    let dir = MigrationDir::new(&cli.dir);
    match &cli.command {
        Command::Makemigrations { name, empty } => {
            make::run(&dir, name.as_deref(), *empty, cli.database_url.as_deref(), console)
        }
        Command::Migrate { target, fake, resume, allow_lossy } => {
            let options = migrate::options(target.as_deref(), *fake, *resume, *allow_lossy);
            migrate::run(&dir, database_url(cli)?, &options, console)
        }
        Command::Showmigrations => show::run(&dir, database_url(cli)?, console),
        Command::Sqlmigrate { name, backwards } => sql::run(&dir, database_url(cli)?, name, *backwards, console),
    }
}

/// The database URL, which every command but `makemigrations` needs.
fn database_url(cli: &Cli) -> Result<&str> {
    cli.database_url.as_deref().ok_or_else(|| {
        Error::config("no database given: pass --database-url URL or set DATABASE_URL (sqlite:app.db, postgres://..., mariadb://...)")
    })
}
