//! The identity map: one object per (entity, key) in a session, and the list of objects a flush
//! walks.

use super::handle::{Bits, Edge, Handle, LinkedObject, Links, ObjState, Status, lock_state};
use super::plan::Change;
use crate::entity::{Entity, EntityMeta, Key};
use crate::error::{Error, ErrorKind, Result};
use crate::relation::RelationMeta;
use crate::value::{SqlType, Value};
use std::collections::HashMap;

/// A key in the map: integer keys (the common case) need no allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MapKey {
    /// A single integer key.
    Int(i64),
    /// Any other key, as canonical bytes.
    Bytes(Vec<u8>),
}

impl MapKey {
    /// The map key of key values.
    pub fn of(values: &[Value]) -> MapKey {
        match values {
            [Value::Int(i)] => MapKey::Int(*i),
            other => MapKey::Bytes(key_bytes(other)),
        }
    }
}

/// A canonical byte string of a key, for hashing (values hold floats, which are not `Hash`).
pub fn key_bytes(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * values.len());
    for v in values {
        match v {
            Value::Int(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_be_bytes());
            }
            Value::Text(s) => {
                out.push(2);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Uuid(u) => {
                out.push(3);
                out.extend_from_slice(u.as_bytes());
            }
            other => {
                let text = format!("{other:?}");
                out.push(4);
                out.extend_from_slice(&(text.len() as u64).to_be_bytes());
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    out
}

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
    /// Makes the object read-only (its session has ended), or unusable when `strict`.
    fn detach(&self, strict: bool);
    /// The current value of column `index`.
    fn column_value(&self, index: usize) -> Result<Value>;
    /// Whether the object is new or persistent (not deleted).
    fn live(&self) -> bool;
    /// The value of column `index` if the object is live and the value not `NULL` (one lock,
    /// for the walks over every object at the session's end).
    fn live_value(&self, index: usize) -> Option<Value>;
    /// Whether the object is to be deleted at the next flush.
    fn is_deleting(&self) -> bool;
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
    /// Keeps what the object's relations led to, for use after the session.
    fn keep_links(&self, links: Links);
}

fn float(ty: SqlType) -> bool {
    matches!(ty, SqlType::Real | SqlType::Double)
}

/// Pony's optimistic check: the columns this session read or wrote, with the values it saw.
/// Keys are matched anyway; floats compare inexactly, so they are left out.
fn checks(meta: &EntityMeta, seen: Bits, saved: &[Value]) -> Vec<(usize, Value)> {
    (0..meta.columns.len())
        .filter(|&i| {
            let c = &meta.columns[i];
            seen.has(i) && c.optimistic && !c.primary_key && !float(c.ty)
        })
        .map(|i| (i, saved[i].clone()))
        .collect()
}

fn key_of(meta: &EntityMeta, values: &[Value]) -> Vec<Value> {
    meta.primary_key.iter().map(|&i| values[i].clone()).collect()
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
                s.value.before_insert()?;
                let generated_key = s.value.key_is_unset();
                Ok(Some(Change::Insert { meta, values: s.value.column_values()?, generated_key }))
            }
            Status::Persistent if s.written.is_empty() => Ok(None),
            Status::Persistent => {
                s.value.before_update()?;
                let current = s.value.column_values()?;
                let saved = s.saved.as_deref().unwrap_or(&current);
                // The columns that differ from what the database holds: written ones (an
                // assignment of the value it had sends nothing) and any the hook changed.
                let set: Vec<(usize, Value)> = (0..meta.columns.len())
                    .filter(|&i| saved.get(i) != Some(&current[i]))
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
                Ok(Some(Change::Update {
                    meta,
                    set,
                    previous,
                    key: key_of(meta, saved),
                    checks: checks(meta, s.read.union(s.written), saved),
                }))
            }
            Status::Deleting => {
                s.value.before_delete()?;
                let current;
                let saved = match s.saved.as_deref() {
                    Some(saved) => saved,
                    None => {
                        current = s.value.column_values()?;
                        &current
                    }
                };
                Ok(Some(Change::Delete { meta, key: key_of(meta, saved), checks: checks(meta, s.read, saved) }))
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
                s.read = Bits::default();
                s.written = Bits::default();
                s.value.after_insert()?;
            }
            Change::Update { .. } => {
                // The value is now what the database holds: the snapshot is taken afresh at the
                // next write.
                s.saved = None;
                s.written = Bits::default();
                s.value.after_update()?;
            }
            Change::Delete { .. } => {
                s.status = Status::Gone;
                s.value.after_delete()?;
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

    fn detach(&self, strict: bool) {
        let mut s = lock_state(self);
        s.detached = true;
        if strict {
            s.unusable = true;
            // Nothing may read it again: the snapshot is dead weight.
            s.saved = None;
        }
    }

    fn column_value(&self, index: usize) -> Result<Value> {
        lock_state(self).value.column_value_at(index)
    }

    fn live(&self) -> bool {
        matches!(lock_state(self).status, Status::New | Status::Persistent)
    }

    fn live_value(&self, index: usize) -> Option<Value> {
        let state = lock_state(self);
        if !matches!(state.status, Status::New | Status::Persistent) {
            return None;
        }
        state.value.column_value_at(index).ok().filter(|v| !v.is_null())
    }

    fn is_deleting(&self) -> bool {
        lock_state(self).status == Status::Deleting
    }

    fn addr(&self) -> usize {
        // As `Handle::addr`: the address of the shared state.
        self as *const Self as *const () as usize
    }

    fn referenced_objects(&self, out: &mut Vec<(usize, usize)>) {
        lock_state(self).value.referenced_objects(out)
    }

    fn current_values(&self) -> Result<Vec<Value>> {
        lock_state(self).value.column_values()
    }

    fn mark_deleted(&self) -> Result<()> {
        lock_state(self).mark_deleted()
    }

    fn keep_links(&self, links: Links) {
        lock_state(self).links = links;
    }

    fn set_null(&self, index: usize) -> Result<()> {
        lock_state(self).clear_reference(index)
    }
}

/// The handle of a tracked object, if it is an `E`.
fn typed<E: Entity>(object: &std::sync::Arc<dyn Tracked>) -> Option<Handle<E>> {
    Handle::from_linked(object.clone())
}

type EntryKey = (usize, MapKey);

/// FxHash-style hashing: the map's keys are small integers and short byte strings, and an
/// attacker cannot choose which rows a session loads in a way that matters here.
#[derive(Default, Clone, Copy)]
struct FastHash(u64);

impl std::hash::Hasher for FastHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHash>>;
type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FastHash>>;

fn meta_id(meta: &'static EntityMeta) -> usize {
    meta as *const EntityMeta as usize
}

/// One object per row: the session's identity map, and the objects in the order they joined
/// the session (the order a flush writes them in).
#[derive(Default)]
pub struct IdentityMap {
    by_key: FastMap<EntryKey, usize>,
    objects: Vec<std::sync::Arc<dyn Tracked>>,
    /// New objects whose key the database has yet to generate, so not yet in `by_key`.
    unkeyed: Vec<usize>,
    /// The objects of each entity, by index.
    /// A list, not a map: a session holds objects of a few entities, and rows arrive entity by
    /// entity, so the last entry is nearly always the one wanted.
    by_entity: Vec<(usize, Vec<usize>)>,
    /// Loaded collections: (owner address, relation address).
    loaded: FastSet<(usize, usize)>,
    /// The many-to-many pairs the session knows, by (relation, owner address, member address),
    /// seen from the relation's canonical side (see [`canonical`]).
    pairs: FastMap<(usize, usize, usize), Pair>,
    /// Whether a pair was added or removed since the last flush: every query flushes, and most
    /// sessions change no pair, so the flush does not walk `pairs` to find out.
    pairs_changed: bool,
    /// The write count ([`super::write_epoch`]) read before the last flush that scanned every
    /// object; `None` once an object is created. With the same count, no object has anything
    /// to flush.
    scanned_at: Option<u64>,
    /// `Single` relations (by address) whose objects the session loaded, and entities loaded as
    /// the target of any reference: the references the objects keep after the session.
    linked_relations: Vec<usize>,
    linked_targets: Vec<usize>,
    /// While recording, the index of every object a loaded row resolves to.
    recorded: Option<Vec<usize>>,
}

/// A many-to-many pair the session knows.
#[derive(Debug, Clone, Copy)]
struct Pair {
    state: PairState,
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
}

/// Whether a pair is in the database, or is to be inserted or deleted at the next flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairState {
    /// Read from the database.
    Stored,
    /// Added in the session. `checked`: the database is known not to hold it (the collection
    /// was loaded), so the flush inserts it without first deleting a copy it may hold.
    Added { checked: bool },
    /// Removed in the session.
    Removed,
}

