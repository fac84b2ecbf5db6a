//! Loading 100 users with their posts and comments, three levels: nextorm's
//! `select!(u for u in User).prefetch(|u| u.posts.comments)` in a session (one query per level;
//! the objects are read after the session ends), the same tree walked lazily in the session
//! (`for p in u.posts().load(s)? { p.comments().load(s)? }`, which N+1 batching makes one query
//! per level too), against the raw driver sending the same three queries and grouping the rows
//! itself (rusqlite for SQLite, sqlx on one held connection for PostgreSQL and MariaDB), and the
//! same rows made into shared objects (`raw_objects`: the floor of any identity-mapped session,
//! see [`floor::objects`]). Every side walks every user, post and comment.
//!
//! ```text
//! cargo bench --bench prefetch --all-features
//! ```
//!
//! 100 users, 10 posts each, 10 comments per post (Diesel's `diesel_bench` tree): 100 + 1,000 +
//! 10,000 rows. `NEXTORM_BENCH_SCALE=k` seeds k times the users. The raw side's
//! statements are the ones a careful hand-written program sends: `IN (?, ?, ...)` on SQLite and
//! MariaDB, `= ANY($1)` with an array on PostgreSQL (nextorm binds a list this long as one value
//! too). Servers as in the `foundation` bench; one that does not answer is skipped with a message.

use criterion::Criterion;
use nextorm::{AsyncDatabase, CreateTables, Database, Entity, Handle, Set, Single, select};
use sqlx::{Connection as _, Row as _};
use std::collections::HashMap;
use std::time::Duration;
use tokio::runtime::Runtime;

mod common;
use common::floor::{self, ObjUser, Shared, walk_objects};
use common::{BoxResult, DropOnExit, Side, runtime, scratch_mariadb, scratch_postgres, timed, total};

/// A user, with their posts.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "bench_user")]
struct User {
    #[pk]
    id: i64,
    #[orm(max_len = 40)]
    name: String,
    posts: Set<Post>,
}

/// A post, with its comments.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "bench_post")]
struct Post {
    #[pk]
    id: i64,
    #[orm(max_len = 80)]
    title: String,
    author: Single<User>,
    comments: Set<Comment>,
}

/// A comment.
#[derive(Entity, Debug, Clone, PartialEq)]
#[orm(table = "bench_comment")]
struct Comment {
    #[pk]
    id: i64,
    #[orm(max_len = 200)]
    body: String,
    post: Single<Post>,
}

const USERS: usize = 100;
const POSTS_PER_USER: usize = 10;
const COMMENTS_PER_POST: usize = 10;

/// How many times [`USERS`] the bench seeds (`NEXTORM_BENCH_SCALE`, default 1).
fn scale() -> usize {
    std::env::var("NEXTORM_BENCH_SCALE").map_or(1, |k| {
        k.parse().ok().filter(|&k| k > 0).unwrap_or_else(|| panic!("NEXTORM_BENCH_SCALE={k:?} is not a count"))
    })
}

fn users() -> usize {
    USERS * scale()
}

fn comments() -> usize {
    users() * POSTS_PER_USER * COMMENTS_PER_POST
}

/// What both sides compute from the tree: the number of comments and the bytes of every text.
fn sum_of(texts: impl Iterator<Item = usize>) -> usize {
    texts.sum()
}

// ---------------------------------------------------------------------------------------------
// nextorm: one query per level, read after the session.

fn walk(users: &[Handle<User>]) -> (usize, usize) {
    let mut comments = 0;
    let mut bytes = 0;
    for u in users {
        bytes += u.name().len();
        for p in u.posts().loaded().expect("posts prefetched") {
            bytes += p.title().len();
            let cs = p.comments().loaded().expect("comments prefetched");
            comments += cs.len();
            bytes += sum_of(cs.iter().map(|c| c.body().len()));
        }
    }
    (comments, bytes)
}

fn nextorm_sync(db: &Database) -> (usize, usize) {
    let users = db
        .session(|s| select!(u for u in User).prefetch(|u| u.posts.comments).fetch_all(s))
        .expect("nextorm_sync: prefetch");
    walk(&users)
}

fn nextorm_async(rt: &Runtime, db: &AsyncDatabase) -> (usize, usize) {
    let users = rt
        .block_on(db.session(async |s| select!(u for u in User).prefetch(|u| u.posts.comments).fetch_all(&s).await))
        .expect("nextorm_async: prefetch");
    walk(&users)
}

