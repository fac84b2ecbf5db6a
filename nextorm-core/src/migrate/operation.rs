//! Migration operations: one change of a schema each, dialect-neutral. Each carries what its
//! inverse needs (a dropped table or column keeps its whole definition), so [`Operation::inverse`]
//! is total; each applies to a schema model ([`Operation::apply`]), which is how the differ is
//! checked and how a schema is rebuilt by replaying migrations.

use super::model::{Column, ForeignKey, Index, Schema, Table, TableCheck, UniqueKey};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One change of a schema. In a migration file each is an `[[operation]]` table whose `op`
/// names the variant in snake case:
///
/// ```text
/// [[operation]]
/// op = "add_column"
/// table = "post"
///
/// [operation.column]
/// name = "rating"
/// type = "int"
/// default = "0"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    /// Creates a table with its keys, indexes and foreign keys.
    CreateTable {
        /// The whole table.
        table: Table,
    },
    /// Drops a table; it keeps the whole definition so that the inverse can create it again
    /// (empty: the rows are lost).
    DropTable {
        /// The whole table, as it was.
        table: Table,
    },
    /// Renames a table.
    RenameTable {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Adds a column at the end of a table.
    AddColumn {
        /// The table.
        table: String,
        /// The column.
        column: Column,
    },
    /// Drops a column, keeping its definition for the inverse (its values are lost).
    DropColumn {
        /// The table.
        table: String,
        /// The column, as it was.
        column: Column,
    },
    /// Renames a column.
    RenameColumn {
        /// The table.
        table: String,
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Changes a column's type, nullability or default: `from` and `to` have the same name.
    AlterColumn {
        /// The table.
        table: String,
        /// The column as it is.
        from: Column,
        /// The column as it becomes.
        to: Column,
    },
    /// Adds an index.
    AddIndex {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// Drops an index.
    DropIndex {
        /// The table.
        table: String,
        /// The index, as it was.
        index: Index,
    },
    /// Adds a unique key.
    AddUnique {
        /// The table.
        table: String,
        /// The key.
        unique: UniqueKey,
    },
    /// Drops a unique key.
    DropUnique {
        /// The table.
        table: String,
        /// The key, as it was.
        unique: UniqueKey,
    },
    /// Adds a foreign key.
    AddForeignKey {
        /// The table.
        table: String,
        /// The foreign key.
        foreign_key: ForeignKey,
    },
    /// Drops a foreign key.
    DropForeignKey {
        /// The table.
        table: String,
        /// The foreign key, as it was.
        foreign_key: ForeignKey,
    },
    /// Adds a table's own check (`CONSTRAINT name CHECK (sql)`).
    AddCheck {
        /// The table.
        table: String,
        /// The check.
        check: TableCheck,
    },
    /// Drops a table's own check.
    DropCheck {
        /// The table.
        table: String,
        /// The check, as it was.
        check: TableCheck,
    },
    /// Statements written by hand; they do not change the schema model.
    RawSql(RawSql),
}

/// Hand-written statements, run as they are.
///
/// ```text
/// [[operation]]
/// op = "raw_sql"
/// dialects = ["postgres"]     # optional: only on these dialects
/// up = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
/// down = []                   # nothing to undo; leave `down` out when it cannot be undone
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSql {
    /// The dialects the statements are for; empty: every dialect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dialects: Vec<Dialect>,
    /// The statements run going forwards, in order.
    pub up: Vec<String>,
    /// The statements that undo them; `None`: they cannot be undone, so migrating back over
    /// them loses what they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down: Option<Vec<String>>,
}

impl RawSql {
    /// Whether the statements run on `dialect`.
    pub fn runs_on(&self, dialect: Dialect) -> bool {
        self.dialects.is_empty() || self.dialects.contains(&dialect)
    }
}

impl Operation {
    /// The operation that undoes this one. A dropped table or column comes back empty: see
    /// [`Operation::is_lossy`].
    pub fn inverse(&self) -> Operation {
        use Operation as O;
        match self.clone() {
            O::CreateTable { table } => O::DropTable { table },
            O::DropTable { table } => O::CreateTable { table },
            O::RenameTable { from, to } => O::RenameTable { from: to, to: from },
            O::AddColumn { table, column } => O::DropColumn { table, column },
            O::DropColumn { table, column } => O::AddColumn { table, column },
            O::RenameColumn { table, from, to } => O::RenameColumn { table, from: to, to: from },
            O::AlterColumn { table, from, to } => O::AlterColumn { table, from: to, to: from },
            O::AddIndex { table, index } => O::DropIndex { table, index },
            O::DropIndex { table, index } => O::AddIndex { table, index },
            O::AddUnique { table, unique } => O::DropUnique { table, unique },
            O::DropUnique { table, unique } => O::AddUnique { table, unique },
            O::AddForeignKey { table, foreign_key } => O::DropForeignKey { table, foreign_key },
            O::DropForeignKey { table, foreign_key } => O::AddForeignKey { table, foreign_key },
            O::AddCheck { table, check } => O::DropCheck { table, check },
            O::DropCheck { table, check } => O::AddCheck { table, check },
            O::RawSql(raw) => {
                O::RawSql(RawSql { dialects: raw.dialects, up: raw.down.unwrap_or_default(), down: Some(raw.up) })
            }
        }
    }

    /// Whether the inverse cannot restore what this operation destroys: a dropped table or
    /// column (its rows or values), a column narrowed to a type that may not hold its values
    /// (a shorter text, a smaller integer, fewer digits, fewer enum values), and raw SQL with no
    /// `down`. Migrating back over such an operation must be asked for.
    pub fn is_lossy(&self) -> bool {
        match self {
            Operation::DropTable { .. } | Operation::DropColumn { .. } => true,
            Operation::AlterColumn { from, to, .. } => !from.fits_in(to),
            Operation::RawSql(raw) => raw.down.is_none(),
            _ => false,
        }
    }

    /// The table the operation changes (the new name of a renamed one); `None` for raw SQL.
    pub fn table(&self) -> Option<&str> {
        use Operation as O;
        match self {
            O::CreateTable { table } | O::DropTable { table } => Some(&table.name),
            O::RenameTable { to, .. } => Some(to),
            O::AddColumn { table, .. }
            | O::DropColumn { table, .. }
            | O::RenameColumn { table, .. }
            | O::AlterColumn { table, .. }
            | O::AddIndex { table, .. }
            | O::DropIndex { table, .. }
            | O::AddUnique { table, .. }
            | O::DropUnique { table, .. }
            | O::AddForeignKey { table, .. }
            | O::DropForeignKey { table, .. }
            | O::AddCheck { table, .. }
            | O::DropCheck { table, .. } => Some(table),
            O::RawSql(_) => None,
        }
    }

    /// A short description for messages and progress: `add column post.rating`.
    pub fn describe(&self) -> String {
        use Operation as O;
        match self {
            O::CreateTable { table } => format!("create table {}", table.name),
            O::DropTable { table } => format!("drop table {}", table.name),
            O::RenameTable { from, to } => format!("rename table {from} to {to}"),
            O::AddColumn { table, column } => format!("add column {table}.{}", column.name),
            O::DropColumn { table, column } => format!("drop column {table}.{}", column.name),
            O::RenameColumn { table, from, to } => format!("rename column {table}.{from} to {to}"),
            O::AlterColumn { table, to, .. } => format!("alter column {table}.{}", to.name),
            O::AddIndex { table, index } => format!("add index {} on {table}", index.name),
            O::DropIndex { table, index } => format!("drop index {} on {table}", index.name),
            O::AddUnique { table, unique } => format!("add unique key {} on {table}", unique.name),
            O::DropUnique { table, unique } => format!("drop unique key {} on {table}", unique.name),
            O::AddForeignKey { table, foreign_key } => format!("add foreign key {} on {table}", foreign_key.name),
            O::DropForeignKey { table, foreign_key } => format!("drop foreign key {} on {table}", foreign_key.name),
            O::AddCheck { table, check } => format!("add check {} on {table}", check.name),
            O::DropCheck { table, check } => format!("drop check {} on {table}", check.name),
            O::RawSql(raw) => match raw.up.first() {
                Some(first) if first.chars().count() > 60 => {
                    format!("raw SQL: {}...", first.chars().take(57).collect::<String>())
                }
                Some(first) => format!("raw SQL: {first}"),
                None => "raw SQL".to_owned(),
            },
        }
    }

    /// The part of a migration's default name this operation suggests: `add_post_rating`.
    pub(crate) fn name_part(&self) -> String {
        use Operation as O;
        let part = match self {
            O::CreateTable { table } => format!("create_{}", table.name),
            O::DropTable { table } => format!("drop_{}", table.name),
            O::RenameTable { from, to } => format!("rename_{from}_{to}"),
            O::AddColumn { table, column } => format!("add_{table}_{}", column.name),
            O::DropColumn { table, column } => format!("drop_{table}_{}", column.name),
            O::RenameColumn { table, from, to } => format!("rename_{table}_{from}_{to}"),
            O::AlterColumn { table, to, .. } => format!("alter_{table}_{}", to.name),
            O::AddIndex { index, .. } => format!("add_{}", index.name),
            O::DropIndex { index, .. } => format!("drop_{}", index.name),
            O::AddUnique { unique, .. } => format!("add_{}", unique.name),
            O::DropUnique { unique, .. } => format!("drop_{}", unique.name),
            O::AddForeignKey { foreign_key, .. } => format!("add_{}", foreign_key.name),
            O::DropForeignKey { foreign_key, .. } => format!("drop_{}", foreign_key.name),
            O::AddCheck { check, .. } => format!("add_{}", check.name),
            O::DropCheck { check, .. } => format!("drop_{}", check.name),
            O::RawSql(_) => "raw_sql".to_owned(),
        };
        part.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
    }

    /// Applies the operation to `schema`. An operation that does not fit the schema (a table
    /// that is not there, a column that already is) is a configuration error: the migration
    /// files and the schema they are replayed on disagree.
    pub fn apply(&self, schema: &mut Schema) -> Result<()> {
        use Operation as O;
        let result = match self {
            O::CreateTable { table } => {
                if schema.table(&table.name).is_some() {
                    Err(format!("table `{}` already exists", table.name))
                } else {
                    check_table(table).map(|()| schema.tables.push(table.clone()))
                }
            }
            O::DropTable { table } => match schema.tables.iter().position(|t| t.name == table.name) {
                Some(i) if schema.tables[i] != *table => {
                    Err(format!("table `{}` is not as the operation describes it", table.name))
                }
                Some(i) => {
                    let referrer = schema
                        .tables
                        .iter()
                        .find(|t| t.name != table.name && t.foreign_keys.iter().any(|fk| fk.references == table.name));
                    match referrer {
                        Some(t) => Err(format!("table `{}` still refers to it", t.name)),
                        None => {
                            schema.tables.remove(i);
                            Ok(())
                        }
                    }
                }
                None => Err(format!("there is no table `{}`", table.name)),
            },
            O::RenameTable { from, to } => {
                if schema.table(to).is_some() {
                    Err(format!("table `{to}` already exists"))
                } else {
                    table_mut(schema, from).map(|t| t.name.clone_from(to)).map(|()| {
                        for t in &mut schema.tables {
                            for fk in t.foreign_keys.iter_mut().filter(|fk| fk.references == *from) {
                                fk.references.clone_from(to);
                            }
                        }
                    })
                }
            }
            O::AddColumn { table, column } => table_mut(schema, table).and_then(|t| {
                if t.column(&column.name).is_some() {
                    return Err(format!("column `{}.{}` already exists", table, column.name));
                }
                t.columns.push(column.clone());
                Ok(())
            }),
            O::DropColumn { table, column } => table_mut(schema, table).and_then(|t| {
                let Some(i) = t.columns.iter().position(|c| c.name == column.name) else {
                    return Err(format!("there is no column `{}.{}`", table, column.name));
                };
                if t.columns[i] != *column {
                    return Err(format!("column `{}.{}` is not as the operation describes it", table, column.name));
                }
                if let Some(user) = column_users(t, &column.name) {
                    return Err(format!("column `{}.{}` is still used by {user}", table, column.name));
                }
                t.columns.remove(i);
                Ok(())
            }),
            O::RenameColumn { table, from, to } => rename_column(schema, table, from, to),
            O::AlterColumn { table, from, to } => table_mut(schema, table).and_then(|t| {
                if from.name != to.name {
                    return Err(format!(
                        "alter_column of `{}.{}` renames it to `{}`: rename with rename_column",
                        table, from.name, to.name
                    ));
                }
                match t.column_mut(&from.name) {
                    Some(c) if c == from => {
                        *c = to.clone();
                        Ok(())
                    }
                    Some(_) => Err(format!("column `{}.{}` is not as the operation describes it", table, from.name)),
                    None => Err(format!("there is no column `{}.{}`", table, from.name)),
                }
            }),
            O::AddIndex { table, index } => table_mut(schema, table).and_then(|t| {
                check_columns(t, &index.columns)?;
                add_named(&mut t.indexes, index.clone(), |i| &i.name, "index")
            }),
            O::DropIndex { table, index } => {
                table_mut(schema, table).and_then(|t| remove_named(&mut t.indexes, index, "index"))
            }
            O::AddUnique { table, unique } => table_mut(schema, table).and_then(|t| {
                check_columns(t, &unique.columns)?;
                add_named(&mut t.unique_keys, unique.clone(), |u| &u.name, "unique key")
            }),
            O::DropUnique { table, unique } => {
                table_mut(schema, table).and_then(|t| remove_named(&mut t.unique_keys, unique, "unique key"))
            }
            O::AddForeignKey { table, foreign_key } => {
                let target_ok = schema.table(&foreign_key.references).is_some() || foreign_key.references == *table;
                if target_ok {
                    table_mut(schema, table).and_then(|t| {
                        check_columns(t, &foreign_key.columns)?;
                        add_named(&mut t.foreign_keys, foreign_key.clone(), |f| &f.name, "foreign key")
                    })
                } else {
                    Err(format!(
                        "foreign key `{}` refers to table `{}`, which does not exist",
                        foreign_key.name, foreign_key.references
                    ))
                }
            }
            O::DropForeignKey { table, foreign_key } => {
                table_mut(schema, table).and_then(|t| remove_named(&mut t.foreign_keys, foreign_key, "foreign key"))
            }
            O::AddCheck { table, check } => {
                table_mut(schema, table).and_then(|t| add_named(&mut t.checks, check.clone(), |c| &c.name, "check"))
            }
            O::DropCheck { table, check } => {
                table_mut(schema, table).and_then(|t| remove_named(&mut t.checks, check, "check"))
            }
            O::RawSql(_) => Ok(()),
        };
        result.map_err(|message| Error::config(format!("{}: {message}", self.describe())))
    }
}

fn table_mut<'s>(schema: &'s mut Schema, name: &str) -> std::result::Result<&'s mut Table, String> {
    schema.table_mut(name).ok_or_else(|| format!("there is no table `{name}`"))
}

