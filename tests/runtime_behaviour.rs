//! How the facades behave around runtimes and locks: the async facade keeps its runtime serving
//! while an SQLite file is locked by another writer, the blocking facade waits and then reports
//! `Busy`, SQLite transactions take the write lock up front, and the blocking facade refuses to
//! run server drivers in async code instead of panicking, yet works inside `spawn_blocking`.

#![allow(missing_docs)]

use nextorm::{AsyncDatabase, CreateTables, Database, ErrorKind, OpenOptions};
use std::cell::Cell;
use std::time::Duration;

#[derive(nextorm::Entity, Debug, Clone, PartialEq)]
struct Note {
    #[pk]
    id: i64,
    body: String,
}

struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(tag: &str) -> TempFile {
        TempFile(std::env::temp_dir().join(format!("nextorm_rt_{tag}_{}.db", std::process::id())))
    }
    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn options() -> OpenOptions {
    OpenOptions::new().entities([<Note as nextorm::Entity>::meta()])
}

/// Another process's writer: a raw rusqlite connection holding the write lock.
fn lock_holder(file: &TempFile) -> rusqlite::Connection {
    let raw = rusqlite::Connection::open(&file.0).unwrap();
    raw.execute_batch("BEGIN IMMEDIATE").unwrap();
    raw
}

#[test]
fn async_facade_keeps_the_runtime_serving_while_sqlite_is_locked() {
    let file = TempFile::new("async_lock");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db = AsyncDatabase::open_with(&file.url(), options()).await.unwrap();
        db.generate_mapping(CreateTables::Yes).await.unwrap();
        let holder = lock_holder(&file);
        let ticks = Cell::new(0u32);
        let ticks_when_done = Cell::new(None);

        let writer = async {
            let mut note = Note { id: 0, body: "waited".into() };
            db.insert(&mut note).await.unwrap();
            ticks_when_done.set(Some(ticks.get()));
        };
        // Another task on the same single-threaded runtime: it only runs if the writer yields
        // while it waits for the lock. It releases the lock after 50 of its own turns.
        let other = async {
            while ticks.get() < 50 {
                ticks.set(ticks.get() + 1);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            holder.execute_batch("COMMIT").unwrap();
        };
        tokio::join!(writer, other);
        assert!(
            ticks_when_done.get().is_some_and(|t| t >= 50),
            "the insert finished only after the other task ran 50 turns: {:?}",
            ticks_when_done.get()
        );
        assert_eq!(db.all::<Note>().await.unwrap().len(), 1);
    });
}

#[test]
fn async_facade_reports_busy_after_the_busy_timeout() {
    let file = TempFile::new("async_busy");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let db =
            AsyncDatabase::open_with(&file.url(), options().busy_timeout(Duration::from_millis(100))).await.unwrap();
        db.generate_mapping(CreateTables::Yes).await.unwrap();
        let holder = lock_holder(&file);
        let err = db.insert(&mut Note { id: 0, body: "x".into() }).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
        assert!(err.is_retryable());
        holder.execute_batch("ROLLBACK").unwrap();
        db.insert(&mut Note { id: 0, body: "x".into() }).await.unwrap();
    });
}

