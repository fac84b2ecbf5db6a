//! The snapshot file, `migrations/snapshot.toml`: the schema as the migrations leave it, which
//! the next migration is diffed from and which replaying the migrations must give.

use super::file::FORMAT_VERSION;
use super::model::{Schema, Table};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The snapshot's file name in the migrations directory.
pub const SNAPSHOT_FILE: &str = "snapshot.toml";

/// The file as TOML has it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotForm {
    nextorm: u32,
    #[serde(default, rename = "table", skip_serializing_if = "Vec::is_empty")]
    tables: Vec<Table>,
}

impl Schema {
    /// Reads a snapshot file. Errors name the file, the line and what is wrong.
    pub fn parse_snapshot(text: &str) -> Result<Schema> {
        let form: SnapshotForm = toml::from_str(text).map_err(|e| Error::config(format!("{SNAPSHOT_FILE}: {e}")))?;
        if form.nextorm != FORMAT_VERSION {
            return Err(Error::config(format!(
                "{SNAPSHOT_FILE}: format version {}; this nextorm reads version {FORMAT_VERSION}",
                form.nextorm
            )));
        }
        Ok(Schema { tables: form.tables })
    }

    /// The snapshot file's text.
    pub fn to_snapshot(&self) -> Result<String> {
        let form = SnapshotForm { nextorm: FORMAT_VERSION, tables: self.tables.clone() };
        toml::to_string(&form).map_err(|e| Error::internal(format!("the snapshot cannot be written as TOML: {e}")))
    }
}

/// How `actual` differs from `expected`, table by table, one line each (order ignored).
pub(crate) fn differences(expected: &Schema, actual: &Schema) -> Vec<String> {
    let (expected, actual) = (expected.normalized(), actual.normalized());
    let mut out = Vec::new();
    for e in &expected.tables {
        match actual.table(&e.name) {
            None => out.push(format!("table `{}` is missing", e.name)),
            Some(a) if a != e => out.push(table_difference(e, a)),
            Some(_) => {}
        }
    }
    for a in actual.tables.iter().filter(|a| expected.table(&a.name).is_none()) {
        out.push(format!("table `{}` is extra", a.name));
    }
    out
}

fn table_difference(e: &Table, a: &Table) -> String {
    let mut parts = Vec::new();
    for c in &e.columns {
        match a.column(&c.name) {
            None => parts.push(format!("column `{}` is missing", c.name)),
            Some(x) if x != c => parts.push(format!("column `{}` is {:?}, expected {:?}", c.name, x, c)),
            Some(_) => {}
        }
    }
    for c in a.columns.iter().filter(|c| e.column(&c.name).is_none()) {
        parts.push(format!("column `{}` is extra", c.name));
    }
    if e.primary_key != a.primary_key {
        parts.push(format!(
            "the primary key is ({}), expected ({})",
            a.primary_key.join(", "),
            e.primary_key.join(", ")
        ));
    }
    if e.unique_keys != a.unique_keys {
        parts.push("its unique keys differ".to_owned());
    }
    if e.indexes != a.indexes {
        parts.push("its indexes differ".to_owned());
    }
    if e.foreign_keys != a.foreign_keys {
        parts.push("its foreign keys differ".to_owned());
    }
    format!("table `{}`: {}", e.name, parts.join("; "))
}