/// A table is whole: its key, keys, indexes and foreign keys name columns it has.
fn check_table(table: &Table) -> std::result::Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for c in &table.columns {
        if !seen.insert(&c.name) {
            return Err(format!("column `{}` appears twice", c.name));
        }
    }
    check_columns(table, &table.primary_key)?;
    for u in &table.unique_keys {
        check_columns(table, &u.columns)?;
    }
    for i in &table.indexes {
        check_columns(table, &i.columns)?;
    }
    for fk in &table.foreign_keys {
        check_columns(table, &fk.columns)?;
    }
    Ok(())
}

fn check_columns(table: &Table, columns: &[String]) -> std::result::Result<(), String> {
    match columns.iter().find(|c| table.column(c).is_none()) {
        Some(missing) => Err(format!("table `{}` has no column `{missing}`", table.name)),
        None if columns.is_empty() => Err("no columns named".to_owned()),
        None => Ok(()),
    }
}

/// What still refers to column `name` of `table`, which must go before the column does.
fn column_users(table: &Table, name: &str) -> Option<String> {
    let uses = |cols: &[String]| cols.iter().any(|c| c == name);
    if uses(&table.primary_key) {
        return Some("the primary key".to_owned());
    }
    let unique = table.unique_keys.iter().find(|u| uses(&u.columns)).map(|u| format!("unique key `{}`", u.name));
    let index = || table.indexes.iter().find(|i| uses(&i.columns)).map(|i| format!("index `{}`", i.name));
    let fk = || table.foreign_keys.iter().find(|f| uses(&f.columns)).map(|f| format!("foreign key `{}`", f.name));
    unique.or_else(index).or_else(fk)
}

