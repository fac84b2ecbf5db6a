// Session cases, written once; included into `blocking` and `asynchronous`.

use crate::entities::{CountryObj, PostObj, ProductObj};

/// Changes the row behind the session's back, on another connection (`db.execute` inside the
/// session would join it).
macro_rules! meddle {
    ($db:expr, $sql:literal, $id:expr) => {
        transaction!($db, |tx| aw!(tx.execute($sql, ($id,))))
    };
}

pub async fn session_identity_and_changed_columns(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let id = session!(db, |s| {
        let p = aw!(s.create(Product::new("Widget", "W-1")))?;
        assert_eq!(p.id(), 0, "the key is generated at the flush");
        aw!(s.flush())?;
        Ok(p.id())
    })?;
    assert!(id > 0);
    session!(db, |s| {
        let a = aw!(s.by_pk::<Product>(&id))?;
        let sent = aw!(s.stats()).statements;
        assert_eq!(sent, 1, "one SELECT loaded the object");
        let b = aw!(s.by_pk::<Product>(&id))?;
        assert!(a == b, "one object per row");
        assert_eq!(aw!(s.stats()).statements, sent, "by_pk of a held object sends nothing");
        let all = aw!(s.select(&select!(p for p in Product)))?;
        assert!(all.len() == 1 && all[0] == a, "a query returns the held object");
        a.set_price(a.price() * 2.0)?;
        assert_eq!(b.price(), 19.0, "a change through one handle shows through the other");
        let before_flush = aw!(s.stats()).statements;
        aw!(s.flush())?;
        assert_eq!(aw!(s.stats()).statements, before_flush + 2, "BEGIN and one UPDATE");
        let sql = aw!(s.last_sql()).unwrap();
        assert!(sql.starts_with("UPDATE") && sql.contains("price") && !sql.contains("product_sku"), "{sql}");
        a.set_price(19.0)?;
        let before = aw!(s.stats()).statements;
        aw!(s.flush())?;
        assert_eq!(aw!(s.stats()).statements, before, "setting the value it has sends nothing");
        Ok(())
    })?;
    let (price, name): (f64, String) = aw!(db.get("SELECT price, name FROM product WHERE id = ?", (id,)))?;
    assert_eq!((price, name.as_str()), (19.0, "Widget"));
    assert_pool_idle(db);
    Ok(())
}

/// A session starts from nothing, though it may reuse the identity map an earlier session of
/// the database left (kept for its tables' memory): no object, key or loaded state carries over.
pub async fn session_a_later_session_knows_nothing_of_an_earlier_one(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let id = session!(db, |s| {
        let p = aw!(s.create(Product::new("Kept", "K-1")))?;
        aw!(s.flush())?;
        Ok(p.id())
    })?;
    let first = session!(db, |s| aw!(s.by_pk::<Product>(&id)))?;
    meddle!(db, "UPDATE product SET name = 'Changed' WHERE id = ?", id)?;
    session!(db, |s| {
        let again = aw!(s.by_pk::<Product>(&id))?;
        assert_eq!(aw!(s.stats()).statements, 1, "the object is loaded again, not found in a kept map");
        assert_eq!(again.name(), "Changed");
        assert!(again != first, "another session's object");
        let all = aw!(s.select(&select!(p for p in Product if p.id == id)))?;
        assert!(all.len() == 1 && all[0] == again, "one object per row, this session's");
        Ok(())
    })?;
    assert_eq!(first.name(), "Kept", "the earlier session's object keeps what it read");
    assert!(first.set_name("Late").is_err(), "and stays read-only");
    assert_pool_idle(db);
    Ok(())
}

