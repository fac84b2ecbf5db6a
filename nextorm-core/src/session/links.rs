//! A session's end: each object is detached and keeps what its loaded references and
//! collections led to ([`Links`]), held along a depth-first walk and only followed where a link
//! closes a cycle, so no group of objects holds itself alive.

use super::fast_map::{FastMap, meta_id};
use super::handle::{Edge, FieldName, LinkedObject, Links, LinksBuilder};
use super::identity::IdentityMap;
use super::pairs::canonical;
use crate::entity::meta::RelationMeta;
use crate::map_key::MapKey;

impl IdentityMap {
    /// Ends the session: each object keeps what its loaded relations led to (see [`Links`](super::Links)),
    /// unless `strict` makes the objects unusable, and the map forgets them.
    pub fn end(&mut self, strict: bool) {
        if strict || !self.detach_keeping_links() {
            self.clear(strict);
        } else {
            self.forget();
        }
    }

    /// Detaches every object, storing on each the objects its loaded references and
    /// collections lead to (one lock per object); `false`, having detached none, when the
    /// session loaded no relation or nothing outside the map holds an object (no link could
    /// be read after the session). The links are held along a depth-first walk and only
    /// followed where they close a cycle, so no group of objects holds itself alive.
    fn detach_keeping_links(&mut self) -> bool {
        if self.loaded.is_empty() && self.linked_relations.is_empty() && self.linked_targets.is_empty() {
            return false;
        }
        // When the map holds the only reference to every object (a session that returns plain
        // values), nothing can read a link after the session: every object is freed with it.
        if self.objects.iter().all(|o| std::sync::Arc::strong_count(o) == 1) {
            return false;
        }
        let mut edges = Vec::with_capacity(self.objects.len());
        self.reference_edges(&mut edges);
        self.collection_edges(&mut edges);
        let (edges, start) = by_owner(self.objects.len(), edges);
        let held = held_edges(&edges, &start);
        let mut links = LinksBuilder::default();
        for owner in 0..self.objects.len() {
            let range = start[owner]..start[owner + 1];
            match &edges[range.clone()] {
                [] => {
                    self.objects[owner].detach(false, None);
                    continue;
                }
                // Most objects link one reference (a comment its post): made whole, without
                // the builder.
                [e] if e.target != NO_TARGET => {
                    let edge = self.edge_to(e.target, held[range.start]);
                    self.objects[owner].detach(false, Some(Links::one(e.field, edge)));
                    continue;
                }
                _ => {}
            }
            let mut field: FieldName = &"";
            for (e, &held) in edges[range.clone()].iter().zip(&held[range]) {
                // The same relation's edges share its field's name: comparing where it lies
                // spares comparing the text for every edge.
                if e.target == NO_TARGET || !std::ptr::eq(e.field, field) && *e.field != *field {
                    links.field(e.field);
                    field = e.field;
                }
                if e.target != NO_TARGET {
                    links.edge(self.edge_to(e.target, held));
                }
            }
            self.objects[owner].detach(false, Some(links.take()));
        }
        true
    }

    /// The link to the object at `target`: holding it, or only following it.
    fn edge_to(&self, target: usize, held: bool) -> Edge {
        let object = &self.objects[target];
        if held {
            Edge::Held(object.clone())
        } else {
            Edge::Followed(std::sync::Arc::downgrade(object) as std::sync::Weak<dyn LinkedObject>)
        }
    }

    /// Brings the members' index of (`entity`, reference column `fk`) up to date, if a lazy
    /// load or a prefetch built one; whether there is one.
    fn refresh_member_index(&mut self, entity: usize, fk: usize) -> bool {
        let Some(index) = self.member_indexes.get_mut(&(entity, fk)) else { return false };
        let members =
            self.by_entity.iter().find(|(m, _)| *m == entity).map(|(_, list)| list.as_slice()).unwrap_or_default();
        index.refresh(&self.objects, members, fk);
        true
    }

