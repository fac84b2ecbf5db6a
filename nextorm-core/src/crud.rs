//! The statements of single-entity CRUD, rendered once per entity and dialect.

use crate::ast::{Delete, Expr, Insert, Name, Select, Statement, Update};
use crate::dialect::Dialect;
use crate::entity::{CachedStatement, EntityMeta};
use crate::query::statement::Stmt;
use crate::render::render;
use crate::value::Value;

fn key_filter(meta: &EntityMeta) -> Option<Expr> {
    Expr::all(meta.key_columns().map(|c| Expr::column(c.name).eq(Expr::Param)))
}

fn all_columns(meta: &EntityMeta) -> Vec<Expr> {
    meta.columns.iter().map(|c| Expr::column(c.name)).collect()
}

/// `INSERT INTO t (...) VALUES (...)`, leaving out the auto-increment key when
/// `generated_key` is true (and returning it on PostgreSQL).
///
/// ```text
/// SQLite:     INSERT INTO "product" ("name", "price") VALUES (?, ?)
/// PostgreSQL: INSERT INTO "product" ("name", "price") VALUES ($1, $2) RETURNING "id"
/// MariaDB:    INSERT INTO `product` (`name`, `price`) VALUES (?, ?)
/// ```
pub fn insert(meta: &EntityMeta, dialect: Dialect, generated_key: bool) -> &str {
    let kind = if generated_key { CachedStatement::InsertGeneratedKey } else { CachedStatement::InsertAllColumns };
    meta.statements.get(dialect, kind, || insert_rows(meta, dialect, generated_key, 1))
}

/// [`insert`] for `rows` rows, rendered each call (a session's multi-row INSERT):
/// `INSERT INTO "tag" ("id", "name") VALUES (?, ?), (?, ?)`.
pub fn insert_rows(meta: &EntityMeta, dialect: Dialect, generated_key: bool, rows: usize) -> String {
    let skip = |c: &&crate::entity::ColumnMeta| !(generated_key && c.auto);
    let columns: Vec<Name> = meta.columns.iter().filter(skip).map(|c| Name::from(c.name)).collect();
    let rows = vec![vec![Expr::Param; columns.len()]; rows];
    let returning = match meta.auto_key() {
        Some(k) if generated_key => vec![Name::from(k.name)],
        _ => Vec::new(),
    };
    render(&Statement::Insert(Insert { table: meta.table.into(), columns, rows, returning }), dialect).text
}

/// `SELECT <every column> FROM t WHERE <key> = ?`.
pub fn select_by_key(meta: &EntityMeta, dialect: Dialect) -> &str {
    meta.statements.get(dialect, CachedStatement::SelectByKey, || {
        let s = Select::simple(meta.table, all_columns(meta), key_filter(meta));
        render(&Statement::Select(s), dialect).text
    })
}

/// `SELECT <every column> FROM t`.
pub fn select_all(meta: &EntityMeta, dialect: Dialect) -> &str {
    meta.statements.get(dialect, CachedStatement::SelectAll, || {
        let s = Select::simple(meta.table, all_columns(meta), None);
        render(&Statement::Select(s), dialect).text
    })
}

/// `UPDATE t SET <every non-key column> = ? WHERE <key> = ?`; binds go non-key columns first,
/// then the key.
pub fn update_by_key(meta: &EntityMeta, dialect: Dialect) -> &str {
    meta.statements.get(dialect, CachedStatement::UpdateByKey, || {
        let set = meta.columns.iter().filter(|c| !c.primary_key).map(|c| (Name::from(c.name), Expr::Param)).collect();
        render(
            &Statement::Update(Update { table: meta.table.into(), alias: None, set, filter: key_filter(meta) }),
            dialect,
        )
        .text
    })
}

/// `DELETE FROM t WHERE <key> = ?`.
pub fn delete_by_key(meta: &EntityMeta, dialect: Dialect) -> &str {
    meta.statements.get(dialect, CachedStatement::DeleteByKey, || {
        render(&Statement::Delete(Delete { table: meta.table.into(), alias: None, filter: key_filter(meta) }), dialect)
            .text
    })
}

/// `SELECT <every column> FROM <table> WHERE <column> IN (values)`, rendered each call (the
/// list's length varies): what lazy loading sends.
///
/// ```text
/// SELECT "id", "name" FROM "customer" WHERE "id" IN (?, ?, ?)
/// ```
pub fn select_where_in(meta: &EntityMeta, column: usize, values: Vec<Value>, dialect: Dialect) -> Stmt {
    let kind = values.first().map(Value::kind).unwrap_or(crate::value::Kind::Int);
    let test = Expr::InValues { expr: Box::new(Expr::column(meta.columns[column].name)), values, kind, negated: false };
    select_statement(Select::simple(meta.table, all_columns(meta), Some(test)), dialect)
}

/// A `SELECT` rendered for `dialect`, uncached.
pub(crate) fn select_statement(select: Select, dialect: Dialect) -> Stmt {
    Stmt::render(&Statement::Select(select), dialect)
}
