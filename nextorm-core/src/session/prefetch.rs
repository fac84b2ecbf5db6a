//! Prefetch: the relation paths of `Query::prefetch` ([`PrefetchPath`]), and the row functions
//! each relation carries ([`RowFns::of`], the type-erased functions of `entity/row_fns.rs`
//! monomorphised here) so that the session loads a relation's rows into the identity map
//! knowing only its metadata.

use super::identity::IdentityMap;
use crate::entity::meta::RelationMeta;
use crate::entity::row_fns::{LoadedPair, LoadedRow, RowFns};
use crate::entity::{Entity, EntityMeta};
use crate::error::{Error, Result};
use crate::relation_sql::decode_pair;
use crate::value::RowRead;
use std::any::Any;

impl<E: Entity> LoadedRow for E {
    fn attach_to(self: Box<Self>, map: &mut dyn Any) -> Result<()> {
        identity_map(map)?.attach_loaded(*self).map(drop)
    }
}

impl RowFns {
    /// The decoders of a relation of `O` whose target is `T`. Called by the derive.
    pub const fn of<T: Entity, O: Entity>() -> RowFns {
        RowFns { load: load_row::<T>, decode_pair: decode_pair_boxed::<T, O> }
    }
}

/// The identity map a [`RowFns`] function was handed as `&mut dyn Any`.
#[inline]
fn identity_map(map: &mut dyn Any) -> Result<&mut IdentityMap> {
    map.downcast_mut::<IdentityMap>()
        .ok_or_else(|| Error::internal("a relation's row function was handed something other than an identity map"))
}

fn load_row<T: Entity>(row: &dyn RowRead, offset: usize, map: &mut dyn Any) -> Result<()> {
    identity_map(map)?.attach_loaded(T::from_row_at(row, offset)?).map(drop)
}

fn decode_pair_boxed<T: Entity, O: Entity>(row: &dyn RowRead, offset: usize) -> Result<LoadedPair> {
    let (member, key) = decode_pair::<T, O>(row, offset)?;
    Ok((Box::new(member), key))
}

/// A relation path of `Query::prefetch`: from an entity through relation fields
/// (`Customer.orders.items`).
#[derive(Debug, Clone)]
pub struct PrefetchPath {
    /// The entity the path starts from.
    pub root: &'static EntityMeta,
    /// The relation fields followed, each of the previous one's target.
    pub hops: Vec<&'static RelationMeta>,
}

impl PrefetchPath {
    /// The path named by a query alias (`c:orders:items`, `o.customer`), whose first part is a
    /// loop variable of entity `root`.
    pub fn parse(root: &'static EntityMeta, alias: &str) -> Result<PrefetchPath> {
        let mut owner = root;
        let mut hops = Vec::new();
        for field in alias.split(['.', ':']).skip(1) {
            let relation = owner
                .relation(field)
                .ok_or_else(|| Error::config(format!("prefetch: {}.{field} is not a relation", owner.name)))?;
            hops.push(relation);
            owner = relation.target();
        }
        if hops.is_empty() {
            return Err(Error::config(format!("prefetch needs a relation of {}, such as `c.orders`", root.name)));
        }
        Ok(PrefetchPath { root, hops })
    }

    /// The path as written, for messages: `Customer.orders.items`.
    pub fn describe(&self) -> String {
        std::iter::once(self.root.name).chain(self.hops.iter().map(|r| r.field)).collect::<Vec<_>>().join(".")
    }
}
