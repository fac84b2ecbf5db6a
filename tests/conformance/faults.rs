// Fault cases on PostgreSQL and MariaDB, through the fault-injecting proxy; included into
// `blocking` and `asynchronous`.

use crate::fault_proxy::FaultProxy;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The scratch database reached through a new proxy.
async fn through_proxy(t: &Ctx, options: OpenOptions) -> (Db, FaultProxy) {
    let server = crate::fault_proxy::server_of(&t.url);
    let proxy = FaultProxy::start(&server);
    let db = open(&proxy.url_for(&t.url, &server), options).await.expect("open through the proxy");
    (db, proxy)
}

/// A product to read and change, inserted directly; its key.
async fn seeded(t: &Ctx, sku: &str) -> Result<i64> {
    let mut p = Product::new("Seed", sku);
    aw!(t.db.insert(&mut p))?;
    Ok(p.id)
}

/// One session that reads product `id` and adds one to its stock.
async fn increment(db: &Db, id: i64) -> Result<()> {
    session!(db, |s| {
        let p = aw!(s.by_pk::<Product>(&id))?;
        p.set_stock(p.stock() + 1)
    })
}

async fn stock_of(t: &Ctx, id: i64) -> Result<i64> {
    aw!(t.db.get::<i64>("SELECT stock FROM product WHERE id = ?", (id,)))
}

/// Kills, from the server's side, the backends behind the proxy's connections
/// (`pg_terminate_backend`, MariaDB `KILL`), and polls until the server lists none of them.
async fn kill_backends(t: &Ctx, proxy: &FaultProxy) -> Result<()> {
    let ports = proxy.server_side_ports().iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ");
    assert!(!ports.is_empty(), "the proxy forwards no connection");
    let listed = match t.dialect {
        Dialect::Postgres => format!("SELECT pid FROM pg_stat_activity WHERE client_port::text IN ({ports})"),
        _ => format!(
            "SELECT id FROM information_schema.PROCESSLIST WHERE SUBSTRING_INDEX(host, ':', -1) IN ({ports})"
        ),
    };
    let backends: Vec<i64> = aw!(t.db.select(&listed, ()))?;
    assert!(!backends.is_empty(), "the server lists no backend behind the proxy");
    for backend in backends {
        match t.dialect {
            Dialect::Postgres => drop(aw!(t.db.get::<bool>("SELECT pg_terminate_backend(?::int)", (backend,)))?),
            _ => drop(aw!(t.db.execute(&format!("KILL {backend}"), ()))?),
        }
    }
    for _ in 0..10_000 {
        if aw!(t.db.select::<i64>(&listed, ()))?.is_empty() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("{}: the killed backends are still listed", t.label());
}

pub async fn faults_server_gone_and_back(t: &Ctx) -> Result<()> {
    let id = seeded(t, "GONE-1").await?;
    let (db, proxy) = through_proxy(t, crate::mapped_options().max_connections(2)).await;
    warm_pool(&db, 2).await;
    assert_eq!(db.pool_status().idle, 2, "two warm connections");
    proxy.refuse(true);
    proxy.drop_all();
    proxy.refuse(false);
    for round in 0..5 {
        increment(&db, id).await.unwrap_or_else(|e| panic!("{}: session {round} after the restart: {e}", t.label()));
    }
    assert_eq!(stock_of(t, id).await?, 10, "each of the five sessions committed once");
    assert_pool_idle(&db);
    Ok(())
}

pub async fn faults_backends_killed_by_the_server(t: &Ctx) -> Result<()> {
    let id = seeded(t, "KILL-1").await?;
    let (db, proxy) = through_proxy(t, crate::mapped_options().max_connections(2)).await;
    warm_pool(&db, 2).await;
    kill_backends(t, &proxy).await?;
    for round in 0..4 {
        increment(&db, id).await.unwrap_or_else(|e| panic!("{}: session {round} after the kill: {e}", t.label()));
    }
    assert_eq!(stock_of(t, id).await?, 9, "each of the four sessions committed once");
    assert_pool_idle(&db);
    Ok(())
}

pub async fn faults_swallowed_statement_fails_within_its_deadline(t: &Ctx) -> Result<()> {
    let id = seeded(t, "SWALLOW-1").await?;
    let options = crate::mapped_options().max_connections(2).statement_timeout(Duration::from_secs(1));
    let (db, proxy) = through_proxy(t, options).await;
    let proxy = &proxy;
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Product::new("Half", "HALF-1")))?;
        aw!(s.flush())?;
        // The network goes silent mid-transaction: nothing answers, nothing closes.
        proxy.swallow(true);
        aw!(s.by_pk::<Product>(&id)).map(drop)
    });
    proxy.swallow(false);
    expect_kind(r, ErrorKind::ConnectionLost, "a statement on a silent network");
    let half: i64 = aw!(t.db.get("SELECT COUNT(*) FROM product WHERE product_sku = 'HALF-1'", ()))?;
    assert_eq!(half, 0, "nothing of the stalled transaction was committed");
    increment(&db, id).await?;
    assert_eq!(stock_of(t, id).await?, 6, "the pool serves again");
    assert_pool_idle(&db);
    Ok(())
}