fn rename_column(schema: &mut Schema, table: &str, from: &str, to: &str) -> std::result::Result<(), String> {
    let t = table_mut(schema, table)?;
    if t.column(to).is_some() {
        return Err(format!("column `{table}.{to}` already exists"));
    }
    let Some(c) = t.column_mut(from) else {
        return Err(format!("there is no column `{table}.{from}`"));
    };
    c.name = to.to_owned();
    let rename = |cols: &mut Vec<String>| {
        for c in cols.iter_mut().filter(|c| *c == from) {
            *c = to.to_owned();
        }
    };
    rename(&mut t.primary_key);
    t.unique_keys.iter_mut().for_each(|u| rename(&mut u.columns));
    t.indexes.iter_mut().for_each(|i| rename(&mut i.columns));
    t.foreign_keys.iter_mut().for_each(|f| rename(&mut f.columns));
    for other in &mut schema.tables {
        for fk in other.foreign_keys.iter_mut().filter(|fk| fk.references == table) {
            rename(&mut fk.referenced_columns);
        }
    }
    Ok(())
}

fn add_named<T>(
    list: &mut Vec<T>,
    item: T,
    name: impl Fn(&T) -> &String,
    what: &str,
) -> std::result::Result<(), String> {
    if list.iter().any(|x| name(x) == name(&item)) {
        return Err(format!("{what} `{}` already exists", name(&item)));
    }
    list.push(item);
    Ok(())
}

fn remove_named<T: PartialEq + Named>(list: &mut Vec<T>, item: &T, what: &str) -> std::result::Result<(), String> {
    match list.iter().position(|x| x.name() == item.name()) {
        Some(i) if list[i] == *item => {
            list.remove(i);
            Ok(())
        }
        Some(_) => Err(format!("{what} `{}` is not as the operation describes it", item.name())),
        None => Err(format!("there is no {what} `{}`", item.name())),
    }
}

/// A named key or index.
trait Named {
    fn name(&self) -> &str;
}

impl Named for Index {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for UniqueKey {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for TableCheck {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for ForeignKey {
    fn name(&self) -> &str {
        &self.name
    }
}
