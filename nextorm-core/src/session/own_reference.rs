//! A reference from an object to itself, read while the object is locked: its `Single` holds the
//! object's own handle, and following it would lock the object again and wait forever. Code that
//! reads a locked object's columns goes through [`read_locked`], which hands such a `Single` the
//! object's key ([`own_key`]) instead.

use crate::entity::{Entity, Key};
use crate::value::Value;
use std::cell::RefCell;

thread_local! {
    /// The objects this thread is reading under their lock that refer to themselves: (address,
    /// the value their own `Single` stands for), innermost last.
    static OWN_KEYS: RefCell<Vec<(usize, Value)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `read` on `value`, the value of the locked object at address `addr` (see
/// `Handle::addr`). Costs one walk over its references, and nothing more unless one of them
/// refers to the object itself.
pub(crate) fn read_locked<E: Entity, R>(addr: usize, value: &E, read: impl FnOnce(&E) -> R) -> R {
    let mut followed = Vec::new();
    value.referenced_objects(&mut followed);
    if !followed.iter().any(|&(_, at)| at == addr) {
        return read(value);
    }
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            let _ = OWN_KEYS.try_with(|keys| keys.borrow_mut().pop());
        }
    }
    let key = own_key_value(value);
    OWN_KEYS.with(|keys| keys.borrow_mut().push((addr, key)));
    let _pop = Pop;
    read(value)
}

/// The value a `Single` following the object at `addr` stands for, if that object is being read
/// under its lock on this thread ([`read_locked`]).
pub(crate) fn own_key(addr: usize) -> Option<Value> {
    OWN_KEYS
        .try_with(|keys| keys.borrow().iter().rev().find(|(at, _)| *at == addr).map(|(_, key)| key.clone()))
        .ok()
        .flatten()
}

/// The object's key as its own reference sends it: not known yet for a new object whose key the
/// database generates (the flush inserts it first and reads the values again).
fn own_key_value<E: Entity>(value: &E) -> Value {
    let unsaved = || Value::Invalid(format!("the reference is to a new {} that has not been saved", E::meta().name));
    if value.key_is_unset() {
        return unsaved();
    }
    match value.key().key_values() {
        Ok(values) if values.len() == 1 => values.into_iter().next().unwrap_or_else(unsaved),
        Ok(_) => Value::Invalid(format!("{} has a composite key: a Single needs a one-column key", E::meta().name)),
        Err(e) => Value::Invalid(e.to_string()),
    }
}
