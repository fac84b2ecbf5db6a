//! Where a program's migrations come from: files included at compile time
//! ([`EmbeddedMigrations`], made by `nextorm::migrations!`), or a set already read.

use super::set::Migrations;
use crate::error::Result;
use std::borrow::Cow;

/// Migration files included in the program at compile time, as `(file name, text)`:
///
/// ```text
/// static MIGRATIONS: nextorm::migrate::EmbeddedMigrations = nextorm::migrations!("migrations");
/// db.migrate(&MIGRATIONS)?;   // applies the pending ones at startup
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations {
    files: &'static [(&'static str, &'static str)],
}

impl EmbeddedMigrations {
    /// The migrations in `files`; the snapshot file, if given, is left out when they are read.
    pub const fn new(files: &'static [(&'static str, &'static str)]) -> EmbeddedMigrations {
        EmbeddedMigrations { files }
    }

    /// The files, as `(file name, text)`.
    pub fn files(&self) -> &'static [(&'static str, &'static str)] {
        self.files
    }
}

/// Something that gives a set of migrations: [`Migrations`] itself, or [`EmbeddedMigrations`],
/// read when they are needed.
pub trait MigrationSource: Sync {
    /// The migrations; an embedded file that does not parse is a configuration error naming it.
    fn load(&self) -> Result<Cow<'_, Migrations>>;
}

impl MigrationSource for Migrations {
    fn load(&self) -> Result<Cow<'_, Migrations>> {
        Ok(Cow::Borrowed(self))
    }
}

impl MigrationSource for EmbeddedMigrations {
    fn load(&self) -> Result<Cow<'_, Migrations>> {
        Migrations::parse(self.files.iter().copied()).map(Cow::Owned)
    }
}
