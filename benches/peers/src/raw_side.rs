//! The raw drivers: rusqlite on SQLite; sqlx on PostgreSQL and MariaDB, either on one held
//! connection (the floor) or through sqlx's own pool (what the async facade compares with). The
//! statements are those a careful hand-written program sends: one cached statement per lookup,
//! a multi-row `INSERT` on the servers, `IN (...)` or `= ANY($1)` for the tree's levels.
//!
//! **raw objects** is the same driver and statements, the rows made into the objects any
//! PonyORM-style session must hold and nothing more (see [`object_tree`]): the floor of nextorm's
//! sessions, which the report sets them against.

use crate::common_bench::floor::{self, Shared, read, shared};
use crate::common_bench::{BoxResult, within};
use crate::data::{NEW_USERS, TREE_USERS, inserted, new_user, user_id};
use crate::{Checksum, Library, Workload};
use sqlx::{AssertSqlSafe, Connection as _, Row as _};
use std::collections::HashMap;
use std::path::Path;
use tokio::runtime::Runtime;

/// The rows of the tree's three levels: users (id, name), posts (id, author, title), comments
/// (id, post, text).
pub(crate) struct RawTree {
    pub(crate) users: Vec<(i64, String)>,
    pub(crate) posts: Vec<(i64, i64, String)>,
    pub(crate) comments: Vec<(i64, i64, String)>,
}

struct TreeUser {
    name: String,
    posts: Vec<TreePost>,
}

struct TreePost {
    title: String,
    comments: Vec<String>,
}

/// Groups the three levels into a tree by hand and walks it: the comments and the bytes of
/// every name, title and text.
pub(crate) fn group_tree(rows: RawTree) -> Checksum {
    let mut by_post: HashMap<i64, Vec<String>> = HashMap::new();
    for (_, post, text) in rows.comments {
        by_post.entry(post).or_default().push(text);
    }
    let mut by_user: HashMap<i64, Vec<TreePost>> = HashMap::new();
    for (id, author, title) in rows.posts {
        let comments = by_post.remove(&id).unwrap_or_default();
        by_user.entry(author).or_default().push(TreePost { title, comments });
    }
    let tree: Vec<TreeUser> = rows
        .users
        .into_iter()
        .map(|(id, name)| TreeUser { name, posts: by_user.remove(&id).unwrap_or_default() })
        .collect();
    let (mut comments, mut bytes) = (0, 0);
    for u in &tree {
        bytes += u.name.len();
        for p in &u.posts {
            bytes += p.title.len();
            comments += p.comments.len();
            bytes += p.comments.iter().map(String::len).sum::<usize>();
        }
    }
    (comments, bytes)
}

/// The tree as the floor of a session holds it (see [`floor`], shared with the `prefetch` bench),
/// then walked as [`group_tree`] walks its own: each row one shared object, entered in its
/// entity's identity map by key, joined to its owner found by key, with links that outlive the
/// load (an owner holds its members, a member reaches its owner weakly, so the tree frees
/// itself). No change tracking, hooks or generic code. The rows are handed over in the floor's
/// order, (id, text, owner), without a copy.
pub(crate) fn object_tree(rows: RawTree) -> Checksum {
    let users = floor::objects(
        rows.users,
        rows.posts.into_iter().map(|(id, author, title)| (id, title, author)),
        rows.comments.into_iter().map(|(id, post, text)| (id, text, post)),
    );
    floor::walk_objects(&users)
}

/// The users as the floor of a session holds them: one shared object each, in an identity map by key.
fn user_objects(users: Vec<RawUser>) -> Checksum {
    let mut map: HashMap<i64, Shared<RawUser>> = HashMap::new();
    let objects: Vec<Shared<RawUser>> =
        users.into_iter().map(|u| map.entry(u.id).or_insert_with(|| shared(u)).clone()).collect();
    drop(map);
    (objects.len(), objects.iter().map(|u| read(u).name.len()).sum())
}

/// A user row as the raw drivers decode it (every column, as the ORMs decode them).
#[allow(dead_code, reason = "decoded for the cost of it; only the name is checked")]
struct RawUser {
    id: i64,
    name: String,
    hair_color: Option<String>,
}

