//! Many-to-many pairs: the pairs of join tables a session knows (read, added or removed),
//! stored once under the relation's canonical side so both sides see a change at once, and the
//! join-table statements a flush sends for the changes.

use super::fast_map::{FastMap, FastSet};
use crate::entity::EntityMeta;
use crate::entity::meta::RelationMeta;
use crate::error::{Error, Result};
use crate::value::Value;

/// The many-to-many pairs a session knows.
#[derive(Default)]
pub(super) struct PairStore {
    /// The pairs by (relation, owner address, member address), seen from the relation's
    /// canonical side (see [`canonical`]).
    pub(super) entries: FastMap<(usize, usize, usize), Pair>,
    /// Whether a pair was added or removed since the last flush: every query flushes, and most
    /// sessions change no pair, so the flush does not walk `entries` to find out.
    changed: bool,
}

/// A many-to-many pair the session knows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pair {
    pub(super) state: PairState,
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
}

/// Whether a pair is in the database, or is to be inserted or deleted at the next flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PairState {
    /// Read from the database.
    Stored,
    /// Added in the session. `checked`: the database is known not to hold it (the collection
    /// was loaded), so the flush inserts it without first deleting a copy it may hold.
    Added { checked: bool },
    /// Removed in the session. `stored`: the session had read the pair, so adding it again
    /// before the flush restores it to [`PairState::Stored`] and sends nothing.
    Removed { stored: bool },
}

impl PairState {
    /// Whether the pair is removed (the flush deletes it).
    pub(super) fn is_removed(self) -> bool {
        matches!(self, PairState::Removed { .. })
    }
}

/// The side a many-to-many pair is stored under, and whether `relation` (of `owner`) is it: the
/// two sides must agree on one key for the same pair. It is the side whose table (then field)
/// sorts last, decided by names so that it does not change from one build to the next.
pub(super) fn canonical(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
) -> Result<(&'static EntityMeta, &'static RelationMeta, bool)> {
    let (target, reverse) = crate::entity::relation::reverse_of(owner, relation)?
        .ok_or_else(|| Error::mapping(format!("{}.{} has no other side", owner.name, relation.field)))?;
    let mine = (owner.table, relation.field);
    let theirs = (target.table, reverse.field);
    Ok(if mine >= theirs { (owner, relation, true) } else { (target, reverse, false) })
}

/// One change a flush sends to a join table.
#[derive(Debug)]
pub struct PairChange {
    /// The join table's statement.
    pub stmt: crate::query::statement::Stmt,
    /// Whether a count of affected rows other than one is fine (deleting a pair the database
    /// may not hold).
    pub any_count: bool,
}

impl PairStore {
    /// Records the pairs of a loaded many-to-many collection: each (owner, member) read.
    pub(super) fn load(
        &mut self,
        owner: &'static EntityMeta,
        relation: &'static RelationMeta,
        pairs: impl IntoIterator<Item = (usize, usize)>,
    ) -> Result<()> {
        let (side_meta, side, mine) = canonical(owner, relation)?;
        let id = side as *const RelationMeta as usize;
        for (o, m) in pairs {
            let (a, b) = if mine { (o, m) } else { (m, o) };
            self.entries.entry((id, a, b)).or_insert(Pair {
                state: PairState::Stored,
                owner: side_meta,
                relation: side,
            });
        }
        Ok(())
    }

    /// Adds (`add`) or removes the pair of the addresses (owner, member); `checked`: the owner's
    /// collection was loaded, so the database is known not to hold a pair the session did not read.
    pub(super) fn change(
        &mut self,
        owner: &'static EntityMeta,
        relation: &'static RelationMeta,
        (owner_addr, member_addr): (usize, usize),
        add: bool,
        checked: bool,
    ) -> Result<()> {
        let (side_meta, side, mine) = canonical(owner, relation)?;
        let id = side as *const RelationMeta as usize;
        let symmetric = std::ptr::eq(side, relation) && relation.reverse == Some(relation.field);
        let (a, b) = if mine { (owner_addr, member_addr) } else { (member_addr, owner_addr) };
        let mut changed = false;
        let mut one = |key: (usize, usize, usize)| {
            let entry = self.entries.get(&key).map(|p| p.state);
            // A change that undoes one not flushed yet cancels out: the flush sends nothing
            // for the pair (PonyORM's added and removed sets).
            let next = match (entry, add) {
                (Some(PairState::Stored | PairState::Added { .. }), true) => None,
                // Read, removed, added back: as it was.
                (Some(PairState::Removed { stored: true }), true) => Some(Some(PairState::Stored)),
                // Whether the database held it before the removal is unknown: send both.
                (Some(PairState::Removed { stored: false }), true) => Some(Some(PairState::Added { checked: false })),
                (None, true) => Some(Some(PairState::Added { checked })),
                (Some(PairState::Added { .. }), false) => Some(None),
                (Some(PairState::Stored), false) => Some(Some(PairState::Removed { stored: true })),
                // The collection was loaded and did not hold the pair: nothing to delete.
                (None, false) if checked => None,
                (None, false) => Some(Some(PairState::Removed { stored: false })),
                (Some(PairState::Removed { .. }), false) => None,
            };
            match next {
                None => {}
                Some(None) => {
                    self.entries.remove(&key);
                }
                Some(Some(state)) => {
                    self.entries.insert(key, Pair { state, owner: side_meta, relation: side });
                }
            }
            changed |= next.is_some();
        };
        one((id, a, b));
        if symmetric && a != b {
            one((id, b, a));
        }
        self.changed |= changed;
        Ok(())
    }

