// Nested transactions (savepoints), written once; included into `blocking` and `asynchronous`.

/// The skus of the products stored, sorted.
async fn stored_skus(db: &Db) -> Result<Vec<String>> {
    let mut skus = aw!(db.select::<(String,)>("SELECT product_sku FROM product", ()))?;
    skus.sort();
    Ok(skus.into_iter().map(|(s,)| s).collect())
}

fn skus(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub async fn savepoints_in_transactions(t: &Ctx) -> Result<()> {
    let db = &t.db;
    // An inner Err undoes only the inner work.
    transaction!(db, |tx| {
        aw!(tx.insert(&mut Product::new("outer", "A")))?;
        let inner: Result<()> = nested!(tx, |tx| {
            aw!(tx.insert(&mut Product::new("inner", "B")))?;
            Err(nextorm::Error::new(ErrorKind::Config, "undo the inner"))
        });
        assert_eq!(inner.unwrap_err().message(), "undo the inner");
        assert_eq!(aw!(tx.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 1, "the outer write is still there");
        Ok(())
    })?;
    assert_eq!(stored_skus(db).await?, skus(&["A"]));

    // An inner commit is undone by the outer rollback.
    let r: Result<()> = transaction!(db, |tx| {
        aw!(tx.insert(&mut Product::new("outer", "C")))?;
        nested!(tx, |tx| aw!(tx.insert(&mut Product::new("inner", "D"))))?;
        Err(nextorm::Error::new(ErrorKind::Config, "undo everything"))
    });
    assert_eq!(r.unwrap_err().message(), "undo everything");
    assert_eq!(stored_skus(db).await?, skus(&["A"]));

    // A panic in the inner body undoes only the inner work, and goes on as a panic.
    transaction!(db, |tx| {
        aw!(tx.insert(&mut Product::new("outer", "E")))?;
        let inner_panicked = panicked!(nested!(tx, |tx| -> Result<()> {
            aw!(tx.insert(&mut Product::new("inner", "F")))?;
            panic!("boom inside the savepoint");
        }));
        assert!(inner_panicked, "the panic reaches the caller of the nested transaction");
        Ok(())
    })?;
    assert_eq!(stored_skus(db).await?, skus(&["A", "E"]));

    // Two levels: the innermost error undoes only its own work; a failed statement inside a
    // savepoint (an aborted transaction on PostgreSQL) leaves the outer one usable.
    transaction!(db, |tx| {
        aw!(tx.insert(&mut Product::new("outer", "G")))?;
        nested!(tx, |tx| {
            aw!(tx.insert(&mut Product::new("middle", "H")))?;
            let innermost: Result<()> = nested!(tx, |tx| {
                aw!(tx.insert(&mut Product::new("innermost", "I")))?;
                aw!(tx.insert(&mut Product::new("duplicate", "A")))?;
                Ok(())
            });
            assert_eq!(innermost.unwrap_err().kind(), ErrorKind::UniqueViolation);
            Ok(())
        })?;
        aw!(tx.insert(&mut Product::new("after", "J")))?;
        Ok(())
    })?;
    assert_eq!(stored_skus(db).await?, skus(&["A", "E", "G", "H", "J"]));
    assert_pool_idle(db);
    Ok(())
}

pub async fn savepoints_in_sessions(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut seeded = Product::new("seeded", "S");
    aw!(db.insert(&mut seeded))?;
    let seeded_id = seeded.id;

    // An inner Err undoes only the inner work; the outer changes, unflushed when the savepoint
    // began, are flushed before it and commit with the session.
    session!(db, |s| {
        aw!(s.create(Product::new("outer", "A")))?;
        let before = aw!(s.by_pk::<Product>(&seeded_id))?;
        let inner: Result<()> = nested!(s, |s| {
            aw!(s.create(Product::new("inner", "B")))?;
            aw!(s.by_pk::<Product>(&seeded_id))?.set_stock(99)?;
            aw!(s.flush())?;
            Err(nextorm::Error::new(ErrorKind::Config, "undo the inner"))
        });
        assert_eq!(inner.unwrap_err().message(), "undo the inner");
        // The session forgot its objects: the old handle refuses writes, a new load sees the
        // row as it was before the savepoint.
        assert!(before.set_stock(1).is_err(), "an object from before the rollback refuses writes");
        let reloaded = aw!(s.by_pk::<Product>(&seeded_id))?;
        assert_eq!(reloaded.stock(), 5, "the row is back as it was before the savepoint");
        reloaded.set_stock(6)?;
        Ok(())
    })?;
    assert_eq!(stored_skus(db).await?, skus(&["A", "S"]));
    assert_eq!(aw!(db.get::<i64>("SELECT stock FROM product WHERE product_sku = 'S'", ()))?, 6);

    // An inner commit is undone by the session's rollback.
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Product::new("outer", "C")))?;
        nested!(s, |s| aw!(s.create(Product::new("inner", "D"))).map(|_| ()))?;
        Err(nextorm::Error::new(ErrorKind::Config, "undo everything"))
    });
    assert_eq!(r.unwrap_err().message(), "undo everything");
    assert_eq!(stored_skus(db).await?, skus(&["A", "S"]));

    // A panic in the inner body undoes only the inner work, and goes on as a panic; a failed
    // flush inside a savepoint leaves the session usable.
    session!(db, |s| {
        aw!(s.create(Product::new("outer", "E")))?;
        let inner_panicked = panicked!(nested!(s, |s| -> Result<()> {
            aw!(s.create(Product::new("inner", "F")))?;
            aw!(s.flush())?;
            panic!("boom inside the savepoint");
        }));
        assert!(inner_panicked, "the panic reaches the caller of the nested transaction");
        let duplicate: Result<()> = nested!(s, |s| aw!(s.create(Product::new("duplicate", "A"))).map(|_| ()));
        assert_eq!(duplicate.unwrap_err().kind(), ErrorKind::UniqueViolation);
        aw!(s.create(Product::new("after", "G")))?;
        Ok(())
    })?;
    assert_eq!(stored_skus(db).await?, skus(&["A", "E", "G", "S"]));
    assert_pool_idle(db);
    Ok(())
}