fn user_names(users: &[RawUser]) -> Checksum {
    (users.len(), users.iter().map(|u| u.name.len()).sum())
}

/// `n` placeholders: `?, ?, ...` (`numbered`: `$1, $2, ...`), in groups of `per_row` in
/// parentheses when `per_row` is not 0.
fn placeholders(n: usize, per_row: usize, numbered: bool) -> String {
    let one = |i: usize| if numbered { format!("${}", i + 1) } else { "?".to_owned() };
    if per_row == 0 {
        return (0..n).map(one).collect::<Vec<_>>().join(", ");
    }
    (0..n / per_row)
        .map(|r| format!("({})", (0..per_row).map(|c| one(r * per_row + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The multi-row `INSERT` of the new users, with their keys returned.
fn multi_row_insert(numbered: bool) -> String {
    format!("INSERT INTO users (name, hair_color) VALUES {} RETURNING id", placeholders(NEW_USERS * 2, 2, numbered))
}

/// rusqlite on the same file as the others.
pub(crate) struct Rusqlite {
    c: rusqlite::Connection,
    /// Runs as **raw objects**: the reads only, into shared objects.
    objects: bool,
}

impl Rusqlite {
    pub(crate) fn open(path: &Path) -> BoxResult<Rusqlite> {
        let c = rusqlite::Connection::open(path)?;
        // What nextorm's SQLite connections run with.
        c.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")?;
        c.set_prepared_statement_cache_capacity(256);
        Ok(Rusqlite { c, objects: false })
    }

    /// The same, as **raw objects**.
    pub(crate) fn objects(path: &Path) -> BoxResult<Rusqlite> {
        Ok(Rusqlite { objects: true, ..Rusqlite::open(path)? })
    }

    fn decode(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawUser> {
        Ok(RawUser { id: r.get(0)?, name: r.get(1)?, hair_color: r.get(2)? })
    }

    fn insert(&mut self) -> rusqlite::Result<Checksum> {
        let tx = self.c.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO users (name, hair_color) VALUES (?, ?)")?;
            for k in 0..NEW_USERS {
                let (name, hair_color) = new_user(k);
                insert.execute((name, hair_color))?;
                std::hint::black_box(tx.last_insert_rowid());
            }
        }
        tx.commit()?;
        Ok(inserted())
    }

    fn tree(&self) -> rusqlite::Result<RawTree> {
        let c = &self.c;
        let users: Vec<(i64, String)> = c
            .prepare_cached("SELECT id, name FROM users WHERE id <= ?")?
            .query_map([TREE_USERS], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
        let sql =
            format!("SELECT id, author, title FROM posts WHERE author IN ({})", placeholders(ids.len(), 0, false));
        let posts: Vec<(i64, i64, String)> = c
            .prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(&ids), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let ids: Vec<i64> = posts.iter().map(|p| p.0).collect();
        let sql = format!("SELECT id, post, text FROM comments WHERE post IN ({})", placeholders(ids.len(), 0, false));
        let comments: Vec<(i64, i64, String)> = c
            .prepare_cached(&sql)?
            .query_map(rusqlite::params_from_iter(&ids), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(RawTree { users, posts, comments })
    }
}

impl Library for Rusqlite {
    fn name(&self) -> &'static str {
        if self.objects { "raw objects" } else { "rusqlite" }
    }

    fn run(&mut self, _rt: &Runtime, workload: Workload, n: usize) -> Option<BoxResult<Checksum>> {
        let c = &self.c;
        if self.objects {
            let out = match workload {
                Workload::AllUsers => c.prepare_cached("SELECT id, name, hair_color FROM users").and_then(|mut s| {
                    Ok(user_objects(s.query_map([], Self::decode)?.collect::<rusqlite::Result<Vec<_>>>()?))
                }),
                Workload::TreePrefetched => self.tree().map(object_tree),
                Workload::OneUser | Workload::Insert100 | Workload::TreeLazy => return None,
            };
            return Some(out.map_err(Into::into));
        }
        let out = match workload {
            Workload::OneUser => c
                .prepare_cached("SELECT id, name, hair_color FROM users WHERE id = ?")
                .and_then(|mut s| s.query_row([user_id(n)], Self::decode))
                .map(|u| (1, u.name.len())),
            Workload::AllUsers => c.prepare_cached("SELECT id, name, hair_color FROM users").and_then(|mut s| {
                let users = s.query_map([], Self::decode)?.collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(user_names(&users))
            }),
            Workload::Insert100 => self.insert(),
            Workload::TreePrefetched => self.tree().map(group_tree),
            Workload::TreeLazy => return None,
        };
        Some(out.map_err(Into::into))
    }
}

/// How the sqlx side reaches its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Drive {
    /// One connection held for the whole run: the floor.
    HeldConnection,
    /// sqlx's `Pool`, a checkout per operation, as an async application would use it.
    Pool,
}

enum SqlxConn {
    Postgres(sqlx::PgConnection),
    MariaDb(sqlx::MySqlConnection),
    PgPool(sqlx::PgPool),
    MariaDbPool(sqlx::MySqlPool),
}

/// sqlx on PostgreSQL or MariaDB, each call driven to completion by `block_on` on the bench's
/// current-thread runtime.
pub(crate) struct Sqlx {
    conn: SqlxConn,
    insert_sql: String,
    /// Runs as **raw objects**: the reads only, into shared objects.
    objects: bool,
}

impl Sqlx {
    pub(crate) fn open(rt: &Runtime, url: &str, drive: Drive) -> BoxResult<Sqlx> {
        let postgres = url.starts_with("postgres");
        let conn = rt.block_on(async {
            Ok::<_, Box<dyn std::error::Error>>(match (postgres, drive) {
                (true, Drive::HeldConnection) => SqlxConn::Postgres(within(sqlx::PgConnection::connect(url)).await?),
                (false, Drive::HeldConnection) => SqlxConn::MariaDb(within(sqlx::MySqlConnection::connect(url)).await?),
                (true, Drive::Pool) => SqlxConn::PgPool(within(sqlx::PgPool::connect(url)).await?),
                (false, Drive::Pool) => SqlxConn::MariaDbPool(within(sqlx::MySqlPool::connect(url)).await?),
            })
        })?;
        Ok(Sqlx { conn, insert_sql: multi_row_insert(postgres), objects: false })
    }

    /// One held connection, as **raw objects**.
    pub(crate) fn objects(rt: &Runtime, url: &str) -> BoxResult<Sqlx> {
        Ok(Sqlx { objects: true, ..Sqlx::open(rt, url, Drive::HeldConnection)? })
    }
}

impl Library for Sqlx {
    fn name(&self) -> &'static str {
        match self.conn {
            _ if self.objects => "raw objects",
            SqlxConn::Postgres(_) | SqlxConn::MariaDb(_) => "sqlx",
            SqlxConn::PgPool(_) | SqlxConn::MariaDbPool(_) => "sqlx pool",
        }
    }

    fn run(&mut self, rt: &Runtime, workload: Workload, n: usize) -> Option<BoxResult<Checksum>> {
        let objects = self.objects;
        if workload == Workload::TreeLazy || (objects && matches!(workload, Workload::OneUser | Workload::Insert100)) {
            return None;
        }
        let insert = self.insert_sql.as_str();
        let out = rt.block_on(async {
            match &mut self.conn {
                SqlxConn::Postgres(c) => postgres(c, workload, n, insert, objects).await,
                SqlxConn::MariaDb(c) => mariadb(c, workload, n, insert, objects).await,
                SqlxConn::PgPool(p) => postgres(&mut *p.acquire().await?, workload, n, insert, objects).await,
                SqlxConn::MariaDbPool(p) => mariadb(&mut *p.acquire().await?, workload, n, insert, objects).await,
            }
        });
        Some(out.map_err(Into::into))
    }
}

fn pg_user(r: sqlx::postgres::PgRow) -> sqlx::Result<RawUser> {
    Ok(RawUser { id: r.try_get(0)?, name: r.try_get(1)?, hair_color: r.try_get(2)? })
}

fn mariadb_user(r: sqlx::mysql::MySqlRow) -> sqlx::Result<RawUser> {
    Ok(RawUser { id: r.try_get(0)?, name: r.try_get(1)?, hair_color: r.try_get(2)? })
}

/// `workload` on PostgreSQL; `objects`: the reads into shared objects (**raw objects**).
async fn postgres(
    c: &mut sqlx::PgConnection,
    workload: Workload,
    n: usize,
    insert: &str,
    objects: bool,
) -> sqlx::Result<Checksum> {
    Ok(match workload {
        Workload::OneUser => {
            let u = sqlx::query("SELECT id, name, hair_color FROM users WHERE id = $1")
                .bind(user_id(n))
                .try_map(pg_user)
                .fetch_one(&mut *c)
                .await?;
            (1, u.name.len())
        }
        Workload::AllUsers => {
            let users =
                sqlx::query("SELECT id, name, hair_color FROM users").try_map(pg_user).fetch_all(&mut *c).await?;
            if objects { user_objects(users) } else { user_names(&users) }
        }
        Workload::Insert100 => {
            let mut tx = c.begin().await?;
            let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(insert.to_owned()));
            for k in 0..NEW_USERS {
                let (name, hair_color) = new_user(k);
                q = q.bind(name).bind(hair_color);
            }
            std::hint::black_box(q.fetch_all(&mut *tx).await?);
            tx.commit().await?;
            inserted()
        }
        Workload::TreePrefetched | Workload::TreeLazy => {
            let users: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, name FROM users WHERE id <= $1").bind(TREE_USERS).fetch_all(&mut *c).await?;
            let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
            let posts: Vec<(i64, i64, String)> =
                sqlx::query_as("SELECT id, author, title FROM posts WHERE author = ANY($1)")
                    .bind(&ids)
                    .fetch_all(&mut *c)
                    .await?;
            let ids: Vec<i64> = posts.iter().map(|p| p.0).collect();
            let comments: Vec<(i64, i64, String)> =
                sqlx::query_as("SELECT id, post, text FROM comments WHERE post = ANY($1)")
                    .bind(&ids)
                    .fetch_all(&mut *c)
                    .await?;
            let rows = RawTree { users, posts, comments };
            if objects { object_tree(rows) } else { group_tree(rows) }
        }
    })
}

/// `workload` on MariaDB; `objects`: the reads into shared objects (**raw objects**).
async fn mariadb(
    c: &mut sqlx::MySqlConnection,
    workload: Workload,
    n: usize,
    insert: &str,
    objects: bool,
) -> sqlx::Result<Checksum> {
    Ok(match workload {
        Workload::OneUser => {
            let u = sqlx::query("SELECT id, name, hair_color FROM users WHERE id = ?")
                .bind(user_id(n))
                .try_map(mariadb_user)
                .fetch_one(&mut *c)
                .await?;
            (1, u.name.len())
        }
        Workload::AllUsers => {
            let users =
                sqlx::query("SELECT id, name, hair_color FROM users").try_map(mariadb_user).fetch_all(&mut *c).await?;
            if objects { user_objects(users) } else { user_names(&users) }
        }
        Workload::Insert100 => {
            let mut tx = c.begin().await?;
            let mut q = sqlx::query_scalar::<_, i64>(AssertSqlSafe(insert.to_owned()));
            for k in 0..NEW_USERS {
                let (name, hair_color) = new_user(k);
                q = q.bind(name).bind(hair_color);
            }
            std::hint::black_box(q.fetch_all(&mut *tx).await?);
            tx.commit().await?;
            inserted()
        }
        Workload::TreePrefetched | Workload::TreeLazy => {
            let users: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, name FROM users WHERE id <= ?").bind(TREE_USERS).fetch_all(&mut *c).await?;
            let sql = format!(
                "SELECT id, author, title FROM posts WHERE author IN ({})",
                placeholders(users.len(), 0, false)
            );
            let mut q = sqlx::query_as(AssertSqlSafe(sql));
            for u in &users {
                q = q.bind(u.0);
            }
            let posts: Vec<(i64, i64, String)> = q.fetch_all(&mut *c).await?;
            let sql =
                format!("SELECT id, post, text FROM comments WHERE post IN ({})", placeholders(posts.len(), 0, false));
            let mut q = sqlx::query_as(AssertSqlSafe(sql));
            for p in &posts {
                q = q.bind(p.0);
            }
            let comments: Vec<(i64, i64, String)> = q.fetch_all(&mut *c).await?;
            let rows = RawTree { users, posts, comments };
            if objects { object_tree(rows) } else { group_tree(rows) }
        }
    })
}
