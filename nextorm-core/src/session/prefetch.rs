//! Prefetch: the relation paths of `Query::prefetch` ([`PrefetchPath`]), and the row functions
//! each relation carries ([`RowFns`]) so that the session loads a relation's rows into the
//! identity map knowing only its metadata.

use super::identity::IdentityMap;
use crate::entity::{Entity, EntityMeta};
use crate::error::{Error, Result};
use crate::relation_meta::RelationMeta;
use crate::relation_sql::decode_pair;
use crate::value::{RowRead, Value};

/// A decoded row of some entity, ready to join a session's identity map.
pub trait LoadedRow: Send {
    /// Puts the row into `map` (see [`IdentityMap::attach_loaded`]).
    fn attach_to(self: Box<Self>, map: &mut IdentityMap) -> Result<()>;
}

impl<E: Entity> LoadedRow for E {
    fn attach_to(self: Box<Self>, map: &mut IdentityMap) -> Result<()> {
        map.attach_loaded(*self).map(drop)
    }
}

/// A decoded many-to-many pair: the member, and its owner's key.
pub type LoadedPair = (Box<dyn LoadedRow>, Vec<Value>);

/// How the rows of a relation's target are decoded without naming its type.
#[derive(Debug, Clone, Copy)]
pub struct RowFns {
    /// Decodes a row of the target and puts it into the identity map.
    pub load: fn(&dyn RowRead, usize, &mut IdentityMap) -> Result<()>,
    /// A row of [`pairs_statement`](crate::relation::pairs_statement): the target, then the owner's key.
    pub decode_pair: fn(&dyn RowRead, usize) -> Result<LoadedPair>,
}

impl RowFns {
    /// The decoders of a relation of `O` whose target is `T`. Called by the derive.
    pub const fn of<T: Entity, O: Entity>() -> RowFns {
        RowFns { load: load_row::<T>, decode_pair: decode_pair_boxed::<T, O> }
    }
}

fn load_row<T: Entity>(row: &dyn RowRead, offset: usize, map: &mut IdentityMap) -> Result<()> {
    map.attach_loaded(T::from_row_at(row, offset)?).map(drop)
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
