//! The differ: the operations that turn one schema into another. Tables and columns are matched
//! by name; a rename is never guessed, only taken from a hint (`#[orm(renamed_from = "...")]`).
//!
//! The operations come in an order each dialect can apply: renames first; then each changed
//! table on its own (foreign keys dropped, keys and indexes whose name is reused or whose column
//! goes dropped, columns dropped, added and altered, keys and indexes added, the other ones
//! dropped, foreign keys to existing tables added); then dropped tables, referring ones first;
//! then new tables, referenced ones first; then foreign keys to the new tables.

use super::model::{Column, Schema, Table};
use super::operation::Operation;
use crate::error::{Error, ErrorKind, Result};

/// Renames declared by the entities: a table or column of the old schema that takes a new name
/// instead of being dropped and created anew. A hint applies only when the old name exists in
/// the old schema and not in the new one, and the new name exists only in the new one, so a hint
/// left in the code after its migration is harmless.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenameHints {
    /// (old name, new name) of tables, in the order given; several may offer a new name.
    tables: Vec<(String, String)>,
    /// (table's new name, old column name, new column name).
    columns: Vec<(String, String, String)>,
}

impl RenameHints {
    /// Table `old` is now named `new`.
    pub fn rename_table(&mut self, old: &str, new: &str) {
        let hint = (old.to_owned(), new.to_owned());
        if !self.tables.contains(&hint) {
            self.tables.push(hint);
        }
    }

    /// Column `old` of `table` (the table's new name) is now named `new`.
    pub fn rename_column(&mut self, table: &str, old: &str, new: &str) {
        let hint = (table.to_owned(), old.to_owned(), new.to_owned());
        if !self.columns.contains(&hint) {
            self.columns.push(hint);
        }
    }
}

/// The operations that turn `from` into `to`, renaming where `hints` say so.
///
/// Refused, as errors naming the table and column: a required column added to an existing
/// table without a default (`ErrorKind::Mapping`: its rows would have no value), and a change
/// of a table's primary key or of which column is auto-incremented (`ErrorKind::Unsupported`).
pub fn diff(from: &Schema, to: &Schema, hints: &RenameHints) -> Result<Vec<Operation>> {
    let mut ops = renames(from, to, hints);
    // The old schema under the new names: every later operation names tables and columns so.
    let mut work = from.clone();
    for op in &ops {
        op.apply(&mut work).map_err(|e| Error::internal(format!("the differ's renames do not apply: {e}")))?;
    }
    let mut deferred_fks = Vec::new();
    for new in &to.tables {
        if let Some(old) = work.table(&new.name) {
            ops.extend(table_changes(old, new, to, &work, &mut deferred_fks)?);
        }
    }
    let dropped: Vec<&Table> = work.tables.iter().filter(|t| to.table(&t.name).is_none()).collect();
    let dropped = super::model::creation_order(dropped)?;
    ops.extend(dropped.into_iter().rev().map(|t| Operation::DropTable { table: t.clone() }));
    let created: Vec<&Table> = to.tables.iter().filter(|t| work.table(&t.name).is_none()).collect();
    ops.extend(super::model::creation_order(created)?.into_iter().map(|t| Operation::CreateTable { table: t.clone() }));
    ops.extend(deferred_fks);
    Ok(ops)
}

/// The table and column renames the hints ask for and the two schemas allow.
fn renames(from: &Schema, to: &Schema, hints: &RenameHints) -> Vec<Operation> {
    let mut ops = Vec::new();
    let mut table_names: Vec<(String, String)> = Vec::new();
    for (old, new) in &hints.tables {
        let taken = table_names.iter().any(|(o, n)| o == old || n == new);
        if !taken
            && from.table(old).is_some()
            && to.table(old).is_none()
            && from.table(new).is_none()
            && to.table(new).is_some()
        {
            table_names.push((old.clone(), new.clone()));
            ops.push(Operation::RenameTable { from: old.clone(), to: new.clone() });
        }
    }
    let old_name =
        |new: &str| table_names.iter().find(|(_, n)| n == new).map_or_else(|| new.to_owned(), |(o, _)| o.clone());
    let mut taken: Vec<(&str, &str)> = Vec::new();
    for (table, old, new) in &hints.columns {
        let (Some(before), Some(after)) = (from.table(&old_name(table)), to.table(table)) else {
            continue;
        };
        let fits = before.column(old).is_some()
            && after.column(old).is_none()
            && before.column(new).is_none()
            && after.column(new).is_some()
            && !taken.iter().any(|(t, o)| t == table && o == old);
        if fits {
            taken.push((table, old));
            ops.push(Operation::RenameColumn { table: table.clone(), from: old.clone(), to: new.clone() });
        }
    }
    ops
}

