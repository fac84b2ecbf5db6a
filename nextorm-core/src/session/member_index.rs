//! The members of one-to-many collections by the key their reference holds: a collection of a
//! session object is found without scanning every object of the member's entity, so a lazy walk
//! over N owners costs N lookups, not N scans.

use super::changes::Tracked;
use super::fast_map::FastMap;
use super::handle::write_epoch;
use crate::map_key::MapKey;
use crate::value::Value;
use std::collections::hash_map::Entry;
use std::sync::Arc;

/// The live objects of one entity by the value of one reference column: for each key referred
/// to, the indexes of the objects that hold it, in the order they joined the session. Each key's
/// members are chained through one vector, so indexing a member costs one hash lookup and no
/// allocation of its own.
#[derive(Default)]
pub(super) struct MemberIndex {
    /// The write count when the index was built: any write since (a reference moved, an object
    /// deleted) rebuilds it.
    epoch: u64,
    /// How many of the entity's objects it covers: objects that joined since are added at the
    /// next use.
    covered: usize,
    /// Each key's first and last member, as positions in `chain`.
    by_key: FastMap<MapKey, (u32, u32)>,
    /// Each indexed member: its index among the objects, and the position of the next member
    /// with the same key ([`END`] for the last).
    chain: Vec<(usize, u32)>,
}

/// The end of a key's chain of members.
const END: u32 = u32::MAX;

impl MemberIndex {
    /// Brings the index up to date with `members`, the indexes in `objects` of the entity's
    /// objects (in the order they joined), whose reference is column `fk`.
    pub(super) fn refresh(&mut self, objects: &[Arc<dyn Tracked>], members: &[usize], fk: usize) {
        // Read before the objects: a write made while they are read shows at the next use.
        let epoch = write_epoch();
        if epoch != self.epoch || self.covered > members.len() {
            self.by_key.clear();
            self.chain.clear();
            self.covered = 0;
            self.epoch = epoch;
        }
        for &i in &members[self.covered..] {
            if let Some(key) = objects[i].live_map_key(fk) {
                self.insert(i, key);
            }
        }
        self.covered = members.len();
    }

    /// Adds object `object`, which has just joined the session as the last of the entity's
    /// `members` objects, its reference holding `key` (read from its row as it loaded; `None`
    /// for `NULL`): what [`MemberIndex::refresh`] would find, without locking the object. Only
    /// onto an index that covered every member before it, with no write since; otherwise the
    /// next refresh reads it.
    pub(super) fn feed(&mut self, members: usize, object: usize, key: Option<MapKey>) {
        if self.covered + 1 != members || self.epoch != write_epoch() {
            return;
        }
        if let Some(key) = key {
            self.insert(object, key);
        }
        self.covered = members;
    }

    fn insert(&mut self, object: usize, key: MapKey) {
        // Positions fit in a u32: a session holds fewer than 4 billion objects.
        let at = self.chain.len() as u32;
        self.chain.push((object, END));
        match self.by_key.entry(key) {
            Entry::Occupied(mut group) => {
                let (_, last) = group.get_mut();
                self.chain[*last as usize].1 = at;
                *last = at;
            }
            Entry::Vacant(slot) => {
                slot.insert((at, at));
            }
        }
    }

    /// The indexes of the objects that refer to `key`, in the order they joined the session.
    pub(super) fn members_of(&self, key: &Value) -> Members<'_> {
        self.members_of_key(&MapKey::of_one(key))
    }

    /// [`MemberIndex::members_of`] the key as the identity map holds it.
    pub(super) fn members_of_key(&self, key: &MapKey) -> Members<'_> {
        Members { chain: &self.chain, next: self.by_key.get(key).map_or(END, |&(first, _)| first) }
    }

    /// Each key referred to, with the objects that refer to it.
    pub(super) fn groups(&self) -> impl Iterator<Item = (&MapKey, Members<'_>)> {
        self.by_key.iter().map(|(key, &(first, _))| (key, Members { chain: &self.chain, next: first }))
    }
}

/// The members of one key (see [`MemberIndex::members_of`]), in the order they joined the session.
pub(super) struct Members<'a> {
    chain: &'a [(usize, u32)],
    next: u32,
}

impl Iterator for Members<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let &(object, next) = self.chain.get(self.next as usize)?;
        self.next = next;
        Some(object)
    }
}
