// Session options and object-level behaviour (issue 18): errors that name their object,
// changes that cancel out, `allowed`/`retry_when`, `Handle::flush`, collection `set`, counts,
// queries from hooks, removal from a required collection. Written once; included into
// `blocking` and `asynchronous` after `ergonomics.rs`, whose `AppError` it uses.

use crate::entities::ShelfObj;

/// A constraint the database refuses at a flush names the entity and the object's key in front
/// of the database's own message (PonyORM's `Object Customer[new:4] cannot be stored`); the
/// kind and the database's code stay.
pub async fn session_constraint_errors_name_the_object(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut taken = Product::new("Taken", "SO-1");
    aw!(db.insert(&mut taken))?;
    let mut other = Product::new("Other", "SO-2");
    aw!(db.insert(&mut other))?;

    // An insert (a generated key): `Product[new]`, whether it goes alone at commit or is flushed.
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Product::new("Dup", "SO-1")))?;
        Ok(())
    });
    let e = expect_kind(r, ErrorKind::UniqueViolation, "insert at commit");
    assert!(e.message().starts_with("Product[new] cannot be stored: "), "{}: {e}", t.label());
    assert!(e.code().is_some(), "{}: the database's code stays: {e:?}", t.label());
    let r: Result<()> = session!(db, |s| {
        aw!(s.create(Product::new("Fine", "SO-3")))?;
        aw!(s.create(Product::new("Dup", "SO-1")))?;
        aw!(s.flush())
    });
    let e = expect_kind(r, ErrorKind::UniqueViolation, "multi-row insert");
    assert!(e.message().starts_with("Product[new] and Product[new] cannot be stored: "), "{}: {e}", t.label());

    // An update: the key as the database holds it.
    let r: Result<()> = session!(db, |s| {
        let p = aw!(s.by_pk::<Product>(&other.id))?;
        p.set_sku("SO-1")?;
        aw!(s.flush())
    });
    let e = expect_kind(r, ErrorKind::UniqueViolation, "update");
    let name = format!("Product[{}] cannot be stored: ", other.id);
    assert!(e.message().starts_with(&name), "{}: {e}", t.label());

    // A delete the database refuses (a restricted reference the session never loaded).
    let shelf_id = session!(db, |s| {
        let shelf = aw!(s.create(Shelf { label: "A".into(), ..Default::default() }))?;
        aw!(s.create(Book { id: 0, title: "Dune".into(), shelf: Single::from(&shelf) }))?;
        aw!(s.flush())?;
        Ok(shelf.id())
    })?;
    let r: Result<()> = session!(db, |s| {
        aw!(s.by_pk::<Shelf>(&shelf_id))?.delete()?;
        aw!(s.flush())
    });
    let e = expect_kind(r, ErrorKind::ForeignKeyViolation, "delete");
    let name = format!("Shelf[{shelf_id}] cannot be deleted: ");
    assert!(e.message().starts_with(&name), "{}: {e}", t.label());
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product WHERE product_sku LIKE 'SO-%'", ()))?, 2);
    assert_pool_idle(db);
    Ok(())
}

