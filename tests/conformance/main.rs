#![allow(unreachable_pub, missing_docs)]
//! The conformance suite: every case in `cases.rs` is written once and runs on SQLite, PostgreSQL
//! and MariaDB, through the blocking `Database` and through `AsyncDatabase`.
//!
//! `cases.rs` is included into two modules that differ only in how a call is awaited (`aw!`) and
//! how a transaction body is written (`transaction!`).

mod entities;
mod fault_proxy;
mod harness;
mod university;

use nextorm::{Dialect, OpenOptions};

/// The blocking facade.
mod blocking {
    #![allow(unused_macros)]
    pub type Db = nextorm::Database;
    pub const FACADE: &str = "blocking";

    macro_rules! aw {
        ($e:expr) => {
            $e
        };
    }
    macro_rules! transaction {
        ($db:expr, |$tx:ident| $body:expr) => {
            $db.transaction(|$tx| $body)
        };
    }
    macro_rules! session {
        ($db:expr, |$s:ident| $body:expr) => {
            $db.session(|$s| $body)
        };
    }
    macro_rules! session_with {
        ($db:expr, $options:expr, |$s:ident| $body:expr) => {
            $db.session_with($options, |$s| $body)
        };
    }
    macro_rules! session_as {
        ($db:expr, $err:ty, |$s:ident| $body:expr) => {
            $db.session_as::<$err, _>(|$s| $body)
        };
    }
    macro_rules! session_with_as {
        ($db:expr, $err:ty, $options:expr, |$s:ident| $body:expr) => {
            $db.session_with_as::<$err, _>($options, |$s| $body)
        };
    }
    macro_rules! transaction_as {
        ($db:expr, $err:ty, |$tx:ident| $body:expr) => {
            $db.transaction_as::<$err, _>(|$tx| $body)
        };
    }
    macro_rules! nested_as {
        ($outer:expr, $err:ty, |$inner:ident| $body:expr) => {
            $outer.transaction_as::<$err, _>(|$inner| $body)
        };
    }
    /// A relation followed through the current session: `Navigate::fetch`.
    macro_rules! nav {
        ($e:expr) => {
            nextorm::Navigate::fetch(&$e)
        };
    }
    macro_rules! sref {
        ($s:ident) => {
            $s
        };
    }
    macro_rules! current {
        () => {
            nextorm::current()
        };
    }
    macro_rules! nested {
        ($outer:expr, |$inner:ident| -> $ret:ty { $($body:tt)* }) => {
            $outer.transaction(|$inner| -> $ret { $($body)* })
        };
        ($outer:expr, |$inner:ident| $body:expr) => {
            $outer.transaction(|$inner| $body)
        };
    }
    /// Whether evaluating `$e` panicked.
    macro_rules! panicked {
        ($e:expr) => {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $e)).is_err()
        };
    }

    pub async fn open(url: &str, options: nextorm::OpenOptions) -> nextorm::Result<Db> {
        Db::open_with(url, options)
    }

    /// Runs a transaction whose body panics after inserting a row; returns whether it panicked.
    pub async fn panic_in_transaction(db: &Db, mut row: crate::entities::Product) -> bool {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = db.transaction(|tx| -> nextorm::Result<()> {
                tx.insert(&mut row)?;
                panic!("boom inside the transaction");
            });
        }));
        result.is_err()
    }

    /// A session that inserts and flushes a row, then panics; whether it panicked.
    pub async fn panic_in_session(db: &Db, row: crate::entities::Product) -> bool {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = db.session(|s| -> nextorm::Result<()> {
                s.create(row)?;
                s.flush()?;
                panic!("boom inside the session");
            });
        }))
        .is_err()
    }

    /// The blocking facade has no session future to drop; see `panic_in_session`.
    pub async fn drop_session_after(_db: &Db, _polls: usize) -> Option<bool> {
        None
    }

    /// `workers` threads, each running `rounds` sessions that increment one counter. Returns the
    /// successful sessions and the errors of the others.
    pub async fn hammer(db: &Db, id: i64, workers: usize, rounds: usize, retry: u32) -> (usize, Vec<nextorm::Error>) {
        use crate::entities::ProductObj;
        let results: Vec<nextorm::Result<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        (0..rounds)
                            .map(|_| {
                                db.session_with(nextorm::SessionOptions::new().retry(retry), |s| {
                                    let c = s.by_pk::<crate::entities::Product>(&id)?;
                                    c.set_stock(c.stock() + 1)
                                })
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("a worker panicked")).collect()
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        (ok, results.into_iter().filter_map(|r| r.err()).collect())
    }

    /// Two sessions at once on rows `ids` (both on call: stock 1). Each reads both rows and,
    /// seeing both on call, takes its own row off call (stock 0). With `meet`, both have read
    /// before either writes (on its first attempt; a retry runs alone).
    pub async fn on_call(
        db: &Db,
        ids: [i64; 2],
        options: nextorm::SessionOptions,
        meet: bool,
    ) -> Vec<nextorm::Result<()>> {
        use crate::entities::ProductObj;
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|me| {
                    let barrier = &barrier;
                    scope.spawn(move || {
                        let mut first = true;
                        db.session_with(options, |s| {
                            let rows = [s.by_pk::<crate::entities::Product>(&ids[0])?, s.by_pk(&ids[1])?];
                            let on_call = rows[0].stock() + rows[1].stock();
                            if std::mem::take(&mut first) && meet {
                                barrier.wait();
                            }
                            if on_call == 2 { rows[me].set_stock(0) } else { Ok(()) }
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a worker panicked")).collect()
        })
    }

    /// Runs `migrate` from `n` threads at once, each with its own database handle.
    pub async fn migrate_concurrently(
        url: &str,
        migrations: &nextorm::migrate::Migrations,
        n: usize,
    ) -> Vec<nextorm::Result<nextorm::migrate::MigrateReport>> {
        let start = std::sync::Barrier::new(n);
        std::thread::scope(|scope| {
            let runs: Vec<_> = (0..n)
                .map(|_| {
                    scope.spawn(|| {
                        let db = Db::open(url)?;
                        start.wait();
                        db.migrate(migrations)
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().expect("a migrate thread panicked")).collect()
        })
    }

    /// Runs `n` sessions at once, each holding its connection until all have one: afterwards the
    /// pool has `n` warm idle connections.
    pub async fn warm_pool(db: &Db, n: usize) {
        let barrier = std::sync::Barrier::new(n);
        std::thread::scope(|scope| {
            for _ in 0..n {
                scope.spawn(|| {
                    db.session(|_| {
                        barrier.wait();
                        Ok(())
                    })
                    .expect("a warming session")
                });
            }
        });
    }

    /// Polls a transaction future `polls` times and drops it. The blocking facade has no future
    /// to drop; its equivalent is the panic above.
    pub async fn drop_transaction_after(_db: &Db, _polls: usize) -> Option<bool> {
        None
    }

    include!("cases.rs");
    include!("queries.rs");
    include!("sessions.rs");
    include!("ergonomics.rs");
    include!("session_options.rs");
    include!("lazy_volatile.rs");
    include!("savepoints.rs");
    include!("session_sql.rs");
    include!("relations.rs");
    include!("values.rs");
    include!("column_rules.rs");
    include!("migrations.rs");
    include!("schema_check.rs");
    include!("faults.rs");
    include!("navigation.rs");
}

/// The async facade.
mod asynchronous {
    #![allow(unused_macros)]
    pub type Db = nextorm::AsyncDatabase;
    pub const FACADE: &str = "async";

    macro_rules! aw {
        ($e:expr) => {
            $e.await
        };
    }
    macro_rules! transaction {
        ($db:expr, |$tx:ident| $body:expr) => {
            $db.transaction(async |$tx| $body).await
        };
    }
    macro_rules! session {
        ($db:expr, |$s:ident| $body:expr) => {
            $db.session(async |$s| $body).await
        };
    }
    macro_rules! session_with {
        ($db:expr, $options:expr, |$s:ident| $body:expr) => {
            $db.session_with($options, |$s| async move { $body }).await
        };
    }
    macro_rules! session_as {
        ($db:expr, $err:ty, |$s:ident| $body:expr) => {
            $db.session_as::<$err, _>(async |$s| $body).await
        };
    }
    macro_rules! session_with_as {
        ($db:expr, $err:ty, $options:expr, |$s:ident| $body:expr) => {
            $db.session_with_as::<$err, _, _>($options, |$s| async move { $body }).await
        };
    }
    macro_rules! transaction_as {
        ($db:expr, $err:ty, |$tx:ident| $body:expr) => {
            $db.transaction_as::<$err, _>(async |$tx| $body).await
        };
    }
    macro_rules! nested_as {
        ($outer:expr, $err:ty, |$inner:ident| $body:expr) => {
            $outer.transaction_as::<$err, _>(async |$inner| $body).await
        };
    }
    /// A relation followed through the current session: `NavigateAsync::fetch_async`.
    macro_rules! nav {
        ($e:expr) => {
            nextorm::NavigateAsync::fetch_async(&$e).await
        };
    }
    macro_rules! sref {
        ($s:ident) => {
            &$s
        };
    }
    macro_rules! current {
        () => {
            nextorm::current_async()
        };
    }
    macro_rules! nested {
        ($outer:expr, |$inner:ident| -> $ret:ty { $($body:tt)* }) => {
            $outer.transaction(async |$inner| -> $ret { $($body)* }).await
        };
        ($outer:expr, |$inner:ident| $body:expr) => {
            $outer.transaction(async |$inner| $body).await
        };
    }
    /// Whether evaluating `$e` panicked.
    macro_rules! panicked {
        ($e:expr) => {
            futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(async { $e })).await.is_err()
        };
    }

    pub async fn open(url: &str, options: nextorm::OpenOptions) -> nextorm::Result<Db> {
        Db::open_with(url, options).await
    }

    pub async fn panic_in_transaction(db: &Db, mut row: crate::entities::Product) -> bool {
        let db = db.clone();
        let task = tokio::spawn(async move {
            let _ = db
                .transaction(async |tx| -> nextorm::Result<()> {
                    tx.insert(&mut row).await?;
                    panic!("boom inside the transaction");
                })
                .await;
        });
        task.await.is_err_and(|e| e.is_panic())
    }

    /// A session that inserts and flushes a row, then panics; whether it panicked.
    pub async fn panic_in_session(db: &Db, row: crate::entities::Product) -> bool {
        let db = db.clone();
        let task = tokio::spawn(async move {
            let _ = db
                .session(async |s| -> nextorm::Result<()> {
                    s.create(row).await?;
                    s.flush().await?;
                    panic!("boom inside the session");
                })
                .await;
        });
        task.await.is_err_and(|e| e.is_panic())
    }

    /// Polls a session that inserts and updates a row `polls` times, then drops it. Returns
    /// whether it had already finished.
    pub async fn drop_session_after(db: &Db, polls: usize) -> Option<bool> {
        use crate::entities::ProductObj;
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let sku = format!("SDROP-{polls}");
        let mut fut = std::pin::pin!(db.session(async |s| {
            let p = s.create(crate::entities::Product::new("dropped", &sku)).await?;
            s.flush().await?;
            p.set_stock(6)?;
            Ok(())
        }));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..polls {
            if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
                r.unwrap();
                return Some(true);
            }
            tokio::task::yield_now().await;
        }
        Some(false)
    }

    /// Two sessions at once on rows `ids`; see the blocking twin.
    pub async fn on_call(
        db: &Db,
        ids: [i64; 2],
        options: nextorm::SessionOptions,
        meet: bool,
    ) -> Vec<nextorm::Result<()>> {
        use crate::entities::ProductObj;
        use std::sync::atomic::{AtomicBool, Ordering};
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let mut tasks = tokio::task::JoinSet::new();
        for me in 0..2 {
            let (db, barrier) = (db.clone(), barrier.clone());
            let first = std::sync::Arc::new(AtomicBool::new(true));
            tasks.spawn(async move {
                db.session_with(options, |s| {
                    let (barrier, first) = (barrier.clone(), first.clone());
                    async move {
                        let rows = [s.by_pk::<crate::entities::Product>(&ids[0]).await?, s.by_pk(&ids[1]).await?];
                        let on_call = rows[0].stock() + rows[1].stock();
                        if first.swap(false, Ordering::SeqCst) && meet {
                            barrier.wait().await;
                        }
                        if on_call == 2 { rows[me].set_stock(0) } else { Ok(()) }
                    }
                })
                .await
            });
        }
        let mut results = Vec::new();
        while let Some(r) = tasks.join_next().await {
            results.push(r.expect("a worker panicked"));
        }
        results
    }

    /// Runs `migrate` from `n` tasks at once, each with its own database handle.
    pub async fn migrate_concurrently(
        url: &str,
        migrations: &nextorm::migrate::Migrations,
        n: usize,
    ) -> Vec<nextorm::Result<nextorm::migrate::MigrateReport>> {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (url, migrations) = (url.to_owned(), migrations.clone());
            tasks.spawn(async move { Db::open(&url).await?.migrate(&migrations).await });
        }
        let mut results = Vec::new();
        while let Some(r) = tasks.join_next().await {
            results.push(r.expect("a migrate task panicked"));
        }
        results
    }

    /// `workers` tasks, each running `rounds` sessions that increment one counter.
    pub async fn hammer(db: &Db, id: i64, workers: usize, rounds: usize, retry: u32) -> (usize, Vec<nextorm::Error>) {
        use crate::entities::ProductObj;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..workers {
            let db = db.clone();
            tasks.spawn(async move {
                let mut out = Vec::with_capacity(rounds);
                for _ in 0..rounds {
                    out.push(
                        db.session_with(nextorm::SessionOptions::new().retry(retry), |s| async move {
                            let c = s.by_pk::<crate::entities::Product>(&id).await?;
                            c.set_stock(c.stock() + 1)
                        })
                        .await,
                    );
                }
                out
            });
        }
        let mut results = Vec::new();
        while let Some(r) = tasks.join_next().await {
            results.extend(r.expect("a worker panicked"));
        }
        let ok = results.iter().filter(|r| r.is_ok()).count();
        (ok, results.into_iter().filter_map(|r| r.err()).collect())
    }

    /// Runs `n` sessions at once, each holding its connection until all have one: afterwards the
    /// pool has `n` warm idle connections.
    pub async fn warm_pool(db: &Db, n: usize) {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..n {
            let (db, barrier) = (db.clone(), barrier.clone());
            tasks.spawn(async move {
                db.session(async |_| {
                    barrier.wait().await;
                    Ok(())
                })
                .await
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.expect("a warming task panicked").expect("a warming session");
        }
    }

    /// Polls a transaction that inserts a row `polls` times, then drops it. Returns whether it
    /// had already finished.
    pub async fn drop_transaction_after(db: &Db, polls: usize) -> Option<bool> {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let mut row = crate::entities::Product::new("dropped", &format!("DROP-{polls}"));
        let mut fut = std::pin::pin!(db.transaction(async |tx| {
            tx.insert(&mut row).await?;
            tx.execute("UPDATE product SET stock = stock + 1 WHERE product_sku = ?", (format!("DROP-{polls}"),))
                .await?;
            Ok(())
        }));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..polls {
            if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
                r.unwrap();
                return Some(true);
            }
            tokio::task::yield_now().await;
        }
        Some(false)
    }

    include!("cases.rs");
    include!("queries.rs");
    include!("sessions.rs");
    include!("ergonomics.rs");
    include!("session_options.rs");
    include!("lazy_volatile.rs");
    include!("savepoints.rs");
    include!("session_sql.rs");
    include!("relations.rs");
    include!("values.rs");
    include!("column_rules.rs");
    include!("migrations.rs");
    include!("schema_check.rs");
    include!("faults.rs");
    include!("navigation.rs");
}

/// Silences the panics the tests cause on purpose (thousands, with backtraces under
/// `RUST_BACKTRACE=1`); every other panic is reported as usual.
fn quiet_deliberate_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info.payload().downcast_ref::<&str>().copied().unwrap_or_default();
            if !msg.starts_with("boom inside the") {
                default(info);
            }
        }));
    });
}

