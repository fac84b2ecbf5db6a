//! Turning pending changes into statements.

use crate::ast::{Delete, Expr, Name, Statement, Update};
use crate::crud;
use crate::dialect::Dialect;
use crate::entity::EntityMeta;
use crate::render::{Sql, render};
use crate::session::Bits;
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
        /// The value the database holds for each column of `set`, in the same order: what a
        /// flush orders by (a unique value freed before another row takes it).
        previous: Vec<Value>,
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

impl Change {
    /// The entity of the changed object.
    pub fn meta(&self) -> &'static EntityMeta {
        match self {
            Change::Insert { meta, .. } | Change::Update { meta, .. } | Change::Delete { meta, .. } => meta,
        }
    }
}

fn condition(meta: &EntityMeta, key: &[Value], checks: &[(usize, Value)]) -> Option<Expr> {
    let keys = meta.key_columns().zip(key).map(|(c, v)| Expr::column(c.name).eq(Expr::Value(v.clone())));
    let seen = checks.iter().map(|(i, v)| {
        let col = Expr::column(meta.columns[*i].name);
        match v {
            Value::Null(_) => Expr::IsNull { expr: Box::new(col), negated: false },
            // By value: SQLite text written before canonical decimals (`12.00`) still equals `12`.
            Value::Decimal(_) => col.eq(Expr::Value(v.clone())).decimal_if(true),
            _ => col.eq(Expr::Value(v.clone())),
        }
    });
    Expr::all(keys.chain(seen))
}

/// What an UPDATE text depends on: the entity, the dialect, the columns set, the columns
/// checked, and which checks are `IS NULL`. Column sets as bits keep the key allocation-free.
type UpdateShape = (usize, Dialect, Bits, Bits, Bits);

fn update_shape(
    meta: &EntityMeta,
    dialect: Dialect,
    set: &[(usize, Value)],
    checks: &[(usize, Value)],
) -> Option<UpdateShape> {
    let (mut set_bits, mut check_bits, mut null_bits) = (Bits::default(), Bits::default(), Bits::default());
    for (i, _) in set {
        set_bits.set(*i);
    }
    for (i, v) in checks {
        check_bits.set(*i);
        if v.is_null() {
            null_bits.set(*i);
        }
    }
    // Bits forget order and repeats and stop at their capacity: a change whose columns are not
    // strictly increasing, or go past it, renders every time rather than share a key.
    let fits = set.iter().chain(checks).all(|(i, _)| *i < Bits::CAPACITY)
        && set.windows(2).all(|w| w[0].0 < w[1].0)
        && checks.windows(2).all(|w| w[0].0 < w[1].0);
    fits.then_some((meta as *const EntityMeta as usize, dialect, set_bits, check_bits, null_bits))
}

/// Rendered UPDATE texts by shape, for every session in the process.
fn cached_update(shape: Option<UpdateShape>, render: impl FnOnce() -> String) -> std::sync::Arc<str> {
    use std::collections::HashMap;
    use std::sync::{Arc, OnceLock, RwLock};
    static CACHE: OnceLock<RwLock<HashMap<UpdateShape, Arc<str>>>> = OnceLock::new();
    let Some(shape) = shape else { return render().into() };
    let cache = CACHE.get_or_init(Default::default);
    if let Some(text) = cache.read().unwrap_or_else(|p| p.into_inner()).get(&shape) {
        return text.clone();
    }
    let text: Arc<str> = render().into();
    let mut map = cache.write().unwrap_or_else(|p| p.into_inner());
    // Bounded: a program has few update shapes; past this, render without caching.
    if map.len() < 4096 {
        map.insert(shape, text.clone());
    }
    text
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
        Change::Update { meta, set, key, checks, .. } => {
            // The text depends only on which columns are set and checked (and which checks are
            // NULL): render each shape once.
            let shape = update_shape(meta, dialect, set, checks);
            let binds: Vec<Value> = set
                .iter()
                .map(|(_, v)| v.clone())
                .chain(key.iter().cloned())
                .chain(checks.iter().filter(|(_, v)| !v.is_null()).map(|(_, v)| v.clone()))
                .collect();
            let text = cached_update(shape, || {
                let set =
                    set.iter().map(|(i, v)| (Name::from(meta.columns[*i].name), Expr::Value(v.clone()))).collect();
                let stmt = Update { table: meta.table.into(), alias: None, set, filter: condition(meta, key, checks) };
                render(&Statement::Update(stmt), dialect).text
            });
            Sql { placeholders: binds.len(), text: text.to_string(), binds }
        }
        Change::Delete { meta, key, checks } => {
            let stmt = Delete { table: meta.table.into(), alias: None, filter: condition(meta, key, checks) };
            render(&Statement::Delete(stmt), dialect)
        }
    }
}