    /// The kept references: an edge for each object whose reference the session loaded.
    fn reference_edges(&mut self, edges: &mut Vec<LinkEdge>) {
        for at in 0..self.by_entity.len() {
            let entity = self.by_entity[at].0;
            let Some(&first) = self.by_entity[at].1.first() else { continue };
            for (relation, column) in self.objects[first].meta().references() {
                let target = relation.target();
                if !self.linked_relations.contains(&(relation as *const RelationMeta as usize))
                    && !self.linked_targets.contains(&meta_id(target))
                {
                    continue;
                }
                let field = &relation.field;
                if self.refresh_member_index(entity, column)
                    && let Some(index) = self.member_indexes.get(&(entity, column))
                {
                    // A collection of the target was loaded through this reference: its index
                    // groups the objects by the key they refer to, one lookup per key.
                    for (key, members) in index.groups() {
                        if let Some(t) = self.by_key.get(meta_id(target), key)
                            && self.objects[t].live()
                        {
                            edges.extend(members.map(|owner| LinkEdge { owner, field, target: t }));
                        }
                    }
                    continue;
                }
                for &i in &self.by_entity[at].1 {
                    let Some(key) = self.objects[i].live_map_key(column) else { continue };
                    if let Some(t) = self.by_key.get(meta_id(target), &key)
                        && self.objects[t].live()
                    {
                        edges.push(LinkEdge { owner: i, field, target: t });
                    }
                }
            }
        }
    }

    /// The kept collections: for each owner whose collection the session loaded, an edge
    /// without a target (the collection is loaded), then an edge per member.
    fn collection_edges(&mut self, edges: &mut Vec<LinkEdge>) {
        let mut relations: Vec<usize> = self.loaded.iter().map(|&(_, relation)| relation).collect();
        relations.sort_unstable();
        relations.dedup();
        for relation_addr in relations {
            // The entity that has the relation, and its objects whose collection was loaded.
            let Some((owner_meta, relation, owners)) = self.by_entity.iter().find_map(|(_, list)| {
                let meta = self.objects[*list.first()?].meta();
                let relation = meta.relations.iter().find(|r| *r as *const RelationMeta as usize == relation_addr)?;
                let owners: Vec<usize> = list
                    .iter()
                    .copied()
                    .filter(|&i| {
                        self.loaded.contains(&(self.objects[i].addr(), relation_addr)) && self.objects[i].live()
                    })
                    .collect();
                Some((meta, relation, owners))
            }) else {
                continue;
            };
            if owners.is_empty() {
                continue;
            }
            let field = &relation.field;
            // Each owner's collection was loaded: a marker ahead of its members reads as empty
            // when it has none.
            let loaded = |edges: &mut Vec<LinkEdge>| {
                edges.extend(owners.iter().map(|&owner| LinkEdge { owner, field, target: NO_TARGET }));
            };
            match crate::entity::relation::set_link(owner_meta, relation) {
                Ok(crate::entity::relation::Link::Reverse { target, fk }) => {
                    loaded(edges);
                    let keys: Vec<(usize, MapKey)> =
                        owners.iter().filter_map(|&o| Some((o, self.objects[o].map_key().ok()??))).collect();
                    if self.refresh_member_index(meta_id(target), fk)
                        && let Some(index) = self.member_indexes.get(&(meta_id(target), fk))
                    {
                        for (owner, key) in &keys {
                            edges.extend(index.members_of_key(key).map(|t| LinkEdge {
                                owner: *owner,
                                field,
                                target: t,
                            }));
                        }
                        continue;
                    }
                    let by_key: FastMap<MapKey, usize> = keys.into_iter().map(|(o, key)| (key, o)).collect();
                    for &t in self.of_entity(target) {
                        if let Some(key) = self.objects[t].live_map_key(fk)
                            && let Some(&owner) = by_key.get(&key)
                        {
                            edges.push(LinkEdge { owner, field, target: t });
                        }
                    }
                }
                Ok(crate::entity::relation::Link::Table { target, .. }) => {
                    let Ok((_, side, mine)) = canonical(owner_meta, relation) else { continue };
                    loaded(edges);
                    let id = side as *const RelationMeta as usize;
                    let owner_at: FastMap<usize, usize> = owners.iter().map(|&o| (self.objects[o].addr(), o)).collect();
                    let mut owners_of: FastMap<usize, Vec<usize>> = FastMap::default();
                    for (&(r, a, b), pair) in &self.pairs.entries {
                        let (owner, member) = if mine { (a, b) } else { (b, a) };
                        if r == id
                            && !pair.state.is_removed()
                            && let Some(&o) = owner_at.get(&owner)
                        {
                            owners_of.entry(member).or_default().push(o);
                        }
                    }
                    let live_members = self.of_entity(target).iter().copied().filter(|&t| self.objects[t].live());
                    for t in live_members {
                        for &owner in owners_of.get(&self.objects[t].addr()).into_iter().flatten() {
                            edges.push(LinkEdge { owner, field, target: t });
                        }
                    }
                }
                Err(_) => continue,
            }
        }
    }
}

