//! The SQL of operations for one dialect: a [`Plan`] of steps, each a list of statements the
//! runner sends in order. Every statement is an AST node rendered by the one walker.
//!
//! On PostgreSQL and MariaDB each operation is one step. SQLite's `ALTER TABLE` cannot change a
//! column or a constraint, so a run of consecutive operations on one table that needs that
//! becomes one step rebuilding the table (columns renamed first, in place, so that the foreign
//! keys of other tables follow them):
//!
//! ```text
//! CREATE TABLE "_new_post" (...the table as the run leaves it...)
//! INSERT INTO "_new_post" ("id", "title") SELECT "id", "title" FROM "post"
//! DROP TABLE "post"
//! ALTER TABLE "_new_post" RENAME TO "post"
//! CREATE INDEX "idx_post__author" ON "post" ("author")
//! ```

use super::ddl::{self, DdlStyle};
use super::model::{Column, Schema, Table};
use super::operation::Operation;
use crate::ast::{AlterAction, AlterTable, DropIndex, DropTable, Expr, InsertSelect, Name, Select, Statement};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::render::render;

/// What running some operations on one dialect takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// A step rebuilds a table (SQLite): the runner turns foreign keys off around the
    /// migration's transaction (`PRAGMA foreign_keys = OFF`, which SQLite ignores inside a
    /// transaction) so that dropping the old table deletes nothing, and runs
    /// `PRAGMA foreign_key_check` before `COMMIT`.
    pub foreign_keys_off: bool,
    /// What the operations destroy that going back cannot restore (a dropped column's values,
    /// a narrowed type, raw SQL without `down`), one description each; empty when nothing.
    /// Going backwards, these are the original migration's lossy operations: a runner refuses
    /// to migrate back over them unless told to.
    pub lossy: Vec<String>,
}

/// One step: statements that belong together (one operation, or a table rebuild).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// What the step does, for progress and errors: `add column post.rating`.
    pub description: String,
    /// The statements, in order; none carries bind parameters.
    pub statements: Vec<String>,
}

/// The plan of `operations` applied to `schema` (the schema they start from) on `dialect`.
/// An operation that does not fit the schema is a configuration error naming it.
pub fn plan(schema: &Schema, operations: &[Operation], dialect: Dialect) -> Result<Plan> {
    let mut schema = schema.clone();
    let mut steps = Vec::new();
    let mut foreign_keys_off = false;
    let mut i = 0;
    while i < operations.len() {
        let run = if dialect.rebuilds_tables() { rebuild_run(&schema, &operations[i..]) } else { 0 };
        if run > 0 {
            steps.push(rebuild(&mut schema, &operations[i..i + run], dialect)?);
            foreign_keys_off = true;
            i += run;
            continue;
        }
        let op = &operations[i];
        let statements = statements(&schema, op, dialect)?;
        op.apply(&mut schema)?;
        if !statements.is_empty() {
            steps.push(Step { description: op.describe(), statements });
        }
        i += 1;
    }
    let lossy = operations.iter().filter(|o| o.is_lossy()).map(Operation::describe).collect();
    Ok(Plan { steps, foreign_keys_off, lossy })
}

fn sql(stmt: Statement, dialect: Dialect) -> String {
    render(&stmt, dialect).text
}

fn alter(table: &str, action: AlterAction, dialect: Dialect) -> String {
    sql(Statement::AlterTable(AlterTable { table: table.to_owned().into(), actions: vec![action] }), dialect)
}

fn table_of<'s>(schema: &'s Schema, name: &str, op: &Operation) -> Result<&'s Table> {
    schema.table(name).ok_or_else(|| Error::config(format!("{}: there is no table `{name}`", op.describe())))
}

