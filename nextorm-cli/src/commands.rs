//! The commands, one file each, and what they share: the database URL they need.

mod check;
mod make;
mod migrate;
mod show;
mod sql;

use crate::args::{Cli, Command};
use crate::console::Console;
use crate::dir::MigrationDir;
use crate::exit::Exit;
use nextorm_core::{Error, Result};

/// Runs the parsed command; `check` ends with [`Exit::Differs`] when it finds a difference.
pub(crate) fn run(cli: &Cli, console: &mut Console<'_>) -> Result<Exit> {
    let dir = MigrationDir::new(&cli.dir);
    let done = |r: Result<()>| r.map(|()| Exit::Done);
    match &cli.command {
        Command::Makemigrations { name, empty } => {
            done(make::run(&dir, name.as_deref(), *empty, cli.database_url.as_deref(), console))
        }
        Command::Migrate { target, fake, resume, allow_lossy } => {
            let options = migrate::options(target.as_deref(), *fake, *resume, *allow_lossy);
            done(migrate::run(&dir, database_url(cli)?, &options, console))
        }
        Command::Showmigrations => done(show::run(&dir, database_url(cli)?, console)),
        Command::Sqlmigrate { name, backwards } => done(sql::run(&dir, database_url(cli)?, name, *backwards, console)),
        Command::Check => check::run(database_url(cli)?, console),
    }
}

/// The database URL, which every command but `makemigrations` needs.
fn database_url(cli: &Cli) -> Result<&str> {
    cli.database_url.as_deref().ok_or_else(|| {
        Error::config("no database given: pass --database-url URL or set DATABASE_URL (sqlite:app.db, postgres://..., mariadb://...)")
    })
}
