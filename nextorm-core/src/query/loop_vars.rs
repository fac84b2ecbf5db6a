//! The loop variables of a query ([`LoopVars`]): each alias and the entity it ranges over. The
//! query builder keeps them beside its `Select`, which stays plain data; navigation paths
//! (`s.group.dept`) and prefetch paths are resolved from their root alias through them, never
//! through a table name, which two models in one program may share.

use crate::entity::EntityMeta;

/// One loop variable: its alias and its entity.
type LoopVar = (&'static str, &'static EntityMeta);

/// The loop variables of a query, in the order they were added. The first is held inline: most
/// queries have one, and building a query then allocates nothing for it.
#[derive(Debug, Clone, Default)]
pub(crate) struct LoopVars {
    first: Option<LoopVar>,
    more: Vec<LoopVar>,
}

impl LoopVars {
    /// Adds the loop variable `alias` over `entity`.
    pub(crate) fn add(&mut self, alias: &'static str, entity: &'static EntityMeta) {
        match self.first {
            None => self.first = Some((alias, entity)),
            Some(_) => self.more.push((alias, entity)),
        }
    }

    /// The entity the loop variable `alias` ranges over; the latest one added when several
    /// share the alias.
    pub(crate) fn entity(&self, alias: &str) -> Option<&'static EntityMeta> {
        self.first.iter().chain(&self.more).rev().find(|(a, _)| *a == alias).map(|(_, e)| *e)
    }

    /// These loop variables less those `shadowed` says a nested query defines again: inside
    /// that query an alias names its own row, whose entity only that query's builder knew.
    pub(crate) fn without(&self, shadowed: impl Fn(&str) -> bool) -> LoopVars {
        let mut kept = LoopVars::default();
        for &(alias, entity) in self.first.iter().chain(&self.more) {
            if !shadowed(alias) {
                kept.add(alias, entity);
            }
        }
        kept
    }
}