    /// The addresses of the members paired with the objects at the addresses `owners` in the
    /// many-to-many relation `relation` of `owner_meta` (removed pairs left out).
    pub(super) fn member_addrs(
        &self,
        owner_meta: &'static EntityMeta,
        relation: &'static RelationMeta,
        owners: &[usize],
    ) -> Result<FastSet<usize>> {
        let (_, side, mine) = canonical(owner_meta, relation)?;
        let id = side as *const RelationMeta as usize;
        let owners: FastSet<usize> = owners.iter().copied().collect();
        Ok(self
            .entries
            .iter()
            .filter(|&(&(r, _, _), p)| r == id && !p.state.is_removed())
            .filter_map(|(&(_, a, b), _)| {
                let (owner, member) = if mine { (a, b) } else { (b, a) };
                owners.contains(&owner).then_some(member)
            })
            .collect())
    }

    /// Whether a pair was added or removed since the last flush.
    pub(super) fn changed(&self) -> bool {
        self.changed
    }

    /// The join-table statements of the pairs added and removed since the last flush: deletes,
    /// then inserts. `key_of` gives the key of the live object at an address, `None` for an
    /// object deleted or gone (the database deletes its pairs with it).
    pub(super) fn changes(
        &self,
        dialect: crate::Dialect,
        key_of: impl Fn(usize) -> Result<Option<Vec<Value>>>,
    ) -> Result<Vec<PairChange>> {
        use crate::ast::{Delete, Insert, Statement};
        let render = |stmt: Statement| crate::query::statement::Stmt::render(&stmt, dialect);
        let mut deletes = Vec::new();
        let mut inserts = Vec::new();
        for (&(_, a, b), pair) in &self.entries {
            if pair.state == PairState::Stored {
                continue;
            }
            let (Some(ka), Some(kb)) = (key_of(a)?, key_of(b)?) else { continue };
            let crate::entity::relation::Link::Table { table, .. } =
                crate::entity::relation::set_link(pair.owner, pair.relation)?
            else {
                continue;
            };
            let columns: Vec<crate::ast::Name> =
                table.owner_columns.iter().chain(&table.target_columns).map(|c| c.clone().into()).collect();
            let values: Vec<Value> = ka.into_iter().chain(kb).collect();
            let filter = crate::relation_sql::all_equal(
                columns.iter().map(|c| crate::ast::Expr::column(c.clone())),
                values.iter().cloned().map(crate::ast::Expr::Value),
            );
            let delete = || {
                render(Statement::Delete(Delete {
                    table: table.name.clone().into(),
                    alias: None,
                    filter: Some(filter.clone()),
                }))
            };
            match pair.state {
                PairState::Removed { .. } => deletes.push(PairChange { stmt: delete(), any_count: true }),
                PairState::Added { checked } => {
                    if !checked {
                        // The database may hold the pair already: adding it again is no change.
                        inserts.push(PairChange { stmt: delete(), any_count: true });
                    }
                    let insert = Insert {
                        table: table.name.clone().into(),
                        columns,
                        rows: vec![values.into_iter().map(crate::ast::Expr::Value).collect()],
                        returning: Vec::new(),
                    };
                    inserts.push(PairChange { stmt: render(Statement::Insert(insert)), any_count: false });
                }
                PairState::Stored => {}
            }
        }
        deletes.extend(inserts);
        Ok(deletes)
    }

    /// Records that the pair changes reached the database.
    pub(super) fn flushed(&mut self) {
        if !std::mem::take(&mut self.changed) {
            return;
        }
        self.entries.retain(|_, p| !p.state.is_removed());
        for p in self.entries.values_mut() {
            p.state = PairState::Stored;
        }
    }

    /// Forgets every pair.
    pub(super) fn clear(&mut self) {
        self.entries.clear();
        self.changed = false;
    }
}
