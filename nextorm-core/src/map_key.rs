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
    #[inline]
    pub fn of(values: &[Value]) -> MapKey {
        match values {
            [value] => MapKey::of_one(value),
            other => MapKey::Bytes(key_bytes(other)),
        }
    }

    /// The map key of a one-column key (or of a reference's value). Inline, so that an integer
    /// known where it is called becomes the map's integer without building anything.
    #[inline]
    pub fn of_one(value: &Value) -> MapKey {
        match value {
            Value::Int(i) => MapKey::Int(*i),
            other => MapKey::Bytes(key_bytes(std::slice::from_ref(other))),
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
            // To the microsecond, as a column sends and reads them back (see `truncate_micros`):
            // an object keyed by `Utc::now()` and its row loaded again are one object.
            Value::DateTime(t) => {
                out.push(5);
                out.extend_from_slice(&t.and_utc().timestamp_micros().to_be_bytes());
            }
            Value::Timestamp(t) => {
                out.push(6);
                out.extend_from_slice(&t.timestamp_micros().to_be_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn datetimes_are_keyed_to_the_microsecond() {
        let read_back = DateTime::<Utc>::from_timestamp(1_700_000_000, 123_456_000).unwrap();
        let made = DateTime::<Utc>::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let next = DateTime::<Utc>::from_timestamp(1_700_000_000, 123_457_000).unwrap();
        let key = |t: DateTime<Utc>| MapKey::of(&[Value::Timestamp(t)]);
        assert_eq!(key(made), key(read_back));
        assert_ne!(key(next), key(read_back));
        let naive = |t: DateTime<Utc>| MapKey::of(&[Value::DateTime(t.naive_utc())]);
        assert_eq!(naive(made), naive(read_back));
        assert_ne!(naive(made), key(made), "a naive and a zoned datetime are different keys");
        // Before 1970 too: whole microseconds of the same instant.
        let early_read = DateTime::<Utc>::from_timestamp(-5, 999_999_000).unwrap();
        let early_made = DateTime::<Utc>::from_timestamp(-5, 999_999_999).unwrap();
        assert_eq!(key(early_made), key(early_read));
    }
}
