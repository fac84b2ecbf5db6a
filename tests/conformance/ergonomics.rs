// Everyday ergonomics (issue 18), written once; included into `blocking` and `asynchronous`
// after `sessions.rs`, whose `meddle!` it uses.

/// An application's own error type, for the session bodies that return it.
#[derive(Debug)]
pub enum AppError {
    Db(nextorm::Error),
    Parse(std::num::ParseIntError),
}

impl From<nextorm::Error> for AppError {
    fn from(e: nextorm::Error) -> Self {
        AppError::Db(e)
    }
}

impl From<std::num::ParseIntError> for AppError {
    fn from(e: std::num::ParseIntError) -> Self {
        AppError::Parse(e)
    }
}

/// Setters take `impl Into<T>`: a `&str` for a `String`, a value for an `Option`, a handle for
/// a `Single` and for an `Option<Single>`, `None` to clear one.
pub async fn ergonomics_setters_take_into(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (product, purchase, ann, bob) = session!(db, |s| {
        let p = aw!(s.create(Product::new("Widget", "ERG-1")))?;
        p.set_name("Anne")?;
        p.set_summary("short".to_string())?;
        let ann = aw!(s.create(Client { name: "Ann".into(), ..Default::default() }))?;
        let bob = aw!(s.create(Client { name: "Bob".into(), ..Default::default() }))?;
        let order =
            aw!(s.create(Purchase { id: 0, total: 1, client: Single::from(&ann), referrer: None, tags: Set::new() }))?;
        order.set_client(&bob)?;
        order.set_referrer(&ann)?;
        aw!(s.flush())?;
        Ok((p.id(), order.id(), ann.id(), bob.id()))
    })?;
    let (name, summary): (String, Option<String>) =
        aw!(db.get("SELECT name, summary FROM product WHERE id = ?", (product,)))?;
    assert_eq!((name.as_str(), summary.as_deref()), ("Anne", Some("short")), "{}", t.label());
    let refs: (i64, Option<i64>) = aw!(db.get("SELECT client, referrer FROM purchase WHERE id = ?", (purchase,)))?;
    assert_eq!(refs, (bob, Some(ann)), "{}", t.label());
    session!(db, |s| {
        let order = aw!(s.by_pk::<Purchase>(&purchase))?;
        order.set_referrer(None)?;
        Ok(())
    })?;
    let referrer: Option<i64> = aw!(db.get("SELECT referrer FROM purchase WHERE id = ?", (purchase,)))?;
    assert_eq!(referrer, None, "{}", t.label());
    assert_pool_idle(db);
    Ok(())
}

/// Session and transaction bodies that return the application's own error type: `?` on a
/// parse error rolls back like a database error; nextorm's own errors come back converted.
pub async fn ergonomics_session_bodies_return_own_errors(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let count = async || aw!(db.get::<i64>("SELECT COUNT(*) FROM product WHERE product_sku LIKE 'ERG-%'", ()));
    let r = session_as!(db, AppError, |s| {
        aw!(s.create(Product::new("Parsed", "ERG-P1")))?;
        aw!(s.flush())?; // the INSERT is sent, inside the session's transaction
        let n: i32 = "x".parse()?;
        Ok(n)
    });
    match &r {
        Err(AppError::Parse(e)) => assert_eq!(e.kind(), &std::num::IntErrorKind::InvalidDigit),
        other => panic!("{}: expected the parse error, got {other:?}", t.label()),
    }
    assert_eq!(count().await?, 0, "{}: the session rolled back", t.label());

    let r = transaction_as!(db, AppError, |tx| {
        let mut p = Product::new("Parsed", "ERG-P2");
        aw!(tx.insert(&mut p))?;
        let n: i32 = "x".parse()?;
        Ok(n)
    });
    assert!(matches!(r, Err(AppError::Parse(_))), "{}: {r:?}", t.label());
    assert_eq!(count().await?, 0, "{}: the transaction rolled back", t.label());

    // `Ok` commits; a nextorm error inside converts into `AppError::Db`.
    let n = session_as!(db, AppError, |s| {
        aw!(s.create(Product::new("Kept", "ERG-K1")))?;
        Ok("7".parse::<i32>()?)
    });
    assert!(matches!(n, Ok(7)), "{}: {n:?}", t.label());
    assert_eq!(count().await?, 1, "{}: the session committed", t.label());
    let r = transaction_as!(db, AppError, |tx| {
        let sql = "INSERT INTO product (name, price, product_sku, stock) VALUES ('Twin', 1, 'ERG-K1', 1)";
        aw!(tx.execute(sql, ()))?;
        Ok(())
    });
    match r {
        Err(AppError::Db(e)) => assert_eq!(e.kind(), ErrorKind::UniqueViolation, "{}: {e}", t.label()),
        other => panic!("{}: expected the database's error, got {other:?}", t.label()),
    }
    assert_pool_idle(db);
    Ok(())
}

