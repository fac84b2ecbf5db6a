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

/// Every column, with the `lazy` ones left out as `NULL` (the row keeps its shape, so the
/// entity decodes by position; a lazy field decodes a `NULL` as its default, and the session
/// marks it not loaded).
fn columns_leaving_lazy(meta: &EntityMeta) -> Vec<Expr> {
    meta.columns.iter().map(|c| unless_lazy(c, Expr::column(c.name))).collect()
}

/// `column`, or `NULL` in its place when `c` is `lazy`: how the `SELECT`s that load objects into
/// a session leave lazy columns out.
pub fn unless_lazy(c: &crate::entity::ColumnMeta, column: Expr) -> Expr {
    if c.lazy { Expr::Raw { parts: vec![Name::from("NULL")], args: Vec::new() } } else { column }
}

/// `INSERT INTO t (...) VALUES (...)`, leaving out the auto-increment key when
/// `generated_key` is true (and returning it on PostgreSQL; SQLite and MariaDB read it from the
/// driver's last-insert id).
///
/// ```text
/// SQLite:     INSERT INTO "product" ("name", "price") VALUES (?, ?)
/// PostgreSQL: INSERT INTO "product" ("name", "price") VALUES ($1, $2) RETURNING "id"
/// MariaDB:    INSERT INTO `product` (`name`, `price`) VALUES (?, ?)
/// ```
pub fn insert(meta: &EntityMeta, dialect: Dialect, generated_key: bool) -> &str {
    let kind = if generated_key { CachedStatement::InsertGeneratedKey } else { CachedStatement::InsertAllColumns };
    let returning = generated_key && dialect.returns_key_with_returning();
    meta.statements.get(dialect, kind, || render_insert(meta, dialect, generated_key, 1, returning))
}

/// The multi-row [`insert`] of `rows` rows, rendered each call (`insert_many` and a session's
/// flush). With `generated_key`, the auto-increment key is left out and returned with
/// `RETURNING` on every dialect, one row per inserted row in the order of the `VALUES` lists;
/// nextorm relies on that order (what SQLite, PostgreSQL and MariaDB do for an `INSERT …
/// VALUES`, though SQLite's documentation does not promise it; the conformance suite checks it).
///
/// ```text
/// SQLite:     INSERT INTO "product" ("name", "price") VALUES (?, ?), (?, ?) RETURNING "id"
/// PostgreSQL: INSERT INTO "product" ("name", "price") VALUES ($1, $2), ($3, $4) RETURNING "id"
/// MariaDB:    INSERT INTO `product` (`name`, `price`) VALUES (?, ?), (?, ?) RETURNING `id`
/// SQLite, keys given: INSERT INTO "tag" ("id", "name") VALUES (?, ?), (?, ?)
/// ```
pub fn insert_many(meta: &EntityMeta, dialect: Dialect, generated_key: bool, rows: usize) -> String {
    render_insert(meta, dialect, generated_key, rows, generated_key)
}

/// The binds one row of [`insert_many`] takes: every column, less the generated key.
pub fn insert_binds_per_row(meta: &EntityMeta, generated_key: bool) -> usize {
    meta.columns.iter().filter(|c| !(generated_key && c.auto)).count()
}

/// The most rows one [`insert_many`] statement carries within the dialect's bind limit
/// (32766 on SQLite, 65535 on PostgreSQL and MariaDB); at least 1.
pub fn insert_batch_rows(meta: &EntityMeta, dialect: Dialect, generated_key: bool) -> usize {
    (dialect.max_binds() / insert_binds_per_row(meta, generated_key).max(1)).max(1)
}

