//! The migrations directory: its numbered files and its snapshot, read and written.

use nextorm_core::migrate::{Migrations, SNAPSHOT_FILE};
use nextorm_core::{Error, ErrorKind, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A migrations directory (`--dir`).
pub(crate) struct MigrationDir<'a> {
    path: &'a Path,
}

/// What a directory holds.
pub(crate) struct Contents {
    /// Its migrations, checked and in order.
    pub(crate) migrations: Migrations,
    /// The text of its snapshot file, if it has one.
    pub(crate) snapshot: Option<String>,
}

impl<'a> MigrationDir<'a> {
    pub(crate) fn new(path: &'a Path) -> MigrationDir<'a> {
        MigrationDir { path }
    }

    /// The path of `file` in the directory, for messages and writing.
    pub(crate) fn file(&self, file: &str) -> PathBuf {
        self.path.join(file)
    }

    /// Whether the directory exists.
    pub(crate) fn exists(&self) -> bool {
        self.path.is_dir()
    }

    /// Reads the directory: every `*.toml` file but the snapshot is a migration. A missing
    /// directory is a configuration error saying how to make one.
    pub(crate) fn read(&self) -> Result<Contents> {
        let entries = std::fs::read_dir(self.path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                ": run `makemigrations` first, or pass --dir"
            } else {
                ""
            };
            io_error(format!("cannot read the migrations directory {}{hint}", self.path.display()), e)
        })?;
        let mut files: Vec<(String, String)> = Vec::new();
        let mut snapshot = None;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(format!("cannot read {}", self.path.display()), e))?;
            let path = entry.path();
            if path.extension().is_none_or(|ext| ext != "toml") || !path.is_file() {
                continue;
            }
            let name = entry.file_name().into_string().map_err(|name| {
                Error::config(format!("{}: a file name that is not UTF-8: {name:?}", self.path.display()))
            })?;
            let text =
                std::fs::read_to_string(&path).map_err(|e| io_error(format!("cannot read {}", path.display()), e))?;
            if name == SNAPSHOT_FILE {
                snapshot = Some(text);
            } else {
                files.push((name, text));
            }
        }
        let migrations = Migrations::parse(files.iter().map(|(name, text)| (name.as_str(), text.as_str())))
            .map_err(|e| e.context(self.path.display()))?;
        Ok(Contents { migrations, snapshot })
    }

    /// Writes a new file, refusing to replace one that exists; makes the directory if needed.
    pub(crate) fn create(&self, file: &str, text: &str) -> Result<PathBuf> {
        std::fs::create_dir_all(self.path)
            .map_err(|e| io_error(format!("cannot create the directory {}", self.path.display()), e))?;
        let path = self.file(file);
        let mut f =
            std::fs::File::create_new(&path).map_err(|e| io_error(format!("cannot create {}", path.display()), e))?;
        f.write_all(text.as_bytes()).map_err(|e| io_error(format!("cannot write {}", path.display()), e))?;
        Ok(path)
    }

    /// Writes the snapshot, replacing the previous one.
    pub(crate) fn write_snapshot(&self, text: &str) -> Result<()> {
        let path = self.file(SNAPSHOT_FILE);
        std::fs::write(&path, text).map_err(|e| io_error(format!("cannot write {}", path.display()), e))
    }
}

fn io_error(message: String, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Config, format!("{message}: {e}"))
}