/// The operations that turn table `old` into `new` (same name), in the order the module
/// describes; foreign keys to tables still to be created go to `deferred`.
fn table_changes(
    old: &Table,
    new: &Table,
    to: &Schema,
    work: &Schema,
    deferred: &mut Vec<Operation>,
) -> Result<Vec<Operation>> {
    let table = &new.name;
    if old.primary_key != new.primary_key {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "the primary key of table `{table}` changes from ({}) to ({}): migrations cannot change a primary key; write the change as a raw_sql operation",
                old.primary_key.join(", "),
                new.primary_key.join(", ")
            ),
        ));
    }
    let mut ops = Vec::new();
    let t = || table.clone();
    let gone_column = |cols: &[String]| cols.iter().any(|c| new.column(c).is_none());

    // A check may name a column that goes: dropped first.
    for check in old.checks.iter().filter(|c| !new.checks.contains(c)) {
        ops.push(Operation::DropCheck { table: t(), check: check.clone() });
    }
    for fk in old.foreign_keys.iter().filter(|fk| !new.foreign_keys.contains(fk)) {
        ops.push(Operation::DropForeignKey { table: t(), foreign_key: fk.clone() });
    }
    // Dropped before the columns go, or before a key or index takes the same name.
    let early_unique = |u: &&super::model::UniqueKey| {
        !new.unique_keys.contains(u) && (gone_column(&u.columns) || new.unique_keys.iter().any(|n| n.name == u.name))
    };
    let early_index = |i: &&super::model::Index| {
        !new.indexes.contains(i) && (gone_column(&i.columns) || new.indexes.iter().any(|n| n.name == i.name))
    };
    for u in old.unique_keys.iter().filter(early_unique) {
        ops.push(Operation::DropUnique { table: t(), unique: u.clone() });
    }
    for i in old.indexes.iter().filter(early_index) {
        ops.push(Operation::DropIndex { table: t(), index: i.clone() });
    }
    for c in old.columns.iter().filter(|c| new.column(&c.name).is_none()) {
        ops.push(Operation::DropColumn { table: t(), column: c.clone() });
    }
    for c in new.columns.iter().filter(|c| old.column(&c.name).is_none()) {
        if !c.nullable && c.default.is_none() && !c.auto_increment {
            return Err(Error::mapping(format!(
                "column `{table}.{}` is added to an existing table as NOT NULL without a default, so the rows the table has would get no value: give it one with #[orm(sql_default = \"...\")] or make the field an Option<T>",
                c.name
            )));
        }
        ops.push(Operation::AddColumn { table: t(), column: c.clone() });
    }
    for (before, after) in new.columns.iter().filter_map(|c| old.column(&c.name).map(|o| (o, c))) {
        if before == after {
            continue;
        }
        if before.auto_increment != after.auto_increment {
            return Err(auto_increment_change(table, before, after));
        }
        ops.push(Operation::AlterColumn { table: t(), from: before.clone(), to: after.clone() });
    }
    for u in new.unique_keys.iter().filter(|u| !old.unique_keys.contains(u)) {
        ops.push(Operation::AddUnique { table: t(), unique: u.clone() });
    }
    for i in new.indexes.iter().filter(|i| !old.indexes.contains(i)) {
        ops.push(Operation::AddIndex { table: t(), index: i.clone() });
    }
    // The rest go after the new ones exist: MariaDB keeps an index a foreign key needs.
    for u in old.unique_keys.iter().filter(|u| !new.unique_keys.contains(u) && !early_unique(u)) {
        ops.push(Operation::DropUnique { table: t(), unique: u.clone() });
    }
    for i in old.indexes.iter().filter(|i| !new.indexes.contains(i) && !early_index(i)) {
        ops.push(Operation::DropIndex { table: t(), index: i.clone() });
    }
    for fk in new.foreign_keys.iter().filter(|fk| !old.foreign_keys.contains(fk)) {
        let op = Operation::AddForeignKey { table: t(), foreign_key: fk.clone() };
        let target_exists = work.table(&fk.references).is_some() && to.table(&fk.references).is_some();
        if target_exists { ops.push(op) } else { deferred.push(op) }
    }
    // Added last, once the columns it may name exist.
    for check in new.checks.iter().filter(|c| !old.checks.contains(c)) {
        ops.push(Operation::AddCheck { table: t(), check: check.clone() });
    }
    Ok(ops)
}

fn auto_increment_change(table: &str, before: &Column, after: &Column) -> Error {
    let (was, now) = if after.auto_increment { ("not ", "") } else { ("", "no longer ") };
    Error::new(
        ErrorKind::Unsupported,
        format!(
            "column `{table}.{}` was {was}auto-incremented and is {now}: migrations cannot change that; write the change as a raw_sql operation",
            before.name
        ),
    )
}
