//! The data every library reads: 10,000 users, the first 100 with 10 posts each and every post
//! with 10 comments, written once by nextorm's mapping into a fresh database; and the set of
//! libraries each database is measured with.

use crate::common_bench::{BoxResult, DropOnExit, scratch_mariadb, scratch_postgres};
use crate::{Checksum, Library, diesel_side, measure, nextorm_side, raw_side, seaorm_side};
use nextorm::{CreateTables, Database, Entity, Set, Single};
use std::rc::Rc;
use tokio::runtime::Runtime;

/// Users in the table.
pub(crate) const USERS: i64 = 10_000;
/// Users with posts: the root of the tree.
pub(crate) const TREE_USERS: i64 = 100;
/// Posts per user of the tree.
pub(crate) const POSTS_PER_USER: i64 = 10;
/// Comments per post.
pub(crate) const COMMENTS_PER_POST: i64 = 10;
/// Rows the insert workload adds each time.
pub(crate) const NEW_USERS: usize = 100;

/// A user.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "users")]
pub(crate) struct User {
    #[pk]
    pub(crate) id: i64,
    #[orm(max_len = 64)]
    pub(crate) name: String,
    #[orm(max_len = 16)]
    pub(crate) hair_color: Option<String>,
    pub(crate) posts: Set<Post>,
}

/// A post, by a user.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "posts")]
pub(crate) struct Post {
    #[pk]
    pub(crate) id: i64,
    pub(crate) author: Single<User>,
    #[orm(max_len = 64)]
    pub(crate) title: String,
    #[orm(max_len = 200)]
    pub(crate) body: Option<String>,
    pub(crate) comments: Set<Comment>,
}

/// A comment on a post.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "comments")]
pub(crate) struct Comment {
    #[pk]
    pub(crate) id: i64,
    pub(crate) post: Single<Post>,
    #[orm(max_len = 200)]
    pub(crate) text: String,
}

/// The user the `n`th lookup asks for: spread over the table.
pub(crate) fn user_id(n: usize) -> i64 {
    (n as i64 * 7_919) % USERS + 1
}

/// The name and hair colour of the `k`th new user of an insert.
pub(crate) fn new_user(k: usize) -> (String, Option<String>) {
    (format!("new user {k}"), k.is_multiple_of(2).then(|| "brown".to_owned()))
}

/// What an insert of [`NEW_USERS`] returns.
pub(crate) fn inserted() -> Checksum {
    (NEW_USERS, (0..NEW_USERS).map(|k| new_user(k).0.len()).sum())
}

/// Removes what the insert workload added (outside the clock).
pub(crate) const DELETE_NEW_USERS: &str = "DELETE FROM users WHERE id > 10000";

fn seed(db: &Database) -> nextorm::Result<()> {
    db.generate_mapping(CreateTables::Yes)?;
    db.transaction(|tx| {
        for u in 1..=USERS {
            let hair_color = (u % 2 == 0).then(|| "black".to_owned());
            tx.insert(&mut User { id: 0, name: format!("User {u}"), hair_color, posts: Set::new() })?;
        }
        for u in 1..=TREE_USERS {
            for p in 0..POSTS_PER_USER {
                let body = (p % 2 == 0).then(|| format!("The body of post {p}"));
                let mut post = Post {
                    id: 0,
                    author: Single::new(u),
                    title: format!("Post {p} by user {u}"),
                    body,
                    comments: Set::new(),
                };
                tx.insert(&mut post)?;
                for c in 0..COMMENTS_PER_POST {
                    let text = format!("Comment {c} on post {}", post.id);
                    tx.insert(&mut Comment { id: 0, post: Single::new(post.id), text })?;
                }
            }
        }
        Ok(())
    })
}

/// Removes the SQLite file and its WAL at the end.
struct RemoveFile(std::path::PathBuf);

impl Drop for RemoveFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// SQLite in a file on a RAM disk where there is one (`/dev/shm`), so that every library's
/// connection sees the same rows and a commit waits for no disk.
pub(crate) fn sqlite_bench(rt: &Runtime) -> BoxResult<()> {
    let dir = std::path::Path::new("/dev/shm");
    let dir = if dir.is_dir() { dir.to_path_buf() } else { std::env::temp_dir() };
    let file = RemoveFile(dir.join(format!("nextorm_peers_{}.db", std::process::id())));
    drop(RemoveFile(file.0.clone()));
    let url = format!("sqlite://{}", file.0.display());
    let db = Rc::new(Database::open(&url)?);
    seed(&db)?;
    let raw = rusqlite::Connection::open(&file.0)?;
    let version: String = raw.query_row("SELECT sqlite_version()", [], |r| r.get(0))?;
    println!("server\tsqlite\tSQLite {version}");
    let adb = nextorm_side::open_async(rt, &url)?;
    let mut libs: Vec<Box<dyn Library>> = vec![
        Box::new(raw_side::Rusqlite::open(&file.0)?),
        Box::new(raw_side::Rusqlite::objects(&file.0)?),
        Box::new(nextorm_side::Plain(db.clone())),
        Box::new(nextorm_side::InSession(db)),
        Box::new(nextorm_side::Async(adb.clone())),
        Box::new(nextorm_side::AsyncSession(adb)),
        Box::new(diesel_side::Sqlite::open(&file.0)?),
        Box::new(seaorm_side::SeaOrm::open(rt, &format!("sqlite://{}?mode=rw", file.0.display()))?),
    ];
    measure(rt, "sqlite", &mut libs, || Ok(raw.execute_batch(DELETE_NEW_USERS)?))?;
    drop(libs);
    drop(raw);
    drop(file);
    Ok(())
}

/// PostgreSQL in a scratch schema, dropped at the end.
pub(crate) fn postgres_bench(rt: &Runtime) -> BoxResult<()> {
    let (guard, url) = scratch_postgres(rt)?;
    let outcome = server_bench(rt, "postgres", &url, &guard);
    drop(guard);
    outcome
}

/// MariaDB in a scratch database, dropped at the end.
pub(crate) fn mariadb_bench(rt: &Runtime) -> BoxResult<()> {
    let (guard, url) = scratch_mariadb(rt)?;
    let outcome = server_bench(rt, "mariadb", &url, &guard);
    drop(guard);
    outcome
}

fn server_bench(rt: &Runtime, database: &str, url: &str, _guard: &DropOnExit) -> BoxResult<()> {
    let db = Rc::new(Database::open(url)?);
    seed(&db)?;
    let version: String = db.get("SELECT version()", ())?;
    println!("server\t{database}\t{version}");
    let postgres = database == "postgres";
    let adb = nextorm_side::open_async(rt, url)?;
    let mut libs: Vec<Box<dyn Library>> = vec![
        Box::new(raw_side::Sqlx::open(rt, url, raw_side::Drive::HeldConnection)?),
        Box::new(raw_side::Sqlx::open(rt, url, raw_side::Drive::Pool)?),
        Box::new(raw_side::Sqlx::objects(rt, url)?),
        Box::new(nextorm_side::Plain(db.clone())),
        Box::new(nextorm_side::InSession(db.clone())),
        Box::new(nextorm_side::Async(adb.clone())),
        Box::new(nextorm_side::AsyncSession(adb)),
    ];
    if postgres {
        libs.push(Box::new(diesel_side::Postgres::open(url)?));
    }
    libs.push(Box::new(seaorm_side::SeaOrm::open(rt, url)?));
    measure(rt, database, &mut libs, || Ok(db.execute(DELETE_NEW_USERS, ()).map(drop)?))?;
    drop(libs);
    Ok(())
}