/// An add and a remove of the same pair (or member) within one flush cancel out: the flush
/// sends no statement for them (PonyORM's added and removed sets), whether the collection was
/// loaded or not; a removed pair added back is as it was.
pub async fn session_changes_that_cancel_out_send_nothing(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (ann, bob, first, second, red, blue) = session!(db, |s| {
        let ann = aw!(s.create(Client { name: "Ann".into(), ..Default::default() }))?;
        let bob = aw!(s.create(Client { name: "Bob".into(), ..Default::default() }))?;
        let purchase = |total| Purchase { id: 0, total, client: Single::from(&ann), referrer: None, tags: Set::new() };
        let first = aw!(s.create(purchase(1)))?;
        let second = aw!(s.create(purchase(2)))?;
        let red = aw!(s.create(Tag { label: "red".into(), ..Default::default() }))?;
        let blue = aw!(s.create(Tag { label: "blue".into(), ..Default::default() }))?;
        aw!(first.tags().add(sref!(s), &red))?;
        aw!(s.flush())?;
        Ok((ann.id(), bob.id(), first.id(), second.id(), red.id(), blue.id()))
    })?;
    let pairs = async || aw!(db.select::<(i64, i64)>("SELECT * FROM purchase_tag ORDER BY 1, 2", ()));
    let before = pairs().await?;
    assert_eq!(before.len(), 1, "{}", t.label());
    session!(db, |s| {
        let first = aw!(s.by_pk::<Purchase>(&first))?;
        let second = aw!(s.by_pk::<Purchase>(&second))?;
        let red = aw!(s.by_pk::<Tag>(&red))?;
        let blue = aw!(s.by_pk::<Tag>(&blue))?;
        let ann = aw!(s.by_pk::<Client>(&ann))?;
        let bob = aw!(s.by_pk::<Client>(&bob))?;
        // Not loaded: added then removed.
        aw!(second.tags().add(sref!(s), &blue))?;
        aw!(second.tags().remove(sref!(s), &blue))?;
        // Loaded: a stored pair removed and added back, a new pair added and removed (from
        // either side).
        aw!(first.tags().load(sref!(s)))?;
        aw!(first.tags().remove(sref!(s), &red))?;
        aw!(red.purchases().add(sref!(s), &first))?;
        aw!(first.tags().add(sref!(s), &blue))?;
        aw!(blue.purchases().remove(sref!(s), &first))?;
        // One-to-many: moved to another owner and back.
        aw!(bob.orders().add(sref!(s), &second))?;
        aw!(ann.orders().add(sref!(s), &second))?;
        let sent = aw!(s.stats()).statements;
        aw!(s.flush())?;
        assert_eq!(aw!(s.stats()).statements, sent, "{}: the flush sends nothing", t.label());
        let labels: Vec<String> = aw!(first.tags().load(sref!(s)))?.iter().map(|t| t.label()).collect();
        assert_eq!(labels, ["red"], "{}", t.label());
        Ok(())
    })?;
    assert_eq!(pairs().await?, before, "{}", t.label());
    let owner: i64 = aw!(db.get("SELECT client FROM purchase WHERE id = ?", (second,)))?;
    assert_eq!(owner, ann, "{}", t.label());
    assert_pool_idle(db);
    Ok(())
}

/// `allowed`: an error the predicate accepts commits what the body did and is still returned
/// (PonyORM's `allowed_exceptions`), over the caller's error type or nextorm's; not when a
/// database error made the session rollback-only.
pub async fn session_allowed_errors_commit(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let stored = async |sku: &str| aw!(db.get::<i64>("SELECT COUNT(*) FROM product WHERE product_sku = ?", (sku,)));
    let parse_allowed = nextorm::SessionOptions::new().allowed(|e: &AppError| matches!(e, AppError::Parse(_)));
    let r = session_with_as!(db, AppError, parse_allowed, |s| {
        aw!(s.create(Product::new("Kept", "SO-A1")))?;
        let n: i32 = "x".parse()?;
        Ok(n)
    });
    assert!(matches!(r, Err(AppError::Parse(_))), "{}: the error is returned: {r:?}", t.label());
    assert_eq!(stored("SO-A1").await?, 1, "{}: an allowed error commits", t.label());

    let r = session_with_as!(db, AppError, parse_allowed, |s| {
        aw!(s.create(Product::new("Gone", "SO-A2")))?;
        Err::<(), _>(AppError::Db(nextorm::Error::new(ErrorKind::NotFound, "no such thing")))
    });
    assert!(matches!(r, Err(AppError::Db(_))), "{}: {r:?}", t.label());
    assert_eq!(stored("SO-A2").await?, 0, "{}: an error not allowed rolls back", t.label());

    let r = session_with_as!(db, AppError, parse_allowed, |s| {
        aw!(s.create(Product::new("Half", "SO-A3")))?;
        aw!(s.flush())?;
        aw!(s.create(Product::new("Dup", "SO-A1")))?;
        let refused = aw!(s.flush());
        assert_eq!(refused.map_err(|e| e.kind()), Err(ErrorKind::UniqueViolation));
        let n: i32 = "x".parse()?;
        Ok(n)
    });
    assert!(matches!(r, Err(AppError::Parse(_))), "{}: {r:?}", t.label());
    assert_eq!(stored("SO-A3").await?, 0, "{}: a session the database refused rolls back", t.label());

    // Over nextorm's own error: a lookup that finds nothing keeps the session's writes.
    let not_found = nextorm::SessionOptions::new().allowed(|e: &nextorm::Error| e.kind() == ErrorKind::NotFound);
    let r: Result<()> = session_with!(db, not_found, |s| {
        aw!(s.create(Product::new("Kept too", "SO-A4")))?;
        aw!(s.by_pk::<Product>(&-1))?;
        Ok(())
    });
    assert_eq!(r.map_err(|e| e.kind()), Err(ErrorKind::NotFound), "{}", t.label());
    assert_eq!(stored("SO-A4").await?, 1, "{}", t.label());
    assert_pool_idle(db);
    Ok(())
}

