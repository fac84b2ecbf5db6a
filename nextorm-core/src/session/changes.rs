//! Change detection: [`Tracked`], what the session needs of any object whatever its entity, and
//! its implementation on an object's shared state, which says what statement a flush must send
//! for the object (`pending`) and records that it reached the database (`applied`).

use super::handle::{
    Bits, ColumnSet, Handle, LinkedObject, Links, ObjState, Status, count_write, lock_state, run_hook,
};
use super::own_reference::read_locked;
use super::plan::Change;
use crate::entity::{Entity, EntityMeta, Key};
use crate::error::{Error, ErrorKind, Result};
use crate::map_key::MapKey;
use crate::value::{ColumnType, RowRead, Value};

/// What the session needs of any object, whatever its entity. Implemented by the object's
/// shared state, so the identity map holds the same allocation as the handles.
pub trait Tracked: LinkedObject {
    /// The entity.
    fn meta(&self) -> &'static EntityMeta;
    /// The statement a flush must send for this object, if any.
    fn pending(&self) -> Result<Option<Change>>;
    /// Records that `change` reached the database (with the generated key of an insert).
    fn applied(&self, change: &Change, generated_key: Option<i64>) -> Result<()>;
    /// The object's key, encoded for the map; `None` while an auto key is still unset.
    fn map_key(&self) -> Result<Option<MapKey>>;
    /// Whether the entity has its own lifecycle hooks (`#[orm(hooks)]`).
    fn has_hooks(&self) -> bool;
    /// Ends the object's session: it becomes read-only, or unusable when `strict`, and keeps
    /// `links` if given (what its relations led to, read after the session); with `None` its
    /// links stay as they are.
    fn detach(&self, strict: bool, links: Option<Links>);
    /// The current value of column `index`.
    fn column_value(&self, index: usize) -> Result<Value>;
    /// Whether the reference in `column` held `key` in the database and holds something else
    /// now (a delete rule set it to NULL, or a write moved it), read without running a hook.
    fn left_reference(&self, column: usize, key: &Value) -> bool;
    /// Whether the object is new or persistent (not deleted).
    fn live(&self) -> bool;
    /// The value of column `index` as the identity map keys it, if the object is live and the
    /// value not `NULL` (one lock, for the walks over every object: the members' index, the
    /// session's end).
    fn live_map_key(&self, index: usize) -> Option<MapKey>;
    /// Whether the object is to be deleted at the next flush.
    fn is_deleting(&self) -> bool;
    /// Whether the object is new: to be inserted at the next flush.
    fn is_new(&self) -> bool;
    /// The object's address (see [`Handle::addr`]).
    fn addr(&self) -> usize;
    /// The objects its `Single` fields follow: (column index, address).
    fn referenced_objects(&self, out: &mut Vec<(usize, usize)>);
    /// Marks the object for deletion.
    fn mark_deleted(&self) -> Result<()>;
    /// Sets the optional reference in column `index` to `None`, as a write.
    fn set_null(&self, index: usize) -> Result<()>;
    /// Every column's current value, without running hooks: an insert's values again, once the
    /// objects it refers to have their generated keys.
    fn current_values(&self) -> Result<Vec<Value>>;
    /// Whether the `lazy` column `column` is to be loaded: a persistent object that has not
    /// loaded it and not written it.
    fn needs_column(&self, column: usize) -> bool;
    /// Stores the values of `columns` the database sent, read from `row` at `offset` on (a
    /// `lazy` column loaded, `volatile` columns read again after a flush): as loaded, not as
    /// written; a column written since is kept as written.
    fn load_columns(&self, columns: &[usize], row: &dyn RowRead, offset: usize) -> Result<()>;
}

fn float(ty: ColumnType) -> bool {
    matches!(ty, ColumnType::Real | ColumnType::Double)
}

/// Pony's optimistic check: the columns this session read or wrote, with the values it saw.
/// Keys are matched anyway; floats compare inexactly, so they are left out, as are `volatile`
/// columns (the database changes them) and `lazy` columns never loaded (`seen` leaves them out).
fn checks(meta: &EntityMeta, seen: Bits, saved: &[Value]) -> Vec<(usize, Value)> {
    (0..meta.columns.len())
        .filter(|&i| {
            let c = &meta.columns[i];
            seen.has(i) && c.optimistic && !c.volatile && !c.primary_key && !float(c.ty)
        })
        .map(|i| (i, saved[i].clone()))
        .collect()
}

