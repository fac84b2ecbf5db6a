//! The identity map: one object per (entity, key) in a session, the objects in the order they
//! joined it (the order a flush walks), and what the session's queries ask of them (the
//! members of one-to-many collections, the references still to load, loaded collections).

use super::changes::Tracked;
use super::fast_map::{FastMap, FastSet, meta_id};
use super::handle::Handle;
use super::member_index::MemberIndex;
use super::object_keys::ObjectKeys;
use super::pairs::{PairChange, PairStore};
use crate::entity::meta::RelationMeta;
use crate::entity::{Entity, EntityMeta, Key};
use crate::error::{Error, ErrorKind, Result};
use crate::map_key::MapKey;
use crate::value::Value;

/// The handle of a tracked object, if it is an `E`.
fn typed<E: Entity>(object: &std::sync::Arc<dyn Tracked>) -> Option<Handle<E>> {
    Handle::from_linked(object.clone())
}

/// The indexes of the objects of `meta` in `by_entity` ([`IdentityMap::of_entity`], borrowing
/// only that field).
fn entity_list<'a>(by_entity: &'a [(usize, Vec<usize>)], meta: &'static EntityMeta) -> &'a [usize] {
    let id = meta_id(meta);
    by_entity.iter().find(|(m, _)| *m == id).map(|(_, list)| list.as_slice()).unwrap_or_default()
}

/// One object per row: the session's identity map, and the objects in the order they joined
/// the session (the order a flush writes them in).
#[derive(Default)]
pub struct IdentityMap {
    pub(super) by_key: ObjectKeys,
    pub(super) objects: Vec<std::sync::Arc<dyn Tracked>>,
    /// New objects whose key the database has yet to generate, so not yet in `by_key`.
    pub(super) unkeyed: Vec<usize>,
    /// The objects of each entity, by index.
    /// A list, not a map: a session holds objects of a few entities, and rows arrive entity by
    /// entity, so it is searched from the entity added last. A map kept for another session
    /// keeps its entities' entries, their lists emptied.
    pub(super) by_entity: Vec<(usize, Vec<usize>)>,
    /// Loaded collections: (owner address, relation address).
    pub(super) loaded: FastSet<(usize, usize)>,
    /// The many-to-many pairs the session knows.
    pub(super) pairs: PairStore,
    /// The write count ([`super::write_epoch`]) read before the last flush that scanned every
    /// object; `None` once an object is created. With the same count, no object has anything
    /// to flush.
    pub(super) scanned_at: Option<u64>,
    /// `Single` relations (by address) whose objects the session loaded, and entities loaded as
    /// the target of any reference: the references the objects keep after the session.
    pub(super) linked_relations: Vec<usize>,
    pub(super) linked_targets: Vec<usize>,
    /// While recording, the index of every object a loaded row resolves to.
    pub(super) recorded: Option<Vec<usize>>,
    /// The members of one-to-many collections by the key they refer to, per (entity, reference
    /// column): built at the first lazy load of a collection, kept up to date after.
    pub(super) member_indexes: FastMap<(usize, usize), MemberIndex>,
    /// While the members of one-to-many collections load: the members' index (entity, reference
    /// column) their rows go into as they join (see [`IdentityMap::feed_member_index`]).
    pub(super) feeding: Option<(usize, usize)>,
}

