// Raw SQL and row locks in a session, written once; included into `blocking` and `asynchronous`.
// A session owns one connection for everything it does: raw SQL joins it, and `for_update`
// opens its transaction so the lock lasts until the commit.

/// Takes the row's lock on another connection and lets it go: a transaction (`BEGIN IMMEDIATE`,
/// the write lock, on SQLite) that reads the row `FOR UPDATE NOWAIT` (servers).
macro_rules! take_lock {
    ($other:expr, $id:expr) => {
        transaction!($other, |tx| {
            aw!(Product::query().filter(|p| p.id.eq($id)).for_update_nowait().fetch_all(tx)).map(|_| ())
        })
    };
}

/// Raw SQL on the session, or on the database inside it, runs on the session's connection: it
/// sees unflushed writes, and commits or rolls back with the session.
pub async fn session_raw_sql_joins_the_session(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let count = "SELECT COUNT(*) FROM product WHERE name = ?";
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Product::new("Raw", "R-1")))?;
        assert_eq!(aw!(db.get::<i64>(count, ("Raw",)))?, 1, "db.get flushed the pending insert first");
        assert_eq!(aw!(s.execute("UPDATE product SET stock = ? WHERE name = ?", (7, "Raw")))?, 1);
        let stocks: Vec<i64> = aw!(s.select_rows("SELECT stock FROM product WHERE name = ?", ("Raw",)))?;
        assert_eq!(stocks, vec![7], "the session's raw read sees its raw write");
        let names: Vec<String> = aw!(db.select("SELECT name FROM product", ()))?;
        assert_eq!(names, vec!["Raw".to_string()]);
        // A query on the database (not the session) reads on another pooled connection.
        let elsewhere = aw!(select!(p for p in Product).count(db))?;
        assert_eq!(elsewhere, 0, "another connection does not see the session's uncommitted writes");
        Err(nextorm::Error::new(ErrorKind::Config, "roll it all back"))
    });
    assert_eq!(r.unwrap_err().message(), "roll it all back");
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 0, "the raw writes rolled back too");

    session!(db, |s| {
        let n = aw!(db.execute("INSERT INTO product (name, price, product_sku, stock) VALUES (?, ?, ?, ?)", ("Kept", 1.5, "K-1", 3)))?;
        assert_eq!(n, 1);
        assert_eq!(aw!(s.stats()).statements, 2, "a raw write opens the session's transaction: BEGIN, INSERT");
        assert_eq!(aw!(s.get_optional::<i64>(count, ("Kept",)))?, Some(1));
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<i64>(count, ("Kept",)))?, 1, "the raw write committed with the session");
    assert_pool_idle(db);
    Ok(())
}

/// `select_by_sql` returns the session's objects: one per row, the same handles as queries.
pub async fn session_select_by_sql_fills_the_identity_map(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut widget = Product::new("Widget", "W-1");
    aw!(db.insert(&mut widget))?;
    aw!(db.insert(&mut Product::new("Gadget", "G-1")))?;
    session!(db, |s| {
        let held = aw!(s.by_pk::<Product>(&widget.id))?;
        held.set_price(2.5)?;
        let cheap = aw!(s.select_by_sql::<Product>("SELECT * FROM product WHERE price < ? ORDER BY id", (5.0,)))?;
        assert!(cheap.len() == 1 && cheap[0] == held, "the flushed change matched, and the row is the held object");
        let all = aw!(s.select_by_sql::<Product>("SELECT * FROM product ORDER BY id", ()))?;
        assert_eq!(all.len(), 2);
        let again = aw!(Product::by_pk(sref!(s), &all[1].id()))?;
        assert!(again == all[1], "a later lookup answers with the object the raw query put in the map");
        assert_eq!(aw!(s.stats()).statements, 5, "SELECT, BEGIN, UPDATE, SELECT, SELECT: the lookup sent nothing");
        Ok(())
    })?;
    assert_pool_idle(db);
    Ok(())
}