fn key_of(meta: &EntityMeta, values: &[Value]) -> Vec<Value> {
    meta.primary_key.iter().map(|&i| values[i].clone()).collect()
}

/// Runs a hook of a flush that may change the object (`before_insert`, `before_update`) on the
/// value of the object at `addr`. A change it makes is made without a setter, so it counts as a
/// write: what was built from the objects' values (a members' index) is rebuilt, as after any
/// write. A hook that changes nothing counts nothing, so the next flush can still skip its scan.
fn run_writing_hook<E: Entity>(addr: usize, value: &mut E, hook: fn(&mut E) -> Result<()>) -> Result<()> {
    if !E::CUSTOM_HOOKS {
        // The derive's hooks do nothing.
        return run_hook(|| hook(value));
    }
    let before = read_locked(addr, value, E::column_values);
    run_hook(|| hook(value))?;
    match (before, read_locked(addr, value, E::column_values)) {
        (Ok(before), Ok(after)) if before == after => {}
        _ => count_write(),
    }
    Ok(())
}

impl<E: Entity> Tracked for std::sync::Mutex<ObjState<E>> {
    fn meta(&self) -> &'static EntityMeta {
        E::meta()
    }

    fn pending(&self) -> Result<Option<Change>> {
        let meta = E::meta();
        let mut s = lock_state(self);
        match s.status {
            Status::Gone => Ok(None),
            Status::New => {
                run_writing_hook(self.addr(), &mut s.value, E::before_insert)?;
                let generated_key = s.value.key_is_unset();
                Ok(Some(Change::Insert {
                    meta,
                    values: read_locked(self.addr(), &s.value, E::column_values)?,
                    generated_key,
                }))
            }
            Status::Persistent if s.columns.get(ColumnSet::Written).is_empty() => Ok(None),
            Status::Persistent => {
                run_writing_hook(self.addr(), &mut s.value, E::before_update)?;
                let current = read_locked(self.addr(), &s.value, E::column_values)?;
                let saved = s.saved.as_deref().unwrap_or(&current);
                // The columns that differ from what the database holds: written ones (an
                // assignment of the value it had sends nothing) and any the hook changed.
                // A lazy column written without being loaded goes whatever its value: its
                // snapshot is only the placeholder default.
                let set: Vec<(usize, Value)> = (0..meta.columns.len())
                    .filter(|&i| {
                        saved.get(i) != Some(&current[i])
                            || s.columns.has(ColumnSet::Unloaded, i) && s.columns.has(ColumnSet::Written, i)
                    })
                    .map(|i| (i, current[i].clone()))
                    .collect();
                if let Some((i, _)) = set.iter().find(|(i, _)| meta.columns[*i].primary_key) {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "{}.{} is part of the primary key, which cannot change",
                            meta.name, meta.columns[*i].field
                        ),
                    ));
                }
                if set.is_empty() {
                    return Ok(None);
                }
                let previous = set.iter().map(|(i, _)| saved[*i].clone()).collect();
                let read_or_written = s.columns.get(ColumnSet::Read).union(s.columns.get(ColumnSet::Written));
                Ok(Some(Change::Update {
                    meta,
                    set,
                    previous,
                    key: key_of(meta, saved),
                    checks: checks(meta, read_or_written.minus(s.columns.get(ColumnSet::Unloaded)), saved),
                }))
            }
            Status::Deleting => {
                run_hook(|| s.value.before_delete())?;
                let current;
                let saved = match s.saved.as_deref() {
                    Some(saved) => saved,
                    None => {
                        current = read_locked(self.addr(), &s.value, E::column_values)?;
                        &current
                    }
                };
                let seen = s.columns.get(ColumnSet::Read).minus(s.columns.get(ColumnSet::Unloaded));
                Ok(Some(Change::Delete { meta, key: key_of(meta, saved), checks: checks(meta, seen, saved) }))
            }
        }
    }

    fn applied(&self, change: &Change, generated_key: Option<i64>) -> Result<()> {
        let mut s = lock_state(self);
        match change {
            Change::Insert { .. } => {
                if let Some(key) = generated_key {
                    s.value.set_generated_key(key)?;
                }
                s.saved = None;
                s.status = Status::Persistent;
                s.columns.replace(ColumnSet::Read, Bits::default());
                s.columns.replace(ColumnSet::Written, Bits::default());
                run_hook(|| s.value.after_insert())?;
            }
            Change::Update { .. } => {
                // The value is now what the database holds: the snapshot is taken afresh at the
                // next write. A lazy column written is now known.
                s.saved = None;
                let unloaded = s.columns.get(ColumnSet::Unloaded).minus(s.columns.get(ColumnSet::Written));
                s.columns.replace(ColumnSet::Unloaded, unloaded);
                s.columns.replace(ColumnSet::Written, Bits::default());
                run_hook(|| s.value.after_update())?;
            }
            Change::Delete { .. } => {
                s.status = Status::Gone;
                run_hook(|| s.value.after_delete())?;
            }
        }
        Ok(())
    }

    fn has_hooks(&self) -> bool {
        E::CUSTOM_HOOKS
    }

    fn map_key(&self) -> Result<Option<MapKey>> {
        let s = lock_state(self);
        // A new object deleted before its first flush is `Gone` and never got its key either.
        if matches!(s.status, Status::New | Status::Gone) && s.value.key_is_unset() {
            return Ok(None);
        }
        s.value.key().map_key().map(Some)
    }

    fn detach(&self, strict: bool, links: Option<Links>) {
        let mut s = lock_state(self);
        let replaced = links.map(|links| std::mem::replace(&mut s.links, links));
        s.detached = true;
        if strict {
            s.unusable = true;
            // Nothing may read it again: the snapshot is dead weight.
            s.saved = None;
        }
        // Links dropped free what they held: not while this object is locked.
        drop(s);
        drop(replaced);
    }

    fn left_reference(&self, column: usize, key: &Value) -> bool {
        let s = lock_state(self);
        // Without a snapshot nothing was written: the value is what the database holds.
        let Some(saved) = s.saved.as_ref() else { return false };
        saved.get(column) == Some(key)
            && read_locked(self.addr(), &s.value, |v| v.column_value_at(column)).is_ok_and(|now| &now != key)
    }

    fn column_value(&self, index: usize) -> Result<Value> {
        read_locked(self.addr(), &lock_state(self).value, |v| v.column_value_at(index))
    }

    fn live(&self) -> bool {
        matches!(lock_state(self).status, Status::New | Status::Persistent)
    }

    fn live_map_key(&self, index: usize) -> Option<MapKey> {
        let state = lock_state(self);
        if !matches!(state.status, Status::New | Status::Persistent) {
            return None;
        }
        read_locked(self.addr(), &state.value, |v| v.column_map_key_at(index))
    }

    fn is_deleting(&self) -> bool {
        lock_state(self).status == Status::Deleting
    }

    fn is_new(&self) -> bool {
        lock_state(self).status == Status::New
    }

    fn addr(&self) -> usize {
        // As `Handle::addr`: the address of the shared state.
        self as *const Self as *const () as usize
    }

    fn referenced_objects(&self, out: &mut Vec<(usize, usize)>) {
        lock_state(self).value.referenced_objects(out)
    }

    fn current_values(&self) -> Result<Vec<Value>> {
        read_locked(self.addr(), &lock_state(self).value, E::column_values)
    }

    fn mark_deleted(&self) -> Result<()> {
        lock_state(self).mark_deleted()
    }

    fn set_null(&self, index: usize) -> Result<()> {
        lock_state(self).clear_reference(self.addr(), index)
    }

    fn needs_column(&self, column: usize) -> bool {
        let s = lock_state(self);
        s.status == Status::Persistent && s.is_unloaded(column)
    }

    fn load_columns(&self, columns: &[usize], row: &dyn RowRead, offset: usize) -> Result<()> {
        let mut s = lock_state(self);
        for (j, &c) in columns.iter().enumerate() {
            if s.columns.has(ColumnSet::Written, c) {
                continue;
            }
            s.value.decode_column(c, row, offset + j)?;
            if s.saved.is_some() {
                let value = s.value.column_value_at(c)?;
                if let Some(slot) = s.saved.as_mut().and_then(|saved| saved.get_mut(c)) {
                    *slot = value;
                }
            }
            s.columns.remove(ColumnSet::Unloaded, c);
        }
        Ok(())
    }
}

impl<E: Entity> Handle<E> {
    /// The object as the identity map tracks it: the same allocation as the handle's. For tests
    /// of the session machinery; applications have no use for it.
    #[doc(hidden)]
    pub fn tracked(&self) -> &dyn Tracked {
        &**self.cell()
    }
}
