//! The fast hash maps the session keys its objects by: FxHash-style hashing of small integers
//! and short byte strings, and an entity's id in them.

use crate::entity::EntityMeta;
use std::collections::HashMap;

/// FxHash-style hashing: the map's keys are small integers and short byte strings, and an
/// attacker cannot choose which rows a session loads in a way that matters here.
#[derive(Default, Clone, Copy)]
pub(super) struct FastHash(u64);

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

pub(super) type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHash>>;
pub(super) type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<FastHash>>;

/// An entity's id in the session's maps: its metadata's address.
pub(super) fn meta_id(meta: &'static EntityMeta) -> usize {
    meta as *const EntityMeta as usize
}
