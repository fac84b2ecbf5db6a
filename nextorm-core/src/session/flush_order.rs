//! Flush ordering: the order a flush sends its changes in (foreign-key order, and a unique
//! value written only after the change that frees it), and the refusal of changes that wait for
//! each other in a cycle, before any statement is sent.

use super::fast_map::{FastMap, meta_id};
use super::identity::IdentityMap;
use super::plan::Change;
use crate::entity::EntityMeta;
use crate::error::{Error, ErrorKind, Result};
use crate::map_key::MapKey;
use crate::value::Value;

/// Why one change of a flush waits for another.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// The waiting insert refers through this column to the new object the other one inserts.
    Refers(usize),
    /// The waiting delete's row is still referred to by the other change's row, which is deleted
    /// or moves its reference away first.
    ReferredTo,
    /// The waiting change writes into this unique column the value the other change frees.
    TakesValue(usize),
}

/// For each change (by position), the changes it waits for and why.
type Waits = Vec<Vec<(usize, Wait)>>;

/// Makes each write of a value into a unique one-column key (a plain `unique` column, or the
/// column of a one-to-one reference) wait for the change that frees the value: an update that
/// moves it away, or the delete of the row holding it.
fn order_unique_writes(map: &IdentityMap, changes: &[(usize, Change)], before: &mut Waits) {
    type Slot = (usize, usize, MapKey);
    // The unique one-column keys of each entity that has changes, found once.
    let mut unique_columns: FastMap<usize, Vec<usize>> = FastMap::default();
    for (_, change) in changes {
        let meta = change.meta();
        unique_columns.entry(meta_id(meta)).or_insert_with(|| {
            (0..meta.columns.len()).filter(|&i| !meta.columns[i].primary_key && meta.is_unique_column(i)).collect()
        });
    }
    if unique_columns.values().all(Vec::is_empty) {
        return;
    }
    let slot = |meta: &'static EntityMeta, column: usize, v: &Value| -> Option<Slot> {
        let unique = unique_columns.get(&meta_id(meta)).is_some_and(|u| u.contains(&column));
        (unique && !v.is_null()).then(|| (meta_id(meta), column, MapKey::of_one(v)))
    };
    let mut freed: FastMap<Slot, Vec<usize>> = FastMap::default();
    for (at, (i, change)) in changes.iter().enumerate() {
        match change {
            Change::Update { meta, set, previous, .. } => {
                for ((column, _), old) in set.iter().zip(previous) {
                    if let Some(s) = slot(meta, *column, old) {
                        freed.entry(s).or_default().push(at);
                    }
                }
            }
            Change::Delete { meta, .. } => {
                for &column in unique_columns.get(&meta_id(meta)).into_iter().flatten() {
                    if let Ok(v) = map.object(*i).column_value(column)
                        && let Some(s) = slot(meta, column, &v)
                    {
                        freed.entry(s).or_default().push(at);
                    }
                }
            }
            Change::Insert { .. } => {}
        }
    }
    if freed.is_empty() {
        return;
    }
    for (at, (_, change)) in changes.iter().enumerate() {
        let meta = change.meta();
        let written: Vec<(usize, &Value)> = match change {
            Change::Insert { values, .. } => values.iter().enumerate().collect(),
            Change::Update { set, .. } => set.iter().map(|(c, v)| (*c, v)).collect(),
            Change::Delete { .. } => continue,
        };
        for (column, v) in written {
            if let Some(s) = slot(meta, column, v)
                && let Some(frees) = freed.get(&s)
            {
                before[at].extend(frees.iter().filter(|&&f| f != at).map(|&f| (f, Wait::TakesValue(column))));
            }
        }
    }
}

/// The order a flush sends `changes` (object index, change) in: the order objects joined the
/// session, except that an insert follows the inserts of the new objects it refers to, a
/// delete follows the deletes of the objects that refer to it and the updates that stop
/// referring to it (foreign-key order), and a write of a value into a unique column (a
/// one-to-one reference moved to another row) follows the update or delete that frees that
/// value.
///
/// Changes that wait for each other in a cycle are refused before anything is sent, as the
/// database would refuse one of their statements: rows that take each other's unique values
/// (a swap, a rotation) are an [`ErrorKind::UniqueViolation`], and new objects that refer to
/// each other (PonyORM's "cannot save cyclic chain") an [`ErrorKind::ForeignKeyViolation`].
/// Deletes of rows that refer to each other are no such cycle: the database deletes them in
/// any order.
pub fn flush_order(map: &IdentityMap, changes: &[(usize, Change)]) -> Result<Vec<usize>> {
    let by_addr: FastMap<usize, usize> =
        changes.iter().enumerate().map(|(at, (i, _))| (map.object(*i).addr(), at)).collect();
    // The key of each deleted object, and which deleted objects each delete refers to.
    let mut deleted_keys: FastMap<(usize, MapKey), usize> = FastMap::default();
    for (at, (_, change)) in changes.iter().enumerate() {
        if let Change::Delete { meta, key, .. } = change {
            deleted_keys.insert((meta_id(meta), MapKey::of(key)), at);
        }
    }
    let mut before: Waits = vec![Vec::new(); changes.len()];
    let mut followed = Vec::new();
    for (at, (i, change)) in changes.iter().enumerate() {
        let o = map.object(*i);
        match change {
            Change::Insert { .. } => {
                followed.clear();
                o.referenced_objects(&mut followed);
                for &(column, addr) in &followed {
                    // A row referring to itself is one statement, which the database accepts.
                    if let Some(&dep) = by_addr.get(&addr)
                        && dep != at
                        && matches!(changes[dep].1, Change::Insert { .. })
                    {
                        before[at].push((dep, Wait::Refers(column)));
                    }
                }
            }
            // An update that clears or moves a reference to a deleted object (a delete rule
            // setting it null) goes first, or the database would clear it under the update.
            Change::Update { meta, set, previous, .. } if !deleted_keys.is_empty() => {
                for (relation, column) in meta.references() {
                    if let Some(at_set) = set.iter().position(|(c, _)| *c == column)
                        && let Some(&parent) =
                            deleted_keys.get(&(meta_id((relation.target)()), MapKey::of_one(&previous[at_set])))
                    {
                        before[parent].push((at, Wait::ReferredTo));
                    }
                }
            }
            Change::Delete { .. } if !deleted_keys.is_empty() => {
                for (relation, column) in o.meta().references() {
                    let Ok(v) = o.column_value(column) else { continue };
                    if let Some(&parent) = deleted_keys.get(&(meta_id((relation.target)()), MapKey::of_one(&v)))
                        && parent != at
                    {
                        // The child goes first: the parent waits for it.
                        before[parent].push((at, Wait::ReferredTo));
                    }
                }
            }
            _ => {}
        }
    }
    order_unique_writes(map, changes, &mut before);
    if before.iter().all(Vec::is_empty) {
        return Ok((0..changes.len()).collect());
    }
    depth_first(changes, &before)
}

