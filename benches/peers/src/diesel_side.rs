//! Diesel on SQLite and PostgreSQL (libpq), written as Diesel's guide writes it: `find`,
//! `load`, one `insert_into(..).values(&vec)`, and `belonging_to` + `grouped_by` for the tree.

use crate::common_bench::BoxResult;
use crate::data::{NEW_USERS, TREE_USERS, inserted, new_user, user_id};
use crate::{Checksum, Library, Workload};
use diesel::prelude::*;
use std::path::Path;
use tokio::runtime::Runtime;

mod schema {
    diesel::table! {
        users (id) {
            id -> BigInt,
            name -> Text,
            hair_color -> Nullable<Text>,
        }
    }

    diesel::table! {
        posts (id) {
            id -> BigInt,
            author -> BigInt,
            title -> Text,
            body -> Nullable<Text>,
        }
    }

    diesel::table! {
        comments (id) {
            id -> BigInt,
            post -> BigInt,
            text -> Text,
        }
    }

    diesel::joinable!(posts -> users (author));
    diesel::joinable!(comments -> posts (post));
    diesel::allow_tables_to_appear_in_same_query!(users, posts, comments);
}

use schema::{comments, posts, users};

#[derive(Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
struct User {
    id: i64,
    name: String,
    #[allow(dead_code, reason = "decoded for the cost of it")]
    hair_color: Option<String>,
}

#[derive(Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = posts, belongs_to(User, foreign_key = author))]
struct Post {
    id: i64,
    author: i64,
    title: String,
    #[allow(dead_code, reason = "decoded for the cost of it")]
    body: Option<String>,
}

#[derive(Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = comments, belongs_to(Post, foreign_key = post))]
struct Comment {
    id: i64,
    post: i64,
    text: String,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUser {
    name: String,
    hair_color: Option<String>,
}

fn names(users: &[User]) -> Checksum {
    (users.len(), users.iter().map(|u| u.name.len()).sum())
}

/// Diesel's tree: each user with its posts, each post with its comments (`grouped_by`).
type Tree = Vec<(User, Vec<(Post, Vec<Comment>)>)>;

fn walk(tree: &Tree) -> Checksum {
    let (mut comments, mut bytes) = (0, 0);
    for (u, posts) in tree {
        bytes += u.name.len();
        for (p, cs) in posts {
            bytes += p.title.len();
            comments += cs.len();
            bytes += cs.iter().map(|c| c.text.len()).sum::<usize>();
        }
    }
    // The ids tie the levels together; reading them keeps every field used.
    debug_assert!(
        tree.iter()
            .all(|(u, ps)| ps.iter().all(|(p, cs)| p.author == u.id && cs.iter().all(|c| c.post == p.id && c.id > 0)))
    );
    (comments, bytes)
}

/// The workloads, written once for both connections (Diesel's query types are per backend).
macro_rules! diesel_library {
    ($ty:ident) => {
        impl Library for $ty {
            fn name(&self) -> &'static str {
                "Diesel"
            }

            fn run(&mut self, _rt: &Runtime, workload: Workload, n: usize) -> Option<BoxResult<Checksum>> {
                let c = &mut self.0;
                let out: QueryResult<Checksum> = match workload {
                    Workload::OneUser => {
                        users::table.find(user_id(n)).select(User::as_select()).first(c).map(|u| (1, u.name.len()))
                    }
                    Workload::AllUsers => users::table.select(User::as_select()).load(c).map(|u| names(&u)),
                    Workload::Insert100 => c.transaction(|c| {
                        let rows: Vec<NewUser> = (0..NEW_USERS)
                            .map(|k| {
                                let (name, hair_color) = new_user(k);
                                NewUser { name, hair_color }
                            })
                            .collect();
                        diesel::insert_into(users::table).values(&rows).execute(c)?;
                        Ok(inserted())
                    }),
                    Workload::TreePrefetched => (|| -> QueryResult<Checksum> {
                        let users = users::table.filter(users::id.le(TREE_USERS)).select(User::as_select()).load(c)?;
                        let posts = Post::belonging_to(&users).select(Post::as_select()).load(c)?;
                        let comments = Comment::belonging_to(&posts).select(Comment::as_select()).load(c)?;
                        let comments = comments.grouped_by(&posts);
                        let posts = posts.into_iter().zip(comments).grouped_by(&users);
                        let tree: Vec<_> = users.into_iter().zip(posts).collect();
                        Ok(walk(&tree))
                    })(),
                    Workload::TreeLazy => return None,
                };
                Some(out.map_err(Into::into))
            }
        }
    };
}

/// Diesel's `SqliteConnection` on the shared file.
pub(crate) struct Sqlite(SqliteConnection);

impl Sqlite {
    pub(crate) fn open(path: &Path) -> BoxResult<Sqlite> {
        let mut c = SqliteConnection::establish(&path.display().to_string())?;
        // What nextorm's SQLite connections run with.
        diesel::sql_query("PRAGMA synchronous = NORMAL").execute(&mut c)?;
        diesel::sql_query("PRAGMA foreign_keys = ON").execute(&mut c)?;
        Ok(Sqlite(c))
    }
}

diesel_library!(Sqlite);

/// Diesel's `PgConnection` (libpq) on the scratch schema.
pub(crate) struct Postgres(PgConnection);

impl Postgres {
    pub(crate) fn open(url: &str) -> BoxResult<Postgres> {
        Ok(Postgres(PgConnection::establish(url)?))
    }
}

diesel_library!(Postgres);
