// Relation cases, written once; included into `blocking` and `asynchronous`.

use crate::entities::{Book, Client, ClientObj, Purchase, PurchaseObj, Shelf};
use nextorm::Single;

/// Three clients and `n` purchases spread over them, created in one session: the purchases
/// refer to clients that are new too, so the flush inserts each client before its purchases.
async fn seed_clients(db: &Db, n: i64) -> Result<Vec<i64>> {
    session!(db, |s| {
        let mut clients = Vec::new();
        for name in ["Ann", "Bob", "Cy"] {
            clients.push(aw!(s.create(Client { name: name.into(), ..Default::default() }))?);
        }
        for i in 0..n {
            let client = Single::from(&clients[(i % 3) as usize]);
            let referrer = (i % 2 == 0).then(|| Single::from(&clients[((i + 1) % 3) as usize]));
            aw!(s.create(Purchase { id: 0, total: i, client, referrer }))?;
        }
        aw!(s.flush())?;
        Ok(clients.iter().map(|c| c.id()).collect())
    })
}

pub async fn relations_flush_in_foreign_key_order_and_load_lazily_in_batches(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let ids = seed_clients(db, 100).await?;
    assert!(ids.iter().all(|&id| id > 0), "the clients got their generated keys: {ids:?}");
    let per_client: Vec<i64> =
        aw!(db.select("SELECT COUNT(*) FROM purchase GROUP BY client ORDER BY client", ()))?;
    assert_eq!(per_client, vec![34, 33, 33], "every purchase refers to its client's generated key");

    session!(db, |s| {
        let purchases = aw!(select!(p for p in Purchase).fetch_all(sref!(s)))?;
        assert_eq!(purchases.len(), 100);
        let before = aw!(s.stats()).statements;
        let mut names = std::collections::BTreeSet::new();
        for p in &purchases {
            let client = aw!(p.client().get(sref!(s)))?;
            names.insert(client.name());
        }
        assert_eq!(aw!(s.stats()).statements, before + 1, "one IN (...) query loaded every client");
        assert_eq!(names.into_iter().collect::<Vec<_>>(), vec!["Ann", "Bob", "Cy"]);
        let a = aw!(purchases[0].client().get(sref!(s)))?;
        let b = aw!(purchases[3].client().get(sref!(s)))?;
        assert!(a == b, "one object per row, also through references");
        Ok(())
    })?;
    assert_pool_idle(db);
    Ok(())
}

pub async fn relations_collections_load_once_and_follow_the_session(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let ids = seed_clients(db, 30).await?;
    session!(db, |s| {
        let clients = aw!(select!(c for c in Client).order_by(|c| c.id).fetch_all(sref!(s)))?;
        let before = aw!(s.stats()).statements;
        let first = aw!(clients[0].orders().load(sref!(s)))?;
        assert_eq!(first.len(), 10);
        assert_eq!(aw!(s.stats()).statements, before + 1, "one query for the collections of all three clients");
        let second = aw!(clients[1].orders().load(sref!(s)))?;
        assert_eq!(second.len(), 10);
        assert_eq!(aw!(s.stats()).statements, before + 1, "the other collections were loaded with the first");
        assert!(first.iter().all(|p| p.client().key() == ids[0]));

        // Moving a purchase shows on both sides at once, before any flush.
        first[0].set_client(Single::from(&clients[1]))?;
        assert_eq!(aw!(clients[0].orders().load(sref!(s)))?.len(), 9);
        assert_eq!(aw!(clients[1].orders().load(sref!(s)))?.len(), 11);
        // A new purchase joins its client's collection, and a deleted one leaves it.
        let extra = aw!(s.create(Purchase { id: 0, total: 1, client: Single::from(&clients[2]), referrer: None }))?;
        second[0].delete()?;
        assert!(aw!(clients[2].orders().load(sref!(s)))?.contains(&extra));
        assert_eq!(aw!(clients[1].orders().load(sref!(s)))?.len(), 10);
        // count() asks the database, after flushing.
        assert_eq!(aw!(clients[2].orders().count(sref!(s)))?, 11);
        assert_eq!(aw!(clients[1].orders().count(sref!(s)))?, 10);
        Ok(())
    })?;
    let moved: i64 = aw!(db.get("SELECT COUNT(*) FROM purchase WHERE client = ?", (ids[1],)))?;
    assert_eq!(moved, 10, "committed: one moved in, one deleted");
    assert_pool_idle(db);
    Ok(())
}