/// `retry_when` replaces the built-in choice of errors `retry(n)` re-runs after (as PonyORM's
/// `retry_exceptions` replaces its default list): it re-runs what it accepts, over the caller's
/// error type or nextorm's, and a conflict it does not accept is not re-run, whether the body's
/// flush or the commit met it.
pub async fn session_retry_when_replaces_the_builtin_kinds(t: &Ctx) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let db = &t.db;
    let mut p = Product::new("Counter", "SO-R1");
    aw!(db.insert(&mut p))?;
    let id = p.id;

    let attempts = &AtomicUsize::new(0);
    let options = nextorm::SessionOptions::new().retry(3).retry_when(|e: &nextorm::Error| e.kind() == ErrorKind::NotFound);
    let r: Result<()> = session_with!(db, options, |s| {
        if attempts.fetch_add(1, SeqCst) < 2 {
            aw!(s.by_pk::<Product>(&-1))?;
        }
        Ok(())
    });
    assert!(r.is_ok(), "{}: {r:?}", t.label());
    assert_eq!(attempts.load(SeqCst), 3, "{}: two NotFound re-run", t.label());

    for explicit_flush in [true, false] {
        let attempts = &AtomicUsize::new(0);
        let r: Result<()> = session_with!(db, options, |s| {
            attempts.fetch_add(1, SeqCst);
            let obj = aw!(s.by_pk::<Product>(&id))?;
            let seen = obj.stock();
            meddle!(db, "UPDATE product SET stock = stock + 100 WHERE id = ?", id)?;
            obj.set_stock(seen + 1)?;
            if explicit_flush {
                aw!(s.flush())?;
            }
            Ok(())
        });
        let label = format!("{} (explicit flush: {explicit_flush})", t.label());
        assert_eq!(r.map_err(|e| e.kind()), Err(ErrorKind::OptimisticConflict), "{label}");
        assert_eq!(attempts.load(SeqCst), 1, "{label}: a conflict is no longer re-run");
    }

    let attempts = &AtomicUsize::new(0);
    let options = nextorm::SessionOptions::new().retry(3).retry_when(|e: &AppError| matches!(e, AppError::Parse(_)));
    let r = session_with_as!(db, AppError, options, |s| {
        aw!(s.by_pk::<Product>(&id))?;
        let text = if attempts.fetch_add(1, SeqCst) == 0 { "x" } else { "7" };
        Ok(text.parse::<i32>()?)
    });
    assert!(matches!(r, Ok(7)), "{}: {r:?}", t.label());
    assert_eq!(attempts.load(SeqCst), 2, "{}: the caller's own error re-run", t.label());
    assert_pool_idle(db);
    Ok(())
}