pub async fn session_flushes_before_queries_and_rolls_back(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Product::new("Gone", "G-1")))?;
        assert_eq!(aw!(s.stats()).statements, 0, "creating sends nothing");
        let names = aw!(select!(p.name for p in Product).fetch_all(sref!(s)))?;
        assert_eq!(names, vec!["Gone".to_string()], "the query saw the pending insert");
        assert_eq!(aw!(s.stats()).statements, 3, "BEGIN and INSERT flushed before the SELECT");
        Err(nextorm::Error::new(ErrorKind::Config, "changed my mind"))
    });
    assert_eq!(r.unwrap_err().message(), "changed my mind");
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 0, "Err rolled back");

    session!(db, |s| {
        aw!(s.create(Product::new("Kept", "K-1")))?;
        aw!(s.create(Product::new("Also kept", "K-2")))?;
        aw!(s.commit())?;
        let stats = aw!(s.stats());
        assert_eq!((stats.statements, stats.writes), (3, 2), "BEGIN, one INSERT of both, COMMIT");
        let later = aw!(s.create(Product::new("Dropped", "D-1")))?;
        aw!(s.rollback())?;
        assert!(later.set_price(1.0).is_err(), "objects of a rolled-back session refuse writes");
        Ok(())
    })?;
    let names: Vec<String> = aw!(db.select("SELECT name FROM product", ()))?;
    assert_eq!(sorted(names), vec!["Also kept".to_string(), "Kept".to_string()], "commit keeps, rollback drops, the session goes on");

    // Each query flushes what changed since the last flush, however little.
    let r: Result<()> = session!(db, |s| {
        let kept = aw!(select!(p for p in Product if p.name == "Kept").fetch_one(sref!(s)))?;
        aw!(select!(p.name for p in Product).fetch_all(sref!(s)))?;
        assert_eq!(aw!(s.stats()).writes, 0, "nothing changed, nothing written");
        kept.set_price(2.5)?;
        let prices = aw!(select!(p.price for p in Product if p.name == "Kept").fetch_all(sref!(s)))?;
        assert_eq!(prices, vec![2.5], "the query saw the change made after the last flush");
        kept.delete()?;
        let left = aw!(select!(p for p in Product if p.name == "Kept").count(sref!(s)))?;
        assert_eq!(left, 0, "and the delete made after the next one");
        aw!(s.create(Product::new("Fresh", "F-1")))?;
        let fresh = aw!(select!(p for p in Product if p.name == "Fresh").count(sref!(s)))?;
        assert_eq!(fresh, 1, "and the object created after that");
        Err(nextorm::Error::new(ErrorKind::Config, "undo"))
    });
    assert_eq!(r.unwrap_err().message(), "undo");

    // A database error makes the session rollback-only.
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Product::new("Twin", "K-1")))?;
        let e = aw!(s.flush()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UniqueViolation);
        let after = aw!(s.find::<Product>(&1)).unwrap_err();
        assert!(after.message().contains("must roll back"), "{after}");
        Err(e)
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::UniqueViolation);
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 2);
    assert_pool_idle(db);
    Ok(())
}

pub async fn session_optimistic_checks(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut p = Product::new("Original", "O-1");
    aw!(db.insert(&mut p))?;
    let id = p.id;

    // The session read `name`; another transaction changes it: the update is a conflict.
    let r: Result<()> = session!(db, |s| {
        let obj = aw!(s.by_pk::<Product>(&id))?;
        assert_eq!(obj.name(), "Original");
        meddle!(db, "UPDATE product SET name = 'Changed' WHERE id = ?", id)?;
        obj.set_stock(obj.stock() + 1)?;
        aw!(s.flush())
    });
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OptimisticConflict, "{e}");
    assert!(e.is_retryable());
    assert_eq!(aw!(db.get::<i64>("SELECT stock FROM product WHERE id = ?", (id,)))?, 5, "nothing was written");

    // Disjoint columns: the session touched only `stock`; a concurrent change of `name` is fine.
    session!(db, |s| {
        let obj = aw!(s.by_pk::<Product>(&id))?;
        obj.set_stock(obj.stock() + 1)?;
        meddle!(db, "UPDATE product SET name = 'Again' WHERE id = ?", id)?;
        aw!(s.flush())
    })?;
    let (name, stock): (String, i64) = aw!(db.get("SELECT name, stock FROM product WHERE id = ?", (id,)))?;
    assert_eq!((name.as_str(), stock), ("Again", 6), "both writers' changes stand");

    // A row deleted behind the session's back: the delete is a conflict too.
    let r: Result<()> = session!(db, |s| {
        let obj = aw!(s.by_pk::<Product>(&id))?;
        meddle!(db, "DELETE FROM product WHERE id = ?", id)?;
        aw!(s.delete(&obj))?;
        aw!(s.flush())
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::OptimisticConflict);
    assert_pool_idle(db);
    Ok(())
}

