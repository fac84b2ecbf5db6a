//! What the benches that compare with the raw drivers share: scratch schemas on the servers,
//! dropped at the end, timing helpers, the repeat mode for instruction counts, and the floor of a
//! session's object model ([`floor`]).

#![allow(dead_code)]

pub(crate) mod floor;

use sqlx::{AssertSqlSafe, Connection as _};
use std::error::Error as StdError;
use std::hint::black_box;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

pub(crate) type BoxResult<T> = Result<T, Box<dyn StdError>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Drops the bench schema or database, on a fresh connection and runtime, so that it also runs
/// when a benchmark panics.
pub(crate) struct DropOnExit {
    admin_url: String,
    sql: String,
    mariadb: bool,
}

impl Drop for DropOnExit {
    fn drop(&mut self) {
        let run = || -> BoxResult<()> {
            runtime()?.block_on(async {
                let sql = AssertSqlSafe(self.sql.clone());
                if self.mariadb {
                    let mut c = within(sqlx::MySqlConnection::connect(&self.admin_url)).await?;
                    sqlx::raw_sql(sql).execute(&mut c).await?;
                    c.close().await?;
                } else {
                    let mut c = within(sqlx::PgConnection::connect(&self.admin_url)).await?;
                    sqlx::raw_sql(sql).execute(&mut c).await?;
                    c.close().await?;
                }
                Ok(())
            })
        };
        if let Err(e) = run() {
            eprintln!("bench: could not clean up with `{}`: {e}", self.sql);
        }
    }
}

pub(crate) async fn within<T, E: Into<Box<dyn StdError>>>(fut: impl Future<Output = Result<T, E>>) -> BoxResult<T> {
    match tokio::time::timeout(CONNECT_TIMEOUT, fut).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}").into()),
    }
}

/// The URL with its password hidden, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

fn env_url(var: &str, default: &str) -> String {
    std::env::var(var).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

/// `url` with `/database` as its path.
fn with_database(url: &str, database: &str) -> String {
    let (head, query) = url.split_once('?').map_or((url, None), |(h, q)| (h, Some(q)));
    let authority = head.find("://").map_or(0, |i| i + 3);
    let path = head[authority..].find('/').map_or(head.len(), |i| authority + i);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}/{database}{query}", &head[..path])
}

/// A scratch schema `bench_<pid>` on PostgreSQL (`NEXTORM_BENCH_PG_URL`, default
/// `postgres://postgres@127.0.0.1:5432/test`), with `synchronous_commit = off`: the URL to use
/// it, and the guard that drops it.
pub(crate) fn scratch_postgres(rt: &Runtime) -> BoxResult<(DropOnExit, String)> {
    let base = env_url("NEXTORM_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/test");
    let schema = format!("bench_{}", std::process::id());
    let mut admin = rt
        .block_on(within(sqlx::PgConnection::connect(&base)))
        .map_err(|e| format!("cannot connect to {}: {e}", redact(&base)))?;
    let create = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}");
    rt.block_on(sqlx::raw_sql(AssertSqlSafe(create)).execute(&mut admin))?;
    let _ = rt.block_on(admin.close());
    let guard =
        DropOnExit { admin_url: base.clone(), sql: format!("DROP SCHEMA IF EXISTS {schema} CASCADE"), mariadb: false };
    let separator = if base.contains('?') { '&' } else { '?' };
    // Commits do not wait for the WAL flush: both sides would wait the same, and on this machine
    // that wait varies from 0 to 40 ms, drowning the client-side cost being compared.
    let url = format!("{base}{separator}options=-c%20search_path%3D{schema}%20-c%20synchronous_commit%3Doff");
    Ok((guard, url))
}

/// A scratch database `bench_<pid>` on MariaDB (`NEXTORM_BENCH_MARIADB_URL`, default
/// `mysql://root@127.0.0.1:3306/test`): the URL to use it, and the guard that drops it.
pub(crate) fn scratch_mariadb(rt: &Runtime) -> BoxResult<(DropOnExit, String)> {
    let base = env_url("NEXTORM_BENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306/test");
    let database = format!("bench_{}", std::process::id());
    let mut admin = rt
        .block_on(within(sqlx::MySqlConnection::connect(&base)))
        .map_err(|e| format!("cannot connect to {}: {e}", redact(&base)))?;
    let create = format!("DROP DATABASE IF EXISTS {database}; CREATE DATABASE {database}");
    rt.block_on(sqlx::raw_sql(AssertSqlSafe(create)).execute(&mut admin))?;
    let _ = rt.block_on(admin.close());
    let guard =
        DropOnExit { admin_url: base.clone(), sql: format!("DROP DATABASE IF EXISTS {database}"), mariadb: true };
    let url = with_database(&base, &database);
    Ok((guard, url))
}

/// Runs `one` (which times its own work and returns the time) `iters` times.
pub(crate) fn total(iters: u64, mut one: impl FnMut() -> Duration) -> Duration {
    (0..iters).map(|_| one()).sum()
}

/// The time `work` takes; what it returns is dropped after the clock stops.
pub(crate) fn timed<T>(work: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    let out = black_box(work());
    let elapsed = start.elapsed();
    drop(out);
    elapsed
}

/// The side of a comparison a bench runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// nextorm's blocking `Database`.
    NextormSync,
    /// nextorm's `AsyncDatabase`, on a current-thread tokio runtime.
    NextormAsync,
    /// The raw driver.
    Raw,
}

/// The repeat mode, for instruction counts that the machine's noise does not move:
/// `NEXTORM_BENCH_REPEAT=N` runs one side (`NEXTORM_BENCH_SIDE=nextorm_sync|nextorm_async|raw`,
/// default `nextorm_sync`) N times on SQLite (the prefetch bench takes `NEXTORM_BENCH_DB` for a
/// server) instead of timing it. The count of one operation is the difference between two runs,
/// N and 0, divided by N (set-up cancels out):
///
/// ```text
/// NEXTORM_BENCH_REPEAT=10 NEXTORM_BENCH_SIDE=raw valgrind --tool=callgrind target/release/deps/prefetch-*
/// ```
///
/// `None` when `NEXTORM_BENCH_REPEAT` is unset: the bench times as usual.
pub(crate) fn repeat_mode() -> Option<(usize, Side)> {
    let times = std::env::var("NEXTORM_BENCH_REPEAT").ok()?;
    let times = times.parse().unwrap_or_else(|_| panic!("NEXTORM_BENCH_REPEAT={times:?} is not a count"));
    let side = match std::env::var("NEXTORM_BENCH_SIDE").as_deref() {
        Err(_) | Ok("nextorm_sync") => Side::NextormSync,
        Ok("nextorm_async") => Side::NextormAsync,
        Ok("raw") => Side::Raw,
        Ok(other) => panic!("NEXTORM_BENCH_SIDE={other:?}: expected nextorm_sync, nextorm_async or raw"),
    };
    Some((times, side))
}