impl IdentityMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The object of `E` with this key, if the session holds it.
    pub fn get<E: Entity>(&self, key: &[Value]) -> Option<Handle<E>> {
        let i = self.by_key.get(meta_id(E::meta()), &MapKey::of(key))?;
        typed(&self.objects[i])
    }

    /// The session's object for a loaded row: the one it already holds (whose state wins: a row
    /// is one object), or a new persistent object with these column values.
    pub fn attach_loaded<E: Entity>(&mut self, mut value: E) -> Result<Handle<E>> {
        let at = self.objects.len();
        let entity = meta_id(E::meta());
        let key = value.key().map_key()?;
        // Without its own hooks an entity's `after_load` does nothing. It runs before the object
        // is entered, so a hook that fails leaves the map as it was.
        let saved = if E::CUSTOM_HOOKS && self.by_key.get(entity, &key).is_none() {
            let saved = value.column_values()?;
            super::handle::run_hook(|| value.after_load())?;
            Some(saved)
        } else {
            None
        };
        match self.by_key.insert_unless_held(entity, key, at)? {
            // The key holds the entity, so the object there is a `Handle<E>`.
            Some(i) => {
                if let Some(recorded) = &mut self.recorded {
                    recorded.push(i);
                }
                typed(&self.objects[i])
                    .ok_or_else(|| Error::internal("the identity map holds another entity under this key"))
            }
            None => {
                if let Some(recorded) = &mut self.recorded {
                    recorded.push(at);
                }
                // A member of the collections loading: its reference, read before the object is
                // shared (so without locking it), goes into their index.
                let member_key = match self.feeding {
                    Some((feeding, fk)) if feeding == entity => Some(value.column_map_key_at(fk)),
                    _ => None,
                };
                let handle = Handle::loaded(value, saved);
                self.push(handle.cell().clone());
                if let (Some((_, fk)), Some(key)) = (self.feeding, member_key)
                    && let Some(index) = self.member_indexes.get_mut(&(entity, fk))
                {
                    let members = self.by_entity.iter().rev().find(|(m, _)| *m == entity).map_or(0, |(_, l)| l.len());
                    index.feed(members, at, key);
                }
                Ok(handle)
            }
        }
    }

    /// Until [`IdentityMap::stop_feeding`], the objects of `target` that join the session go
    /// into its members' index by reference column `fk` as their rows load (brought up to date
    /// first), so the collections they load are found without reading every member again.
    pub fn feed_member_index(&mut self, target: &'static EntityMeta, fk: usize) {
        let members = entity_list(&self.by_entity, target);
        self.member_indexes.entry((meta_id(target), fk)).or_default().refresh(&self.objects, members, fk);
        self.feeding = Some((meta_id(target), fk));
    }

    /// Ends [`IdentityMap::feed_member_index`].
    pub fn stop_feeding(&mut self) {
        self.feeding = None;
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
        self.by_key.get(meta_id(meta), &MapKey::of(key))
    }

    /// The index of the object `handle` holds, if it is this session's: found by its key, or
    /// among the new objects still waiting for one.
    pub fn index_of_handle<E: Entity>(&self, handle: &Handle<E>) -> Option<usize> {
        let addr = handle.addr();
        let key = {
            let state = handle.lock();
            if state.value.key_is_unset() { None } else { state.value.key().key_values().ok() }
        };
        match key {
            Some(key) => self.index_of(E::meta(), &key).filter(|&i| self.objects[i].addr() == addr),
            None => self.unkeyed.iter().copied().find(|&i| self.objects[i].addr() == addr),
        }
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
            if !v.is_null() && seen.insert(MapKey::of_one(&v)) {
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
            if self.by_key.insert_unless_held(meta_id(E::meta()), bytes, self.objects.len())?.is_some() {
                return Err(Error::new(
                    ErrorKind::UniqueViolation,
                    format!("the session already holds a {} with this key", E::meta().name),
                ));
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
        entity_list(&self.by_entity, meta)
    }

    /// Up to `limit` indexes of objects of `meta` that are to load the `lazy` column `column`
    /// (persistent, not loaded, not written), `first` first when it is one: what one batch of a
    /// lazy column's loading covers.
    pub fn needing_column(
        &self,
        meta: &'static EntityMeta,
        column: usize,
        first: Option<usize>,
        limit: usize,
    ) -> Vec<usize> {
        let mut out: Vec<usize> = first.filter(|&i| self.objects[i].needs_column(column)).into_iter().collect();
        for &i in self.of_entity(meta) {
            if out.len() >= limit {
                break;
            }
            if Some(i) != first && self.objects[i].needs_column(column) {
                out.push(i);
            }
        }
        out
    }

    /// Stores the row of [`crate::crud::select_columns_of_keys`] (the key columns, then
    /// `columns`) into the object of `meta` with that key, if the session holds it.
    pub fn load_columns(
        &self,
        meta: &'static EntityMeta,
        columns: &[usize],
        row: &dyn crate::value::RowRead,
    ) -> Result<()> {
        let key = meta
            .primary_key
            .iter()
            .enumerate()
            .map(|(at, &c)| crate::value::read_value(row, at, meta.columns[c].ty))
            .collect::<Result<Vec<_>>>()?;
        match self.index_of(meta, &key) {
            Some(i) => self.objects[i].load_columns(columns, row, key.len()),
            None => Ok(()),
        }
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
                let key = MapKey::of_one(&v);
                if v.is_null() || self.by_key.get(meta_id(target), &key).is_some() || !seen.insert(key) {
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
        self.pairs.load(owner, relation, pairs)
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
        let checked = self.is_loaded(owner_addr, relation);
        self.pairs.change(owner, relation, (owner_addr, member_addr), add, checked)
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
        let members = self.pairs.member_addrs(owner_meta, relation, owners)?;
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
        if !self.pairs.changed() {
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
        self.pairs.changes(dialect, key_of)
    }

    /// Whether a pair was added or removed since the last flush (the changes may cancel out).
    pub fn pairs_pending(&self) -> bool {
        self.pairs.changed()
    }

    /// Records that the pair changes reached the database.
    pub fn pairs_flushed(&mut self) {
        self.pairs.flushed();
    }

    /// The live objects of `T` whose foreign key in column `fk` is `key`, or that follow the
    /// object at `owner` (a new object, whose key is not known yet).
    pub fn members<T: Entity>(&mut self, fk: usize, key: Option<&Value>, owner: usize) -> Vec<Handle<T>> {
        // A member that follows an owner with a key refers to that key too: following is only
        // looked at for an owner without one.
        let owners: &[usize] = if key.is_some() { &[] } else { std::slice::from_ref(&owner) };
        let indexes = self.reverse_member_indexes(T::meta(), fk, key.into_iter(), owners);
        self.handles(&indexes)
    }

    /// The indexes of the live objects of `target` whose foreign key in column `fk` is one of
    /// `keys`, or that follow one of the objects at the addresses `owners`, in the order they
    /// joined the session. The keys are looked up in the members' index (see `MemberIndex`);
    /// only following, for owners without a key, scans the objects of `target`.
    pub fn reverse_member_indexes<'k>(
        &mut self,
        target: &'static EntityMeta,
        fk: usize,
        keys: impl Iterator<Item = &'k Value>,
        owners: &[usize],
    ) -> Vec<usize> {
        let members = entity_list(&self.by_entity, target);
        let index = self.member_indexes.entry((meta_id(target), fk)).or_default();
        index.refresh(&self.objects, members, fk);
        let mut out = Vec::new();
        let mut seen = FastSet::default();
        let mut lists = 0;
        for key in keys {
            if !key.is_null() && seen.insert(MapKey::of_one(key)) {
                out.extend(index.members_of(key));
                lists += 1;
            }
        }
        if !owners.is_empty() {
            let mut followed = Vec::new();
            for &i in members {
                let o = &self.objects[i];
                followed.clear();
                o.referenced_objects(&mut followed);
                if o.live() && followed.iter().any(|(column, addr)| *column == fk && owners.contains(addr)) {
                    out.push(i);
                    lists += 1;
                }
            }
        }
        if lists > 1 {
            // Each list is in joining order; together they are sorted into it.
            out.sort_unstable();
            out.dedup();
        }
        out
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
        if !self.unkeyed.is_empty() {
            // A reference that follows a new object reads its generated key from now on.
            self.member_indexes.clear();
        }
        let mut still_unkeyed = Vec::new();
        for &i in &self.unkeyed {
            let o = &self.objects[i];
            match o.map_key()? {
                Some(bytes) => {
                    self.by_key.insert_unless_held(meta_id(o.meta()), bytes, i)?;
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

    /// Forgets every object (after a rollback or at the session's end), detaching them so that
    /// they refuse writes; with `strict` they refuse reads too.
    pub fn clear(&mut self, strict: bool) {
        for o in &mut self.objects {
            // Held by the map alone, with no weak handle either: freed below, it can never be
            // seen again, so its lock (on an object long out of the cache) is not taken.
            if std::sync::Arc::get_mut(o).is_none() {
                o.detach(strict, None);
            }
        }
        self.forget();
    }

    /// Forgets every object (already detached) and what the session knew of them, keeping the
    /// tables' memory: a map kept for the next session (see [`IdentityMap::reusable`]) loads
    /// its rows without growing them again.
    pub(super) fn forget(&mut self) {
        // Every field by name: a field added later must say here how it is forgotten, or a
        // reused map would carry it into another session.
        let IdentityMap {
            by_key,
            objects,
            unkeyed,
            by_entity,
            loaded,
            pairs,
            scanned_at,
            linked_relations,
            linked_targets,
            recorded,
            member_indexes,
            feeding,
        } = self;
        objects.clear();
        by_key.clear();
        unkeyed.clear();
        // An entity's entry stays, its list emptied: an empty list reads as no objects.
        by_entity.iter_mut().for_each(|(_, list)| list.clear());
        loaded.clear();
        pairs.clear();
        *scanned_at = None;
        linked_relations.clear();
        linked_targets.clear();
        *recorded = None;
        member_indexes.clear();
        *feeding = None;
    }

    /// Whether the map, forgotten at its session's end, is worth keeping for another session:
    /// it holds nothing, and all its tables together have room for at most
    /// [`IdentityMap::KEPT_ENTRIES`] entries, so a database keeps little memory for a large
    /// session (or many sessions over many entities).
    pub fn reusable(&self) -> bool {
        let holds_nothing = self.objects.is_empty()
            && self.unkeyed.is_empty()
            && self.loaded.is_empty()
            && self.pairs.entries.is_empty()
            && self.member_indexes.is_empty();
        let room = self.objects.capacity()
            + self.unkeyed.capacity()
            + self.by_key.capacity()
            + self.by_entity.iter().map(|(_, list)| list.capacity()).sum::<usize>()
            + self.loaded.capacity()
            + self.pairs.entries.capacity()
            + self.linked_relations.capacity()
            + self.linked_targets.capacity();
        holds_nothing && room <= Self::KEPT_ENTRIES
    }

    /// The most entries, over all its tables, of a map kept for another session (see
    /// [`IdentityMap::reusable`]): room for a session of about 16,000 objects, about 1 MB.
    pub const KEPT_ENTRIES: usize = 1 << 16;
}
