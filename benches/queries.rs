//! `select!` against the raw driver, and the per-call-site SQL cache against rendering every
//! time. On SQLite, where the client-side cost shows: a 10-row query over 1,000 rows.
//!
//! `cargo bench --bench queries --all-features`

use criterion::{Criterion, criterion_group, criterion_main};
use nextorm::prelude::*;
use nextorm::query::EntityQuery;
use std::hint::black_box;

#[derive(Entity, Debug, Clone, PartialEq)]
struct Row {
    #[pk]
    id: i64,
    #[orm(max_len = 64)]
    name: String,
    price: f64,
    qty: i32,
    note: Option<String>,
}

const ROWS: i64 = 1000;

fn seed(db: &Database) {
    db.generate_mapping(CreateTables::Yes).expect("tables");
    db.transaction(|tx| {
        for i in 0..ROWS {
            let mut r = Row { id: 0, name: format!("row {i}"), price: i as f64, qty: (i % 7) as i32, note: None };
            tx.insert(&mut r)?;
        }
        Ok(())
    })
    .expect("seed");
}

/// The query through `select!`: its SQL is cached at the call site.
fn cached(db: &Database, limit: f64, min_qty: i32) -> Vec<Row> {
    select!(r for r in Row if r.price < limit && r.qty > min_qty).fetch_all(db).expect("query")
}

/// The same query built without a call site: rendered on every run.
fn rendered(db: &Database, limit: f64, min_qty: i32) -> Vec<Row> {
    Row::query().filter(|r| r.price.lt(limit).and(r.qty.gt(min_qty))).fetch_all(db).expect("query")
}

fn raw(conn: &rusqlite::Connection, limit: f64, min_qty: i32) -> Vec<Row> {
    let mut stmt = conn
        .prepare_cached(r#"SELECT "r"."id", "r"."name", "r"."price", "r"."qty", "r"."note" FROM "row" "r" WHERE "r"."price" < ? AND "r"."qty" > ?"#)
        .expect("prepare");
    stmt.query_map((limit, min_qty), |r| {
        Ok(Row { id: r.get(0)?, name: r.get(1)?, price: r.get(2)?, qty: r.get(3)?, note: r.get(4)? })
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

fn bench(c: &mut Criterion) {
    let db = Database::open_with("sqlite::memory:", OpenOptions::new().entities([Row::meta()])).expect("open");
    seed(&db);
    let conn = rusqlite::Connection::open_in_memory().expect("raw");
    for statement in db.ddl().expect("ddl") {
        conn.execute_batch(&statement).expect("ddl");
    }
    for r in db.all::<Row>().expect("rows") {
        conn.execute(
            "INSERT INTO row (id, name, price, qty, note) VALUES (?, ?, ?, ?, ?)",
            (r.id, &r.name, r.price, r.qty, &r.note),
        )
        .expect("copy");
    }
    // The three return the same rows.
    assert_eq!(cached(&db, 70.0, 5), raw(&conn, 70.0, 5));
    assert_eq!(rendered(&db, 70.0, 5), raw(&conn, 70.0, 5));
    assert_eq!(raw(&conn, 70.0, 5).len(), 10);

    let mut g = c.benchmark_group("select_10_of_1000/sqlite");
    g.sample_size(50);
    g.bench_function("nextorm_cached", |b| b.iter(|| black_box(cached(&db, black_box(70.0), 5))));
    g.bench_function("nextorm_rendered", |b| b.iter(|| black_box(rendered(&db, black_box(70.0), 5))));
    g.bench_function("raw", |b| b.iter(|| black_box(raw(&conn, black_box(70.0), 5))));
    g.finish();

    // One row by key: the query is cheap, so the client-side cost shows.
    let by_id = |id: i64| select!(r for r in Row if r.id == id).fetch_one(&db).expect("row");
    let raw_by_id = |id: i64| {
        conn.prepare_cached(
            r#"SELECT "r"."id", "r"."name", "r"."price", "r"."qty", "r"."note" FROM "row" "r" WHERE "r"."id" = ?"#,
        )
        .expect("prepare")
        .query_row([id], |r| {
            Ok(Row { id: r.get(0)?, name: r.get(1)?, price: r.get(2)?, qty: r.get(3)?, note: r.get(4)? })
        })
        .expect("row")
    };
    assert_eq!(by_id(500), raw_by_id(500));
    let mut g = c.benchmark_group("select_by_id/sqlite");
    g.bench_function("nextorm_cached", |b| b.iter(|| black_box(by_id(black_box(500)))));
    g.bench_function("raw", |b| b.iter(|| black_box(raw_by_id(black_box(500)))));
    g.finish();

    // Building the query, then its statement: what a `select!` call costs before the driver.
    let mut g = c.benchmark_group("build_and_statement");
    g.bench_function("cached", |b| {
        b.iter(|| {
            black_box(
                select!(r for r in Row if r.price < black_box(70.0) && r.qty > 5).statement(nextorm::Dialect::Sqlite),
            )
        })
    });
    g.bench_function("rendered", |b| {
        b.iter(|| {
            black_box(
                Row::query()
                    .filter(|r| r.price.lt(black_box(70.0)).and(r.qty.gt(5)))
                    .statement(nextorm::Dialect::Sqlite),
            )
        })
    });
    g.finish();

    // The statement of an already built query: exactly what the cache saves.
    let with_site = select!(r for r in Row if r.price < 70.0 && r.qty > 5);
    let without_site = Row::query().filter(|r| r.price.lt(70.0).and(r.qty.gt(5)));
    assert_eq!(
        with_site.statement(nextorm::Dialect::Sqlite).binds,
        without_site.statement(nextorm::Dialect::Sqlite).binds
    );
    let mut g = c.benchmark_group("statement_only");
    for dialect in nextorm::Dialect::ALL {
        g.bench_function(format!("cached/{}", dialect.name()), |b| b.iter(|| black_box(with_site.statement(dialect))));
        g.bench_function(format!("rendered/{}", dialect.name()), |b| {
            b.iter(|| black_box(without_site.statement(dialect)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
