//! What a query row becomes in a session: [`Attach`], and [`SessionEntity`], an entity whose
//! session object is its [`Handle`].

use super::{Handle, IdentityMap};
use crate::entity::Entity;
use crate::error::Result;

/// A query row as a session hands it out: an entity becomes the session's object for its row
/// (a [`Handle`], the same one for every query that returns the row); a value stays a value.
/// Outside a session every row stays what it was decoded as.
///
/// `#[derive(Entity)]` implements it for entities; tuples have it here, and values (every
/// `query::SqlType`) beside that trait.
pub trait Attach: Send + Sized + 'static {
    /// The row in a session: `Handle<E>` for an entity, the value itself otherwise.
    type Attached: Send + 'static;

    /// Puts the row into the session's identity map (entities) or passes it through.
    fn attach(self, map: &mut IdentityMap) -> Result<Self::Attached>;
}

/// An entity whose session object is its [`Handle`]: every `#[derive(Entity)]` type. The bound
/// of generic code that hands out an entity's session object (`Executor::object_by_pk`,
/// `Single::get`, `Many::load`); code that only needs the `Handle` calls
/// [`IdentityMap::attach_loaded`] and bounds by [`Entity`] alone.
pub trait SessionEntity: Entity + Attach<Attached = Handle<Self>> {}

impl<E: Entity + Attach<Attached = Handle<E>>> SessionEntity for E {}

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