/// A nested transaction whose body returns the caller's own error type (`transaction_as` on a
/// transaction and on a session): that error rolls back to the savepoint and comes back as it
/// was, the outer work and a nested body that succeeded still commit.
pub async fn savepoints_with_own_errors(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let r = transaction_as!(db, AppError, |tx| {
        aw!(tx.insert(&mut Product::new("outer", "A")))?;
        let inner = nested_as!(tx, AppError, |tx| {
            aw!(tx.insert(&mut Product::new("inner", "B")))?;
            Ok("x".parse::<i64>()?)
        });
        assert!(matches!(inner, Err(AppError::Parse(_))), "the caller's error comes back: {inner:?}");
        let kept = nested_as!(tx, AppError, |tx| {
            aw!(tx.insert(&mut Product::new("kept", "C")))?;
            Ok("7".parse::<i64>()?)
        })?;
        Ok(kept)
    });
    assert!(matches!(r, Ok(7)), "{}: {r:?}", t.label());
    assert_eq!(stored_skus(db).await?, skus(&["A", "C"]), "{}: only the failed savepoint was undone", t.label());

    let r = session_as!(db, AppError, |s| {
        aw!(s.create(Product::new("outer", "D")))?;
        let inner = nested_as!(s, AppError, |s| {
            aw!(s.create(Product::new("inner", "E")))?;
            aw!(s.flush())?; // the INSERT is sent inside the savepoint
            Ok("x".parse::<i64>()?)
        });
        assert!(matches!(inner, Err(AppError::Parse(_))), "the caller's error comes back: {inner:?}");
        nested_as!(s, AppError, |s| {
            aw!(s.create(Product::new("kept", "F")))?;
            Ok(())
        })?;
        // nextorm's own error inside comes back converted, and is undone alone too.
        let duplicate = nested_as!(s, AppError, |s| {
            aw!(s.create(Product::new("duplicate", "A")))?;
            aw!(s.flush())?;
            Ok(())
        });
        assert!(
            matches!(&duplicate, Err(AppError::Db(e)) if e.kind() == ErrorKind::UniqueViolation),
            "{duplicate:?}"
        );
        Ok(())
    });
    assert!(r.is_ok(), "{}: {r:?}", t.label());
    assert_eq!(stored_skus(db).await?, skus(&["A", "C", "D", "F"]), "{}", t.label());
    assert_pool_idle(db);
    Ok(())
}
