//! The keys of the identity map: [`MapKey`] (an integer without allocation, other keys as
//! canonical bytes) and the fast hash maps the session keys by them.

use crate::entity::EntityMeta;
use crate::value::Value;
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

pub(super) type EntryKey = (usize, MapKey);

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

pub(super) fn meta_id(meta: &'static EntityMeta) -> usize {
    meta as *const EntityMeta as usize
}