/// `obj.flush(s)` sends that object's pending change and what it needs first (the new client
/// it refers to; for a delete, the members the delete rules cascade to), and nothing else:
/// the next flush sends the rest (PonyORM's `obj.flush()`).
pub async fn session_object_flush_sends_only_that_object(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (bob, doomed) = session!(db, |s| {
        let bob = aw!(s.create(Client { name: "Bob".into(), ..Default::default() }))?;
        let doomed = aw!(s.create(Client { name: "Doomed".into(), ..Default::default() }))?;
        for total in [1, 2] {
            aw!(s.create(Purchase { id: 0, total, client: Single::from(&doomed), referrer: None, tags: Set::new() }))?;
        }
        aw!(s.flush())?;
        Ok((bob.id(), doomed.id()))
    })?;
    let (ann, kept) = session!(db, |s| {
        let bob = aw!(s.by_pk::<Client>(&bob))?;
        bob.set_name("Bob 1")?;
        aw!(s.flush())?; // the transaction is open from here on
        bob.set_name("Bob 2")?;
        let ann = aw!(s.create(Client { name: "Ann".into(), ..Default::default() }))?;
        let order =
            aw!(s.create(Purchase { id: 0, total: 7, client: Single::from(&ann), referrer: None, tags: Set::new() }))?;
        let other = aw!(s.create(Product::new("Other", "SO-F1")))?;
        let sent = aw!(s.stats()).statements;
        aw!(order.flush(sref!(s)))?;
        assert_eq!(aw!(s.stats()).statements, sent + 2, "{}: the client, then the purchase", t.label());
        assert!(ann.id() > 0 && order.id() > 0, "{}: generated keys are set", t.label());
        assert_eq!(other.id(), 0, "{}: the product waits", t.label());
        aw!(ann.flush(sref!(s)))?;
        assert_eq!(aw!(s.stats()).statements, sent + 2, "{}: nothing pending, nothing sent", t.label());
        aw!(s.flush())?;
        assert_eq!(aw!(s.stats()).statements, sent + 4, "{}: the rest: Bob's update, the product", t.label());

        // A delete: the members its delete rule cascades to go first.
        let doomed = aw!(s.by_pk::<Client>(&doomed))?;
        assert_eq!(aw!(doomed.orders().load(sref!(s)))?.len(), 2);
        bob.set_name("Bob 3")?;
        doomed.delete()?;
        let sent = aw!(s.stats()).statements;
        aw!(doomed.flush(sref!(s)))?;
        assert_eq!(aw!(s.stats()).statements, sent + 3, "{}: two purchases, then the client", t.label());
        aw!(s.flush())?;
        assert_eq!(aw!(s.stats()).statements, sent + 4, "{}: then only Bob's update", t.label());

        let r = aw!(bob.flush(db));
        assert_eq!(r.map_err(|e| e.kind()), Err(ErrorKind::Config), "{}: a database is no session", t.label());
        Ok((ann.id(), other.id()))
    })?;
    let names: Vec<String> = aw!(db.select("SELECT name FROM client ORDER BY name", ()))?;
    assert_eq!(names, ["Ann", "Bob 3"], "{}", t.label());
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM purchase WHERE client = ?", (ann,)))?, 1);
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product WHERE id = ?", (kept,)))?, 1);
    assert_pool_idle(db);
    Ok(())
}

/// `collection.set(s, &[..])` replaces the members (PonyORM's `g.students = [...]`): many-to-many
/// sends only the pairs that change, one-to-many the references that change.
pub async fn relations_collection_set_replaces_members(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (ann, bob, purchases, tags) = session!(db, |s| {
        let ann = aw!(s.create(Client { name: "Ann".into(), ..Default::default() }))?;
        let bob = aw!(s.create(Client { name: "Bob".into(), ..Default::default() }))?;
        let mut purchases = Vec::new();
        for total in 1..=3 {
            let p = Purchase { id: 0, total, client: Single::from(&ann), referrer: None, tags: Set::new() };
            purchases.push(aw!(s.create(p))?);
        }
        let mut tags = Vec::new();
        for label in ["red", "blue", "green"] {
            tags.push(aw!(s.create(Tag { label: label.into(), ..Default::default() }))?);
        }
        aw!(purchases[0].tags().add(sref!(s), &tags[0]))?;
        aw!(purchases[0].tags().add(sref!(s), &tags[1]))?;
        aw!(s.flush())?;
        Ok((ann.id(), bob.id(), purchases.iter().map(|p| p.id()).collect::<Vec<_>>(), tags.iter().map(|t| t.id()).collect::<Vec<_>>()))
    })?;
    session!(db, |s| {
        let bob = aw!(s.by_pk::<Client>(&bob))?;
        bob.set_name("Bob 1")?;
        aw!(s.flush())?; // the transaction is open from here on
        let first = aw!(s.by_pk::<Purchase>(&purchases[0]))?;
        let blue = aw!(s.by_pk::<Tag>(&tags[1]))?;
        let green = aw!(s.by_pk::<Tag>(&tags[2]))?;
        aw!(first.tags().load(sref!(s)))?;
        let sent = aw!(s.stats()).statements;
        aw!(first.tags().set(sref!(s), &[blue.clone(), green.clone()]))?;
        aw!(s.flush())?;
        assert_eq!(aw!(s.stats()).statements, sent + 2, "{}: red's pair leaves, green's comes", t.label());
        let labels: Vec<String> = aw!(first.tags().load(sref!(s)))?.iter().map(|t| t.label()).collect();
        assert_eq!(labels, ["blue", "green"], "{}", t.label());
        aw!(first.tags().set(sref!(s), &[blue, green]))?;
        aw!(s.flush())?;
        assert_eq!(aw!(s.stats()).statements, sent + 2, "{}: the same members again send nothing", t.label());

        // One-to-many, through an optional reference.
        let ann = aw!(s.by_pk::<Client>(&ann))?;
        let mut p = Vec::new();
        for id in &purchases {
            p.push(aw!(s.by_pk::<Purchase>(id))?);
        }
        aw!(ann.referred().set(sref!(s), &[p[0].clone(), p[1].clone()]))?;
        aw!(s.flush())?;
        aw!(ann.referred().set(sref!(s), &[p[1].clone(), p[2].clone()]))?;
        assert_eq!(totals(&aw!(ann.referred().load(sref!(s)))?), [2, 3], "{}: before the flush", t.label());
        Ok(())
    })?;
    let referrers: Vec<Option<i64>> = aw!(db.select("SELECT referrer FROM purchase ORDER BY total", ()))?;
    assert_eq!(referrers, [None, Some(ann), Some(ann)], "{}", t.label());
    let pairs: Vec<i64> = aw!(db.select("SELECT tag_id FROM purchase_tag ORDER BY tag_id", ()))?;
    assert_eq!(pairs, [tags[1], tags[2]], "{}", t.label());
    assert_pool_idle(db);
    Ok(())
}