/// One link found at the session's end: `owner`'s relation `field` leads to `target`, or to no
/// object ([`NO_TARGET`], an empty collection).
#[derive(Clone, Copy)]
struct LinkEdge {
    owner: usize,
    field: FieldName,
    target: usize,
}

/// The target of a [`LinkEdge`] that marks a loaded collection without members.
const NO_TARGET: usize = usize::MAX;

/// `edges` grouped by owner, each owner's in the order they were found (a stable counting sort
/// over `objects` owners), with where each owner's edges start: owner `i`'s are
/// `edges[start[i]..start[i + 1]]`.
fn by_owner(objects: usize, edges: Vec<LinkEdge>) -> (Vec<LinkEdge>, Vec<usize>) {
    let mut start = vec![0; objects + 1];
    for e in &edges {
        start[e.owner + 1] += 1;
    }
    for i in 0..objects {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    // Every slot is written once below.
    let mut sorted = vec![LinkEdge { owner: 0, field: &"", target: NO_TARGET }; edges.len()];
    for e in edges {
        let at = &mut next[e.owner];
        sorted[*at] = e;
        *at += 1;
    }
    (sorted, start)
}

/// Which links may hold their object: one flag per edge of `edges` (grouped by owner, with
/// `start` as [`by_owner`] gives it). A depth-first walk from each object in the order objects
/// joined the session marks a link to an object still on the walk's path (one that closes a
/// cycle) as only followed; the held links then form no cycle, so every object is freed once
/// nothing outside holds it.
fn held_edges(edges: &[LinkEdge], start: &[usize]) -> Vec<bool> {
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let objects = start.len() - 1;
    let mut held = vec![true; edges.len()];
    let mut state = vec![NEW; objects];
    // The walk's path: (object, the next of its edges to visit).
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..objects {
        if state[root] != NEW {
            continue;
        }
        state[root] = ON_PATH;
        path.push((root, start[root]));
        while let Some((node, next)) = path.last_mut().map(|(node, next)| (*node, std::mem::replace(next, *next + 1))) {
            if next == start[node + 1] {
                state[node] = DONE;
                path.pop();
                continue;
            }
            let target = edges[next].target;
            if target == NO_TARGET {
                continue;
            }
            match state[target] {
                ON_PATH => held[next] = false,
                NEW => {
                    state[target] = ON_PATH;
                    path.push((target, start[target]));
                }
                _ => {}
            }
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(owner: usize, field: FieldName, target: usize) -> LinkEdge {
        LinkEdge { owner, field, target }
    }

    #[test]
    fn edges_are_grouped_by_owner_in_the_order_found() {
        let found =
            vec![edge(2, &"a", 0), edge(0, &"b", 1), edge(2, &"c", NO_TARGET), edge(0, &"d", 2), edge(2, &"c", 1)];
        let (edges, start) = by_owner(3, found);
        let order: Vec<(usize, &str)> = edges.iter().map(|e| (e.owner, *e.field)).collect();
        assert_eq!(order, [(0, "b"), (0, "d"), (2, "a"), (2, "c"), (2, "c")]);
        assert_eq!(start, [0, 2, 2, 5]);
    }

    #[test]
    fn an_object_pays_four_words_for_its_links() {
        // Every session object carries one: nothing, one inline edge (a field's name by
        // reference and a fat pointer), or a boxed slice. Growing it grows every object
        // (memory target: 2x the rows).
        assert!(std::mem::size_of::<super::super::Links>() <= 4 * std::mem::size_of::<usize>());
    }

    #[test]
    fn a_link_closing_a_cycle_is_only_followed() {
        // 0 -> 1 -> 2 -> 0, and 0 -> 2: the walk from 0 holds 0 -> 1 -> 2 and follows 2 -> 0.
        let (edges, start) = by_owner(3, vec![edge(0, &"x", 1), edge(1, &"x", 2), edge(2, &"x", 0), edge(0, &"y", 2)]);
        let held = held_edges(&edges, &start);
        let flags: Vec<(usize, usize, bool)> = edges.iter().zip(&held).map(|(e, &h)| (e.owner, e.target, h)).collect();
        assert_eq!(flags, [(0, 1, true), (0, 2, true), (1, 2, true), (2, 0, false)]);
    }
}
