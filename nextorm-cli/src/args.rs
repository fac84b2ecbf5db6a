//! The command line, as clap parses it.

use crate::exit::EXIT_CODES;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// nextorm's migrations: make them from the entities, apply and revert them, list them, show
/// their SQL.
#[derive(Debug, Parser)]
#[command(name = "nextorm", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// The database: sqlite:path/to/file.db, postgres://user@host/db or mariadb://user@host/db.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,
    /// The migrations directory: numbered NNNN_name.toml files and snapshot.toml.
    #[arg(long, global = true, default_value = "migrations", value_name = "DIR")]
    pub(crate) dir: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Writes the next migration: what changed in the entities since the snapshot. Needs the
    /// entities linked into the program (a crate's one-line `nextorm` binary), no database.
    Makemigrations {
        /// The migration's name (lowercase letters, digits and `_`); by default it is named
        /// after its first operation.
        #[arg(long)]
        name: Option<String>,
        /// Writes a migration with no operations, to fill by hand (raw SQL, data changes).
        #[arg(long)]
        empty: bool,
    },
    /// Applies the pending migrations, or with TARGET migrates to it: later migrations are
    /// reverted, last first. Runs under the database's migration lock.
    Migrate {
        /// The last migration to keep applied (id, file name or number, e.g. 0002), or `zero`
        /// to revert every migration.
        target: Option<String>,
        /// Records (or forgets) the migrations without running them, for a schema already
        /// changed by hand.
        #[arg(long)]
        fake: bool,
        /// Continues a migration stopped half-way (MariaDB) from its next step.
        #[arg(long)]
        resume: bool,
        /// Reverts migrations whose downgrade cannot restore data (dropped columns or tables).
        #[arg(long)]
        allow_lossy: bool,
    },
    /// Lists the migrations: [X] applied, [ ] pending, [~] stopped half-way, [?] recorded but
    /// missing.
    Showmigrations,
    /// Compares the database's tables with the entities linked into the program and prints every
    /// difference (exit code 4 when there is one). Needs the crate's one-line binary.
    Check,
    /// Prints a migration's SQL for the dialect of the database URL, without connecting.
    Sqlmigrate {
        /// The migration: id, file name or number.
        name: String,
        /// The SQL that reverts it instead.
        #[arg(long)]
        backwards: bool,
    },
}
