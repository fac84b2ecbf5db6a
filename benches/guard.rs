//! The hot paths the regression guard (`benches/guard.sh`) counts instructions of under
//! callgrind: one case per run, named by `NEXTORM_BENCH_GUARD`, run `NEXTORM_BENCH_REPEAT` times
//! after its set-up and one warm-up run (so that what is counted is the steady state, caches
//! filled). The guard runs each case with 0 and 10 repeats: the difference over 10 is one
//! operation, set-up and process start cancelling out. SQLite in memory; no timing.
//!
//! ```text
//! NEXTORM_BENCH_GUARD=decode_1000_rows NEXTORM_BENCH_REPEAT=10 \
//!     valgrind --tool=callgrind target/release/deps/guard-*
//! ```
//!
//! Cases:
//! - `select_render_bind`: a `select!` call site whose SQL is cached, rendered to its statement
//!   and binds for SQLite (no IO);
//! - `decode_1000_rows`: 1,000 rows of five columns into plain structs (`fetch_all` on a
//!   `Database`);
//! - `flush_100_changes`: a session loads 100 objects, changes one field of each and commits
//!   (100 UPDATEs with the optimistic check);
//! - `session_load_1000_rows`: the same 1,000 rows loaded into a session as objects (the
//!   identity map, change tracking), read, and the session ended;
//! - `lazy_walk`: a session walks 20 users → 5 posts each → 5 comments each by lazy navigation
//!   (`u.posts().load(s)`, `p.comments().load(s)`);
//! - `prefetch_tree`: the same tree loaded with `prefetch(|u| u.posts.comments)` in a session
//!   and walked after it ends (the links the objects keep).

use nextorm::prelude::*;
use nextorm::{Dialect, Set, Single};
use std::hint::black_box;

/// An item of the decode and flush cases.
#[derive(Entity, Debug, Clone, PartialEq)]
struct Item {
    #[pk]
    id: i64,
    #[orm(max_len = 64)]
    name: String,
    price: f64,
    qty: i32,
    note: Option<String>,
}

/// A user of the lazy walk.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "guard_user")]
struct User {
    #[pk]
    id: i64,
    #[orm(max_len = 40)]
    name: String,
    posts: Set<Post>,
}

/// A post of the lazy walk.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "guard_post")]
struct Post {
    #[pk]
    id: i64,
    #[orm(max_len = 80)]
    title: String,
    author: Single<User>,
    comments: Set<Comment>,
}

/// A comment of the lazy walk.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "guard_comment")]
struct Comment {
    #[pk]
    id: i64,
    #[orm(max_len = 120)]
    body: String,
    post: Single<Post>,
}

const ITEMS: i64 = 1_000;
const USERS: usize = 20;
const POSTS_PER_USER: usize = 5;
const COMMENTS_PER_POST: usize = 5;

fn open() -> Database {
    let db = Database::open("sqlite::memory:").expect("guard: open SQLite in memory");
    db.generate_mapping(CreateTables::Yes).expect("guard: create the tables");
    db
}

fn seed_items(db: &Database) {
    db.transaction(|tx| {
        for i in 0..ITEMS {
            tx.insert(&mut Item { id: 0, name: format!("item {i}"), price: i as f64, qty: 1, note: None })?;
        }
        Ok(())
    })
    .expect("guard: seed items");
}

fn seed_tree(db: &Database) {
    db.session(|s| {
        for u in 0..USERS {
            let user = s.create(User { id: 0, name: format!("user {u}"), posts: Set::new() })?;
            for p in 0..POSTS_PER_USER {
                let post = s.create(Post {
                    id: 0,
                    title: format!("post {p} of user {u}"),
                    author: Single::from(&user),
                    comments: Set::new(),
                })?;
                for c in 0..COMMENTS_PER_POST {
                    s.create(Comment { id: 0, body: format!("comment {c} on post {p}"), post: Single::from(&post) })?;
                }
            }
        }
        Ok(())
    })
    .expect("guard: seed the tree");
}

/// A case: its set-up, then the operation it counts.
fn case(name: &str) -> Box<dyn FnMut(usize)> {
    match name {
        "select_render_bind" => Box::new(|n| {
            let (low, prefix) = (n as i64, "item");
            let q = select!(i for i in Item if i.id > low && i.name.starts_with(prefix) && i.note.is_none());
            black_box(q.statement(Dialect::Sqlite));
        }),
        "decode_1000_rows" => {
            let db = open();
            seed_items(&db);
            Box::new(move |_| {
                let rows = select!(i for i in Item).fetch_all(&db).expect("guard: decode");
                assert_eq!(rows.len(), ITEMS as usize);
                black_box(rows);
            })
        }
        "session_load_1000_rows" => {
            let db = open();
            seed_items(&db);
            Box::new(move |_| {
                let bytes = db
                    .session(|s| {
                        Ok(select!(i for i in Item).fetch_all(s)?.iter().map(|i| i.name().len()).sum::<usize>())
                    })
                    .expect("guard: session load");
                black_box(bytes);
            })
        }
        "flush_100_changes" => {
            let db = open();
            seed_items(&db);
            Box::new(move |n| {
                db.session(|s| {
                    for item in select!(i for i in Item if i.id <= 100).fetch_all(s)? {
                        item.set_qty(n as i32 + 2)?;
                    }
                    Ok(())
                })
                .expect("guard: flush");
            })
        }
        "lazy_walk" => {
            let db = open();
            seed_tree(&db);
            Box::new(move |_| {
                let comments = db
                    .session(|s| {
                        let mut comments = 0;
                        for u in select!(u for u in User).fetch_all(s)? {
                            for p in u.posts().load(s)? {
                                comments += p.comments().load(s)?.len();
                            }
                        }
                        Ok(comments)
                    })
                    .expect("guard: lazy walk");
                assert_eq!(comments, USERS * POSTS_PER_USER * COMMENTS_PER_POST);
            })
        }
        "prefetch_tree" => {
            let db = open();
            seed_tree(&db);
            Box::new(move |_| {
                let users = db
                    .session(|s| select!(u for u in User).prefetch(|u| u.posts.comments).fetch_all(s))
                    .expect("guard: prefetch");
                let mut comments = 0;
                for u in &users {
                    for p in u.posts().loaded().expect("guard: posts prefetched") {
                        comments += p.comments().loaded().expect("guard: comments prefetched").len();
                    }
                }
                assert_eq!(comments, USERS * POSTS_PER_USER * COMMENTS_PER_POST);
            })
        }
        other => panic!("NEXTORM_BENCH_GUARD={other:?}: not a case (see the list at the top of benches/guard.rs)"),
    }
}

fn main() {
    let name = std::env::var("NEXTORM_BENCH_GUARD").unwrap_or_default();
    if name.is_empty() {
        // `cargo bench` runs every bench target: this one counts only under the guard script.
        eprintln!("guard: set NEXTORM_BENCH_GUARD and NEXTORM_BENCH_REPEAT (see benches/guard.sh)");
        return;
    }
    let repeat: usize = std::env::var("NEXTORM_BENCH_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .expect("guard: NEXTORM_BENCH_REPEAT must be a count");
    let mut op = case(&name);
    op(0);
    for n in 1..=repeat {
        op(n);
    }
}
