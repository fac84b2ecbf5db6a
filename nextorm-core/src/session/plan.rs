//! Turning pending changes into statements.

use crate::ast::{Delete, Expr, Name, Statement, Update};
use crate::crud;
use crate::dialect::Dialect;
use crate::entity::EntityMeta;
use crate::render::{Sql, render};
use crate::value::Value;

/// One statement a flush sends for one object.
#[derive(Debug, Clone)]
pub enum Change {
    /// Insert a new object.
    Insert {
        /// The entity.
        meta: &'static EntityMeta,
        /// Every column's value.
        values: Vec<Value>,
        /// The database generates the key.
        generated_key: bool,
    },
    /// Update the written columns.
    Update {
        /// The entity.
        meta: &'static EntityMeta,
        /// Column index and new value.
        set: Vec<(usize, Value)>,
        /// The key as the database holds it.
        key: Vec<Value>,
        /// Optimistic checks: column index and the value this session saw.
        checks: Vec<(usize, Value)>,
    },
    /// Delete the row.
    Delete {
        /// The entity.
        meta: &'static EntityMeta,
        /// The key.
        key: Vec<Value>,
        /// Optimistic checks.
        checks: Vec<(usize, Value)>,
    },
}

fn condition(meta: &EntityMeta, key: &[Value], checks: &[(usize, Value)]) -> Option<Expr> {
    let keys = meta.key_columns().zip(key).map(|(c, v)| Expr::column(c.name).eq(Expr::Value(v.clone())));
    let seen = checks.iter().map(|(i, v)| {
        let col = Expr::column(meta.columns[*i].name);
        if v.is_null() { Expr::IsNull { expr: Box::new(col), negated: false } } else { col.eq(Expr::Value(v.clone())) }
    });
    Expr::all(keys.chain(seen))
}

/// The SQL of a change. An update or delete that matches no row means another session changed
/// or deleted the row: an optimistic conflict.
///
/// ```text
/// UPDATE "product" SET "price" = ? WHERE "id" = ? AND "name" = ?
/// DELETE FROM "product" WHERE "id" = ? AND "summary" IS NULL
/// ```
pub fn change_sql(change: &Change, dialect: Dialect) -> Sql {
    match change {
        Change::Insert { meta, values, generated_key } => {
            let binds: Vec<Value> = if *generated_key {
                values.iter().zip(meta.columns).filter(|(_, c)| !c.auto).map(|(v, _)| v.clone()).collect()
            } else {
                values.clone()
            };
            let text = crud::insert(meta, dialect, *generated_key).to_owned();
            Sql { placeholders: binds.len(), text, binds }
        }
        Change::Update { meta, set, key, checks } => {
            let set = set.iter().map(|(i, v)| (Name::from(meta.columns[*i].name), Expr::Value(v.clone()))).collect();
            let stmt = Update { table: meta.table.into(), alias: None, set, filter: condition(meta, key, checks) };
            render(&Statement::Update(stmt), dialect)
        }
        Change::Delete { meta, key, checks } => {
            let stmt = Delete { table: meta.table.into(), alias: None, filter: condition(meta, key, checks) };
            render(&Statement::Delete(stmt), dialect)
        }
    }
}