#[test]
fn blocking_facade_waits_then_reports_busy() {
    let file = TempFile::new("sync_busy");
    let db = Database::open_with(&file.url(), options().busy_timeout(Duration::from_millis(100))).unwrap();
    db.generate_mapping(CreateTables::Yes).unwrap();
    let holder = lock_holder(&file);
    let err = db.insert(&mut Note { id: 0, body: "x".into() }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    db.insert(&mut Note { id: 0, body: "x".into() }).unwrap();
    assert_eq!(db.all::<Note>().unwrap().len(), 1);
}

#[test]
fn sqlite_transactions_take_the_write_lock_up_front() {
    let file = TempFile::new("immediate");
    let db = Database::open_with(&file.url(), options()).unwrap();
    db.generate_mapping(CreateTables::Yes).unwrap();
    let other = rusqlite::Connection::open(&file.0).unwrap();
    other.busy_timeout(Duration::ZERO).unwrap();
    db.transaction(|tx| {
        // Only a read so far, yet another writer is already locked out: BEGIN IMMEDIATE.
        tx.all::<Note>()?;
        let err = other.execute_batch("BEGIN IMMEDIATE").unwrap_err();
        assert!(err.to_string().contains("locked"), "{err}");
        tx.insert(&mut Note { id: 0, body: "in tx".into() })
    })
    .unwrap();
    other.execute_batch("BEGIN IMMEDIATE; ROLLBACK").unwrap();
}

#[test]
fn blocking_facade_inside_a_runtime_is_an_error_for_server_drivers() {
    let pg = std::env::var("NEXTORM_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let db = Database::open(&pg).expect("PostgreSQL is reachable");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let err = rt.block_on(async { db.get::<i64>("SELECT 1", ()) }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.message().contains("use AsyncDatabase"), "{err}");
    // Outside the runtime it works, and SQLite works anywhere.
    assert_eq!(db.get::<i64>("SELECT 1", ()).unwrap(), 1);
    let lite = Database::open("sqlite::memory:").unwrap();
    assert_eq!(rt.block_on(async { lite.get::<i64>("SELECT 2", ()) }).unwrap(), 2);
}

fn pg_url() -> String {
    std::env::var("NEXTORM_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn mariadb_url() -> String {
    std::env::var("NEXTORM_TEST_MARIADB_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// The databases of this run, as in the conformance harness: `NEXTORM_TEST_DIALECTS` may leave a
/// server out (reported), except under `CI=true`, where all three run and a server that cannot be
/// reached fails the test.
fn urls_of_this_run() -> Vec<String> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let chosen = std::env::var("NEXTORM_TEST_DIALECTS").ok().filter(|_| !ci);
    [("sqlite", "sqlite::memory:".to_owned()), ("postgresql", pg_url()), ("mariadb", mariadb_url())]
        .into_iter()
        .filter(|(name, _)| {
            let on = chosen.as_ref().is_none_or(|list| list.split(',').any(|d| d.trim() == *name));
            if !on {
                eprintln!("NOT RUN on {name}: excluded by NEXTORM_TEST_DIALECTS");
            }
            on
        })
        .map(|(_, url)| url)
        .collect()
}

fn assert_refused_in_async_code<T: std::fmt::Debug>(r: nextorm::Result<T>, what: &str) {
    let err = r.expect_err(what);
    assert_eq!(err.kind(), ErrorKind::Config, "{what}: {err}");
    assert!(err.message().contains("use AsyncDatabase"), "{what}: {err}");
}

#[test]
fn blocking_facade_in_async_code_is_an_error_never_a_panic_and_works_in_spawn_blocking() {
    for url in urls_of_this_run() {
        let server = !url.starts_with("sqlite");
        let runtimes = [
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap(),
        ];
        for rt in runtimes {
            // Polled by block_on, as the body of #[tokio::main] is, and inside a spawned task.
            let in_block_on = rt.block_on(async { Database::open(&url) });
            let task_url = url.clone();
            let in_task = rt.block_on(async { tokio::spawn(async move { Database::open(&task_url) }).await.unwrap() });
            for (opened, what) in [(in_block_on, "open in block_on"), (in_task, "open in a task")] {
                if server {
                    assert_refused_in_async_code(opened.map(|_| ()), &format!("{what} of {url}"));
                } else {
                    assert_eq!(opened.unwrap().get::<i64>("SELECT 1", ()).unwrap(), 1, "{what} of {url}");
                }
            }

            // spawn_blocking may block: the database opens and runs statements there.
            let blocking_url = url.clone();
            let in_spawn_blocking = rt.block_on(async {
                tokio::task::spawn_blocking(move || -> nextorm::Result<Database> {
                    let db = Database::open(&blocking_url)?;
                    assert_eq!(db.get::<i64>("SELECT 1", ())?, 1);
                    assert_eq!(db.transaction(|tx| tx.get::<i64>("SELECT 2", ()))?, 2);
                    assert_eq!(db.session(|s| s.commit().map(|()| 3))?, 3);
                    Ok(db)
                })
                .await
            });
            let db = in_spawn_blocking.unwrap().unwrap_or_else(|e| panic!("{url} in spawn_blocking: {e}"));

            // Back in async code its methods are errors (SQLite still works), and dropping it
            // there, with an idle connection in its pool, does not panic.
            rt.block_on(async {
                let r = db.get::<i64>("SELECT 1", ());
                if server {
                    assert_refused_in_async_code(r, &format!("a statement of {url} in block_on"));
                } else {
                    assert_eq!(r.unwrap(), 1);
                }
                assert_eq!(db.pool_status().idle, 1, "the connection opened in spawn_blocking is idle");
                drop(db);
            });
        }
    }
}

#[test]
fn in_memory_sqlite_is_one_shared_database() {
    let db = Database::open_with("sqlite::memory:", options().max_connections(8)).unwrap();
    db.generate_mapping(CreateTables::Yes).unwrap();
    db.insert(&mut Note { id: 0, body: "kept".into() }).unwrap();
    // Every checkout sees the same in-memory database.
    for _ in 0..3 {
        assert_eq!(db.all::<Note>().unwrap().len(), 1);
    }
    assert_eq!(db.pool_status().open, 1);
}

/// A subscriber that keeps the `sql` field of `nextorm::sql` events.
struct SqlLog(std::sync::Mutex<Vec<String>>);

struct SqlField<'a>(&'a mut Option<String>);

impl tracing::field::Visit for SqlField<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "sql" {
            *self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl tracing::Subscriber for &'static SqlLog {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        meta.target() == "nextorm::sql" && *meta.level() <= tracing::Level::DEBUG
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut sql = None;
        event.record(&mut SqlField(&mut sql));
        self.0.lock().unwrap().extend(sql);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn statements_are_logged_through_tracing() {
    static LOG: SqlLog = SqlLog(std::sync::Mutex::new(Vec::new()));
    let db = Database::open_with("sqlite::memory:", options()).unwrap();
    db.generate_mapping(CreateTables::Yes).unwrap();
    tracing::subscriber::with_default(&LOG, || {
        db.insert(&mut Note { id: 0, body: "logged".into() }).unwrap();
        db.session(|s| {
            s.by_pk::<Note>(&1)?;
            let stats = s.stats();
            assert_eq!(stats.statements, 1);
            assert!(stats.time > Duration::ZERO, "the session counts time spent");
            Ok(())
        })
        .unwrap();
    });
    let log = LOG.0.lock().unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].starts_with("INSERT INTO \"note\""), "{log:?}");
    assert!(log[1].starts_with("SELECT \"id\", \"body\" FROM \"note\""), "{log:?}");
}

/// Relation pairs that cannot be mapped: each is a mapping error naming both sides.
mod bad_pairs {
    use nextorm::{HasOne, Set, Single};

    #[derive(nextorm::Entity)]
    pub(super) struct Lonely {
        #[pk]
        id: i64,
        partner: HasOne<Stranger>,
    }

    /// Refers to nothing: `Lonely.partner` has no other side.
    #[derive(nextorm::Entity)]
    pub(super) struct Stranger {
        #[pk]
        id: i64,
    }

    #[derive(nextorm::Entity)]
    pub(super) struct Head {
        #[pk]
        id: i64,
        tails: HasOne<Tail>,
    }

    /// A `Set` cannot be the other side of a `HasOne`.
    #[derive(nextorm::Entity)]
    pub(super) struct Tail {
        #[pk]
        id: i64,
        heads: Set<Head>,
    }

    #[derive(nextorm::Entity)]
    pub(super) struct Left {
        #[pk]
        id: i64,
        right: Single<Right>,
    }

    /// Fine: the one-to-one pair `Left.right` / `Right.left`.
    #[derive(nextorm::Entity)]
    pub(super) struct Right {
        #[pk]
        id: i64,
        left: HasOne<Left>,
    }
}

#[test]
fn inconsistent_relation_pairs_are_mapping_errors_naming_both_sides() {
    use bad_pairs::{Head, Left, Lonely, Right, Stranger, Tail};
    use nextorm::Entity;
    let mapping = |entities: Vec<&'static nextorm::EntityMeta>| {
        let db = Database::open_with("sqlite::memory:", OpenOptions::new().entities(entities)).unwrap();
        db.generate_mapping(CreateTables::No)
    };
    let e = mapping(vec![Lonely::meta(), Stranger::meta()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mapping);
    assert!(e.message().contains("Lonely.partner is a HasOne<Stranger>, but Stranger has no Single<Lonely>"), "{e}");
    let e = mapping(vec![Head::meta(), Tail::meta()]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mapping);
    assert!(e.message().contains("Head.tails is a HasOne<Tail> and its other side Tail.heads is a Set<Head>"), "{e}");
    assert!(mapping(vec![Left::meta(), Right::meta()]).is_ok());
    let ddl = Database::open_with("sqlite::memory:", OpenOptions::new().entities([Right::meta(), Left::meta()]))
        .unwrap()
        .ddl()
        .unwrap();
    assert!(ddl.iter().any(|s| s.contains("\"right\" INTEGER NOT NULL UNIQUE")), "{ddl:?}");
}

/// A caller waiting for the only connection, blocked (the blocking facade on SQLite) or awaiting
/// (the async facade), is woken when it is returned: the pool signals a waiter it counts.
#[test]
fn a_waiting_caller_gets_the_connection_when_it_is_returned() {
    let file = TempFile::new("pool_wait");
    // A lost wake-up waits out this timeout: a blocked thread then finds the connection idle (so
    // it shows as the whole timeout passing), an awaiting task fails with `PoolTimeout`.
    let timeout = Duration::from_secs(120);
    let one = options().max_connections(1).acquire_timeout(timeout);
    let db = Database::open_with(&file.url(), one.clone()).unwrap();
    db.generate_mapping(CreateTables::Yes).unwrap();
    let adb = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let async_db = adb.block_on(AsyncDatabase::open_with(&file.url(), one)).unwrap();
    let until_waiting = |status: &dyn Fn() -> usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while status() == 0 {
            assert!(std::time::Instant::now() < deadline, "the second caller never waited");
            std::thread::yield_now();
        }
    };
    std::thread::scope(|scope| {
        // Blocking: the holder returns the connection once the other thread waits.
        let waiter = db
            .transaction(|tx| {
                tx.execute("INSERT INTO note (body) VALUES ('held')", ())?;
                let waiter = scope.spawn(|| {
                    let asked = std::time::Instant::now();
                    db.all::<Note>().map(|notes| (notes.len(), asked.elapsed()))
                });
                until_waiting(&|| db.pool_status().waiting);
                assert_eq!(db.pool_status().waiting, 1);
                Ok(waiter)
            })
            .unwrap();
        let (notes, waited) = waiter.join().unwrap().unwrap();
        assert_eq!(notes, 1, "the waiter ran after the commit");
        // Not a speed check: a waiter that was never signalled waits the whole timeout.
        assert!(waited < timeout / 2, "the blocked thread was not woken; it waited {waited:?}");
        assert_eq!(db.pool_status().waiting, 0);
    });
    // Async: another task awaits while a session holds the connection (the session's own task
    // asking for a second one would be refused at once, not wait).
    adb.block_on(async {
        let mut waiter = None;
        async_db
            .session(async |s| {
                s.create(Note { id: 0, body: "async".into() }).await?;
                let other = async_db.clone();
                waiter = Some(tokio::spawn(async move { other.all::<Note>().await.map(|notes| notes.len()) }));
                let waiting = async {
                    while async_db.pool_status().waiting == 0 {
                        tokio::task::yield_now().await;
                    }
                };
                tokio::time::timeout(Duration::from_secs(60), waiting).await.expect("the task never waited");
                Ok(())
            })
            .await
            .unwrap();
        let counted = waiter.expect("spawned").await.unwrap().unwrap();
        assert_eq!(counted, 2, "the awaiting task ran after the session");
    });
    assert_eq!(async_db.pool_status().waiting, 0);
    adb.block_on(async_db.close());
}