pub async fn session_retry_reruns_the_body(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut p = Product::new("Counter", "C-1");
    aw!(db.insert(&mut p))?;
    let id = p.id;
    let attempts = std::sync::atomic::AtomicUsize::new(0);
    let attempts = &attempts;
    let stock = session_with!(db, nextorm::SessionOptions::new().retry(5), |s| {
        let attempt = attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let obj = aw!(s.by_pk::<Product>(&id))?;
        let seen = obj.stock();
        if attempt <= 2 {
            // Another writer gets in between: the first two attempts conflict.
            meddle!(db, "UPDATE product SET stock = stock + 100 WHERE id = ?", id)?;
        }
        obj.set_stock(seen + 1)?;
        Ok(seen + 1)
    })?;
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 3, "two conflicts, then success");
    assert_eq!(stock, 206, "the third attempt read 205");
    assert_eq!(aw!(db.get::<i64>("SELECT stock FROM product WHERE id = ?", (id,)))?, 206);
    // Without retry the conflict surfaces.
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let calls = &calls;
    let r: Result<i64> = session_with!(db, nextorm::SessionOptions::new(), |s| {
        calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let obj = aw!(s.by_pk::<Product>(&id))?;
        meddle!(db, "UPDATE product SET stock = 0 WHERE id = ?", id)?;
        obj.set_stock(obj.stock() + 1)?;
        Ok(0)
    });
    assert_eq!((r.unwrap_err().kind(), calls.load(std::sync::atomic::Ordering::SeqCst)), (ErrorKind::OptimisticConflict, 1));
    assert_pool_idle(db);
    Ok(())
}

/// 16 concurrent sessions × 200 optimistic increments of one counter. Without retry, every lost
/// race is an optimistic conflict and the counter equals the commits; with `retry(50)` all 3200
/// increments land.
pub async fn session_concurrent_increments(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut counter = Product { stock: 0, ..Product::new("counter", "CNT") };
    aw!(db.insert(&mut counter))?;
    let id = counter.id;
    let (ok, errors) = hammer(db, id, 16, 200, 0).await;
    assert_eq!(ok + errors.len(), 3200);
    assert!(errors.iter().all(|e| e.kind() == ErrorKind::OptimisticConflict), "{:?}", errors.iter().find(|e| e.kind() != ErrorKind::OptimisticConflict));
    let stock: i64 = aw!(db.get("SELECT stock FROM product WHERE id = ?", (id,)))?;
    assert_eq!(stock, ok as i64, "the counter equals the successful commits ({} conflicts)", errors.len());

    aw!(db.execute("UPDATE product SET stock = 0 WHERE id = ?", (id,)))?;
    let (ok, errors) = hammer(db, id, 16, 200, 50).await;
    assert!(errors.is_empty(), "with retry(50) every increment lands: {:?}", errors.first());
    assert_eq!(ok, 3200);
    assert_eq!(aw!(db.get::<i64>("SELECT stock FROM product WHERE id = ?", (id,)))?, 3200);
    assert_pool_idle(db);
    Ok(())
}