/// `count()` of a collection (PonyORM caches it): a loaded collection answers from the
/// identity map, a collection not loaded is counted by the database once and the number is
/// kept until the collection changes.
pub async fn relations_count_is_kept_until_the_collection_changes(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (ann, red) = session!(db, |s| {
        let ann = aw!(s.create(Client { name: "Ann".into(), ..Default::default() }))?;
        let red = aw!(s.create(Tag { label: "red".into(), ..Default::default() }))?;
        for total in 1..=3 {
            let p = aw!(s.create(Purchase { id: 0, total, client: Single::from(&ann), referrer: None, tags: Set::new() }))?;
            if total < 3 {
                aw!(red.purchases().add(sref!(s), &p))?;
            }
        }
        aw!(s.flush())?;
        Ok((ann.id(), red.id()))
    })?;
    session!(db, |s| {
        let ann = aw!(s.by_pk::<Client>(&ann))?;
        let red = aw!(s.by_pk::<Tag>(&red))?;
        let sent = aw!(s.stats()).statements;
        assert_eq!(aw!(ann.orders().count(sref!(s)))?, 3);
        assert_eq!(aw!(s.stats()).statements, sent + 1, "{}: the database counts", t.label());
        assert_eq!(aw!(ann.orders().count(sref!(s)))?, 3);
        assert_eq!(aw!(red.purchases().count(sref!(s)))?, 2);
        assert_eq!(aw!(red.purchases().count(sref!(s)))?, 2);
        assert_eq!(aw!(s.stats()).statements, sent + 2, "{}: each count is kept", t.label());

        // A change to the collection counts again.
        let fourth =
            aw!(s.create(Purchase { id: 0, total: 4, client: Single::from(&ann), referrer: None, tags: Set::new() }))?;
        assert_eq!(aw!(ann.orders().count(sref!(s)))?, 4, "{}: a new member", t.label());
        aw!(red.purchases().add(sref!(s), &fourth))?;
        assert_eq!(aw!(red.purchases().count(sref!(s)))?, 3, "{}: a new pair", t.label());
        fourth.delete()?;
        assert_eq!(aw!(ann.orders().count(sref!(s)))?, 3, "{}: a member deleted", t.label());
        assert_eq!(aw!(red.purchases().count(sref!(s)))?, 2, "{}: its pair with it", t.label());

        // A loaded collection is counted without a statement.
        let members = aw!(ann.orders().load(sref!(s)))?;
        let sent = aw!(s.stats()).statements;
        assert_eq!(aw!(ann.orders().count(sref!(s)))?, 3);
        members[0].delete()?;
        assert_eq!(aw!(ann.orders().count(sref!(s)))?, 2);
        assert_eq!(aw!(s.stats()).statements, sent, "{}: answered from the identity map", t.label());
        Ok(())
    })?;
    assert_pool_idle(db);
    Ok(())
}