pub async fn faults_commit_reply_lost_is_outcome_unknown(t: &Ctx) -> Result<()> {
    let (db, proxy) = through_proxy(t, crate::mapped_options().max_connections(2)).await;
    let runs = &AtomicUsize::new(0);
    proxy.cut_after_next_commit();
    let r: Result<()> = session_with!(db, nextorm::SessionOptions::new().retry(3), |s| {
        runs.fetch_add(1, Ordering::SeqCst);
        aw!(s.create(Product::new("Lost", "LOST-1")))?;
        aw!(s.create(Product::new("Lost", "LOST-2")))?;
        Ok(())
    });
    let e = expect_kind(r, ErrorKind::ConnectionLost, "a COMMIT whose reply was lost");
    assert!(e.is_outcome_unknown() && e.message().contains("unknown"), "{e}");
    assert_eq!(runs.load(Ordering::SeqCst), 1, "an unknown outcome is not retried");
    // Nor when the body sent the COMMIT itself and `retry_when` accepts every error.
    runs.store(0, Ordering::SeqCst);
    proxy.cut_after_next_commit();
    let options = nextorm::SessionOptions::new().retry(3).retry_when(|_: &nextorm::Error| true);
    let r: Result<()> = session_with!(db, options, |s| {
        runs.fetch_add(1, Ordering::SeqCst);
        aw!(s.create(Product::new("Lost", "LOST-3")))?;
        aw!(s.commit())
    });
    let e = expect_kind(r, ErrorKind::ConnectionLost, "a COMMIT the body sent, whose reply was lost");
    assert!(e.is_outcome_unknown(), "{e}");
    assert_eq!(runs.load(Ordering::SeqCst), 1, "retry_when does not re-run an unknown outcome");
    assert_pool_idle(&db);
    Ok(())
}

pub async fn faults_connection_lost_before_commit_is_retried(t: &Ctx) -> Result<()> {
    let id = seeded(t, "RERUN-1").await?;
    let other = seeded(t, "RERUN-2").await?;
    let (db, proxy) = through_proxy(t, crate::mapped_options().max_connections(2)).await;
    let (proxy, runs) = (&proxy, &AtomicUsize::new(0));
    session_with!(db, nextorm::SessionOptions::new().retry(2), |s| {
        let first = runs.fetch_add(1, Ordering::SeqCst) == 0;
        let p = aw!(s.by_pk::<Product>(&id))?;
        if first {
            // The connection dies after the session used it, before anything was written.
            proxy.drop_all();
        }
        aw!(s.by_pk::<Product>(&other))?;
        p.set_stock(p.stock() + 1)
    })?;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "the body ran again on another connection");
    assert_eq!(stock_of(t, id).await?, 6, "and committed once");
    assert_pool_idle(&db);
    Ok(())
}

pub async fn faults_statement_timeout_is_enforced_by_the_server(t: &Ctx) -> Result<()> {
    let options = crate::mapped_options().max_connections(1).statement_timeout(Duration::from_millis(300));
    let db = open(&t.url, options).await?;
    let (sleep, code) = match t.dialect {
        Dialect::Postgres => ("SELECT pg_sleep(30)", "57014"),
        _ => ("SELECT SLEEP(30)", "1969"),
    };
    let e = expect_kind(aw!(db.execute(sleep, ())), ErrorKind::StatementTimeout, "a statement past its timeout");
    assert_eq!(e.code(), Some(code), "{}: the server cancelled it: {e}", t.label());
    assert_eq!(aw!(db.get::<i64>("SELECT 1", ()))?, 1, "the connection serves on");
    // Inside a session: the same kind, and the session's writes roll back.
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Product::new("Slow", "SLOW-1")))?;
        aw!(s.flush())?;
        aw!(s.execute(sleep, ())).map(drop)
    });
    expect_kind(r, ErrorKind::StatementTimeout, "a session's statement past its timeout");
    let slow: i64 = aw!(t.db.get("SELECT COUNT(*) FROM product WHERE product_sku = 'SLOW-1'", ()))?;
    assert_eq!(slow, 0, "the session rolled back");
    assert_pool_idle(&db);
    Ok(())
}

/// The id the server gives this connection's backend (PostgreSQL `pg_backend_pid()`, MariaDB
/// `CONNECTION_ID()`), and how to count it among the live ones.
fn backend_queries(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Postgres => ("SELECT pg_backend_pid()", "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?"),
        _ => ("SELECT CONNECTION_ID()", "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE id = ?"),
    }
}

/// A session idle inside its transaction past `idle_in_transaction_timeout` loses its
/// connection (the server ends it and rolls the transaction back); the pool serves on.
pub async fn faults_idle_in_transaction_ends_the_connection(t: &Ctx) -> Result<()> {
    let id = seeded(t, "IDLE-1").await?;
    // MariaDB counts `idle_transaction_timeout` in whole seconds.
    let limit = Duration::from_millis(if t.dialect == Dialect::Postgres { 200 } else { 1000 });
    let options = crate::mapped_options().max_connections(1).idle_in_transaction_timeout(limit);
    let db = open(&t.url, options).await?;
    let (own_backend, live) = backend_queries(t.dialect);
    let r: Result<()> = session!(db, |s| {
        let p = aw!(s.by_pk::<Product>(&id))?;
        p.set_stock(p.stock() + 1)?;
        aw!(s.flush())?;
        let backend: i64 = aw!(s.get(own_backend, ()))?;
        // Idle inside the open transaction until the server has ended the connection.
        let mut polls = 0;
        while aw!(t.db.get::<i64>(live, (backend,)))? > 0 {
            polls += 1;
            assert!(polls < 10_000, "{}: the idle connection was never ended", t.label());
            std::thread::sleep(Duration::from_millis(1));
        }
        aw!(s.get::<i64>("SELECT 1", ())).map(drop)
    });
    expect_kind(r, ErrorKind::ConnectionLost, "a statement after the idle-in-transaction limit");
    assert_eq!(stock_of(t, id).await?, 5, "the idle transaction's update was rolled back");
    increment(&db, id).await?;
    assert_eq!(stock_of(t, id).await?, 6, "the pool serves again");
    assert_pool_idle(&db);
    Ok(())
}
