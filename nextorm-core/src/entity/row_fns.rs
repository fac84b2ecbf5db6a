//! The row functions each relation carries ([`RowFns`]): how the rows of its target are decoded
//! and put into a session's identity map by code that knows only the metadata (prefetch, lazy
//! loading). The map is passed as `&mut dyn Any` so the metadata need not name the session; the
//! functions, monomorphised in `session/prefetch.rs`, take it back as the `IdentityMap` it is.

use crate::error::Result;
use crate::value::{RowRead, Value};
use std::any::Any;

/// A decoded row of some entity, ready to join a session's identity map.
pub trait LoadedRow: Send {
    /// Puts the row into `map`, a session's `IdentityMap` (see `IdentityMap::attach_loaded`);
    /// an internal error for anything else.
    fn attach_to(self: Box<Self>, map: &mut dyn Any) -> Result<()>;
}

/// A decoded many-to-many pair: the member, and its owner's key.
pub type LoadedPair = (Box<dyn LoadedRow>, Vec<Value>);

/// How the rows of a relation's target are decoded without naming its type. Built by the
/// derive with `RowFns::of::<Target, Owner>()`.
#[derive(Debug, Clone, Copy)]
pub struct RowFns {
    /// Decodes a row of the target from the given column on and puts it into the identity map
    /// passed as `&mut dyn Any` (an internal error for anything else).
    pub load: fn(&dyn RowRead, usize, &mut dyn Any) -> Result<()>,
    /// A row of [`pairs_statement`](crate::relation::pairs_statement): the target, then the owner's key.
    pub decode_pair: fn(&dyn RowRead, usize) -> Result<LoadedPair>,
}