/// Removing a member from a collection whose reference is required deletes the member
/// (PonyORM's `Set.remove`), with its own delete rules (its pairs go with it); a restricted
/// reference (`cascade_delete = false`) refuses the removal and changes nothing.
pub async fn relations_removing_a_required_member_deletes_it(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (ann, shelf) = session!(db, |s| {
        let ann = aw!(s.create(Client { name: "Ann".into(), ..Default::default() }))?;
        let red = aw!(s.create(Tag { label: "red".into(), ..Default::default() }))?;
        for total in 1..=3 {
            let p = aw!(s.create(Purchase { id: 0, total, client: Single::from(&ann), referrer: None, tags: Set::new() }))?;
            aw!(p.tags().add(sref!(s), &red))?;
        }
        let shelf = aw!(s.create(Shelf { label: "A".into(), ..Default::default() }))?;
        aw!(s.create(Book { id: 0, title: "Dune".into(), shelf: Single::from(&shelf) }))?;
        aw!(s.flush())?;
        Ok((ann.id(), shelf.id()))
    })?;
    session!(db, |s| {
        let ann = aw!(s.by_pk::<Client>(&ann))?;
        let orders = aw!(ann.orders().load(sref!(s)))?;
        aw!(ann.orders().remove(sref!(s), &orders[0]))?;
        assert!(!orders[0].tracked().live(), "{}: the member is deleted at once", t.label());
        assert_eq!(totals(&aw!(ann.orders().load(sref!(s)))?), [2, 3]);

        let shelf = aw!(s.by_pk::<Shelf>(&shelf))?;
        let books = aw!(shelf.books().load(sref!(s)))?;
        let refused = aw!(shelf.books().remove(sref!(s), &books[0]));
        let e = expect_kind(refused, ErrorKind::Config, "a restricted reference");
        assert!(e.message().contains("cascade_delete = false"), "{e}");
        assert!(books[0].tracked().live(), "{}: the book stays", t.label());
        Ok(())
    })?;
    let totals: Vec<i64> = aw!(db.select("SELECT total FROM purchase ORDER BY total", ()))?;
    assert_eq!(totals, [2, 3], "{}", t.label());
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM purchase_tag", ()))?, 2, "{}", t.label());
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM book", ()))?, 1, "{}", t.label());

    // `clear` and `set` remove members the same way.
    session!(db, |s| {
        let ann = aw!(s.by_pk::<Client>(&ann))?;
        let orders = aw!(ann.orders().load(sref!(s)))?;
        aw!(ann.orders().set(sref!(s), &orders[1..]))?;
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM purchase", ()))?, 1, "{}", t.label());
    session!(db, |s| aw!(aw!(s.by_pk::<Client>(&ann))?.orders().clear(sref!(s))))?;
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM purchase", ()))?, 0, "{}", t.label());
    assert_pool_idle(db);
    Ok(())
}

/// A query from a lifecycle hook through the current session is refused with a
/// [`ErrorKind::Config`] error that says why (the hook runs inside the session's flush), in
/// both facades: the blocking one does not report a busy session, the async one does not wait
/// for itself. The flush fails and nothing is written.
pub async fn session_hooks_cannot_query_their_session(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let id = session!(db, |s| {
        let post = aw!(s.create(Post { id: 0, title: "Hello".into(), slug: String::new(), revisions: 0, loads: 0 }))?;
        aw!(s.flush())?;
        Ok(post.id())
    })?;
    let r: Result<()> = session!(db, |s| {
        let post = aw!(s.by_pk::<Post>(&id))?;
        post.set_title("Query in hook")?;
        aw!(s.flush())
    });
    let e = expect_kind(r, ErrorKind::Config, "a query from a hook");
    assert!(e.message().starts_with("a lifecycle hook cannot use its session"), "{}: {e}", t.label());
    let title: String = aw!(db.get("SELECT title FROM post WHERE id = ?", (id,)))?;
    assert_eq!(title, "Hello", "{}", t.label());
    assert_pool_idle(db);
    Ok(())
}