// ---------------------------------------------------------------------------------------------
// nextorm: the same tree by lazy navigation in the session.

/// Never inlined: the complexity guard counts the instructions of this function alone (named
/// exactly: callgrind's `--toggle-collect` flips at every matching entry, closures included).
#[inline(never)]
fn lazy_walk_sync(db: &Database) -> (usize, usize) {
    db.session(|s| {
        let mut comments = 0;
        let mut bytes = 0;
        for u in select!(u for u in User).fetch_all(s)? {
            bytes += u.name().len();
            for p in u.posts().load(s)? {
                bytes += p.title().len();
                let cs = p.comments().load(s)?;
                comments += cs.len();
                bytes += sum_of(cs.iter().map(|c| c.body().len()));
            }
        }
        Ok((comments, bytes))
    })
    .expect("nextorm_sync: lazy walk")
}

fn lazy_walk_async(rt: &Runtime, db: &AsyncDatabase) -> (usize, usize) {
    rt.block_on(db.session(async |s| {
        let mut comments = 0;
        let mut bytes = 0;
        for u in select!(u for u in User).fetch_all(&s).await? {
            bytes += u.name().len();
            for p in u.posts().load(&s).await? {
                bytes += p.title().len();
                let cs = p.comments().load(&s).await?;
                comments += cs.len();
                bytes += sum_of(cs.iter().map(|c| c.body().len()));
            }
        }
        Ok((comments, bytes))
    }))
    .expect("nextorm_async: lazy walk")
}

// ---------------------------------------------------------------------------------------------
// The raw driver: the same three queries, grouped by hand.

struct RawUser {
    name: String,
    posts: Vec<RawPost>,
}

struct RawPost {
    title: String,
    comments: Vec<RawComment>,
}

struct RawComment {
    body: String,
}

/// The rows of the three levels: users (id, name), posts (id, title, author), comments
/// (id, body, post).
type Levels = (Vec<(i64, String)>, Vec<(i64, String, i64)>, Vec<(i64, String, i64)>);

/// Builds the tree from the rows of the three levels.
fn tree((users, posts, comments): Levels) -> Vec<RawUser> {
    let mut by_post: HashMap<i64, Vec<RawComment>> = HashMap::new();
    for (_, body, post) in comments {
        by_post.entry(post).or_default().push(RawComment { body });
    }
    let mut by_user: HashMap<i64, Vec<RawPost>> = HashMap::new();
    for (id, title, author) in posts {
        let comments = by_post.remove(&id).unwrap_or_default();
        by_user.entry(author).or_default().push(RawPost { title, comments });
    }
    users.into_iter().map(|(id, name)| RawUser { name, posts: by_user.remove(&id).unwrap_or_default() }).collect()
}

fn walk_raw(users: &[RawUser]) -> (usize, usize) {
    let mut comments = 0;
    let mut bytes = 0;
    for u in users {
        bytes += u.name.len();
        for p in &u.posts {
            bytes += p.title.len();
            comments += p.comments.len();
            bytes += sum_of(p.comments.iter().map(|c| c.body.len()));
        }
    }
    (comments, bytes)
}

/// `?, ?, ...`: `n` placeholders.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
    MariaDb(sqlx::MySqlConnection),
}

impl Raw {
    #[inline(never)] // counted alone by callgrind (`--toggle-collect=prefetch::Raw::load`)
    fn load(&mut self, rt: &Runtime) -> BoxResult<Vec<RawUser>> {
        Ok(tree(self.levels(rt)?))
    }

    /// The same rows as the floor of an identity-mapped session: the objects any PonyORM-style
    /// session must hold, and nothing else (see [`floor`], shared with the peers crate's **raw
    /// objects**). What nextorm's session costs beyond this is its own, and what this costs
    /// beyond `raw` is the object model's.
    #[inline(never)]
    fn load_objects(&mut self, rt: &Runtime) -> BoxResult<Vec<Shared<ObjUser>>> {
        let (users, posts, comments) = self.levels(rt)?;
        Ok(floor::objects(users, posts, comments))
    }

