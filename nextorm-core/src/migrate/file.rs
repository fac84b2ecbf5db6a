//! The migration file: `NNNN_<name>.toml`, a header and the operations, written to read and
//! diff well, with the SHA-256 of its bytes as the checksum a history table records.
//!
//! ```text
//! nextorm = 1
//! name = "0002_add_post_rating"
//! description = "posts get a rating"   # optional
//!
//! [[operation]]
//! op = "add_column"
//! table = "post"
//!
//! [operation.column]
//! name = "rating"
//! type = "int"
//! default = "0"
//! ```

use super::operation::Operation;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The file format version this nextorm writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// One migration: its number and name (from its file name), and its operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The number, from 1, in the order migrations apply.
    pub number: u32,
    /// The name after the number: `add_post_rating`.
    pub name: String,
    /// An optional note.
    pub description: Option<String>,
    /// The operations, in order.
    pub operations: Vec<Operation>,
    /// The SHA-256 of the file's bytes, lowercase hex.
    checksum: String,
}

/// The file as TOML has it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    nextorm: u32,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, rename = "operation")]
    operations: Vec<Operation>,
}

impl Migration {
    /// A new migration, not yet written; its checksum is that of [`Migration::to_toml`].
    pub fn new(number: u32, name: &str, description: Option<String>, operations: Vec<Operation>) -> Result<Migration> {
        check_name(name).map_err(|e| e.context(format_args!("migration name `{name}`")))?;
        let mut m = Migration { number, name: name.to_owned(), description, operations, checksum: String::new() };
        m.checksum = checksum(m.to_toml()?.as_bytes());
        Ok(m)
    }

    /// Reads the file `file_name` (its name without directories, `0002_add_post_rating.toml`)
    /// whose content is `text`. Errors name the file, and for the content the line and what is
    /// wrong; the header's `name` must be the file's.
    pub fn parse(file_name: &str, text: &str) -> Result<Migration> {
        let in_file = |e: Error| e.context(file_name);
        let (number, name) = split_file_name(file_name).map_err(in_file)?;
        let form: FileForm = toml::from_str(text).map_err(|e| Error::config(format!("{file_name}: {e}")))?;
        if form.nextorm != FORMAT_VERSION {
            return Err(in_file(Error::config(format!(
                "format version {} (`nextorm = {}`); this nextorm reads version {FORMAT_VERSION}",
                form.nextorm, form.nextorm
            ))));
        }
        let id = format!("{number:04}_{name}");
        if form.name != id {
            return Err(in_file(Error::config(format!(
                "the header names the migration `{}` but the file is `{id}`: a renamed or copied file? make them agree",
                form.name
            ))));
        }
        Ok(Migration {
            number,
            name: name.to_owned(),
            description: form.description,
            operations: form.operations,
            checksum: checksum(text.as_bytes()),
        })
    }

    /// `0002_add_post_rating`: the number and name, what a history table records.
    pub fn id(&self) -> String {
        format!("{:04}_{}", self.number, self.name)
    }

    /// `0002_add_post_rating.toml`.
    pub fn file_name(&self) -> String {
        format!("{}.toml", self.id())
    }

    /// The SHA-256 of the file's bytes, lowercase hex: a history table records it, and a
    /// migration applied with another checksum was edited since.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// The file's text.
    pub fn to_toml(&self) -> Result<String> {
        let form = FileForm {
            nextorm: FORMAT_VERSION,
            name: self.id(),
            description: self.description.clone(),
            operations: self.operations.clone(),
        };
        toml::to_string(&form)
            .map_err(|e| Error::internal(format!("migration {} cannot be written as TOML: {e}", self.id())))
    }
}

/// The number and name of `0002_add_post_rating.toml`.
fn split_file_name(file_name: &str) -> Result<(u32, &str)> {
    let expected = "expected a migration file named like 0002_add_post_rating.toml";
    let stem = file_name.strip_suffix(".toml").ok_or_else(|| Error::config(expected))?;
    let (digits, name) = stem.split_once('_').ok_or_else(|| Error::config(expected))?;
    let number = match digits.parse::<u32>() {
        Ok(n) if n > 0 && digits.chars().all(|c| c.is_ascii_digit()) => n,
        _ => return Err(Error::config(format!("{expected}: `{digits}` is not a number from 1"))),
    };
    check_name(name)?;
    Ok((number, name))
}

/// A name is lowercase letters, digits and `_`, and not empty.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(Error::config(format!(
            "the name `{name}` must be lowercase letters, digits and `_`, and not empty"
        )));
    }
    Ok(())
}

/// SHA-256, lowercase hex.
pub(crate) fn checksum(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