/// Write skew, which optimistic checks cannot see: two sessions each read two rows and write a
/// different one. `serializable` lets only one of them act on what it read.
pub async fn session_serializable(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut ids = [0; 2];
    for (i, id) in ids.iter_mut().enumerate() {
        let mut p = Product { stock: 1, ..Product::new("doctor", &format!("DOC-{i}")) };
        aw!(db.insert(&mut p))?;
        *id = p.id;
    }
    let still_on_call = async || -> Result<i64> { aw!(db.get("SELECT SUM(stock) FROM product", ())) };
    let reset = async || -> Result<u64> { aw!(db.execute("UPDATE product SET stock = 1", ())) };

    // The default session reads in autocommit: both act on the same picture and nobody is left.
    let results = on_call(db, ids, nextorm::SessionOptions::new(), true).await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(still_on_call().await?, 0, "optimistic checks alone let write skew through");

    // A serializable session opens its transaction before its first read.
    reset().await?;
    session_with!(db, nextorm::SessionOptions::new().serializable(), |s| {
        aw!(s.by_pk::<Product>(&ids[0]))?;
        let begin = if t.dialect == Dialect::MariaDb { 2 } else { 1 };
        assert_eq!(aw!(s.stats()).statements, begin + 1, "BEGIN, then the SELECT");
        Ok(())
    })?;

    // Serializable: one of the two loses (SQLite runs them one after the other, since the
    // first takes the write lock as it begins, so they do not meet).
    let meet = t.dialect != Dialect::Sqlite;
    let results = on_call(db, ids, nextorm::SessionOptions::new().serializable(), meet).await;
    assert_eq!(still_on_call().await?, 1, "exactly one left on call: {results:?}");
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    if meet {
        assert_eq!(failed.len(), 1, "{results:?}");
        assert_eq!(failed[0].kind(), ErrorKind::SerializationFailure, "{}", failed[0]);
    } else {
        assert!(failed.is_empty(), "{results:?}");
    }

    // A serializable session cannot join one that is not.
    let r: Result<()> = session!(db, |_s| session_with!(db, nextorm::SessionOptions::new().serializable(), |_n| Ok(())));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Config);
    // After a commit, the next read opens a new serializable transaction.
    session_with!(db, nextorm::SessionOptions::new().serializable(), |s| {
        aw!(s.by_pk::<Product>(&ids[0]))?;
        aw!(s.commit())?;
        let before = aw!(s.stats()).statements;
        aw!(s.by_pk::<Product>(&ids[1]))?;
        let begin = if t.dialect == Dialect::MariaDb { 2 } else { 1 };
        assert_eq!(aw!(s.stats()).statements, before + begin + 1, "BEGIN again, then the SELECT");
        Ok(())
    })?;

    // With retry the loser runs again, sees the change and leaves its row alone.
    reset().await?;
    let results = on_call(db, ids, nextorm::SessionOptions::new().serializable().retry(5), meet).await;
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(still_on_call().await?, 1);
    assert_pool_idle(db);
    Ok(())
}

/// New objects with given keys go in multi-row INSERTs, in the order they joined; generated keys
/// are read back one row at a time.
pub async fn session_multi_row_inserts(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let country = |code: &str| Country { code: code.into(), name: format!("Land {code}") };
    session!(db, |s| {
        for code in ["AA", "AB", "AC"] {
            aw!(s.create(country(code)))?;
        }
        let p = aw!(s.create(Product::new("Globe", "GL-1")))?;
        for code in ["AD", "AE"] {
            aw!(s.create(country(code)))?;
        }
        aw!(s.flush())?;
        let stats = aw!(s.stats());
        assert_eq!((stats.statements, stats.writes), (4, 6), "BEGIN, 3 countries, the product, 2 countries");
        assert!(aw!(s.last_sql()).unwrap().matches("), (").count() == 1, "the last INSERT carried two rows");
        assert!(p.id() > 0, "the generated key was read back");
        assert!(aw!(s.find::<Country>(&"AE".to_string()))?.is_some_and(|c| c.name() == "Land AE"));
        for i in 0..300 {
            aw!(s.create(Course { name: format!("Course {i}"), semester: i % 2, credits: i }))?;
        }
        let before = aw!(s.stats()).statements;
        aw!(s.flush())?;
        assert_eq!(aw!(s.stats()).statements, before + 2, "300 rows in two INSERTs (256 + 44)");
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM country", ()))?, 5);
    assert_eq!(aw!(db.get::<i64>("SELECT SUM(credits) FROM course", ()))?, (0..300).sum::<i64>());

    // A unique value handed from one row to another: the flush frees it first, whatever order
    // the objects joined the session in.
    session!(db, |s| {
        aw!(s.create(Product::new("Old", "SKU-1")))?;
        aw!(s.create(Product::new("New", "SKU-2")))?;
        Ok(())
    })?;
    session!(db, |s| {
        let new = aw!(select!(p for p in Product if p.name == "New").fetch_one(sref!(s)))?;
        let old = aw!(select!(p for p in Product if p.name == "Old").fetch_one(sref!(s)))?;
        new.set_sku("SKU-1")?;
        old.set_sku("SKU-0")?;
        Ok(())
    })?;
    let skus: Vec<(String, String)> =
        aw!(db.select("SELECT name, product_sku FROM product WHERE name IN ('Old', 'New') ORDER BY name", ()))?;
    assert_eq!(skus, [("New".to_owned(), "SKU-1".to_owned()), ("Old".to_owned(), "SKU-0".to_owned())]);

    // A duplicate key inside a batch fails the whole flush, and nothing of the session stays.
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(country("ZZ")))?;
        aw!(s.create(country("AA")))?;
        aw!(s.flush())
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::UniqueViolation);
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM country WHERE code = 'ZZ'", ()))?, 0);
    assert_pool_idle(db);
    Ok(())
}

