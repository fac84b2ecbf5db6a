//! The members of one-to-many collections by the key their reference holds: a collection of a
//! session object is found without scanning every object of the member's entity, so a lazy walk
//! over N owners costs N lookups, not N scans.

use super::changes::Tracked;
use super::fast_map::FastMap;
use super::handle::write_epoch;
use crate::map_key::MapKey;
use crate::value::Value;
use std::sync::Arc;

/// The live objects of one entity by the value of one reference column: for each key referred
/// to, the indexes of the objects that hold it, in the order they joined the session.
#[derive(Default)]
pub(super) struct MemberIndex {
    /// The write count when the index was built: any write since (a reference moved, an object
    /// deleted) rebuilds it.
    epoch: u64,
    /// How many of the entity's objects it covers: objects that joined since are added at the
    /// next use.
    covered: usize,
    by_key: FastMap<MapKey, Vec<usize>>,
}

impl MemberIndex {
    /// Brings the index up to date with `members`, the indexes in `objects` of the entity's
    /// objects (in the order they joined), whose reference is column `fk`.
    pub(super) fn refresh(&mut self, objects: &[Arc<dyn Tracked>], members: &[usize], fk: usize) {
        // Read before the objects: a write made while they are read shows at the next use.
        let epoch = write_epoch();
        if epoch != self.epoch || self.covered > members.len() {
            self.by_key.clear();
            self.covered = 0;
            self.epoch = epoch;
        }
        for &i in &members[self.covered..] {
            if let Some(v) = objects[i].live_value(fk) {
                self.by_key.entry(MapKey::of(std::slice::from_ref(&v))).or_default().push(i);
            }
        }
        self.covered = members.len();
    }

    /// The indexes of the objects that refer to `key`, in the order they joined the session.
    pub(super) fn members_of(&self, key: &Value) -> &[usize] {
        self.members_of_key(&MapKey::of(std::slice::from_ref(key)))
    }

    /// [`MemberIndex::members_of`] the key as the identity map holds it.
    pub(super) fn members_of_key(&self, key: &MapKey) -> &[usize] {
        self.by_key.get(key).map_or(&[], Vec::as_slice)
    }

    /// Each key referred to, with the objects that refer to it.
    pub(super) fn groups(&self) -> impl Iterator<Item = (&MapKey, &[usize])> {
        self.by_key.iter().map(|(key, members)| (key, members.as_slice()))
    }
}
