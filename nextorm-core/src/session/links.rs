//! The end-of-session link graph: at a session's end each object keeps what its loaded
//! references and collections led to ([`Links`]), held along a depth-first walk and only
//! followed where a link closes a cycle, so no group of objects holds itself alive.

use super::fast_map::{FastMap, meta_id};
use super::handle::{Edge, LinkedObject, Links};
use super::identity::IdentityMap;
use super::pairs::canonical;
use crate::entity::meta::RelationMeta;
use crate::map_key::MapKey;

impl IdentityMap {
    /// Ends the session: each object keeps what its loaded relations led to (see [`Links`]),
    /// unless `strict` makes the objects unusable, and the map forgets them.
    pub fn end(&mut self, strict: bool) {
        if !strict {
            self.keep_links();
        }
        self.clear(strict);
    }

    /// Stores on each object the objects its loaded references and collections lead to. The
    /// links are held along a depth-first walk and only followed where they close a cycle, so
    /// no group of objects holds itself alive.
    fn keep_links(&self) {
        if self.loaded.is_empty() && self.linked_relations.is_empty() && self.linked_targets.is_empty() {
            return;
        }
        // When the map holds the only reference to every object (a session that returns plain
        // values), nothing can read a link after the session: every object is freed with it.
        if self.objects.iter().all(|o| std::sync::Arc::strong_count(o) == 1) {
            return;
        }
        let mut edges = Vec::with_capacity(self.objects.len());
        self.reference_edges(&mut edges);
        self.collection_edges(&mut edges);
        // Grouped by owner, each owner's fields and targets in the order they were found.
        edges.sort_by_key(|e| e.owner);
        let held = held_edges(self.objects.len(), &edges);
        let mut at = 0;
        for group in edges.chunk_by(|a, b| a.owner == b.owner) {
            let mut links = Links::with_capacity(group.len());
            let flags = &held[at..at + group.len()];
            at += group.len();
            for (e, &held) in group.iter().zip(flags) {
                match e.target {
                    NO_TARGET => links.push_empty(e.field),
                    t => {
                        let object: std::sync::Arc<dyn LinkedObject> = self.objects[t].clone();
                        let edge =
                            if held { Edge::Held(object) } else { Edge::Followed(std::sync::Arc::downgrade(&object)) };
                        links.push_edge(e.field, edge);
                    }
                }
            }
            self.objects[group[0].owner].keep_links(links);
        }
    }

    /// The kept references: an edge for each object whose reference the session loaded.
    fn reference_edges(&self, edges: &mut Vec<LinkEdge>) {
        for (_, list) in &self.by_entity {
            let Some(&first) = list.first() else { continue };
            for (relation, column) in self.objects[first].meta().references() {
                let target = relation.target();
                if !self.linked_relations.contains(&(relation as *const RelationMeta as usize))
                    && !self.linked_targets.contains(&meta_id(target))
                {
                    continue;
                }
                for &i in list {
                    let Some(v) = self.objects[i].live_value(column) else { continue };
                    if let Some(t) = self.index_of(target, std::slice::from_ref(&v))
                        && self.objects[t].live()
                    {
                        edges.push(LinkEdge { owner: i, field: relation.field, target: t });
                    }
                }
            }
        }
    }

    /// The kept collections: for each owner whose collection the session loaded, an edge
    /// without a target (the collection is loaded), then an edge per member.
    fn collection_edges(&self, edges: &mut Vec<LinkEdge>) {
        let by_addr: FastMap<usize, usize> = self.objects.iter().enumerate().map(|(i, o)| (o.addr(), i)).collect();
        let mut by_relation: FastMap<usize, Vec<usize>> = FastMap::default();
        for &(owner, relation) in &self.loaded {
            if let Some(&i) = by_addr.get(&owner)
                && self.objects[i].live()
            {
                by_relation.entry(relation).or_default().push(i);
            }
        }
        for (relation_addr, mut owners) in by_relation {
            owners.sort_unstable();
            let owner_meta = self.objects[owners[0]].meta();
            let Some(relation) =
                owner_meta.relations.iter().find(|r| *r as *const RelationMeta as usize == relation_addr)
            else {
                continue;
            };
            let field = relation.field;
            // Each owner's collection was loaded: a marker ahead of its members reads as empty
            // when it has none.
            let loaded = |edges: &mut Vec<LinkEdge>| {
                edges.extend(owners.iter().map(|&owner| LinkEdge { owner, field, target: NO_TARGET }));
            };
            match crate::entity::relation::set_link(owner_meta, relation) {
                Ok(crate::entity::relation::Link::Reverse { target, fk }) => {
                    loaded(edges);
                    let mut by_key: FastMap<MapKey, usize> = FastMap::default();
                    for &o in &owners {
                        if let Ok(Some(key)) = self.objects[o].map_key() {
                            by_key.insert(key, o);
                        }
                    }
                    for &t in self.of_entity(target) {
                        if let Some(v) = self.objects[t].live_value(fk)
                            && let Some(&owner) = by_key.get(&MapKey::of(std::slice::from_ref(&v)))
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
struct LinkEdge {
    owner: usize,
    field: &'static str,
    target: usize,
}

/// The target of a [`LinkEdge`] that marks a loaded collection without members.
const NO_TARGET: usize = usize::MAX;

/// Which links may hold their object: one flag per edge of `edges` (sorted by owner, ascending,
/// over `objects` objects). A depth-first walk from each object in the order objects joined the
/// session marks a link to an object still on the walk's path (one that closes a cycle) as only
/// followed; the held links then form no cycle, so every object is freed once nothing outside
/// holds it.
fn held_edges(objects: usize, edges: &[LinkEdge]) -> Vec<bool> {
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    debug_assert!(edges.is_sorted_by_key(|e| e.owner));
    let mut held = vec![true; edges.len()];
    // The edges of object `i` are `edges[start[i]..start[i + 1]]`.
    let mut start = vec![0; objects + 1];
    for e in edges {
        start[e.owner + 1] += 1;
    }
    for i in 0..objects {
        start[i + 1] += start[i];
    }
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