/// Two rows swapping unique values in one flush wait for each other: the flush refuses before
/// sending anything, the session can roll back and go on, and the swap works in two flushes.
pub async fn session_unique_swap_is_refused_before_anything_is_sent(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (a, b) = session!(db, |s| {
        let a = aw!(s.create(Product::new("A", "SWAP-A")))?;
        let b = aw!(s.create(Product::new("B", "SWAP-B")))?;
        aw!(s.flush())?;
        Ok((a.id(), b.id()))
    })?;
    let skus_sql = "SELECT product_sku FROM product WHERE id IN (?, ?) ORDER BY name";
    session!(db, |s| {
        let (pa, pb) = (aw!(s.by_pk::<Product>(&a))?, aw!(s.by_pk::<Product>(&b))?);
        pa.set_sku("SWAP-B")?;
        pb.set_sku("SWAP-A")?;
        let sent = aw!(s.stats()).statements;
        let e = aw!(s.flush()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UniqueViolation);
        assert_eq!(
            e.message(),
            format!(
                "a flush cannot order these changes: Product[{a}].sku (column product_sku) and Product[{b}].sku \
                 (column product_sku) take each other's unique value; flush between the writes (give one a \
                 temporary value first)"
            )
        );
        assert_eq!(aw!(s.stats()).statements, sent, "nothing was sent");
        aw!(s.rollback())?;
        // The same swap through a temporary value: two flushes.
        let (pa, pb) = (aw!(s.by_pk::<Product>(&a))?, aw!(s.by_pk::<Product>(&b))?);
        assert_eq!(pa.sku(), "SWAP-A", "the refused change was rolled back");
        pa.set_sku("SWAP-tmp")?;
        aw!(s.flush())?;
        pb.set_sku("SWAP-A")?;
        pa.set_sku("SWAP-B")?;
        Ok(())
    })?;
    let skus: Vec<String> = aw!(db.select(skus_sql, (a, b)))?;
    assert_eq!(skus, ["SWAP-B", "SWAP-A"], "swapped");
    // Refused at the commit of a session: nothing of it is written.
    let r: Result<()> = session!(db, |s| {
        let (pa, pb) = (aw!(s.by_pk::<Product>(&a))?, aw!(s.by_pk::<Product>(&b))?);
        pa.set_sku("SWAP-A")?;
        pb.set_sku("SWAP-B")?;
        aw!(s.create(Product::new("C", "SWAP-C")))?;
        Ok(())
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::UniqueViolation);
    let skus: Vec<String> = aw!(db.select(skus_sql, (a, b)))?;
    assert_eq!(skus, ["SWAP-B", "SWAP-A"], "nothing changed");
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product WHERE product_sku = 'SWAP-C'", ()))?, 0);
    // Rows referring to each other may be deleted in one flush.
    session!(db, |s| {
        let first = aw!(s.create(Employee { name: "First".into(), ..Default::default() }))?;
        let second = Employee { name: "Second".into(), manager: Some(Single::from(&first)), ..Default::default() };
        let second = aw!(s.create(second))?;
        aw!(s.flush())?;
        first.set_manager(Some(Single::from(&second)))?;
        Ok(())
    })?;
    session!(db, |s| {
        for e in aw!(select!(e for e in Employee).fetch_all(sref!(s)))? {
            e.delete()?;
        }
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM employee", ()))?, 0);
    // A new object that refers to itself, read while it is locked (no deadlock): with its key
    // given, one INSERT; with a key the database generates, refused with a clear error, since
    // the row would need its own key before it exists.
    let r: Result<i64> = session!(db, |s| {
        let own = aw!(s.create(Employee { name: "Generated".into(), ..Default::default() }))?;
        own.set_manager(Some(Single::from(&own)))?;
        aw!(s.flush())?;
        Ok(own.id())
    });
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidValue, "{e}");
    assert!(e.message().contains("new Employee that has not been saved"), "{e}");
    let id = 7001;
    session!(db, |s| {
        let own = aw!(s.create(Employee { id, name: "Own".into(), ..Default::default() }))?;
        own.set_manager(Some(Single::from(&own)))?;
        own.update(|e| e.name = "Own, renamed".into())?;
        assert!(own.to_dict(&[], &[])?.contains_key("manager"));
        aw!(s.flush())?;
        Ok(())
    })?;
    let manager: Option<i64> = aw!(db.get("SELECT manager FROM employee WHERE id = ?", (id,)))?;
    assert_eq!(manager, Some(id), "the row refers to itself");
    // The same through the collection: an employee added to its own reports.
    session!(db, |s| {
        let own = aw!(s.create(Employee { id: 7002, name: "Self-managed".into(), ..Default::default() }))?;
        aw!(own.reports().add(sref!(s), &own))?;
        aw!(s.flush())?;
        Ok(())
    })?;
    let manager: Option<i64> = aw!(db.get("SELECT manager FROM employee WHERE id = ?", (7002,)))?;
    assert_eq!(manager, Some(7002), "added to its own reports");
    aw!(db.execute("DELETE FROM employee WHERE id = ?", (7002,)))?;
    session!(db, |s| {
        let own = aw!(s.by_pk::<Employee>(&id))?;
        assert_eq!(own.manager().map(|m| m.key()), Some(id));
        own.delete()?;
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM employee", ()))?, 0);
    assert_pool_idle(db);
    Ok(())
}

/// 1000 sessions that panic and 1000 that return `Err`, on a pool of 4: nothing is committed,
/// and every pooled connection is idle and outside a transaction afterwards.
pub async fn session_panics_and_errors_leave_nothing(t: &Ctx) -> Result<()> {
    let db = open(&t.url, crate::mapped_options().max_connections(4)).await?;
    for i in 0..1000 {
        assert!(panic_in_session(&db, Product::new("ghost", &format!("P-{i}"))).await, "the body panicked");
    }
    for i in 0..1000 {
        let r: Result<()> = session!(db, |s| {
            aw!(s.create(Product::new("ghost", &format!("E-{i}"))))?;
            aw!(s.flush())?;
            Err(nextorm::Error::new(ErrorKind::Config, "no"))
        });
        assert_eq!(r.unwrap_err().message(), "no");
    }
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 0, "nothing committed");
    assert_pool_idle(&db);
    assert!(db.pool_status().open <= 4);
    // Every pooled connection is outside a transaction: four sessions at once all commit.
    for i in 0..4 {
        session!(db, |s| {
            aw!(s.create(Product::new("after", &format!("A-{i}"))))?;
            Ok(())
        })?;
    }
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 4);
    Ok(())
}

/// An async session future dropped after each possible number of polls: all or nothing, and
/// the pool still serves.
pub async fn dropped_session_future_leaves_nothing(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut polls = 0;
    loop {
        let Some(finished) = drop_session_after(db, polls).await else {
            return Ok(());
        };
        let stock: Option<i64> =
            aw!(db.get_optional("SELECT stock FROM product WHERE product_sku = ?", (format!("SDROP-{polls}"),)))?;
        assert!(matches!(stock, None | Some(6)), "half a session after {polls} polls: stock {stock:?}");
        assert_pool_idle(db);
        if finished {
            assert_eq!(stock, Some(6), "the completed session committed");
            return Ok(());
        }
        polls += 1;
        assert!(polls < 10_000, "the session never completed");
    }
}

/// Inside a session, `current()` stands for it, and a nested session joins it.
pub async fn session_current_and_nested(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let outside = aw!(select!(p for p in Product).count(current!()));
    assert_eq!(outside.unwrap_err().kind(), ErrorKind::Config, "no session outside one");

    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Product::new("Outer", "O-1")))?;
        // The current session flushes the pending insert before the query.
        assert_eq!(aw!(select!(p for p in Product).count(current!()))?, 1);
        let found = aw!(Product::get(current!(), |p| p.name.eq("Outer")))?;
        assert!(found.is_some());
        // A nested session joins: it sees the outer session's work and commits nothing itself.
        let inner = session!(db, |n| {
            aw!(n.create(Product::new("Inner", "I-1")))?;
            aw!(select!(p.name for p in Product).fetch_all(sref!(n)))
        })?;
        assert_eq!(sorted(inner), vec!["Inner".to_string(), "Outer".to_string()]);
        Err(nextorm::Error::new(ErrorKind::Config, "the outer session fails"))
    });
    assert!(r.is_err());
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 0, "the outer failure undid the inner work too");

    session!(db, |s| {
        session!(db, |n| {
            aw!(n.create(Product::new("Nested", "N-1")))?;
            Ok(())
        })?;
        assert_eq!(aw!(s.stats()).writes, 0, "nothing flushed yet: the outer session owns the commit");
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 1, "committed by the outer session");
    assert_pool_idle(db);
    Ok(())
}

