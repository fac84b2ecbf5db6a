//! The identity-map key of an entity's key values: [`MapKey`], an integer without allocation,
//! other keys as canonical bytes ([`key_bytes`]). A value-level encoding, so a key type can
//! produce it without knowing the session.

use crate::value::Value;

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