fn run_blocking(dialect: Dialect, case: impl AsyncFnOnce(&blocking::Ctx) -> nextorm::Result<()>) {
    if !harness::enabled(dialect) {
        return;
    }
    quiet_deliberate_panics();
    let scratch = harness::Scratch::new(dialect);
    futures_executor::block_on(async {
        let ctx = blocking::Ctx::new(&scratch).await;
        case(&ctx).await.unwrap();
    });
}

fn run_async(dialect: Dialect, case: impl AsyncFnOnce(&asynchronous::Ctx) -> nextorm::Result<()>) {
    if !harness::enabled(dialect) {
        return;
    }
    quiet_deliberate_panics();
    let scratch = harness::Scratch::new(dialect);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let ctx = asynchronous::Ctx::new(&scratch).await;
        case(&ctx).await.unwrap();
    });
}

fn mapped_options() -> OpenOptions {
    OpenOptions::new().entities(entities::mapped())
}

/// One `#[test]` per case, dialect and facade: `sqlite::blocking::crud_roundtrip`, …
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            mod blocking { $( #[test] fn $case() { crate::run_blocking(nextorm::Dialect::Sqlite, crate::blocking::$case) } )* }
            mod asynchronous { $( #[test] fn $case() { crate::run_async(nextorm::Dialect::Sqlite, crate::asynchronous::$case) } )* }
        }
        mod postgres {
            mod blocking { $( #[test] fn $case() { crate::run_blocking(nextorm::Dialect::Postgres, crate::blocking::$case) } )* }
            mod asynchronous { $( #[test] fn $case() { crate::run_async(nextorm::Dialect::Postgres, crate::asynchronous::$case) } )* }
        }
        mod mariadb {
            mod blocking { $( #[test] fn $case() { crate::run_blocking(nextorm::Dialect::MariaDb, crate::blocking::$case) } )* }
            mod asynchronous { $( #[test] fn $case() { crate::run_async(nextorm::Dialect::MariaDb, crate::asynchronous::$case) } )* }
        }
    };
}

/// One `#[test]` per case and facade on the servers only: faults of the network and of the
/// server process, which an SQLite file in this process cannot have.
macro_rules! server_conformance {
    ($($case:ident),* $(,)?) => {
        mod postgres_faults {
            mod blocking { $( #[test] fn $case() { crate::run_blocking(nextorm::Dialect::Postgres, crate::blocking::$case) } )* }
            mod asynchronous { $( #[test] fn $case() { crate::run_async(nextorm::Dialect::Postgres, crate::asynchronous::$case) } )* }
        }
        mod mariadb_faults {
            mod blocking { $( #[test] fn $case() { crate::run_blocking(nextorm::Dialect::MariaDb, crate::blocking::$case) } )* }
            mod asynchronous { $( #[test] fn $case() { crate::run_async(nextorm::Dialect::MariaDb, crate::asynchronous::$case) } )* }
        }
    };
}

server_conformance!(
    faults_server_gone_and_back,
    faults_backends_killed_by_the_server,
    faults_swallowed_statement_fails_within_its_deadline,
    faults_commit_reply_lost_is_outcome_unknown,
    faults_connection_lost_before_commit_is_retried,
    faults_statement_timeout_is_enforced_by_the_server,
    faults_idle_in_transaction_ends_the_connection,
);

conformance!(
    migrations_apply_revert_and_apply_again,
    schema_check_agrees_after_generate_mapping,
    schema_check_reports_each_difference,
    schema_check_agrees_after_migrations,
    migrations_edited_or_lossy_are_refused,
    migration_failing_in_step_two,
    concurrent_migrates_apply_each_migration_once,
    crud_roundtrip,
    explicit_and_composite_keys,
    reserved_words_everywhere,
    constraint_violations_have_kinds,
    insert_many_stores_keys_splits_batches_and_is_all_or_nothing,
    types_round_trip_with_edge_values,
    unfaithful_values_are_refused,
    null_into_non_option_is_a_decode_error,
    integers_of_every_width_read_as_i64,
    schema_is_idempotent_and_droppable,
    identifier_limits_are_enforced_at_mapping,
    raw_sql_binds_never_splice,
    raw_sql_lookups_and_errors,
    transactions_commit_and_roll_back,
    panicking_transaction_leaves_nothing,
    dropped_transaction_future_leaves_nothing,
    pool_timeout_is_its_own_kind,
    dead_server_and_bad_urls,
    refused_connections_are_connect_failed,
    connection_settings_per_dialect,
    university_oracle,
    query_text_tests_escape_like_patterns,
    query_text_tests_agree_with_rust_over_a_corpus,
    query_aggregates_group_and_having,
    query_membership_lists_and_subqueries,
    query_terminals_paging_and_bulk,
    query_dates_and_values_are_bound,
    query_later_generators_get_free_aliases,
    query_not_in_ignores_null_members,
    query_exists_tests_the_projection,
    session_identity_and_changed_columns,
    session_a_later_session_knows_nothing_of_an_earlier_one,
    session_flushes_before_queries_and_rolls_back,
    session_optimistic_checks,
    session_retry_reruns_the_body,
    session_concurrent_increments,
    session_serializable,
    session_multi_row_inserts,
    session_unique_swap_is_refused_before_anything_is_sent,
    session_queries_return_session_objects,
    session_panics_and_errors_leave_nothing,
    dropped_session_future_leaves_nothing,
    session_current_and_nested,
    session_hooks,
    savepoints_in_transactions,
    savepoints_in_sessions,
    savepoints_with_own_errors,
    navigation_through_the_current_session,
    session_strict_objects_are_unusable_after,
    session_raw_sql_joins_the_session,
    session_select_by_sql_fills_the_identity_map,
    session_on_a_pool_of_one,
    ergonomics_setters_take_into,
    ergonomics_session_bodies_return_own_errors,
    ergonomics_retry_with_own_errors,
    ergonomics_defaults_with_relations,
    ergonomics_update_marks_only_changed_fields,
    session_constraint_errors_name_the_object,
    session_changes_that_cancel_out_send_nothing,
    session_allowed_errors_commit,
    session_retry_when_replaces_the_builtin_kinds,
    session_object_flush_sends_only_that_object,
    relations_collection_set_replaces_members,
    relations_count_is_kept_until_the_collection_changes,
    relations_removing_a_required_member_deletes_it,
    session_hooks_cannot_query_their_session,
    lazy_columns_load_on_first_read_in_batches,
    lazy_columns_stay_out_of_relation_loads,
    volatile_columns_are_read_again_and_never_checked,
    session_for_update_holds_the_lock_until_commit,
    relations_flush_in_foreign_key_order_and_load_lazily_in_batches,
    relations_collections_load_once_and_follow_the_session,
    relations_a_hook_moving_a_member_moves_it_between_collections,
    relations_flushing_a_delete_runs_no_other_objects_hook,
    relations_lazy_walk_sends_one_query_per_level,
    relations_delete_rules,
    relations_optional_reference_with_cascade_delete,
    relations_two_models_on_one_table_name,
    relations_query_navigation,
    relations_many_to_many_add_remove_clear,
    relations_one_to_many_add_remove_clear,
    relations_self_references,
    relations_prefetch_levels_and_use_after_the_session,
    relations_prefetched_cycles_are_freed,
    relations_one_to_one,
    values_compare_sort_and_compute_as_on_postgres,
    missing_column_is_an_error_never_a_value,
    column_rules_are_checked_before_sending_and_by_the_database,
    column_rules_change_through_migrations,
    table_checks_change_through_migrations,
    navigation_to_dict_with_relations,
    navigation_serde_shapes_entities_and_handles,
);
