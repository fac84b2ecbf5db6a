//! nextorm four ways: plain structs and objects in a session, each on the blocking `Database`
//! and on the async facade (driven by `block_on` per call, as the other async libraries are).

use crate::common_bench::BoxResult;
use crate::data::{
    Comment, CommentObj, NEW_USERS, Post, PostObj, TREE_USERS, User, UserObj, inserted, new_user, user_id,
};
use crate::raw_side::{RawTree, group_tree};
use crate::{Checksum, Library, Workload};
use nextorm::{AsyncDatabase, Database, Handle, Set, select};
use std::rc::Rc;
use tokio::runtime::Runtime;

fn new_users() -> impl Iterator<Item = User> {
    (0..NEW_USERS).map(|k| {
        let (name, hair_color) = new_user(k);
        User { id: 0, name, hair_color, posts: Set::new() }
    })
}

fn names(users: &[User]) -> Checksum {
    (users.len(), users.iter().map(|u| u.name.len()).sum())
}

fn handle_names(users: &[Handle<User>]) -> Checksum {
    (users.len(), users.iter().map(|u| u.name().len()).sum())
}

/// Walks a prefetched tree after its session.
fn walk_loaded(users: &[Handle<User>]) -> BoxResult<Checksum> {
    let (mut comments, mut bytes) = (0, 0);
    for u in users {
        bytes += u.name().len();
        for p in u.posts().loaded()? {
            bytes += p.title().len();
            for c in p.comments().loaded()? {
                comments += 1;
                bytes += c.text().len();
            }
        }
    }
    Ok((comments, bytes))
}

/// The plain tree's three levels grouped by hand, as with a raw driver.
fn group_levels(users: Vec<User>, posts: Vec<Post>, comments: Vec<Comment>) -> Checksum {
    group_tree(RawTree {
        users: users.into_iter().map(|u| (u.id, u.name)).collect(),
        posts: posts.into_iter().map(|p| (p.id, p.author.key(), p.title)).collect(),
        comments: comments.into_iter().map(|c| (c.id, c.post.key(), c.text)).collect(),
    })
}

fn ids_of<T>(rows: &[T], id: impl Fn(&T) -> i64) -> Vec<i64> {
    rows.iter().map(id).collect()
}

/// `select!` into plain structs on the blocking `Database`; the tree is three `select!`s
/// grouped by hand, as with a raw driver.
pub(crate) struct Plain(pub(crate) Rc<Database>);

impl Plain {
    fn tree(&self) -> nextorm::Result<Checksum> {
        let db = &*self.0;
        let users = select!(u for u in User if u.id <= TREE_USERS).fetch_all(db)?;
        let ids = ids_of(&users, |u| u.id);
        let posts = select!(p for p in Post if p.author.id.is_in(&ids)).fetch_all(db)?;
        let ids = ids_of(&posts, |p| p.id);
        let comments = select!(c for c in Comment if c.post.id.is_in(&ids)).fetch_all(db)?;
        Ok(group_levels(users, posts, comments))
    }
}

impl Library for Plain {
    fn name(&self) -> &'static str {
        "nextorm"
    }

    fn run(&mut self, _rt: &Runtime, workload: Workload, n: usize) -> Option<BoxResult<Checksum>> {
        let db = &*self.0;
        let out = match workload {
            Workload::OneUser => db.by_pk::<User>(&user_id(n)).map(|u| (1, u.name.len())),
            Workload::AllUsers => select!(u for u in User).fetch_all(db).map(|u| names(&u)),
            Workload::Insert100 => db.transaction(|tx| {
                tx.insert_many(&mut new_users().collect::<Vec<_>>())?;
                Ok(inserted())
            }),
            Workload::TreePrefetched => self.tree(),
            Workload::TreeLazy => return None,
        };
        Some(out.map_err(Into::into))
    }
}

/// Objects in a session (`Database::session`): the identity map, change tracking, `prefetch`
/// and lazy navigation.
pub(crate) struct InSession(pub(crate) Rc<Database>);