/// Each change after the changes it waits for, otherwise in session order: a depth-first walk
/// that keeps its path on a stack (no recursion, however long a chain of new objects), so a
/// wait that leads back onto the path is a cycle, and the path names its changes.
fn depth_first(changes: &[(usize, Change)], before: &Waits) -> Result<Vec<usize>> {
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; changes.len()];
    let mut order = Vec::with_capacity(changes.len());
    // (change, how many of its waits were followed)
    let mut path: Vec<(usize, usize)> = Vec::new();
    for start in 0..changes.len() {
        if state[start] != NEW {
            continue;
        }
        state[start] = ON_PATH;
        path.push((start, 0));
        while let Some((at, followed)) = path.last_mut() {
            let at = *at;
            let Some(&(dep, _)) = before[at].get(*followed) else {
                state[at] = DONE;
                order.push(at);
                path.pop();
                continue;
            };
            *followed += 1;
            match state[dep] {
                NEW => {
                    state[dep] = ON_PATH;
                    path.push((dep, 0));
                }
                ON_PATH => {
                    let from = path.iter().position(|&(c, _)| c == dep).unwrap_or(0);
                    // Each change of the cycle with the wait that leads to the next one.
                    let cycle: Vec<(usize, Wait)> =
                        path[from..].iter().map(|&(c, followed)| (c, before[c][followed - 1].1)).collect();
                    // Deletes alone: the database deletes rows referring to each other in any
                    // order (its ON DELETE rules clear or delete what still refers to a row).
                    if !cycle.iter().all(|&(c, _)| matches!(changes[c].1, Change::Delete { .. })) {
                        return Err(refusal(changes, &cycle));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(order)
}

/// The error for changes that wait for each other in `cycle`.
fn refusal(changes: &[(usize, Change)], cycle: &[(usize, Wait)]) -> Error {
    let change = |at: usize| &changes[at].1;
    let field = |at: usize, column: usize| {
        let c = &change(at).meta().columns[column];
        let name = describe(change(at));
        if c.field == c.name {
            format!("{name}.{}", c.field)
        } else {
            format!("{name}.{} (column {})", c.field, c.name)
        }
    };
    if cycle.iter().all(|&(at, _)| matches!(change(at), Change::Insert { .. })) {
        let mut chain: Vec<String> = cycle
            .iter()
            .map(|&(at, wait)| match wait {
                Wait::Refers(column) => field(at, column),
                _ => describe(change(at)),
            })
            .collect();
        chain.push(describe(change(cycle[0].0)));
        return Error::new(
            ErrorKind::ForeignKeyViolation,
            format!(
                "a flush cannot order these changes: new objects refer to each other in a cycle ({}), so each \
                 insert needs another's row first; insert one without its reference, flush, then set it",
                chain.join(" → ")
            ),
        );
    }
    let names: Vec<String> = cycle
        .iter()
        .map(|&(at, wait)| match wait {
            Wait::TakesValue(column) => field(at, column),
            Wait::Refers(_) | Wait::ReferredTo => format!("the delete of {}", describe(change(at))),
        })
        .collect();
    let swap = cycle.iter().all(|(_, wait)| matches!(wait, Wait::TakesValue(_)));
    let what = match (swap, names.len()) {
        (true, 2) => "take each other's unique value",
        (true, _) => "take each other's unique values in a cycle",
        (false, _) => "wait for each other in a cycle (a unique value freed by another, a row another refers to)",
    };
    let list = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    };
    Error::new(
        ErrorKind::UniqueViolation,
        format!(
            "a flush cannot order these changes: {list} {what}; flush between the writes (give one a \
             temporary value first)"
        ),
    )
}

/// A changed row for messages: `Person[1]`, or `new Person` when the database generates its key.
fn describe(change: &Change) -> String {
    match change {
        Change::Insert { meta, generated_key: true, .. } => format!("new {}", meta.name),
        Change::Insert { meta, values, .. } => {
            let key: Vec<Value> = meta.primary_key.iter().map(|&i| values[i].clone()).collect();
            meta.describe_key(&key)
        }
        Change::Update { meta, key, .. } | Change::Delete { meta, key, .. } => meta.describe_key(key),
    }
}