/// Inside a session, `Product::by_pk`, `Product::get` and `select!` hand out the session's
/// objects, through `current()` as through the session itself; outside, plain values.
pub async fn session_queries_return_session_objects(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut widget = Product::new("Widget", "W-1");
    aw!(db.insert(&mut widget))?;
    aw!(db.insert(&mut Product::new("Gadget", "G-1")))?;
    let id = widget.id;
    let plain: Product = aw!(Product::by_pk(db, &id))?;
    assert_eq!(plain, widget, "outside a session a lookup is a value");
    session!(db, |s| {
        let a: nextorm::Handle<Product> = aw!(Product::by_pk(current!(), &id))?;
        let b = aw!(Product::by_pk(sref!(s), &id))?;
        assert!(a == b, "one object per row");
        assert_eq!(aw!(s.stats()).statements, 1, "the second lookup was answered by the identity map");
        let all = aw!(select!(p for p in Product).order_by(|p| p.id).fetch_all(current!()))?;
        assert!(all.len() == 2 && all[0] == a, "a query returns the held object");
        a.set_price(1.5)?;
        let got = aw!(Product::get(sref!(s), |p| p.name.eq("Widget")))?.expect("found");
        assert!(got == a && got.price() == 1.5, "the change was flushed before the query and shows through");
        let first = aw!(select!(p for p in Product if p.price < 2.0).first(current!()))?;
        assert!(first.is_some_and(|f| f == a));
        let mut streamed = Vec::new();
        aw!(select!(p for p in Product).for_each(sref!(s), |p| {
            streamed.push(p);
            Ok(())
        }))?;
        assert!(streamed.contains(&a), "streamed rows are the session's objects too");
        let pairs = aw!(select!((p, p.name) for p in Product if p.id == id).fetch_one(current!()))?;
        assert!(pairs.0 == a && pairs.1 == "Widget", "an entity inside a tuple is the session's object");
        let names = aw!(select!(p.name for p in Product).fetch_all(current!()))?;
        assert_eq!(sorted(names), vec!["Gadget".to_string(), "Widget".to_string()], "values stay values");
        let missing = aw!(Product::by_pk(current!(), &(id + 100)));
        assert_eq!(missing.unwrap_err().kind(), ErrorKind::NotFound);
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<f64>("SELECT price FROM product WHERE id = ?", (id,)))?, 1.5);
    session!(db, |s| {
        let a = aw!(Product::by_pk(sref!(s), &id))?;
        a.set_price(2.5)?;
        aw!(s.commit())?;
        assert_eq!(aw!(s.stats()).statements, 2, "SELECT, then the UPDATE alone: no BEGIN or COMMIT for one statement");
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<f64>("SELECT price FROM product WHERE id = ?", (id,)))?, 2.5);

    // `Product::create` registers a new object in a session and inserts at once on a database.
    let direct: Product = aw!(Product::create(db, Product::new("Direct", "D-9")))?;
    assert!(direct.id > 0, "inserted now, with its generated key");
    session!(db, |s| {
        let created: nextorm::Handle<Product> = aw!(Product::create(current!(), Product::new("Created", "C-9")))?;
        assert_eq!((created.id(), aw!(s.stats()).statements), (0, 0), "nothing sent before the flush");
        aw!(s.flush())?;
        assert!(created.id() > 0);
        let gone = aw!(Product::by_pk(sref!(s), &direct.id))?;
        gone.delete()?;
        aw!(s.flush())?;
        assert_eq!(aw!(s.last_sql()).unwrap().split_whitespace().next(), Some("DELETE"));
        Ok(())
    })?;
    let names: Vec<String> = aw!(db.select("SELECT name FROM product WHERE name IN ('Direct', 'Created')", ()))?;
    assert_eq!(names, vec!["Created".to_string()]);
    let outside = aw!(Product::by_pk(current!(), &id));
    assert_eq!(outside.unwrap_err().kind(), ErrorKind::Config, "no session outside one");
    assert_pool_idle(db);
    Ok(())
}

