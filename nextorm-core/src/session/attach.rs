//! What a query row becomes in a session.

use super::{Handle, IdentityMap};
use crate::entity::Entity;
use crate::error::Result;
use crate::query::SqlType;

/// A query row as a session hands it out: an entity becomes the session's object for its row
/// (a [`Handle`], the same one for every query that returns the row); a value stays a value.
/// Outside a session every row stays what it was decoded as.
///
/// `#[derive(Entity)]` implements it for entities; values and tuples have it here.
pub trait Attach: Send + Sized + 'static {
    /// The row in a session: `Handle<E>` for an entity, the value itself otherwise.
    type Attached: Send + 'static;

    /// Puts the row into the session's identity map (entities) or passes it through.
    fn attach(self, map: &mut IdentityMap) -> Result<Self::Attached>;
}

impl<T: SqlType + Send + 'static> Attach for T {
    type Attached = T;

    fn attach(self, _map: &mut IdentityMap) -> Result<T> {
        Ok(self)
    }
}

/// The [`Attach`] of an entity, which `#[derive(Entity)]` delegates to.
pub fn attach_entity<E: Entity>(value: E, map: &mut IdentityMap) -> Result<Handle<E>> {
    map.attach_loaded(value)
}

macro_rules! attach_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Attach),+> Attach for ($($t,)+) {
            type Attached = ($($t::Attached,)+);

            fn attach(self, map: &mut IdentityMap) -> Result<Self::Attached> {
                Ok(($(self.$i.attach(map)?,)+))
            }
        }
    };
}
for_tuples_up_to_8!(attach_tuple);
