//! The floor of an identity-mapped session: the raw driver's rows made into the objects any
//! PonyORM-style session must hold, and nothing else. Each row is one shared, lockable object
//! (`Arc<Mutex<_>>`: handles to it are shared and writable); each entity has an identity map by
//! key; members are grouped under their owner by the key they refer to; and the links outlive the
//! load (owner to members held, member to owner weak, so the tree frees itself). No change
//! tracking, hooks, type erasure or generic code (the rows' iterators are the caller's own,
//! monomorphised): what nextorm's session costs beyond this is its own, and what this costs
//! beyond the raw driver's plain tree is the object model's.
//!
//! The `prefetch` bench (`raw_objects`) and the peers crate (**raw objects**) both build their
//! users/posts/comments tree with [`objects`] and walk it with [`walk_objects`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// A session's object: shared by every handle to it and writable through any (`Arc<Mutex<_>>`).
pub(crate) type Shared<T> = Arc<Mutex<T>>;

/// A new shared object.
pub(crate) fn shared<T>(value: T) -> Shared<T> {
    Arc::new(Mutex::new(value))
}

/// The object behind `object`, locked.
pub(crate) fn read<T>(object: &Shared<T>) -> MutexGuard<'_, T> {
    object.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A user, holding their posts.
pub(crate) struct ObjUser {
    name: String,
    posts: Vec<Shared<ObjPost>>,
}

/// A post, holding its comments and reaching its author weakly.
pub(crate) struct ObjPost {
    title: String,
    #[allow(dead_code, reason = "held as a session object holds its reference; the walk goes down only")]
    author: Weak<Mutex<ObjUser>>,
    comments: Vec<Shared<ObjComment>>,
}

/// A comment, reaching its post weakly.
pub(crate) struct ObjComment {
    body: String,
    #[allow(dead_code, reason = "as `ObjPost::author`")]
    post: Weak<Mutex<ObjPost>>,
}

/// Builds the shared objects from the rows of the three levels: users (id, name), posts
/// (id, title, author), comments (id, body, post). Each row becomes one shared object, entered
/// in its entity's identity map by key and joined to its owner found by key; the maps are
/// dropped on return, the users hold the rest.
pub(crate) fn objects(
    users: impl IntoIterator<Item = (i64, String)>,
    posts: impl IntoIterator<Item = (i64, String, i64)>,
    comments: impl IntoIterator<Item = (i64, String, i64)>,
) -> Vec<Shared<ObjUser>> {
    let mut user_map: HashMap<i64, Shared<ObjUser>> = HashMap::new();
    let users: Vec<Shared<ObjUser>> = users
        .into_iter()
        .map(|(id, name)| user_map.entry(id).or_insert_with(|| shared(ObjUser { name, posts: Vec::new() })).clone())
        .collect();
    let mut post_map: HashMap<i64, Shared<ObjPost>> = HashMap::new();
    for (id, title, author) in posts {
        let owner = user_map.get(&author);
        let author = owner.map(Arc::downgrade).unwrap_or_default();
        let post = post_map.entry(id).or_insert_with(|| shared(ObjPost { title, author, comments: Vec::new() }));
        if let Some(owner) = owner {
            read(owner).posts.push(post.clone());
        }
    }
    let mut comment_map: HashMap<i64, Shared<ObjComment>> = HashMap::new();
    for (id, body, post) in comments {
        let owner = post_map.get(&post);
        let post = owner.map(Arc::downgrade).unwrap_or_default();
        let comment = comment_map.entry(id).or_insert_with(|| shared(ObjComment { body, post }));
        if let Some(owner) = owner {
            read(owner).comments.push(comment.clone());
        }
    }
    users
}

/// Walks the objects down, locking each: the number of comments and the bytes of every name,
/// title and body.
pub(crate) fn walk_objects(users: &[Shared<ObjUser>]) -> (usize, usize) {
    let mut comments = 0;
    let mut bytes = 0;
    for u in users {
        let u = read(u);
        bytes += u.name.len();
        for p in &u.posts {
            let p = read(p);
            bytes += p.title.len();
            comments += p.comments.len();
            bytes += p.comments.iter().map(|c| read(c).body.len()).sum::<usize>();
        }
    }
    (comments, bytes)
}
