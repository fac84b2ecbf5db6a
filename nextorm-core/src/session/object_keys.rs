//! The identity map's index of its objects by entity and key: one table per entity, integer
//! keys (the common case) in a map of their own whose entries are 16 bytes, so loading a
//! session's rows probes and grows a small table instead of one keyed by (entity, [`MapKey`]).

use super::fast_map::FastMap;
use crate::error::{Error, Result};
use crate::map_key::MapKey;

/// The objects of one entity by key: their indexes in the identity map.
#[derive(Default)]
struct EntityKeys {
    entity: usize,
    ints: FastMap<i64, u32>,
    others: FastMap<Vec<u8>, u32>,
}

/// The index of the identity map's objects by (entity, key); an entity is its metadata's
/// address (see `meta_id`). A session holds a few entities and loads rows entity by entity, so
/// the tables are a short list, searched from the last one added.
#[derive(Default)]
pub(super) struct ObjectKeys {
    tables: Vec<EntityKeys>,
}

impl ObjectKeys {
    fn table(&self, entity: usize) -> Option<&EntityKeys> {
        self.tables.iter().rev().find(|t| t.entity == entity)
    }

    fn table_mut(&mut self, entity: usize) -> &mut EntityKeys {
        match self.tables.iter().rposition(|t| t.entity == entity) {
            Some(at) => &mut self.tables[at],
            None => {
                self.tables.push(EntityKeys { entity, ..EntityKeys::default() });
                self.tables.last_mut().unwrap_or_else(|| unreachable!("a table was just pushed"))
            }
        }
    }

    /// The index of the object of `entity` with `key`.
    pub(super) fn get(&self, entity: usize, key: &MapKey) -> Option<usize> {
        let table = self.table(entity)?;
        let at = match key {
            MapKey::Int(i) => table.ints.get(i),
            MapKey::Bytes(bytes) => table.others.get(bytes.as_slice()),
        };
        at.map(|&at| at as usize)
    }

    /// Enters the object at index `at` under (`entity`, `key`), unless an object is there
    /// already: then its index, and nothing changes.
    pub(super) fn insert_unless_held(&mut self, entity: usize, key: MapKey, at: usize) -> Result<Option<usize>> {
        use std::collections::hash_map::Entry;
        let table = self.table_mut(entity);
        // A session would need more memory than a machine has to hold 2^32 objects; refused
        // rather than truncated all the same.
        let slot = u32::try_from(at).map_err(|_| Error::internal("a session holds at most 2^32 objects"))?;
        let held = match key {
            MapKey::Int(i) => match table.ints.entry(i) {
                Entry::Occupied(held) => Some(*held.get()),
                Entry::Vacant(free) => {
                    free.insert(slot);
                    None
                }
            },
            MapKey::Bytes(bytes) => match table.others.entry(bytes) {
                Entry::Occupied(held) => Some(*held.get()),
                Entry::Vacant(free) => {
                    free.insert(slot);
                    None
                }
            },
        };
        Ok(held.map(|at| at as usize))
    }

    /// Forgets every object, keeping each entity's table and its memory.
    pub(super) fn clear(&mut self) {
        for table in &mut self.tables {
            table.ints.clear();
            table.others.clear();
        }
    }

    /// How many keys the tables have room for.
    pub(super) fn capacity(&self) -> usize {
        self.tables.iter().map(|t| t.ints.capacity() + t.others.capacity()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_held_per_entity_and_kept_first() {
        let mut keys = ObjectKeys::default();
        assert_eq!(keys.insert_unless_held(1, MapKey::Int(7), 0).unwrap(), None);
        assert_eq!(keys.insert_unless_held(2, MapKey::Int(7), 1).unwrap(), None);
        assert_eq!(keys.insert_unless_held(1, MapKey::Bytes(vec![1, 2]), 2).unwrap(), None);
        // The first object under a key stays.
        assert_eq!(keys.insert_unless_held(1, MapKey::Int(7), 3).unwrap(), Some(0));
        assert_eq!(keys.get(1, &MapKey::Int(7)), Some(0));
        assert_eq!(keys.get(2, &MapKey::Int(7)), Some(1));
        assert_eq!(keys.get(1, &MapKey::Bytes(vec![1, 2])), Some(2));
        assert_eq!(keys.get(2, &MapKey::Bytes(vec![1, 2])), None);
        assert_eq!(keys.get(3, &MapKey::Int(7)), None);
        keys.clear();
        assert_eq!(keys.get(1, &MapKey::Int(7)), None);
    }
}