    fn levels(&mut self, rt: &Runtime) -> BoxResult<Levels> {
        Ok(match self {
            Raw::Sqlite(c) => sqlite_levels(c)?,
            Raw::Postgres(c) => rt.block_on(postgres_levels(c))?,
            Raw::MariaDb(c) => rt.block_on(mariadb_levels(c))?,
        })
    }
}

fn sqlite_levels(c: &rusqlite::Connection) -> rusqlite::Result<Levels> {
    let users: Vec<(i64, String)> = c
        .prepare_cached("SELECT id, name FROM bench_user")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    let sql = format!("SELECT id, title, author FROM bench_post WHERE author IN ({})", placeholders(ids.len()));
    let posts: Vec<(i64, String, i64)> = c
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(&ids), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let ids: Vec<i64> = posts.iter().map(|p| p.0).collect();
    let sql = format!("SELECT id, body, post FROM bench_comment WHERE post IN ({})", placeholders(ids.len()));
    let comments: Vec<(i64, String, i64)> = c
        .prepare_cached(&sql)?
        .query_map(rusqlite::params_from_iter(&ids), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok((users, posts, comments))
}

async fn postgres_levels(c: &mut sqlx::PgConnection) -> sqlx::Result<Levels> {
    let users: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM bench_user").fetch_all(&mut *c).await?;
    let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
    let posts: Vec<(i64, String, i64)> =
        sqlx::query_as("SELECT id, title, author FROM bench_post WHERE author = ANY($1)")
            .bind(&ids)
            .fetch_all(&mut *c)
            .await?;
    let ids: Vec<i64> = posts.iter().map(|p| p.0).collect();
    let comments = sqlx::query("SELECT id, body, post FROM bench_comment WHERE post = ANY($1)")
        .bind(&ids)
        .try_map(|r: sqlx::postgres::PgRow| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .fetch_all(&mut *c)
        .await?;
    Ok((users, posts, comments))
}

async fn mariadb_levels(c: &mut sqlx::MySqlConnection) -> sqlx::Result<Levels> {
    let users: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM bench_user").fetch_all(&mut *c).await?;
    let sql = format!("SELECT id, title, author FROM bench_post WHERE author IN ({})", placeholders(users.len()));
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for u in &users {
        q = q.bind(u.0);
    }
    let posts: Vec<(i64, String, i64)> = q.fetch_all(&mut *c).await?;
    let sql = format!("SELECT id, body, post FROM bench_comment WHERE post IN ({})", placeholders(posts.len()));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in &posts {
        q = q.bind(p.0);
    }
    let comments = q
        .try_map(|r: sqlx::mysql::MySqlRow| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .fetch_all(&mut *c)
        .await?;
    Ok((users, posts, comments))
}

// ---------------------------------------------------------------------------------------------
// Setting up each dialect.

struct Subjects {
    dialect: &'static str,
    sync: Database,
    adb: AsyncDatabase,
    raw: Raw,
}

fn open(rt: &Runtime, url: &str) -> BoxResult<(Database, AsyncDatabase)> {
    let sync = Database::open(url)?;
    sync.generate_mapping(CreateTables::Yes)?;
    seed(&sync)?;
    let adb = rt.block_on(AsyncDatabase::open(url))?;
    Ok((sync, adb))
}

fn seed(db: &Database) -> nextorm::Result<()> {
    db.session(|s| {
        for u in 0..users() {
            let user = s.create(User { id: 0, name: format!("user {u}"), posts: Set::new() })?;
            for p in 0..POSTS_PER_USER {
                let title = format!("post {p} of user {u}");
                let post = s.create(Post { id: 0, title, author: Single::from(&user), comments: Set::new() })?;
                for c in 0..COMMENTS_PER_POST {
                    let body = format!("comment {c} on post {p} of user {u}: a line of text");
                    s.create(Comment { id: 0, body, post: Single::from(&post) })?;
                }
            }
        }
        Ok(())
    })
}

/// Removes the SQLite file at the end.
struct RemoveFile(std::path::PathBuf);

impl Drop for RemoveFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn sqlite(rt: &Runtime) -> BoxResult<(RemoveFile, Subjects)> {
    // A file both sides open: an in-memory database is private to its connection.
    let guard = RemoveFile(std::env::temp_dir().join(format!("nextorm_prefetch_{}.db", std::process::id())));
    drop(RemoveFile(guard.0.clone()));
    let (sync, adb) = open(rt, &format!("sqlite://{}", guard.0.display()))?;
    let raw = rusqlite::Connection::open(&guard.0)?;
    Ok((guard, Subjects { dialect: "sqlite", sync, adb, raw: Raw::Sqlite(raw) }))
}

fn postgres(rt: &Runtime) -> BoxResult<(DropOnExit, Subjects)> {
    let (guard, url) = scratch_postgres(rt)?;
    let (sync, adb) = open(rt, &url)?;
    let raw = rt.block_on(common::within(sqlx::PgConnection::connect(&url)))?;
    Ok((guard, Subjects { dialect: "postgres", sync, adb, raw: Raw::Postgres(raw) }))
}

fn mariadb(rt: &Runtime) -> BoxResult<(DropOnExit, Subjects)> {
    let (guard, url) = scratch_mariadb(rt)?;
    let (sync, adb) = open(rt, &url)?;
    let raw = rt.block_on(common::within(sqlx::MySqlConnection::connect(&url)))?;
    Ok((guard, Subjects { dialect: "mariadb", sync, adb, raw: Raw::MariaDb(raw) }))
}

fn run<G>(c: &mut Criterion, rt: &Runtime, dialect: &str, open: impl FnOnce(&Runtime) -> BoxResult<(G, Subjects)>) {
    let (guard, mut s) = match open(rt) {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("prefetch bench: skipping {dialect}: {e}");
            return;
        }
    };
    // Both sides must compute the same thing before their times mean anything.
    let expected = s.raw.load(rt).map(|users| walk_raw(&users));
    match expected {
        Ok(expected) if expected.0 == comments() => {
            assert_eq!(nextorm_sync(&s.sync), expected, "nextorm_sync walks another tree");
            assert_eq!(nextorm_async(rt, &s.adb), expected, "nextorm_async walks another tree");
            assert_eq!(lazy_walk_sync(&s.sync), expected, "nextorm_sync's lazy walk walks another tree");
            assert_eq!(lazy_walk_async(rt, &s.adb), expected, "nextorm_async's lazy walk walks another tree");
            let objects = s.raw.load_objects(rt).expect("raw: load objects");
            assert_eq!(walk_objects(&objects), expected, "the raw side's objects form another tree");
        }
        Ok(other) => panic!("the raw side found {} comments, not {}", other.0, comments()),
        Err(e) => panic!("the raw side failed: {e}"),
    }
    let mut g = c.benchmark_group(format!("prefetch_100_users/{}", s.dialect));
    let Subjects { sync, adb, raw, .. } = &mut s;
    g.bench_function("nextorm_sync", |b| b.iter_custom(|iters| total(iters, || timed(|| nextorm_sync(sync)))));
    g.bench_function("nextorm_async", |b| b.iter_custom(|iters| total(iters, || timed(|| nextorm_async(rt, adb)))));
    g.bench_function("raw", |b| {
        b.iter_custom(|iters| total(iters, || timed(|| walk_raw(&raw.load(rt).expect("raw: load")))))
    });
    g.bench_function("raw_objects", |b| {
        b.iter_custom(|iters| {
            total(iters, || timed(|| walk_objects(&raw.load_objects(rt).expect("raw: load objects"))))
        })
    });
    g.finish();
    let mut g = c.benchmark_group(format!("lazy_100_users/{dialect}"));
    g.bench_function("nextorm_sync", |b| b.iter_custom(|iters| total(iters, || timed(|| lazy_walk_sync(sync)))));
    g.bench_function("nextorm_async", |b| b.iter_custom(|iters| total(iters, || timed(|| lazy_walk_async(rt, adb)))));
    g.finish();
    rt.block_on(s.adb.close());
    drop(s);
    drop(guard);
}

/// The repeat mode (see `common::repeat_mode`): one side's walk, N times, on SQLite (or on
/// `NEXTORM_BENCH_DB=postgres|mariadb`, to profile a server's client side); with
/// `NEXTORM_BENCH_WALK=lazy` nextorm's lazy walk instead of `prefetch`, with
/// `NEXTORM_BENCH_WALK=objects` the raw side's shared objects (the session's floor) instead of
/// its plain tree.
fn repeat_walks(rt: &Runtime) -> Option<()> {
    let (times, side) = common::repeat_mode()?;
    let walk = std::env::var("NEXTORM_BENCH_WALK");
    let (lazy, objects) = match walk.as_deref() {
        Err(_) | Ok("prefetch") => (false, false),
        Ok("lazy") => (true, false),
        Ok("objects") => (false, true),
        Ok(other) => panic!("NEXTORM_BENCH_WALK={other:?}: expected prefetch, lazy or objects"),
    };
    // The guard is declared before the subjects, so dropped after them (a server's guard drops
    // its database).
    fn boxed<G: 'static>((guard, s): (G, Subjects)) -> (Box<dyn std::any::Any>, Subjects) {
        (Box::new(guard), s)
    }
    let (_guard, mut s) = match std::env::var("NEXTORM_BENCH_DB").as_deref() {
        Err(_) | Ok("sqlite") => sqlite(rt).map(boxed),
        Ok("postgres") => postgres(rt).map(boxed),
        Ok("mariadb") => mariadb(rt).map(boxed),
        Ok(other) => panic!("NEXTORM_BENCH_DB={other:?}: expected sqlite, postgres or mariadb"),
    }
    .expect("prefetch bench: the repeat mode's database");
    for _ in 0..times {
        let walked = match side {
            Side::NextormSync if lazy => lazy_walk_sync(&s.sync),
            Side::NextormAsync if lazy => lazy_walk_async(rt, &s.adb),
            Side::NextormSync => nextorm_sync(&s.sync),
            Side::NextormAsync => nextorm_async(rt, &s.adb),
            Side::Raw if objects => walk_objects(&s.raw.load_objects(rt).expect("raw: load objects")),
            Side::Raw => walk_raw(&s.raw.load(rt).expect("raw: load")),
        };
        assert_eq!(walked.0, comments());
    }
    rt.block_on(s.adb.close());
    Some(())
}

/// The complexity guard (`NEXTORM_BENCH_COMPLEXITY=1`): runs this bench under callgrind on
/// SQLite, walking the tree lazily once at 1× and once at 10× the objects, counting the
/// instructions of [`lazy_walk_sync`] alone (`--toggle-collect`), and prints their ratio. A walk
/// whose cost grows with the objects is ~10×; a scan where an index belongs makes it ~100×, and
/// the guard fails above [`MAX_GROWTH`].
fn complexity_guard() -> Option<()> {
    std::env::var_os("NEXTORM_BENCH_COMPLEXITY")?;
    let count = |scale: usize| -> u64 {
        let out = std::env::temp_dir().join(format!("nextorm_lazy_callgrind_{}_{scale}", std::process::id()));
        let run = std::process::Command::new("valgrind")
            .args(["--tool=callgrind", "--toggle-collect=prefetch::lazy_walk_sync"])
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(std::env::current_exe().expect("the bench's own path"))
            .env_remove("NEXTORM_BENCH_COMPLEXITY")
            .env("NEXTORM_BENCH_REPEAT", "1")
            .env("NEXTORM_BENCH_SIDE", "nextorm_sync")
            .env("NEXTORM_BENCH_WALK", "lazy")
            .env("NEXTORM_BENCH_SCALE", scale.to_string())
            .output()
            .expect("the complexity guard runs valgrind: is it installed?");
        let _ = std::fs::remove_file(&out);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "the bench failed under callgrind:\n{stderr}");
        stderr
            .lines()
            .find_map(|l| l.split_once("Collected :").map(|(_, n)| n.trim().parse().expect("callgrind's count")))
            .unwrap_or_else(|| panic!("callgrind printed no count:\n{stderr}"))
    };
    let one = count(1);
    let ten = count(10);
    let growth = ten as f64 / one as f64;
    println!("lazy walk: {one} instructions at 1x ({} comments), {ten} at 10x: {growth:.1}x", comments());
    assert!(
        growth <= MAX_GROWTH,
        "the lazy walk grows {growth:.1}x for 10x the objects: a scan where an index belongs?"
    );
    Some(())
}

/// The most a lazy walk over 10× the objects may cost, in times the instructions of the walk at 1×.
const MAX_GROWTH: f64 = 15.0;

fn main() {
    let rt = runtime().expect("cannot start a tokio runtime");
    if complexity_guard().is_some() || repeat_walks(&rt).is_some() {
        return;
    }
    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    run(&mut c, &rt, "sqlite", sqlite);
    run(&mut c, &rt, "postgres", postgres);
    run(&mut c, &rt, "mariadb", mariadb);
    c.final_summary();
}