/// Most rows one multi-row INSERT of a flush carries (fewer distinct texts to prepare and cache).
const MAX_BATCH_ROWS: usize = 256;

fn holds_placeholder(values: &[Value]) -> bool {
    values.iter().any(|v| matches!(v, Value::Invalid(_)))
}

/// How many of the leading `changes` one multi-row INSERT can carry: consecutive inserts of one
/// entity that all have their keys given or all have them generated (read back with
/// `RETURNING`, see [`crud::insert_many`]), within the dialect's bind limit and 256 rows. An
/// insert after the first whose values still hold a placeholder for a key not yet generated
/// (it refers to an object inserted in this batch) starts the next batch. Anything else goes
/// alone: 1 (0 for no changes).
pub fn insert_batch_len<'a>(changes: impl IntoIterator<Item = &'a Change>, dialect: Dialect) -> usize {
    insert_run_len(changes, dialect, true)
}

/// [`insert_batch_len`], with or without stopping at a placeholder.
pub(crate) fn insert_run_len<'a>(
    changes: impl IntoIterator<Item = &'a Change>,
    dialect: Dialect,
    stop_at_placeholder: bool,
) -> usize {
    let mut changes = changes.into_iter();
    let Some(first) = changes.next() else { return 0 };
    let Change::Insert { meta: entity, generated_key: generated, .. } = first else { return 1 };
    let limit = crud::insert_batch_rows(entity, dialect, *generated).min(MAX_BATCH_ROWS);
    1 + changes
        .take(limit - 1)
        .take_while(|c| {
            matches!(c, Change::Insert { meta, generated_key, values }
                if std::ptr::eq(*meta, *entity)
                    && generated_key == generated
                    && !(stop_at_placeholder && holds_placeholder(values)))
        })
        .count()
}

/// One INSERT of several new objects of one entity, as grouped by [`insert_batch_len`]; `None`
/// when the changes are not such inserts. Generated keys come back with `RETURNING`, one row
/// per object in order.
///
/// ```text
/// INSERT INTO "tag" ("id", "name") VALUES (?, ?), (?, ?), (?, ?)
/// INSERT INTO "team" ("name") VALUES (?), (?) RETURNING "id"
/// ```
pub fn insert_batch_sql<'a>(changes: impl IntoIterator<Item = &'a Change>, dialect: Dialect) -> Option<Sql> {
    let mut binds = Vec::new();
    let mut batch: Option<(&'static EntityMeta, bool)> = None;
    let mut rows = 0;
    for change in changes {
        match change {
            Change::Insert { meta, values, generated_key }
                if batch.is_none_or(|(e, g)| std::ptr::eq(e, *meta) && g == *generated_key) =>
            {
                batch = Some((*meta, *generated_key));
                let columns = meta.columns.iter();
                binds.extend(
                    values.iter().zip(columns).filter(|(_, c)| !(*generated_key && c.auto)).map(|(v, _)| v.clone()),
                );
                rows += 1;
            }
            _ => return None,
        }
    }
    let (meta, generated_key) = batch?;
    let text = crud::insert_many(meta, dialect, generated_key, rows);
    Some(Sql { placeholders: binds.len(), text, binds })
}