/// The side a many-to-many pair is stored under, and whether `relation` (of `owner`) is it: the
/// two sides must agree on one key for the same pair.
fn canonical(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
) -> Result<(&'static EntityMeta, &'static RelationMeta, bool)> {
    let (target, reverse) = crate::relation::reverse_of(owner, relation)?
        .ok_or_else(|| Error::mapping(format!("{}.{} has no other side", owner.name, relation.field)))?;
    let mine = relation as *const RelationMeta as usize;
    let theirs = reverse as *const RelationMeta as usize;
    Ok(if mine <= theirs { (owner, relation, true) } else { (target, reverse, false) })
}

/// One change a flush sends to a join table.
#[derive(Debug)]
pub struct PairChange {
    /// The join table's statement.
    pub stmt: crate::query::Stmt,
    /// Whether a count of affected rows other than one is fine (deleting a pair the database
    /// may not hold).
    pub any_count: bool,
}

impl IdentityMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The object of `E` with this key, if the session holds it.
    pub fn get<E: Entity>(&self, key: &[Value]) -> Option<Handle<E>> {
        let i = *self.by_key.get(&(meta_id(E::meta()), MapKey::of(key)))?;
        typed(&self.objects[i])
    }

    /// The session's object for a loaded row: the one it already holds (whose state wins: a row
    /// is one object), or a new persistent object with these column values.
    pub fn attach_loaded<E: Entity>(&mut self, mut value: E) -> Result<Handle<E>> {
        use std::collections::hash_map::Entry;
        let at = self.objects.len();
        match self.by_key.entry((meta_id(E::meta()), value.key().map_key()?)) {
            // The key holds the entity, so the object there is a `Handle<E>`.
            Entry::Occupied(held) => {
                let i = *held.get();
                if let Some(recorded) = &mut self.recorded {
                    recorded.push(i);
                }
                typed(&self.objects[i])
                    .ok_or_else(|| Error::config("the identity map holds another entity under this key"))
            }
            Entry::Vacant(slot) => {
                let saved = if E::CUSTOM_HOOKS { Some(value.column_values()?) } else { None };
                value.after_load()?;
                slot.insert(at);
                if let Some(recorded) = &mut self.recorded {
                    recorded.push(at);
                }
                let handle = Handle::loaded(value, saved);
                self.push(handle.cell().clone());
                Ok(handle)
            }
        }
    }

    /// Starts recording the objects loaded rows resolve to (see [`IdentityMap::take_recorded`]).
    pub fn record(&mut self) {
        self.recorded = Some(Vec::new());
    }

    /// Stops recording: the indexes of the objects loaded rows resolved to since
    /// [`IdentityMap::record`], in row order.
    pub fn take_recorded(&mut self) -> Vec<usize> {
        self.recorded.take().unwrap_or_default()
    }

    /// The index of the object of `meta` with this key, if the session holds it.
    pub fn index_of(&self, meta: &'static EntityMeta, key: &[Value]) -> Option<usize> {
        self.by_key.get(&(meta_id(meta), MapKey::of(key))).copied()
    }

    /// The key values of the object at index `i`.
    pub fn key_values(&self, i: usize) -> Result<Vec<Value>> {
        let o = &self.objects[i];
        o.meta().primary_key.iter().map(|&c| o.column_value(c)).collect()
    }

    /// The distinct non-null values of the reference column `column` of the live objects at
    /// `objects`.
    pub fn references_of(&self, objects: &[usize], column: usize) -> Result<Vec<Value>> {
        let mut seen = FastSet::default();
        let mut out = Vec::new();
        for &i in objects {
            let o = &self.objects[i];
            if !o.live() {
                continue;
            }
            let v = o.column_value(column)?;
            if !v.is_null() && seen.insert(MapKey::of(std::slice::from_ref(&v))) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Up to `limit` of the objects at `candidates` whose collection `relation` can be loaded
    /// and was not: live and keyed; each once, in order.
    pub fn unloaded_owners(
        &self,
        relation: &'static RelationMeta,
        candidates: impl IntoIterator<Item = usize>,
        limit: usize,
    ) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let mut seen = FastSet::default();
        for i in candidates {
            if out.len() >= limit {
                break;
            }
            let o = &self.objects[i];
            if seen.insert(i) && o.live() && !self.is_loaded(o.addr(), relation) && matches!(o.map_key(), Ok(Some(_))) {
                out.push(i);
            }
        }
        out
    }

    /// Keeps the references of the `Single` relation `relation` on its objects after the session.
    pub fn link_relation(&mut self, relation: &'static RelationMeta) {
        let id = relation as *const RelationMeta as usize;
        if !self.linked_relations.contains(&id) {
            self.linked_relations.push(id);
        }
    }

    /// Keeps every reference to an object of `target` on the objects after the session.
    pub fn link_references_to(&mut self, target: &'static EntityMeta) {
        let id = meta_id(target);
        if !self.linked_targets.contains(&id) {
            self.linked_targets.push(id);
        }
    }

    /// Registers a new object; it is inserted at the next flush. A key already in the map is a
    /// [`ErrorKind::UniqueViolation`], caught before the database sees it.
    pub fn add_new<E: Entity>(&mut self, value: E) -> Result<Handle<E>> {
        self.scanned_at = None;
        let handle = Handle::new_object(value);
        if let Some(bytes) = handle.tracked().map_key()? {
            match self.by_key.entry((meta_id(E::meta()), bytes)) {
                std::collections::hash_map::Entry::Occupied(_) => {
                    return Err(Error::new(
                        ErrorKind::UniqueViolation,
                        format!("the session already holds a {} with this key", E::meta().name),
                    ));
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(self.objects.len());
                }
            }
        } else {
            self.unkeyed.push(self.objects.len());
        }
        self.push(handle.cell().clone());
        Ok(handle)
    }

    fn push(&mut self, object: std::sync::Arc<dyn Tracked>) {
        let id = meta_id(object.meta());
        let at = self.objects.len();
        match self.by_entity.iter_mut().rev().find(|(m, _)| *m == id) {
            Some((_, list)) => list.push(at),
            None => self.by_entity.push((id, vec![at])),
        }
        self.objects.push(object);
    }

    /// The indexes of the objects of `meta`.
    pub fn of_entity(&self, meta: &'static EntityMeta) -> &[usize] {
        let id = meta_id(meta);
        self.by_entity.iter().find(|(m, _)| *m == id).map(|(_, list)| list.as_slice()).unwrap_or_default()
    }

    /// Up to `limit` keys of `target` that the session's objects refer to and the map does not
    /// hold: what one batch of lazy loading fetches.
    pub fn unloaded_references(&self, target: &'static EntityMeta, limit: usize) -> Result<Vec<Value>> {
        let mut seen = FastSet::default();
        let mut out = Vec::new();
        for o in &self.objects {
            for (relation, column) in o.meta().references() {
                if !std::ptr::eq((relation.target)(), target) || !o.live() {
                    continue;
                }
                let Ok(v) = o.column_value(column) else { continue };
                let key = MapKey::of(std::slice::from_ref(&v));
                if v.is_null() || self.by_key.contains_key(&(meta_id(target), key.clone())) || !seen.insert(key) {
                    continue;
                }
                out.push(v);
                if out.len() >= limit {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    /// Whether the collection `relation` of the object at `owner` was loaded.
    pub fn is_loaded(&self, owner: usize, relation: &'static RelationMeta) -> bool {
        self.loaded.contains(&(owner, relation as *const RelationMeta as usize))
    }

    /// Records that the collection `relation` of the object at `owner` was loaded.
    pub fn set_loaded(&mut self, owner: usize, relation: &'static RelationMeta) {
        self.loaded.insert((owner, relation as *const RelationMeta as usize));
    }

    /// Records the pairs of a loaded many-to-many collection: each (owner, member) read.
    pub fn load_pairs(
        &mut self,
        owner: &'static EntityMeta,
        relation: &'static RelationMeta,
        pairs: impl IntoIterator<Item = (usize, usize)>,
    ) -> Result<()> {
        let (side_meta, side, mine) = canonical(owner, relation)?;
        let id = side as *const RelationMeta as usize;
        for (o, m) in pairs {
            let (a, b) = if mine { (o, m) } else { (m, o) };
            self.pairs.entry((id, a, b)).or_insert(Pair { state: PairState::Stored, owner: side_meta, relation: side });
        }
        Ok(())
    }

    /// Adds (`add`) or removes the pair (owner, member) of the many-to-many relation `relation`
    /// of `owner`'s entity; the next flush writes it to the join table. Both sides see it at once.
    pub fn change_pair(
        &mut self,
        owner: &'static EntityMeta,
        relation: &'static RelationMeta,
        owner_addr: usize,
        member_addr: usize,
        add: bool,
    ) -> Result<()> {
        let (side_meta, side, mine) = canonical(owner, relation)?;
        let id = side as *const RelationMeta as usize;
        let symmetric = std::ptr::eq(side, relation) && relation.reverse == Some(relation.field);
        let (a, b) = if mine { (owner_addr, member_addr) } else { (member_addr, owner_addr) };
        let checked = self.is_loaded(owner_addr, relation);
        let mut changed = false;
        let mut one = |key: (usize, usize, usize)| {
            let entry = self.pairs.get(&key).map(|p| p.state);
            let next = match (entry, add) {
                (Some(PairState::Stored | PairState::Added { .. }), true) => None,
                // Whether the database held it before the removal is unknown: send both.
                (Some(PairState::Removed), true) => Some(Some(PairState::Added { checked: false })),
                (None, true) => Some(Some(PairState::Added { checked })),
                (Some(PairState::Added { .. }), false) => Some(None),
                (Some(PairState::Stored) | None, false) => Some(Some(PairState::Removed)),
                (Some(PairState::Removed), false) => None,
            };
            match next {
                None => {}
                Some(None) => {
                    self.pairs.remove(&key);
                }
                Some(Some(state)) => {
                    self.pairs.insert(key, Pair { state, owner: side_meta, relation: side });
                }
            }
            changed |= next.is_some();
        };
        one((id, a, b));
        if symmetric && a != b {
            one((id, b, a));
        }
        self.pairs_changed |= changed;
        Ok(())
    }

    /// The live members of the many-to-many collection `relation` of the object at `owner`.
    pub fn pair_members<T: Entity>(
        &self,
        owner_meta: &'static EntityMeta,
        relation: &'static RelationMeta,
        owner: usize,
    ) -> Result<Vec<Handle<T>>> {
        Ok(self.handles(&self.pair_member_indexes(owner_meta, relation, &[owner])?))
    }

    /// The indexes of the live members of the many-to-many collections `relation` of the objects
    /// at the addresses `owners`, in the order they joined the session.
    pub fn pair_member_indexes(
        &self,
        owner_meta: &'static EntityMeta,
        relation: &'static RelationMeta,
        owners: &[usize],
    ) -> Result<Vec<usize>> {
        let (_, side, mine) = canonical(owner_meta, relation)?;
        let id = side as *const RelationMeta as usize;
        let owners: FastSet<usize> = owners.iter().copied().collect();
        let members: FastSet<usize> = self
            .pairs
            .iter()
            .filter(|&(&(r, _, _), p)| r == id && p.state != PairState::Removed)
            .filter_map(|(&(_, a, b), _)| {
                let (owner, member) = if mine { (a, b) } else { (b, a) };
                owners.contains(&owner).then_some(member)
            })
            .collect();
        Ok(self
            .of_entity(relation.target())
            .iter()
            .copied()
            .filter(|&i| self.objects[i].live() && members.contains(&self.objects[i].addr()))
            .collect())
    }

    /// The typed handles of the objects at these indexes.
    fn handles<T: Entity>(&self, indexes: &[usize]) -> Vec<Handle<T>> {
        indexes.iter().filter_map(|&i| typed(&self.objects[i])).collect()
    }

    /// The join-table statements of the pairs added and removed since the last flush: deletes,
    /// then inserts (after the objects' own inserts, so generated keys are known). Pairs of
    /// deleted objects are dropped: the database deletes their rows with the objects.
    pub fn pair_changes(&self, dialect: crate::Dialect) -> Result<Vec<PairChange>> {
        use crate::ast::{Delete, Insert, Statement};
        if !self.pairs_changed {
            return Ok(Vec::new());
        }
        let by_addr: FastMap<usize, usize> = self.objects.iter().enumerate().map(|(i, o)| (o.addr(), i)).collect();
        let key_of = |addr: usize| -> Result<Option<Vec<Value>>> {
            let Some(&i) = by_addr.get(&addr) else { return Ok(None) };
            if !self.objects[i].live() {
                return Ok(None);
            }
            self.key_values(i).map(Some)
        };
        let render = |stmt: Statement| crate::query::Stmt::render(&stmt, dialect);
        let mut deletes = Vec::new();
        let mut inserts = Vec::new();
        for (&(_, a, b), pair) in &self.pairs {
            if pair.state == PairState::Stored {
                continue;
            }
            let (Some(ka), Some(kb)) = (key_of(a)?, key_of(b)?) else { continue };
            let crate::relation::Link::Table { table, .. } = crate::relation::set_link(pair.owner, pair.relation)?
            else {
                continue;
            };
            let columns: Vec<crate::ast::Name> =
                table.owner_columns.iter().chain(&table.target_columns).map(|c| c.clone().into()).collect();
            let values: Vec<Value> = ka.into_iter().chain(kb).collect();
            let filter = crate::relation::all_equal(
                columns.iter().map(|c| crate::ast::Expr::column(c.clone())),
                values.iter().cloned().map(crate::ast::Expr::Value),
            );
            let delete = || {
                render(Statement::Delete(Delete {
                    table: table.name.clone().into(),
                    alias: None,
                    filter: Some(filter.clone()),
                }))
            };
            match pair.state {
                PairState::Removed => deletes.push(PairChange { stmt: delete(), any_count: true }),
                PairState::Added { checked } => {
                    if !checked {
                        // The database may hold the pair already: adding it again is no change.
                        inserts.push(PairChange { stmt: delete(), any_count: true });
                    }
                    let insert = Insert {
                        table: table.name.clone().into(),
                        columns,
                        rows: vec![values.into_iter().map(crate::ast::Expr::Value).collect()],
                        returning: Vec::new(),
                    };
                    inserts.push(PairChange { stmt: render(Statement::Insert(insert)), any_count: false });
                }
                PairState::Stored => {}
            }
        }
        deletes.extend(inserts);
        Ok(deletes)
    }

    /// Records that the pair changes reached the database.
    pub fn pairs_flushed(&mut self) {
        if !std::mem::take(&mut self.pairs_changed) {
            return;
        }
        self.pairs.retain(|_, p| p.state != PairState::Removed);
        for p in self.pairs.values_mut() {
            p.state = PairState::Stored;
        }
    }

    /// The live objects of `T` whose foreign key in column `fk` is `key`, or that follow the
    /// object at `owner` (a new object, whose key is not known yet).
    pub fn members<T: Entity>(&self, fk: usize, key: Option<&Value>, owner: usize) -> Vec<Handle<T>> {
        // A member that follows an owner with a key refers to that key too: following is only
        // looked at for an owner without one.
        let owners: &[usize] = if key.is_some() { &[] } else { std::slice::from_ref(&owner) };
        self.handles(&self.reverse_member_indexes(T::meta(), fk, key.into_iter(), owners))
    }

    /// The indexes of the live objects of `target` whose foreign key in column `fk` is one of
    /// `keys`, or that follow one of the objects at the addresses `owners`.
    pub fn reverse_member_indexes<'k>(
        &self,
        target: &'static EntityMeta,
        fk: usize,
        keys: impl Iterator<Item = &'k Value>,
        owners: &[usize],
    ) -> Vec<usize> {
        let keys: FastSet<MapKey> = keys.map(|k| MapKey::of(std::slice::from_ref(k))).collect();
        let mut out = Vec::new();
        let mut followed = Vec::new();
        for &i in self.of_entity(target) {
            let o = &self.objects[i];
            let by_key = !keys.is_empty()
                && o.live_value(fk).is_some_and(|v| keys.contains(&MapKey::of(std::slice::from_ref(&v))));
            let mut follows = || {
                followed.clear();
                o.referenced_objects(&mut followed);
                o.live() && followed.iter().any(|(column, addr)| *column == fk && owners.contains(addr))
            };
            if by_key || (!owners.is_empty() && follows()) {
                out.push(i);
            }
        }
        out
    }

    /// Applies the delete rules to the objects that refer to objects marked for deletion:
    /// cascade marks them too, set null clears the reference, restrict refuses
    /// ([`ErrorKind::ForeignKeyViolation`]). The database applies the same rules to rows the
    /// session does not hold.
    pub fn apply_delete_rules(&self) -> Result<()> {
        let mut queue: Vec<usize> = (0..self.objects.len()).filter(|&i| self.objects[i].is_deleting()).collect();
        let mut done = FastSet::default();
        while let Some(p) = queue.pop() {
            if !done.insert(p) {
                continue;
            }
            let parent = &self.objects[p];
            let parent_meta = parent.meta();
            let key = self.key_values(p)?;
            let [key] = key.as_slice() else { continue };
            for (i, child) in self.objects.iter().enumerate() {
                for (relation, column) in child.meta().references() {
                    if !std::ptr::eq((relation.target)(), parent_meta)
                        || !child.live()
                        || child.column_value(column).ok().as_ref() != Some(key)
                    {
                        continue;
                    }
                    match relation.on_delete(child.meta()) {
                        crate::relation::OnDelete::Cascade => {
                            child.mark_deleted()?;
                            queue.push(i);
                        }
                        crate::relation::OnDelete::SetNull => child.set_null(column)?,
                        crate::relation::OnDelete::Restrict => {
                            return Err(Error::new(
                                ErrorKind::ForeignKeyViolation,
                                format!(
                                    "{} cannot be deleted: {}.{} refers to it (cascade_delete = false)",
                                    parent_meta.describe_key(std::slice::from_ref(key)),
                                    child.meta().name,
                                    relation.field
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether no object can have anything to flush: nothing was written or deleted anywhere
    /// since the last scan (the write count is still `epoch`), and no object was created.
    pub fn unchanged_since_scan(&self, epoch: u64) -> bool {
        self.scanned_at == Some(epoch)
    }

    /// Records a flush that scanned every object, after reading the write count `epoch`.
    pub fn scanned(&mut self, epoch: u64) {
        self.scanned_at = Some(epoch);
    }

    /// Object `i`, in the order objects joined the session.
    pub fn object(&self, i: usize) -> &dyn Tracked {
        self.objects[i].as_ref()
    }

    /// Every object, in the order it joined the session.
    pub fn objects(&self) -> impl Iterator<Item = &dyn Tracked> {
        self.objects.iter().map(|o| o.as_ref())
    }

    /// Enters objects whose key became known at flush (generated keys) into the map.
    pub fn rekey(&mut self) -> Result<()> {
        let mut still_unkeyed = Vec::new();
        for &i in &self.unkeyed {
            let o = &self.objects[i];
            match o.map_key()? {
                Some(bytes) => {
                    self.by_key.entry((meta_id(o.meta()), bytes)).or_insert(i);
                }
                None => still_unkeyed.push(i),
            }
        }
        self.unkeyed = still_unkeyed;
        Ok(())
    }

    /// The number of objects.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Ends the session: each object keeps what its loaded relations led to (see [`Links`]),
    /// unless `strict` makes the objects unusable, and the map forgets them.
    pub fn end(&mut self, strict: bool) {
        if !strict {
            self.keep_links();
        }
        self.clear(strict);
    }

    /// Stores on each object the objects its loaded references and collections lead to. The
    /// links are held along a depth-first walk and only followed where they close a cycle, so
    /// no group of objects holds itself alive.
    fn keep_links(&self) {
        if self.loaded.is_empty() && self.linked_relations.is_empty() && self.linked_targets.is_empty() {
            return;
        }
        // When the map holds the only reference to every object (a session that returns plain
        // values), nothing can read a link after the session: every object is freed with it.
        if self.objects.iter().all(|o| std::sync::Arc::strong_count(o) == 1) {
            return;
        }
        let mut edges = Vec::with_capacity(self.objects.len());
        self.reference_edges(&mut edges);
        self.collection_edges(&mut edges);
        // Grouped by owner, each owner's fields and targets in the order they were found.
        edges.sort_by_key(|e| e.owner);
        let held = held_edges(self.objects.len(), &edges);
        let mut at = 0;
        for group in edges.chunk_by(|a, b| a.owner == b.owner) {
            let mut links = Links::with_capacity(group.len());
            let flags = &held[at..at + group.len()];
            at += group.len();
            for (e, &held) in group.iter().zip(flags) {
                match e.target {
                    NO_TARGET => links.push_empty(e.field),
                    t => {
                        let object: std::sync::Arc<dyn LinkedObject> = self.objects[t].clone();
                        let edge =
                            if held { Edge::Held(object) } else { Edge::Followed(std::sync::Arc::downgrade(&object)) };
                        links.push_edge(e.field, edge);
                    }
                }
            }
            self.objects[group[0].owner].keep_links(links);
        }
    }

    /// The kept references: an edge for each object whose reference the session loaded.
    fn reference_edges(&self, edges: &mut Vec<LinkEdge>) {
        for (_, list) in &self.by_entity {
            let Some(&first) = list.first() else { continue };
            for (relation, column) in self.objects[first].meta().references() {
                let target = relation.target();
                if !self.linked_relations.contains(&(relation as *const RelationMeta as usize))
                    && !self.linked_targets.contains(&meta_id(target))
                {
                    continue;
                }
                for &i in list {
                    let Some(v) = self.objects[i].live_value(column) else { continue };
                    if let Some(t) = self.index_of(target, std::slice::from_ref(&v))
                        && self.objects[t].live()
                    {
                        edges.push(LinkEdge { owner: i, field: relation.field, target: t });
                    }
                }
            }
        }
    }

    /// The kept collections: for each owner whose collection the session loaded, an edge
    /// without a target (the collection is loaded), then an edge per member.
    fn collection_edges(&self, edges: &mut Vec<LinkEdge>) {
        let by_addr: FastMap<usize, usize> = self.objects.iter().enumerate().map(|(i, o)| (o.addr(), i)).collect();
        let mut by_relation: FastMap<usize, Vec<usize>> = FastMap::default();
        for &(owner, relation) in &self.loaded {
            if let Some(&i) = by_addr.get(&owner)
                && self.objects[i].live()
            {
                by_relation.entry(relation).or_default().push(i);
            }
        }
        for (relation_addr, mut owners) in by_relation {
            owners.sort_unstable();
            let owner_meta = self.objects[owners[0]].meta();
            let Some(relation) =
                owner_meta.relations.iter().find(|r| *r as *const RelationMeta as usize == relation_addr)
            else {
                continue;
            };
            let field = relation.field;
            // Each owner's collection was loaded: a marker ahead of its members reads as empty
            // when it has none.
            let loaded = |edges: &mut Vec<LinkEdge>| {
                edges.extend(owners.iter().map(|&owner| LinkEdge { owner, field, target: NO_TARGET }));
            };
            match crate::relation::set_link(owner_meta, relation) {
                Ok(crate::relation::Link::Reverse { target, fk }) => {
                    loaded(edges);
                    let mut by_key: FastMap<MapKey, usize> = FastMap::default();
                    for &o in &owners {
                        if let Ok(Some(key)) = self.objects[o].map_key() {
                            by_key.insert(key, o);
                        }
                    }
                    for &t in self.of_entity(target) {
                        if let Some(v) = self.objects[t].live_value(fk)
                            && let Some(&owner) = by_key.get(&MapKey::of(std::slice::from_ref(&v)))
                        {
                            edges.push(LinkEdge { owner, field, target: t });
                        }
                    }
                }
                Ok(crate::relation::Link::Table { target, .. }) => {
                    let Ok((_, side, mine)) = canonical(owner_meta, relation) else { continue };
                    loaded(edges);
                    let id = side as *const RelationMeta as usize;
                    let owner_at: FastMap<usize, usize> = owners.iter().map(|&o| (self.objects[o].addr(), o)).collect();
                    let mut owners_of: FastMap<usize, Vec<usize>> = FastMap::default();
                    for (&(r, a, b), pair) in &self.pairs {
                        let (owner, member) = if mine { (a, b) } else { (b, a) };
                        if r == id
                            && pair.state != PairState::Removed
                            && let Some(&o) = owner_at.get(&owner)
                        {
                            owners_of.entry(member).or_default().push(o);
                        }
                    }
                    let live_members = self.of_entity(target).iter().copied().filter(|&t| self.objects[t].live());
                    for t in live_members {
                        for &owner in owners_of.get(&self.objects[t].addr()).into_iter().flatten() {
                            edges.push(LinkEdge { owner, field, target: t });
                        }
                    }
                }
                Err(_) => continue,
            }
        }
    }

    /// Forgets every object (after a rollback or at the session's end), detaching them so that
    /// they refuse writes; with `strict` they refuse reads too.
    pub fn clear(&mut self, strict: bool) {
        for o in &self.objects {
            o.detach(strict);
        }
        self.objects.clear();
        self.by_key.clear();
        self.unkeyed.clear();
        self.by_entity.clear();
        self.loaded.clear();
        self.pairs.clear();
        self.pairs_changed = false;
        self.scanned_at = None;
        self.linked_relations.clear();
        self.linked_targets.clear();
        self.recorded = None;
    }
}

/// One link found at the session's end: `owner`'s relation `field` leads to `target`, or to no
/// object ([`NO_TARGET`], an empty collection).
struct LinkEdge {
    owner: usize,
    field: &'static str,
    target: usize,
}

/// The target of a [`LinkEdge`] that marks a loaded collection without members.
const NO_TARGET: usize = usize::MAX;

/// Which links may hold their object: one flag per edge of `edges` (sorted by owner, ascending,
/// over `objects` objects). A depth-first walk from each object in the order objects joined the
/// session marks a link to an object still on the walk's path (one that closes a cycle) as only
/// followed; the held links then form no cycle, so every object is freed once nothing outside
/// holds it.
fn held_edges(objects: usize, edges: &[LinkEdge]) -> Vec<bool> {
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    debug_assert!(edges.is_sorted_by_key(|e| e.owner));
    let mut held = vec![true; edges.len()];
    // The edges of object `i` are `edges[start[i]..start[i + 1]]`.
    let mut start = vec![0; objects + 1];
    for e in edges {
        start[e.owner + 1] += 1;
    }
    for i in 0..objects {
        start[i + 1] += start[i];
    }
    let mut state = vec![NEW; objects];
    // The walk's path: (object, the next of its edges to visit).
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..objects {
        if state[root] != NEW {
            continue;
        }
        state[root] = ON_PATH;
        path.push((root, start[root]));
        while let Some((node, next)) = path.last_mut().map(|(node, next)| (*node, std::mem::replace(next, *next + 1))) {
            if next == start[node + 1] {
                state[node] = DONE;
                path.pop();
                continue;
            }
            let target = edges[next].target;
            if target == NO_TARGET {
                continue;
            }
            match state[target] {
                ON_PATH => held[next] = false,
                NEW => {
                    state[target] = ON_PATH;
                    path.push((target, start[target]));
                }
                _ => {}
            }
        }
    }
    held
}

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