/// The statements of one operation, done in place.
fn statements(schema: &Schema, op: &Operation, dialect: Dialect) -> Result<Vec<String>> {
    use Operation as O;
    let out = match op {
        O::CreateTable { table } => create_table(table, &table.name, dialect),
        O::DropTable { table } => {
            vec![sql(
                Statement::DropTable(DropTable { name: table.name.clone().into(), if_exists: false, cascade: false }),
                dialect,
            )]
        }
        O::RenameTable { from, to } => {
            let mut out = vec![alter(from, AlterAction::RenameTo(to.clone().into()), dialect)];
            for c in table_of(schema, from, op)?.columns.iter().filter(|c| has_check(c)) {
                out.extend(rename_check(dialect, to, (from, &c.name), (to, &c.name)));
            }
            out
        }
        O::AddColumn { table, column } => {
            let t = table_of(schema, table, op)?;
            vec![alter(table, AlterAction::AddColumn(ddl::column_def(t, column)), dialect)]
        }
        O::DropColumn { table, column } => {
            vec![alter(table, AlterAction::DropColumn(column.name.clone().into()), dialect)]
        }
        O::RenameColumn { table, from, to } => {
            let t = table_of(schema, table, op)?;
            let mut out = vec![alter(
                table,
                AlterAction::RenameColumn { from: from.clone().into(), to: to.clone().into() },
                dialect,
            )];
            if t.column(from).is_some_and(has_check) {
                out.extend(rename_check(dialect, table, (table, from), (table, to)));
            }
            out
        }
        O::AlterColumn { table, from, to } => {
            let t = table_of(schema, table, op)?;
            let action = AlterAction::AlterColumn { from: ddl::column_def(t, from), to: ddl::column_def(t, to) };
            vec![alter(table, action, dialect)]
        }
        O::AddIndex { table, index } => {
            vec![sql(Statement::CreateIndex(ddl::create_index(table, index, DdlStyle::Migration)), dialect)]
        }
        O::DropIndex { table, index } => vec![sql(
            Statement::DropIndex(DropIndex { name: index.name.clone().into(), table: table.clone().into() }),
            dialect,
        )],
        O::AddUnique { table, unique } => vec![alter(
            table,
            AlterAction::AddUnique { name: unique.name.clone().into(), columns: ddl::names(&unique.columns) },
            dialect,
        )],
        O::DropUnique { table, unique } => {
            vec![alter(table, AlterAction::DropUnique(unique.name.clone().into()), dialect)]
        }
        O::AddForeignKey { table, foreign_key } => {
            vec![alter(table, AlterAction::AddForeignKey(ddl::foreign_key(foreign_key, true)), dialect)]
        }
        O::DropForeignKey { table, foreign_key } => {
            vec![alter(table, AlterAction::DropForeignKey(foreign_key.name.clone().into()), dialect)]
        }
        O::AddCheck { table, check } => vec![alter(
            table,
            AlterAction::AddCheck { name: check.name.clone().into(), sql: check.sql.clone() },
            dialect,
        )],
        O::DropCheck { table, check } => {
            vec![alter(table, AlterAction::DropCheck(check.name.clone().into()), dialect)]
        }
        O::RawSql(raw) => {
            if raw.runs_on(dialect) {
                raw.up.clone()
            } else {
                Vec::new()
            }
        }
    };
    Ok(out)
}

/// `CREATE TABLE` of `table` under the name `name`, then its indexes.
fn create_table(table: &Table, name: &str, dialect: Dialect) -> Vec<String> {
    let mut create = ddl::create_table(table, DdlStyle::Migration);
    create.name = name.to_owned().into();
    let mut out = vec![sql(Statement::CreateTable(create), dialect)];
    for index in &table.indexes {
        out.push(sql(Statement::CreateIndex(ddl::create_index(name, index, DdlStyle::Migration)), dialect));
    }
    out
}

/// Whether the column has a `CHECK` (an enum's values, `check`, `min`, `max`), which the
/// dialect may have named after the table and column.
fn has_check(c: &Column) -> bool {
    matches!(c.ty, crate::value::DataType::TextEnum(_) | crate::value::DataType::IntEnum(_)) || !c.checks.is_empty()
}

/// Renames the `CHECK` the dialect named after the table and column, where it does.
fn rename_check(dialect: Dialect, table: &str, before: (&str, &str), after: (&str, &str)) -> Option<String> {
    let from = dialect.implicit_check_name(before.0, before.1)?;
    let to = dialect.implicit_check_name(after.0, after.1)?;
    (from != to).then(|| alter(table, AlterAction::RenameConstraint { from: from.into(), to: to.into() }, dialect))
}

/// How many operations from the first one form a run that SQLite must do by rebuilding their
/// table: consecutive operations on one table, one of which `ALTER TABLE` cannot do. 0: the
/// first operation is done in place.
fn rebuild_run(schema: &Schema, ops: &[Operation]) -> usize {
    let Some(table) = ops.first().and_then(table_local) else {
        return 0;
    };
    let run = ops.iter().take_while(|o| table_local(o) == Some(table)).count();
    if schema.table(table).is_some() && ops[..run].iter().any(needs_rebuild) { run } else { 0 }
}