pub async fn relations_delete_rules(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let ids = seed_clients(db, 6).await?;
    // Ann (ids[0]) owns purchases 0 and 3 and referred purchases 2 (referrer of i % 3 == 2, even i).
    session!(db, |s| {
        let some = aw!(select!(p for p in Purchase if p.total < 3).fetch_all(sref!(s)))?;
        let ann = aw!(s.by_pk::<Client>(&ids[0]))?;
        ann.delete()?;
        aw!(s.flush())?;
        for p in &some {
            let total = p.total();
            if p.client().key() == ids[0] {
                assert!(p.set_total(1).is_err(), "purchase {total} of Ann was deleted with her (cascade)");
            } else if total == 2 {
                assert_eq!(p.referrer(), None, "purchase 2 no longer has Ann as referrer (set null)");
            }
        }
        Ok(())
    })?;
    let left: Vec<i64> = aw!(db.select("SELECT total FROM purchase ORDER BY total", ()))?;
    assert_eq!(left, vec![1, 2, 4, 5], "the database cascaded to purchase 3, which the session never loaded");
    let referrers: Vec<Option<i64>> = aw!(db.select("SELECT referrer FROM purchase ORDER BY total", ()))?;
    assert!(referrers.iter().all(|r| *r != Some(ids[0])), "no reference to Ann is left: {referrers:?}");

    // Restrict: in the session's identity map and in the database.
    let shelf_id = session!(db, |s| {
        let shelf = aw!(s.create(Shelf { label: "A".into(), ..Default::default() }))?;
        aw!(s.create(Book { id: 0, title: "Dune".into(), shelf: Single::from(&shelf) }))?;
        aw!(s.flush())?;
        Ok(shelf.id())
    })?;
    let r: Result<()> = session!(db, |s| {
        let shelf = aw!(s.by_pk::<Shelf>(&shelf_id))?;
        aw!(shelf.books().load(sref!(s)))?;
        shelf.delete()?;
        aw!(s.flush())
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::ForeignKeyViolation, "refused by the session");
    let r: Result<()> = session!(db, |s| {
        aw!(s.by_pk::<Shelf>(&shelf_id))?.delete()?;
        aw!(s.flush())
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::ForeignKeyViolation, "refused by the database");
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM shelf", ()))?, 1);
    assert_pool_idle(db);
    Ok(())
}

pub async fn relations_query_navigation(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let ids = seed_clients(db, 12).await?;
    let dialect = db.dialect();
    let by_name = select!(p.total for p in Purchase if p.client.name == "Bob").order_by(|p| p.total);
    assert!(by_name.sql(dialect).text.contains("JOIN"), "navigation joins");
    assert_eq!(aw!(by_name.fetch_all(db))?, vec![1, 4, 7, 10]);

    let bob = ids[1];
    let by_key = select!(p.total for p in Purchase if p.client.id == bob);
    assert!(!by_key.sql(dialect).text.contains("JOIN"), "the referenced key is the foreign key: no join");
    assert_eq!(aw!(by_key.count(db))?, 4);

    // An optional reference is a LEFT JOIN: purchases without a referrer stay in the result.
    let referred = select!((p.total, p.referrer.name) for p in Purchase if p.total < 4 && p.referrer.is_some())
        .order_by(|p| p.total);
    assert!(referred.sql(dialect).text.contains("LEFT JOIN"));
    let rows = aw!(referred.fetch_all(db))?;
    assert_eq!(rows, vec![(0, "Bob".to_string()), (2, "Ann".to_string())]);
    let none_or_ann = select!(p.total for p in Purchase if p.referrer.is_none() || p.referrer.name == "Ann");
    assert_eq!(aw!(none_or_ann.count(db))?, 8, "six without a referrer, two referred by Ann");

    // Comparing objects compares keys: with a loop variable, and with a bound object.
    let own = select!(p.total for p in Purchase for c in Client if p.client == c && c.name == "Cy");
    assert_eq!(aw!(own.count(db))?, 4);
    let same = select!(p for p in Purchase if p.referrer == p.client);
    assert_eq!(aw!(same.count(db))?, 0);
    session!(db, |s| {
        let cy = aw!(s.by_pk::<Client>(&ids[2]))?;
        let mine = aw!(select!(p for p in Purchase if p.client == cy).fetch_all(sref!(s)))?;
        assert_eq!(mine.len(), 4);
        // Projecting a reference returns the referenced objects, each once.
        let buyers = aw!(select!(p.client for p in Purchase if p.total >= 9).fetch_all(sref!(s)))?;
        assert_eq!(buyers.len(), 3);
        assert!(buyers.contains(&cy), "the session's object for Cy");
        Ok(())
    })?;
    assert_pool_idle(db);
    Ok(())
}