fn render_insert(meta: &EntityMeta, dialect: Dialect, generated_key: bool, rows: usize, returning: bool) -> String {
    let skip = |c: &&crate::entity::ColumnMeta| !(generated_key && c.auto);
    let columns: Vec<Name> = meta.columns.iter().filter(skip).map(|c| Name::from(c.name)).collect();
    let rows = vec![vec![Expr::Param; columns.len()]; rows];
    let returning = match meta.auto_key() {
        Some(k) if generated_key && returning => vec![Name::from(k.name)],
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

/// [`select_by_key`] as a session loads an object: the `lazy` columns are `NULL` (see
/// [`crate::entity::ColumnMeta::lazy`]). The same text as [`select_by_key`] for an entity
/// without lazy columns.
///
/// ```text
/// SELECT "id", "title", NULL FROM "article" WHERE "id" = ?
/// ```
pub fn select_by_key_leaving_lazy(meta: &EntityMeta, dialect: Dialect) -> &str {
    if meta.lazy_columns.is_empty() {
        return select_by_key(meta, dialect);
    }
    meta.statements.get(dialect, CachedStatement::SelectByKeyLazyOut, || {
        let s = Select::simple(meta.table, columns_leaving_lazy(meta), key_filter(meta));
        render(&Statement::Select(s), dialect).text
    })
}

/// `SELECT <key columns>, <columns> FROM t WHERE <key> IN (...)`, rendered each call: what
/// loads a `lazy` column of several objects at once, and reads `volatile` columns again after a
/// flush. A one-column key is one `IN (...)`; a composite key one `(a = ? AND b = ?) OR ...`.
///
/// ```text
/// SELECT "id", "body" FROM "article" WHERE "id" IN (?, ?, ?)
/// ```
pub fn select_columns_of_keys(meta: &EntityMeta, columns: &[usize], keys: Vec<Vec<Value>>, dialect: Dialect) -> Stmt {
    let selected =
        meta.primary_key.iter().chain(columns).map(|&i| Expr::column(meta.columns[i].name)).collect::<Vec<_>>();
    let filter = match meta.primary_key {
        [column] => {
            let values: Vec<Value> = keys.into_iter().flatten().collect();
            let kind = values.first().map(Value::kind).unwrap_or(crate::value::Kind::Int);
            let expr = Box::new(Expr::column(meta.columns[*column].name));
            Expr::InValues { expr, values, kind, negated: false }
        }
        key => keys
            .into_iter()
            .filter_map(|k| {
                Expr::all(key.iter().zip(k).map(|(&c, v)| Expr::column(meta.columns[c].name).eq(Expr::Value(v))))
            })
            .reduce(|a, b| Expr::binary(crate::ast::BinOp::Or, a, b))
            .unwrap_or(Expr::Value(Value::Bool(false))),
    };
    select_statement(Select::simple(meta.table, selected, Some(filter)), dialect)
}

/// `SELECT <column> FROM t WHERE <key> = ?` with the key bound, rendered each call: a `lazy`
/// column of an object read outside its session.
///
/// ```text
/// SELECT "body" FROM "article" WHERE "id" = ?
/// ```
pub fn select_column_by_key(meta: &EntityMeta, column: usize, key: Vec<Value>, dialect: Dialect) -> Stmt {
    let filter = Expr::all(meta.key_columns().zip(key).map(|(c, v)| Expr::column(c.name).eq(Expr::Value(v))));
    select_statement(Select::simple(meta.table, vec![Expr::column(meta.columns[column].name)], filter), dialect)
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
/// list's length varies): what lazy loading of relations sends, in a session, so the `lazy`
/// columns are `NULL` (see [`select_by_key_leaving_lazy`]).
///
/// ```text
/// SELECT "id", "name" FROM "customer" WHERE "id" IN (?, ?, ?)
/// ```
pub fn select_where_in(meta: &EntityMeta, column: usize, values: Vec<Value>, dialect: Dialect) -> Stmt {
    let kind = values.first().map(Value::kind).unwrap_or(crate::value::Kind::Int);
    let test = Expr::InValues { expr: Box::new(Expr::column(meta.columns[column].name)), values, kind, negated: false };
    select_statement(Select::simple(meta.table, columns_leaving_lazy(meta), Some(test)), dialect)
}

/// A `SELECT` rendered for `dialect`, uncached.
pub(crate) fn select_statement(select: Select, dialect: Dialect) -> Stmt {
    Stmt::render(&Statement::Select(select), dialect)
}