/// Inside a session on a pool of one, raw SQL runs on the session; a call that needs a second
/// connection fails at once with `Config`, never waiting out the acquire timeout for itself.
pub async fn session_on_a_pool_of_one(t: &Ctx) -> Result<()> {
    // A long timeout: a call that waited would end in PoolTimeout, not Config.
    let one = crate::mapped_options().max_connections(1).acquire_timeout(Duration::from_secs(120));
    let db = open(&t.url, one.clone()).await?;
    pool_of_one_checks(&db).await?;
    if t.dialect == Dialect::Sqlite {
        let memory = open("sqlite::memory:", crate::mapped_options()).await?;
        aw!(memory.generate_mapping(CreateTables::Yes))?;
        pool_of_one_checks(&memory).await?;
    }
    Ok(())
}

async fn pool_of_one_checks(db: &Db) -> Result<()> {
    session!(db, |s| {
        aw!(s.create(Product::new("Only", "O-1")))?;
        assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 1, "db.get joined the session");
        assert_eq!(aw!(db.execute("UPDATE product SET stock = 2", ()))?, 1, "db.execute joined the session");
        let e = expect_kind(aw!(db.all::<Product>()), ErrorKind::Config, "a second connection inside the session");
        assert!(e.message().contains("holds every connection"), "{e}");
        expect_kind(aw!(select!(p for p in Product).fetch_all(db)), ErrorKind::Config, "a query on the database");
        let tx: Result<()> = transaction!(db, |tx| aw!(tx.execute("DELETE FROM product", ())).map(|_| ()));
        expect_kind(tx, ErrorKind::Config, "a transaction inside the session");
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<i64>("SELECT stock FROM product", ()))?, 2, "the session committed");
    assert_eq!(aw!(db.all::<Product>())?.len(), 1, "the pool serves again once the session ended");
    assert_pool_idle(db);
    Ok(())
}

/// `for_update()`, `for_update_nowait()`, `for_update_skip_locked()` and `get_for_update` in a
/// session open its transaction first, so the lock lasts until the commit: meanwhile another
/// connection's `FOR UPDATE NOWAIT` fails (on SQLite, another writer is `Busy`).
pub async fn session_for_update_holds_the_lock_until_commit(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut row = Product::new("Locked", "L-1");
    aw!(db.insert(&mut row))?;
    let id = row.id;
    // SQLite: a second handle whose writers give up quickly (its busy timeout).
    let other = open(&t.url, crate::mapped_options().busy_timeout(Duration::from_millis(20))).await?;
    let blocked = if t.dialect == Dialect::Sqlite { ErrorKind::Busy } else { ErrorKind::SerializationFailure };

    for (lock, way) in ["for_update", "for_update_nowait", "for_update_skip_locked", "get_for_update"].iter().enumerate() {
        session!(db, |s| {
            let found = match lock {
                0 => aw!(Product::query().filter(|p| p.id.eq(id)).for_update().fetch_all(sref!(s)))?.len(),
                1 => aw!(Product::query().filter(|p| p.id.eq(id)).for_update_nowait().fetch_all(sref!(s)))?.len(),
                2 => aw!(Product::query().filter(|p| p.id.eq(id)).for_update_skip_locked().fetch_all(sref!(s)))?.len(),
                _ => usize::from(aw!(Product::get_for_update(sref!(s), |p| p.id.eq(id)))?.is_some()),
            };
            assert_eq!(found, 1, "{way}");
            assert_eq!(aw!(s.stats()).statements, 2, "{way}: BEGIN, then the SELECT");
            expect_kind(take_lock!(other, id), blocked, &format!("{way}: another connection, while the session holds the lock"));
            aw!(s.commit())?;
            take_lock!(other, id).map_err(|e| e.context(format_args!("{way}: after the commit")))
        })?;
    }

    // Without a lock, a session's read is in autocommit and holds nothing.
    session!(db, |s| {
        aw!(Product::query().filter(|p| p.id.eq(id)).fetch_all(sref!(s)))?;
        take_lock!(other, id)
    })?;
    assert_pool_idle(db);
    assert_pool_idle(&other);
    Ok(())
}