/// `retry(n)` with the application's error type: a conflict is re-run whether the body's `?`
/// converted it into `AppError` (at an explicit flush) or the commit met it; the application's
/// own errors are never re-run.
pub async fn ergonomics_retry_with_own_errors(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut p = Product::new("Counter", "ERG-C1");
    aw!(db.insert(&mut p))?;
    let id = p.id;
    for explicit_flush in [true, false] {
        let attempts = std::sync::atomic::AtomicUsize::new(0);
        let attempts = &attempts;
        let r = session_with_as!(db, AppError, nextorm::SessionOptions::new().retry(3), |s| {
            let attempt = attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let obj = aw!(s.by_pk::<Product>(&id))?;
            let seen = obj.stock();
            if attempt == 0 {
                meddle!(db, "UPDATE product SET stock = stock + 100 WHERE id = ?", id)?;
            }
            obj.set_stock(seen + 1)?;
            if explicit_flush {
                aw!(s.flush())?; // the conflict, converted into AppError::Db by `?`
            }
            Ok(seen + 1)
        });
        let label = format!("{} (explicit flush: {explicit_flush})", t.label());
        assert!(r.is_ok(), "{label}: {r:?}");
        assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 2, "{label}: one conflict, then success");
    }
    assert_eq!(aw!(db.get::<i64>("SELECT stock FROM product WHERE id = ?", (id,)))?, 5 + 2 * 101);

    let attempts = std::sync::atomic::AtomicUsize::new(0);
    let attempts = &attempts;
    let r = session_with_as!(db, AppError, nextorm::SessionOptions::new().retry(3), |s| {
        attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        aw!(s.by_pk::<Product>(&id))?.set_stock(0)?;
        let n: i32 = "x".parse()?;
        Ok(n)
    });
    assert!(matches!(r, Err(AppError::Parse(_))), "{}: {r:?}", t.label());
    assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 1, "{}: the app's error is not retried", t.label());
    assert_eq!(aw!(db.get::<i64>("SELECT stock FROM product WHERE id = ?", (id,)))?, 5 + 2 * 101);
    assert_pool_idle(db);
    Ok(())
}

/// PonyORM's `Visit(venue=hall)` with the other fields defaulted:
/// `Visit { venue: (&hall).into(), ..Default::default() }`. A required reference left unset by
/// `Default` is refused before anything is sent, naming the field.
pub async fn ergonomics_defaults_with_relations(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (venue, visit) = session!(db, |s| {
        let hall = aw!(s.create(Venue { name: "Hall".into(), ..Default::default() }))?;
        let visit = aw!(s.create(Visit { venue: (&hall).into(), ..Default::default() }))?;
        aw!(s.flush())?;
        Ok((hall.id(), visit.id()))
    })?;
    let row: (i64, i32, String) = aw!(db.get("SELECT venue, guests, kind FROM visit WHERE id = ?", (visit,)))?;
    assert_eq!(row, (venue, 1, "walk-in".to_string()), "{}", t.label());
    let mut plain = Visit { venue: Single::new(venue), guests: 3, ..Default::default() };
    aw!(db.insert(&mut plain))?;
    assert!(plain.id > 0);

    let e = expect_kind(aw!(db.insert(&mut Visit::default())), ErrorKind::InvalidValue, "an unset reference");
    assert!(e.message().contains("Visit.venue") && e.message().contains("not set"), "{}: {e}", t.label());
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Visit::default()))?;
        aw!(s.flush())
    });
    let e = expect_kind(r, ErrorKind::InvalidValue, "an unset reference in a session");
    assert!(e.message().contains("Visit.venue"), "{}: {e}", t.label());
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM visit", ()))?, 2, "{}", t.label());
    assert_pool_idle(db);
    Ok(())
}

/// PonyORM's `p.set(name=.., price=..)`: `p.update(|p| { .. })` changes several fields and
/// marks only those whose value changed, so the UPDATE sets just them.
pub async fn ergonomics_update_marks_only_changed_fields(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut p = Product::new("Before", "ERG-UP");
    aw!(db.insert(&mut p))?;
    let id = p.id;
    session!(db, |s| {
        let obj = aw!(s.by_pk::<Product>(&id))?;
        obj.update(|p| {
            p.name = "After".into();
            p.price = 1.25;
            p.stock = 5; // the value it has: not sent
        })?;
        assert_eq!((obj.name(), obj.price()), ("After".to_string(), 1.25));
        aw!(s.flush())?;
        let sql = aw!(s.last_sql()).unwrap_or_default();
        let set = sql.split(" WHERE ").next().unwrap_or_default().to_owned();
        assert!(set.starts_with("UPDATE") && set.contains("name") && set.contains("price"), "{}: {sql}", t.label());
        assert!(!set.contains("stock") && !set.contains("product_sku"), "{}: only changed columns: {sql}", t.label());
        let before = aw!(s.stats()).statements;
        obj.update(|p| p.name = "After".into())?;
        aw!(s.flush())?;
        assert_eq!(aw!(s.stats()).statements, before, "{}: an update that changes nothing sends nothing", t.label());
        Ok(())
    })?;
    let row: (String, f64, i32) = aw!(db.get("SELECT name, price, stock FROM product WHERE id = ?", (id,)))?;
    assert_eq!(row, ("After".to_string(), 1.25, 5), "{}", t.label());
    let deleted: Result<()> = session!(db, |s| {
        let obj = aw!(s.by_pk::<Product>(&id))?;
        obj.delete()?;
        obj.update(|p| p.price = 2.0)
    });
    expect_kind(deleted, ErrorKind::Config, "update of a deleted object");
    assert_pool_idle(db);
    Ok(())
}
