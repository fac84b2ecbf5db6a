//! nextorm against the raw drivers, Diesel and SeaORM, on the workloads of Diesel's own bench
//! (users, posts, comments), on SQLite, PostgreSQL and MariaDB (Diesel on SQLite and PostgreSQL).
//!
//! ```text
//! cargo run --release -- [sqlite] [postgres] [mariadb]     # all three when none is named
//! ```
//!
//! Each round runs every library once per workload, in an order rotated by one each round, so
//! that the machine's drift hits every library alike; a library's figure is its median over the
//! rounds. One line per figure on stdout, tab-separated, read by `run.sh`:
//!
//! ```text
//! result  <database>  <workload>  <library>  <median ns per iteration>  <iterations per sample>  <rounds>
//! server  <database>  <version string>
//! ```
//!
//! `PEERS_ROUNDS` (default 101) and `PEERS_SAMPLE_MS` (the time one sample aims at, default 3)
//! trade precision for time. Samples are short and rounds many because on a VM a loopback round
//! trip keeps one latency for seconds at a time: with 40 ms samples, one library's samples could
//! sit in a slow spell (the blocking facade measured 2× sqlx by key in one run, 0.8× in the next).
//! `PEERS_WORKLOADS` and `PEERS_LIBRARIES` (comma-separated names, as printed) run only those, to
//! profile one library on one workload.

/// The scratch schemas and databases the repository's benches use (dropped at the end), and the
/// floor of a session's object model (`common_bench::floor`, for **raw objects**).
#[path = "../../common/mod.rs"]
mod common_bench;
mod data;
mod diesel_side;
mod nextorm_side;
mod raw_side;
mod seaorm_side;

use common_bench::BoxResult;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// A workload of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// One user by primary key (a different user each time).
    OneUser,
    /// Every one of the 10,000 users.
    AllUsers,
    /// 100 new users inserted in one transaction, their keys read back where the library does.
    Insert100,
    /// The first 100 users with their posts and the posts' comments, one query per level.
    TreePrefetched,
    /// The same tree walked lazily: each user's posts, then each post's comments, as loaded.
    TreeLazy,
}

impl Workload {
    const ALL: [Workload; 5] =
        [Workload::OneUser, Workload::AllUsers, Workload::Insert100, Workload::TreePrefetched, Workload::TreeLazy];

    fn name(self) -> &'static str {
        match self {
            Workload::OneUser => "one_user_by_pk",
            Workload::AllUsers => "all_10000_users",
            Workload::Insert100 => "insert_100_users_one_transaction",
            Workload::TreePrefetched => "tree_prefetched",
            Workload::TreeLazy => "tree_lazy",
        }
    }
}

/// What a workload computed, compared across libraries before any timing: rows seen and the
/// bytes of their texts.
pub(crate) type Checksum = (usize, usize);

/// One library on one database.
pub(crate) trait Library {
    /// Its name in the tables.
    fn name(&self) -> &'static str;

    /// Runs `workload` once (`n` numbers the call, for keys that vary); `None` when this library
    /// has no such workload.
    fn run(&mut self, rt: &Runtime, workload: Workload, n: usize) -> Option<BoxResult<Checksum>>;
}

/// The databases, named on the command line or all three.
fn databases() -> Vec<String> {
    let named: Vec<String> = std::env::args().skip(1).collect();
    if named.is_empty() { ["sqlite", "postgres", "mariadb"].map(String::from).to_vec() } else { named }
}

fn env_number(var: &str, default: u64) -> u64 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Whether `name` is among the comma-separated names of `var`, or `var` is unset.
fn chosen(var: &str, name: &str) -> bool {
    std::env::var(var).map_or(true, |names| names.split(',').any(|n| n.trim() == name))
}

/// The median of `samples` (sorted in place).
fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 { samples[mid] } else { (samples[mid - 1] + samples[mid]) / 2.0 }
}