impl Library for InSession {
    fn name(&self) -> &'static str {
        "nextorm session"
    }

    fn run(&mut self, _rt: &Runtime, workload: Workload, n: usize) -> Option<BoxResult<Checksum>> {
        let db = &*self.0;
        let out = match workload {
            Workload::OneUser => db.session(|s| s.by_pk::<User>(&user_id(n)).map(|u| (1, u.name().len()))),
            Workload::AllUsers => db.session(|s| select!(u for u in User).fetch_all(s).map(|u| handle_names(&u))),
            Workload::Insert100 => db.session(|s| {
                for user in new_users() {
                    s.create(user)?;
                }
                Ok(inserted())
            }),
            Workload::TreePrefetched => {
                let users = db.session(|s| {
                    select!(u for u in User if u.id <= TREE_USERS).prefetch(|u| u.posts.comments).fetch_all(s)
                });
                return Some(users.map_err(Into::into).and_then(|users| walk_loaded(&users)));
            }
            Workload::TreeLazy => db.session(|s| {
                let (mut comments, mut bytes) = (0, 0);
                for u in select!(u for u in User if u.id <= TREE_USERS).fetch_all(s)? {
                    bytes += u.name().len();
                    for p in u.posts().load(s)? {
                        bytes += p.title().len();
                        for c in p.comments().load(s)? {
                            comments += 1;
                            bytes += c.text().len();
                        }
                    }
                }
                Ok((comments, bytes))
            }),
        };
        Some(out.map_err(Into::into))
    }
}

/// The `AsyncDatabase` both async libraries share.
pub(crate) fn open_async(rt: &Runtime, url: &str) -> BoxResult<Rc<AsyncDatabase>> {
    Ok(Rc::new(rt.block_on(AsyncDatabase::open(url))?))
}

/// The async facade with plain structs, as [`Plain`]; the report sets it against sqlx's own
/// pool driven the same way.
pub(crate) struct Async(pub(crate) Rc<AsyncDatabase>);

impl Async {
    async fn tree(&self) -> nextorm::Result<Checksum> {
        let db = &*self.0;
        let users = select!(u for u in User if u.id <= TREE_USERS).fetch_all(db).await?;
        let ids = ids_of(&users, |u| u.id);
        let posts = select!(p for p in Post if p.author.id.is_in(&ids)).fetch_all(db).await?;
        let ids = ids_of(&posts, |p| p.id);
        let comments = select!(c for c in Comment if c.post.id.is_in(&ids)).fetch_all(db).await?;
        Ok(group_levels(users, posts, comments))
    }
}

impl Library for Async {
    fn name(&self) -> &'static str {
        "nextorm async"
    }

    fn run(&mut self, rt: &Runtime, workload: Workload, n: usize) -> Option<BoxResult<Checksum>> {
        let db = &*self.0;
        let out = match workload {
            Workload::OneUser => rt.block_on(db.by_pk::<User>(&user_id(n))).map(|u| (1, u.name.len())),
            Workload::AllUsers => rt.block_on(select!(u for u in User).fetch_all(db)).map(|u| names(&u)),
            Workload::Insert100 => rt.block_on(db.transaction(async |tx| {
                tx.insert_many(&mut new_users().collect::<Vec<_>>()).await?;
                Ok(inserted())
            })),
            Workload::TreePrefetched => rt.block_on(self.tree()),
            Workload::TreeLazy => return None,
        };
        Some(out.map_err(Into::into))
    }
}

/// Objects in a session of the async facade, as [`InSession`].
pub(crate) struct AsyncSession(pub(crate) Rc<AsyncDatabase>);

impl Library for AsyncSession {
    fn name(&self) -> &'static str {
        "nextorm async session"
    }

    fn run(&mut self, rt: &Runtime, workload: Workload, n: usize) -> Option<BoxResult<Checksum>> {
        let db = &*self.0;
        let out = match workload {
            Workload::OneUser => {
                rt.block_on(db.session(async |s| s.by_pk::<User>(&user_id(n)).await.map(|u| (1, u.name().len()))))
            }
            Workload::AllUsers => rt
                .block_on(db.session(async |s| select!(u for u in User).fetch_all(&s).await.map(|u| handle_names(&u)))),
            Workload::Insert100 => rt.block_on(db.session(async |s| {
                for user in new_users() {
                    s.create(user).await?;
                }
                Ok(inserted())
            })),
            Workload::TreePrefetched => {
                let users = rt.block_on(db.session(async |s| {
                    select!(u for u in User if u.id <= TREE_USERS).prefetch(|u| u.posts.comments).fetch_all(&s).await
                }));
                return Some(users.map_err(Into::into).and_then(|users| walk_loaded(&users)));
            }
            Workload::TreeLazy => rt.block_on(db.session(async |s| {
                let (mut comments, mut bytes) = (0, 0);
                for u in select!(u for u in User if u.id <= TREE_USERS).fetch_all(&s).await? {
                    bytes += u.name().len();
                    for p in u.posts().load(&s).await? {
                        bytes += p.title().len();
                        for c in p.comments().load(&s).await? {
                            comments += 1;
                            bytes += c.text().len();
                        }
                    }
                }
                Ok((comments, bytes))
            })),
        };
        Some(out.map_err(Into::into))
    }
}
