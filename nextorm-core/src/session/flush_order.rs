//! Flush ordering: the order a flush sends its changes in (foreign-key order, and a unique
//! value written only after the change that frees it).

use super::fast_map::{FastMap, meta_id};
use super::identity::IdentityMap;
use super::plan::Change;
use crate::entity::EntityMeta;
use crate::map_key::MapKey;
use crate::value::Value;

/// Makes each write of a value into a unique one-column key (a plain `unique` column, or the
/// column of a one-to-one reference) wait for the change that frees the value: an update that
/// moves it away, or the delete of the row holding it.
fn order_unique_writes(map: &IdentityMap, changes: &[(usize, Change)], before: &mut [Vec<usize>]) {
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
        (unique && !v.is_null()).then(|| (meta_id(meta), column, MapKey::of(std::slice::from_ref(v))))
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
                before[at].extend(frees.iter().copied().filter(|&f| f != at));
            }
        }
    }
}

/// The order a flush sends `changes` (object index, change) in: the order objects joined the
/// session, except that an insert follows the inserts of the new objects it refers to, a
/// delete follows the deletes of the objects that refer to it and the updates that stop
/// referring to it (foreign-key order), and a write of a value into a unique column (a
/// one-to-one reference moved to another row) follows the update or delete that frees that
/// value. A swap of two unique values in one flush forms a cycle, which the database refuses.
pub fn flush_order(map: &IdentityMap, changes: &[(usize, Change)]) -> Vec<usize> {
    let by_addr: FastMap<usize, usize> =
        changes.iter().enumerate().map(|(at, (i, _))| (map.object(*i).addr(), at)).collect();
    // The key of each deleted object, and which deleted objects each delete refers to.
    let mut deleted_keys: FastMap<(usize, MapKey), usize> = FastMap::default();
    for (at, (_, change)) in changes.iter().enumerate() {
        if let Change::Delete { meta, key, .. } = change {
            deleted_keys.insert((meta_id(meta), MapKey::of(key)), at);
        }
    }
    let mut before: Vec<Vec<usize>> = vec![Vec::new(); changes.len()];
    let mut followed = Vec::new();
    for (at, (i, change)) in changes.iter().enumerate() {
        let o = map.object(*i);
        match change {
            Change::Insert { .. } => {
                followed.clear();
                o.referenced_objects(&mut followed);
                for (_, addr) in &followed {
                    if let Some(&dep) = by_addr.get(addr)
                        && matches!(changes[dep].1, Change::Insert { .. })
                    {
                        before[at].push(dep);
                    }
                }
            }
            // An update that clears or moves a reference to a deleted object (a delete rule
            // setting it null) goes first, or the database would clear it under the update.
            Change::Update { meta, set, previous, .. } if !deleted_keys.is_empty() => {
                for (relation, column) in meta.references() {
                    if let Some(at_set) = set.iter().position(|(c, _)| *c == column)
                        && let Some(&parent) = deleted_keys
                            .get(&(meta_id((relation.target)()), MapKey::of(std::slice::from_ref(&previous[at_set]))))
                    {
                        before[parent].push(at);
                    }
                }
            }
            Change::Delete { .. } if !deleted_keys.is_empty() => {
                for (relation, column) in o.meta().references() {
                    let Ok(v) = o.column_value(column) else { continue };
                    if let Some(&parent) =
                        deleted_keys.get(&(meta_id((relation.target)()), MapKey::of(std::slice::from_ref(&v))))
                        && parent != at
                    {
                        // The child goes first: the parent waits for it.
                        before[parent].push(at);
                    }
                }
            }
            _ => {}
        }
    }
    order_unique_writes(map, changes, &mut before);
    let mut order = Vec::with_capacity(changes.len());
    let mut state = vec![0u8; changes.len()];
    fn visit(at: usize, before: &[Vec<usize>], state: &mut [u8], order: &mut Vec<usize>) {
        if state[at] != 0 {
            return;
        }
        // Marked before the dependencies: a cycle is broken where it closes, and the database
        // reports the reference it cannot satisfy.
        state[at] = 1;
        for &dep in &before[at] {
            visit(dep, before, state, order);
        }
        order.push(at);
    }
    for at in 0..changes.len() {
        visit(at, &before, &mut state, &mut order);
    }
    order
}