/// One timed sample: `iters` runs, the time per run in nanoseconds. The insert workload's rows
/// are removed after the clock stops.
fn sample(
    rt: &Runtime,
    lib: &mut dyn Library,
    workload: Workload,
    iters: u64,
    counter: &mut usize,
    reset: &mut dyn FnMut() -> BoxResult<()>,
) -> BoxResult<f64> {
    let start = Instant::now();
    for _ in 0..iters {
        *counter += 1;
        let out = lib.run(rt, workload, *counter).expect("a workload the library has")?;
        std::hint::black_box(out);
    }
    let elapsed = start.elapsed();
    if workload == Workload::Insert100 {
        reset()?;
    }
    Ok(elapsed.as_nanos() as f64 / iters as f64)
}

/// Measures every workload of every library on one database and prints the figures.
fn measure(
    rt: &Runtime,
    database: &str,
    libs: &mut [Box<dyn Library>],
    mut reset: impl FnMut() -> BoxResult<()>,
) -> BoxResult<()> {
    // A misspelt name would measure nothing without a word.
    if let Ok(names) = std::env::var("PEERS_WORKLOADS")
        && let Some(unknown) = names.split(',').map(str::trim).find(|n| Workload::ALL.iter().all(|w| w.name() != *n))
    {
        return Err(format!("PEERS_WORKLOADS names {unknown:?}, which is no workload").into());
    }
    if !libs.iter().any(|lib| chosen("PEERS_LIBRARIES", lib.name())) {
        return Err("PEERS_LIBRARIES names none of this database's libraries".into());
    }
    let rounds = env_number("PEERS_ROUNDS", 101).max(1) as usize;
    let target = Duration::from_millis(env_number("PEERS_SAMPLE_MS", 3));
    let mut counter = 0;
    for workload in Workload::ALL.into_iter().filter(|w| chosen("PEERS_WORKLOADS", w.name())) {
        // Which libraries have it, whether they agree, and how many runs make a sample.
        let mut expected: Option<(&'static str, Checksum)> = None;
        let mut plan: Vec<(usize, u64)> = Vec::new();
        for (i, lib) in libs.iter_mut().enumerate().filter(|(_, lib)| chosen("PEERS_LIBRARIES", lib.name())) {
            let start = Instant::now();
            let Some(out) = lib.run(rt, workload, 1) else { continue };
            let once = start.elapsed();
            let out = out.map_err(|e| format!("{database} {} {}: {e}", workload.name(), lib.name()))?;
            if workload == Workload::Insert100 {
                reset()?;
            }
            match expected {
                None => expected = Some((lib.name(), out)),
                Some((first, sum)) if sum != out => {
                    return Err(format!(
                        "{database} {}: {} computed {out:?}, {first} {sum:?}",
                        workload.name(),
                        lib.name()
                    )
                    .into());
                }
                Some(_) => {}
            }
            let iters = (target.as_nanos() / once.as_nanos().max(1)).clamp(1, 10_000) as u64;
            plan.push((i, iters));
        }
        let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); plan.len()];
        for round in 0..rounds {
            for k in 0..plan.len() {
                let slot = (k + round) % plan.len();
                let (i, iters) = plan[slot];
                let t = sample(rt, libs[i].as_mut(), workload, iters, &mut counter, &mut reset)
                    .map_err(|e| format!("{database} {} {}: {e}", workload.name(), libs[i].name()))?;
                times[slot].push(t);
            }
        }
        for ((i, iters), mut samples) in plan.into_iter().zip(times) {
            println!(
                "result\t{database}\t{}\t{}\t{:.0}\t{iters}\t{rounds}",
                workload.name(),
                libs[i].name(),
                median(&mut samples)
            );
        }
    }
    Ok(())
}

fn main() {
    let rt = common_bench::runtime().expect("cannot start a tokio runtime");
    let mut failed = false;
    for database in databases() {
        let outcome = match database.as_str() {
            "sqlite" => data::sqlite_bench(&rt),
            "postgres" => data::postgres_bench(&rt),
            "mariadb" => data::mariadb_bench(&rt),
            other => Err(format!("unknown database {other:?}: expected sqlite, postgres or mariadb").into()),
        };
        if let Err(e) = outcome {
            eprintln!("peers: {database}: {e}");
            failed = true;
        }
    }
    if failed {
        std::process::exit(1);
    }
}