/// Hooks run during the flush and may change the object; a hook's error aborts the flush.
pub async fn session_hooks(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let id = session!(db, |s| {
        let post = aw!(s.create(Post { id: 0, title: "Hello World".into(), slug: String::new(), revisions: 0, loads: 0 }))?;
        aw!(s.flush())?;
        assert_eq!(post.slug(), "hello-world", "before_insert filled the slug");
        Ok(post.id())
    })?;
    session!(db, |s| {
        let post = aw!(s.by_pk::<Post>(&id))?;
        assert_eq!(post.loads(), 1, "after_load ran once");
        post.set_title("Hello Again")?;
        aw!(s.flush())?;
        assert_eq!(post.revisions(), 1, "before_update counted the revision");
        Ok(())
    })?;
    let (title, revisions): (String, i64) = aw!(db.get("SELECT title, revisions FROM post WHERE id = ?", (id,)))?;
    assert_eq!((title.as_str(), revisions), ("Hello Again", 1), "the hook's change was written with the user's");

    aw!(db.execute("UPDATE post SET title = 'Locked' WHERE id = ?", (id,)))?;
    let r: Result<()> = session!(db, |s| {
        let post = aw!(s.by_pk::<Post>(&id))?;
        aw!(s.delete(&post))?;
        aw!(s.flush())
    });
    let e = r.unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::CheckViolation, "locked posts cannot be deleted"));
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM post", ()))?, 1, "the hook's error kept the row");

    // An after-hook's error at the final commit undoes the statement it followed.
    let r: Result<()> = session!(db, |s| {
        let post = aw!(s.by_pk::<Post>(&id))?;
        post.set_title("Refused after")
    });
    assert_eq!(r.unwrap_err().message(), "after_update refused");
    let title: String = aw!(db.get("SELECT title FROM post WHERE id = ?", (id,)))?;
    assert_eq!(title, "Locked", "the UPDATE was rolled back with the session");
    assert_pool_idle(db);
    Ok(())
}