/// The table of an operation that changes one existing table's columns, keys or indexes.
fn table_local(op: &Operation) -> Option<&str> {
    use Operation as O;
    match op {
        O::CreateTable { .. } | O::DropTable { .. } | O::RenameTable { .. } | O::RawSql(_) => None,
        other => other.table(),
    }
}

/// Whether SQLite's `ALTER TABLE` cannot do `op`.
fn needs_rebuild(op: &Operation) -> bool {
    use Operation as O;
    match op {
        O::AlterColumn { .. }
        | O::AddUnique { .. }
        | O::DropUnique { .. }
        | O::AddForeignKey { .. }
        | O::DropForeignKey { .. }
        | O::AddCheck { .. }
        | O::DropCheck { .. } => true,
        // `ADD COLUMN` takes only a constant default, and a NOT NULL column only with a default
        // (a rebuild adds it to an empty table, as the other dialects do).
        O::AddColumn { column, .. } => match column.default.as_deref() {
            Some(d) => !is_constant(d),
            None => !column.nullable,
        },
        _ => false,
    }
}

/// Whether a `DEFAULT` is a literal: a number, a quoted string, `NULL`, `TRUE` or `FALSE`.
fn is_constant(default: &str) -> bool {
    let d = default.trim();
    let number = d.strip_prefix(['-', '+']).unwrap_or(d);
    let is_number =
        number.chars().any(|c| c.is_ascii_digit()) && number.chars().all(|c| c.is_ascii_digit() || c == '.');
    let quoted = d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'');
    is_number || quoted || ["NULL", "TRUE", "FALSE"].iter().any(|k| d.eq_ignore_ascii_case(k))
}

/// One step rebuilding the table of `run` (operations on one table) as the run leaves it.
fn rebuild(schema: &mut Schema, run: &[Operation], dialect: Dialect) -> Result<Step> {
    let name = table_local(&run[0]).unwrap_or_default().to_owned();
    let mut statements = Vec::new();
    // Renamed in place first: SQLite then rewrites the other tables' references to the column.
    for op in run {
        if let Operation::RenameColumn { table, from, to } = op {
            statements.push(alter(
                table,
                AlterAction::RenameColumn { from: from.clone().into(), to: to.clone().into() },
                dialect,
            ));
        }
    }
    let mut copied: Vec<String> = {
        let t = schema
            .table(&name)
            .ok_or_else(|| Error::config(format!("{}: there is no table `{name}`", run[0].describe())))?;
        t.columns.iter().map(|c| c.name.clone()).collect()
    };
    for op in run {
        match op {
            Operation::RenameColumn { from, to, .. } => {
                for c in copied.iter_mut().filter(|c| *c == from) {
                    c.clone_from(to);
                }
            }
            Operation::DropColumn { column, .. } => copied.retain(|c| *c != column.name),
            _ => {}
        }
        op.apply(schema)?;
    }
    let table = schema.table(&name).ok_or_else(|| Error::internal(format!("table `{name}` vanished in a rebuild")))?;
    let temporary = format!("_new_{name}");
    let mut create = ddl::create_table(table, DdlStyle::Migration);
    create.name = temporary.clone().into();
    statements.push(sql(Statement::CreateTable(create), dialect));
    let kept: Vec<Name> = copied.iter().filter(|c| table.column(c).is_some()).map(|c| Name::from(c.clone())).collect();
    let select = Select::simple(name.clone(), kept.iter().map(|c| Expr::column(c.clone())).collect(), None);
    statements.push(sql(
        Statement::InsertSelect(InsertSelect { table: temporary.clone().into(), columns: kept, select }),
        dialect,
    ));
    statements.push(sql(
        Statement::DropTable(DropTable { name: name.clone().into(), if_exists: false, cascade: false }),
        dialect,
    ));
    statements.push(alter(&temporary, AlterAction::RenameTo(name.clone().into()), dialect));
    for index in &table.indexes {
        statements.push(sql(Statement::CreateIndex(ddl::create_index(&name, index, DdlStyle::Migration)), dialect));
    }
    let what: Vec<String> = run.iter().map(Operation::describe).collect();
    Ok(Step { description: format!("rebuild table {name}: {}", what.join("; ")), statements })
}
