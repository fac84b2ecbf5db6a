//! A directory's migrations as one ordered set: numbering checked, replayed into the schema they
//! build, planned per migration and direction, checked against the snapshot, and extended by
//! the next migration (`makemigrations`).

use super::diff::{RenameHints, diff};
use super::file::Migration;
use super::model::Schema;
use super::operation::Operation;
use super::plan::{Plan, plan};
use super::snapshot::{SNAPSHOT_FILE, differences};
use crate::dialect::Dialect;
use crate::error::{Error, Result};

/// Which way a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Applying it.
    Forwards,
    /// Undoing it: the inverses of its operations, last first.
    Backwards,
}

/// The migrations of a directory, numbered 1, 2, 3... without gaps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Migrations {
    list: Vec<Migration>,
}

/// A migration made by [`Migrations::make`]: the file to write and the snapshot after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMigration {
    /// The migration; its file is [`Migration::file_name`] with [`Migration::to_toml`].
    pub migration: Migration,
    /// The schema after it, to write as the snapshot ([`Schema::to_snapshot`]).
    pub snapshot: Schema,
}

impl Migrations {
    /// The set of `migrations`, in number order. Two files with one number, or a number
    /// missing, is a configuration error naming them.
    pub fn new(mut migrations: Vec<Migration>) -> Result<Migrations> {
        migrations.sort_by_key(|m| m.number);
        for pair in migrations.windows(2) {
            if pair[0].number == pair[1].number {
                return Err(Error::config(format!(
                    "migrations {} and {} have the same number: renumber one of them",
                    pair[0].file_name(),
                    pair[1].file_name()
                )));
            }
        }
        for (i, m) in migrations.iter().enumerate() {
            let expected = i as u32 + 1;
            if m.number != expected {
                return Err(Error::config(format!(
                    "migration number {expected:04} is missing: the next file is {}",
                    m.file_name()
                )));
            }
        }
        Ok(Migrations { list: migrations })
    }

    /// Reads migration files given as (file name, text), the snapshot excepted.
    pub fn parse<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Migrations> {
        let list = files
            .into_iter()
            .filter(|(name, _)| *name != SNAPSHOT_FILE)
            .map(|(name, text)| Migration::parse(name, text))
            .collect::<Result<Vec<_>>>()?;
        Migrations::new(list)
    }

    /// The migrations, in order.
    pub fn list(&self) -> &[Migration] {
        &self.list
    }

    /// The migration named by `name`: its id (`0002_add_post_rating`), its file name or its
    /// number (`2`, `0002`).
    pub fn find(&self, name: &str) -> Option<&Migration> {
        let name = name.strip_suffix(".toml").unwrap_or(name);
        match name.parse::<u32>() {
            Ok(n) => self.list.iter().find(|m| m.number == n),
            Err(_) => self.list.iter().find(|m| m.id() == name),
        }
    }

    /// The schema the first `count` migrations build, replayed from nothing. An operation that
    /// does not fit is a configuration error naming the migration.
    pub fn schema_after(&self, count: usize) -> Result<Schema> {
        let mut schema = Schema::default();
        for m in self.list.iter().take(count) {
            apply_migration(&mut schema, m)?;
        }
        Ok(schema)
    }

    /// The schema all the migrations build.
    pub fn schema(&self) -> Result<Schema> {
        self.schema_after(self.list.len())
    }

    /// What running migration `number` in `direction` on `dialect` takes. Backwards, the plan
    /// undoes the migration from the schema it left, and [`Plan::lossy`] lists what it
    /// destroyed that coming back does not restore.
    pub fn plan(&self, number: u32, direction: Direction, dialect: Dialect) -> Result<Plan> {
        let Some(index) = self.list.iter().position(|m| m.number == number) else {
            return Err(Error::config(format!("there is no migration number {number:04}")));
        };
        let m = &self.list[index];
        let in_migration = |e: Error| e.context(m.file_name());
        match direction {
            Direction::Forwards => plan(&self.schema_after(index)?, &m.operations, dialect).map_err(in_migration),
            Direction::Backwards => {
                let inverse: Vec<Operation> = m.operations.iter().rev().map(Operation::inverse).collect();
                let mut p = plan(&self.schema_after(index + 1)?, &inverse, dialect).map_err(in_migration)?;
                p.lossy = m.operations.iter().filter(|o| o.is_lossy()).map(Operation::describe).collect();
                Ok(p)
            }
        }
    }

    /// Checks that replaying the migrations gives `snapshot`; when it does not, a migration or
    /// the snapshot was edited by hand, and the error says what differs and which migrations
    /// last changed those tables.
    pub fn check_snapshot(&self, snapshot: &Schema) -> Result<()> {
        let replayed = self.schema()?;
        let found = differences(&replayed, snapshot);
        if found.is_empty() {
            return Ok(());
        }
        let suspects: Vec<String> = found
            .iter()
            .filter_map(|d| d.split('`').nth(1))
            .filter_map(|table| self.list.iter().rev().find(|m| m.operations.iter().any(|o| o.table() == Some(table))))
            .map(Migration::file_name)
            .fold(Vec::new(), |mut v, f| {
                if !v.contains(&f) {
                    v.push(f);
                }
                v
            });
        let mut message = format!(
            "{SNAPSHOT_FILE} does not match what the migrations build, so one of them or the snapshot was edited: {}",
            found.join("; ")
        );
        if !suspects.is_empty() {
            message.push_str(&format!(" (last changed by {})", suspects.join(", ")));
        }
        Err(Error::config(message))
    }

    /// The next migration: the operations from `snapshot` (the schema the migrations build) to
    /// `target` (the entities' schema), with renames from `hints`, named `name` or after its
    /// operations (`initial` for the first). `None` when there is nothing to change.
    pub fn make(
        &self,
        snapshot: &Schema,
        target: &Schema,
        hints: &RenameHints,
        name: Option<&str>,
    ) -> Result<Option<NewMigration>> {
        let operations = diff(snapshot, target, hints)?;
        if operations.is_empty() {
            return Ok(None);
        }
        let name = match name {
            Some(n) => n.to_owned(),
            None if snapshot.tables.is_empty() => "initial".to_owned(),
            None => default_name(&operations),
        };
        let mut after = snapshot.clone();
        for op in &operations {
            op.apply(&mut after).map_err(|e| Error::internal(format!("the differ's operations do not apply: {e}")))?;
        }
        let migration = Migration::new(self.list.len() as u32 + 1, &name, None, operations)?;
        Ok(Some(NewMigration { migration, snapshot: after }))
    }

    /// The next migration with no operations, to fill by hand (`makemigrations --empty`).
    pub fn make_empty(&self, name: &str) -> Result<Migration> {
        Migration::new(self.list.len() as u32 + 1, name, None, Vec::new())
    }
}

fn apply_migration(schema: &mut Schema, m: &Migration) -> Result<()> {
    for (i, op) in m.operations.iter().enumerate() {
        op.apply(schema).map_err(|e| e.context(format_args!("{}, operation {}", m.file_name(), i + 1)))?;
    }
    Ok(())
}

/// The name a migration gets from its operations: the first one's, `_and_more` when there are
/// others (`add_post_rating_and_more`), at most 60 characters.
fn default_name(operations: &[Operation]) -> String {
    let mut name = operations.first().map(Operation::name_part).unwrap_or_default();
    if operations.len() > 1 {
        name.push_str("_and_more");
    }
    name.chars().take(60).collect()
}
