//! Sessions against plain structs and the raw driver: loading 10,000 objects into a session's
//! identity map, one object by primary key, and flushing 100 updated objects (one UPDATE each,
//! with the optimistic check) in one transaction. SQLite in memory, where the client-side cost
//! shows. Before timing, it prints the memory each way of holding the 10,000 rows takes (the
//! peak bytes allocated while loading and holding them, counted by a global allocator).
//!
//! `cargo bench --bench sessions --all-features`

use criterion::{Criterion, criterion_group, criterion_main};
use nextorm::prelude::*;
use std::hint::black_box;

/// Counts the bytes allocated, and their peak.
#[global_allocator]
static ALLOCATED: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

/// The peak bytes allocated by `load` beyond what was allocated before it, while what it
/// returns is held (and dropped after).
fn peak_bytes<T>(load: impl FnOnce() -> T) -> usize {
    ALLOCATED.reset_peak_usage();
    let before = ALLOCATED.current_usage();
    let held = black_box(load());
    let peak = ALLOCATED.peak_usage() - before;
    drop(held);
    peak
}

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

const ROWS: i64 = 10_000;

fn bench(c: &mut Criterion) {
    let db = Database::open_with("sqlite::memory:", OpenOptions::new().entities([<Item as nextorm::Entity>::meta()]))
        .expect("open");
    db.generate_mapping(CreateTables::Yes).expect("tables");
    db.transaction(|tx| {
        for i in 0..ROWS {
            tx.insert(&mut Item { id: 0, name: format!("item {i}"), price: i as f64, qty: 1, note: None })?;
        }
        Ok(())
    })
    .expect("seed");
    let raw = rusqlite::Connection::open_in_memory().expect("raw");
    for statement in db.ddl().expect("ddl") {
        raw.execute_batch(&statement).expect("ddl");
    }
    raw.execute_batch("BEGIN").unwrap();
    for i in 0..ROWS {
        raw.execute(
            "INSERT INTO item (name, price, qty, note) VALUES (?, ?, ?, NULL)",
            (format!("item {i}"), i as f64, 1),
        )
        .unwrap();
    }
    raw.execute_batch("COMMIT").unwrap();
    let all = select!(i for i in Item);
    let raw_rows = || -> Vec<Item> {
        let mut stmt = raw.prepare_cached("SELECT id, name, price, qty, note FROM item").unwrap();
        stmt.query_map([], |r| {
            Ok(Item { id: r.get(0)?, name: r.get(1)?, price: r.get(2)?, qty: r.get(3)?, note: r.get(4)? })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    };

    // The session's objects are held past the session: what a caller keeps.
    let raw_bytes = peak_bytes(raw_rows);
    let plain_bytes = peak_bytes(|| all.fetch_all(&db).expect("plain"));
    let session_bytes = peak_bytes(|| db.session(|s| s.select(&all)).expect("session"));
    println!(
        "memory of {ROWS} rows: raw {raw_bytes} B, plain {plain_bytes} B ({:.2}x), session {session_bytes} B ({:.2}x)",
        plain_bytes as f64 / raw_bytes as f64,
        session_bytes as f64 / raw_bytes as f64
    );

    let mut g = c.benchmark_group("session_load_10k/sqlite");
    g.sample_size(20);
    g.bench_function("nextorm", |b| b.iter(|| db.session(|s| Ok(black_box(s.select(&all)?.len()))).expect("session")));
    g.bench_function("plain", |b| b.iter(|| black_box(all.fetch_all(&db).expect("plain").len())));
    g.bench_function("raw", |b| b.iter(|| black_box(raw_rows().len())));
    g.finish();

    // One object by primary key: in a session of its own, as plain struct, and raw.
    let mut key = 0;
    let mut next_key = || {
        key = key % ROWS + 1;
        key
    };
    let mut g = c.benchmark_group("by_pk/sqlite");
    g.bench_function("nextorm_session", |b| {
        b.iter(|| db.session(|s| Ok(black_box(s.by_pk::<Item>(&next_key())?.qty()))).expect("session"))
    });
    g.bench_function("plain", |b| b.iter(|| black_box(db.by_pk::<Item>(&next_key()).expect("plain").qty)));
    g.bench_function("raw", |b| {
        b.iter(|| {
            let mut stmt = raw.prepare_cached("SELECT id, name, price, qty, note FROM item WHERE id = ?").unwrap();
            let item = stmt
                .query_row([next_key()], |r| {
                    Ok(Item { id: r.get(0)?, name: r.get(1)?, price: r.get(2)?, qty: r.get(3)?, note: r.get(4)? })
                })
                .unwrap();
            black_box(item.qty)
        })
    });
    g.finish();

    // 100 objects loaded, each one field changed, flushed in one transaction.
    let first_100 = select!(i for i in Item if i.id <= 100);
    let mut round = 0;
    let mut g = c.benchmark_group("session_flush_100_updates/sqlite");
    g.sample_size(30);
    g.bench_function("nextorm", |b| {
        b.iter(|| {
            round += 1;
            db.session(|s| {
                for item in s.select(&first_100)? {
                    item.set_qty(round)?;
                }
                Ok(())
            })
            .expect("session")
        })
    });
    g.bench_function("raw", |b| {
        b.iter(|| {
            round += 1;
            let mut stmt = raw.prepare_cached("SELECT id, name, price, qty, note FROM item WHERE id <= 100").unwrap();
            let rows: Vec<(i64, String, i32)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(3)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            raw.execute_batch("BEGIN IMMEDIATE").unwrap();
            {
                let mut update =
                    raw.prepare_cached("UPDATE item SET qty = ? WHERE id = ? AND qty = ? AND name = ?").unwrap();
                for (id, name, qty) in &rows {
                    assert_eq!(update.execute((round, id, qty, name)).unwrap(), 1);
                }
            }
            raw.execute_batch("COMMIT").unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