/// After a session ends its objects stay readable and refuse writes; after a strict session they
/// are unusable: getters panic, `try_read` and `to_dict` fail.
pub async fn session_strict_objects_are_unusable_after(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let relaxed = session!(db, |s| aw!(s.create(Product::new("Kept", "K-1"))))?;
    assert_eq!(relaxed.name(), "Kept", "readable after a default session");
    assert_eq!(relaxed.set_price(1.0).unwrap_err().kind(), ErrorKind::Config, "writes are refused");
    let strict = session_with!(db, nextorm::SessionOptions::new().strict(), |s| {
        let p = aw!(s.create(Product::new("Strict", "S-1")))?;
        assert_eq!(p.name(), "Strict", "usable inside the session");
        Ok(p)
    })?;
    assert!(!strict.is_usable());
    assert_eq!(strict.try_read(0, |p| p.id).unwrap_err().kind(), ErrorKind::Config);
    assert_eq!(strict.to_dict(&[], &[]).unwrap_err().kind(), ErrorKind::Config);
    assert_eq!(strict.set_price(2.0).unwrap_err().kind(), ErrorKind::Config);
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| strict.name()));
    let message = read.unwrap_err();
    let message = message.downcast_ref::<String>().map(String::as_str).unwrap_or_default();
    assert!(message.contains("strict session that has ended"), "{message}");
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 2, "both sessions committed");
    assert_pool_idle(db);
    Ok(())
}
