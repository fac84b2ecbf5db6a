// Relation cases, written once; included into `blocking` and `asynchronous`.

use crate::entities::{
    Account, AccountObj, Book, Client, ClientObj, Employee, EmployeeObj, Folder, FolderObj, Locker, LockerObj, Memo,
    MemoObj, Person, PersonObj, Profile, ProfileObj, Purchase, PurchaseObj, Queue, QueueObj, Shelf, Tag, TagObj, Ticket,
    TicketObj,
};
use nextorm::{Set, Single};

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
            aw!(s.create(Purchase { id: 0, total: i, client, referrer, tags: Set::new() }))?;
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
        let extra = aw!(s.create(Purchase { id: 0, total: 1, client: Single::from(&clients[2]), referrer: None, tags: Set::new() }))?;
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

/// PonyORM's lazy walk: each level's first use loads that collection for every owner the session
/// holds, so walking every client's purchases and every purchase's tags sends one query a level,
/// and the members come from the session's index of references (kept up to date when references
/// move and new objects get their keys).
pub async fn relations_lazy_walk_sends_one_query_per_level(t: &Ctx) -> Result<()> {
    let db = &t.db;
    seed_clients(db, 30).await?;
    session!(db, |s| {
        let even = aw!(s.create(Tag { label: "even".into(), ..Default::default() }))?;
        for p in aw!(select!(p for p in Purchase).fetch_all(sref!(s)))? {
            if p.total() % 2 == 0 {
                aw!(p.tags().add(sref!(s), &even))?;
            }
        }
        Ok(())
    })?;
    session!(db, |s| {
        let before = aw!(s.stats()).statements;
        let mut walked = Vec::new();
        for c in aw!(select!(c for c in Client).order_by(|c| c.id).fetch_all(sref!(s)))? {
            for p in aw!(c.orders().load(sref!(s)))? {
                assert!(aw!(p.client().get(sref!(s)))? == c, "a member leads back to its owner's object");
                walked.push((c.name(), p.total(), labels(&aw!(p.tags().load(sref!(s)))?)));
            }
        }
        assert_eq!(aw!(s.stats()).statements, before + 3, "the clients, then one query per level: purchases, tags");
        assert_eq!(walked.len(), 30);
        for (name, total, tags) in &walked {
            assert_eq!(name, ["Ann", "Bob", "Cy"][(total % 3) as usize], "purchase {total}'s client");
            let expected: &[&str] = if total % 2 == 0 { &["even"] } else { &[] };
            assert_eq!(tags, expected, "purchase {total}'s tags");
        }
        Ok(())
    })?;
    session!(db, |s| {
        let clients = aw!(select!(c for c in Client).order_by(|c| c.id).fetch_all(sref!(s)))?;
        assert_eq!(aw!(clients[0].orders().load(sref!(s)))?.len(), 10);
        // A new client's purchase follows it before the flush, and refers to its generated key after.
        let dee = aw!(s.create(Client { name: "Dee".into(), ..Default::default() }))?;
        let bought = aw!(s.create(Purchase {
            id: 0,
            total: 99,
            client: Single::from(&dee),
            referrer: None,
            tags: Set::new()
        }))?;
        assert_eq!(aw!(dee.orders().load(sref!(s)))?, vec![bought.clone()]);
        aw!(s.flush())?;
        assert_eq!(aw!(dee.orders().load(sref!(s)))?, vec![bought.clone()], "found by its generated key");
        // A purchase moved to another client leaves one collection and joins the other.
        bought.set_client(Single::from(&clients[0]))?;
        assert!(aw!(dee.orders().load(sref!(s)))?.is_empty());
        let anns = aw!(clients[0].orders().load(sref!(s)))?;
        assert_eq!(anns.len(), 11);
        assert!(anns.last() == Some(&bought), "members in the order they joined the session");
        Ok(())
    })?;
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

/// `cascade_delete = true` on an optional reference: deleting the folder deletes its memos, in
/// the session's identity map and in the database (the DDL says `ON DELETE CASCADE`).
pub async fn relations_optional_reference_with_cascade_delete(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (kept, gone) = session!(db, |s| {
        let kept = aw!(s.create(Folder { label: "kept".into(), ..Default::default() }))?;
        let gone = aw!(s.create(Folder { label: "gone".into(), ..Default::default() }))?;
        for (title, folder) in [("k1", Some(&kept)), ("g1", Some(&gone)), ("g2", Some(&gone)), ("loose", None)] {
            let folder = folder.map(Single::from);
            aw!(s.create(Memo { id: 0, title: title.into(), folder }))?;
        }
        aw!(s.flush())?;
        Ok((kept.id(), gone.id()))
    })?;
    aw!(db.execute("INSERT INTO memo (title, folder) VALUES (?, ?)", ("g3", gone)))?;
    session!(db, |s| {
        // g3 stays out of the session: the database deletes it.
        let held = aw!(select!(m for m in Memo if m.title != "g3").fetch_all(sref!(s)))?;
        let kept = aw!(s.by_pk::<Folder>(&kept))?;
        let gone = aw!(s.by_pk::<Folder>(&gone))?;
        assert_eq!(aw!(gone.memos().load(sref!(s)))?.len(), 3);
        gone.delete()?;
        aw!(s.flush())?;
        for m in &held {
            let title = m.title();
            match title.as_str() {
                "g1" | "g2" => {
                    let e = m.writable().unwrap_err();
                    assert!(e.message().contains("has been deleted"), "memo {title} is deleted with its folder: {e}");
                }
                _ => m.writable()?,
            }
        }
        let left = aw!(select!(m for m in Memo).fetch_all(sref!(s)))?;
        let mut titles: Vec<String> = left.iter().map(|m| m.title()).collect();
        titles.sort();
        assert_eq!(titles, vec!["k1", "loose"], "the session's objects and the database agree");
        assert_eq!(aw!(kept.memos().load(sref!(s)))?.len(), 1);
        Ok(())
    })?;
    let left: Vec<String> = aw!(db.select("SELECT title FROM memo ORDER BY title", ()))?;
    assert_eq!(left, vec!["k1", "loose"], "the database cascaded to g3, which the session never loaded");
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM folder", ()))?, 1);
    assert_pool_idle(db);
    Ok(())
}

/// A reference a `before_update` hook moves during a flush: the collections loaded before it
/// follow the hook afterwards (the members' index they were answered from is not left stale),
/// in the session and in the database.
pub async fn relations_a_hook_moving_a_member_moves_it_between_collections(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (front, back) = session!(db, |s| {
        let front = aw!(s.create(Queue { name: "front".into(), ..Default::default() }))?;
        let back = aw!(s.create(Queue { name: "back".into(), ..Default::default() }))?;
        aw!(s.flush())?;
        aw!(s.create(Ticket { id: 0, priority: 1, escalation: back.id(), updates: 0, queue: Single::from(&front) }))?;
        Ok((front.id(), back.id()))
    })?;
    // The other queue joins the session after the first load, so loading its tickets runs a
    // query, whose auto-flush runs the hook just before the rows load.
    session!(db, |s| {
        let front = aw!(s.by_pk::<Queue>(&front))?;
        let waiting = aw!(front.tickets().load(sref!(s)))?;
        assert_eq!(waiting.len(), 1);
        let back = aw!(s.by_pk::<Queue>(&back))?;
        waiting[0].set_priority(9)?;
        let moved = aw!(back.tickets().load(sref!(s)))?;
        assert_eq!(moved.len(), 1, "the hook's move shows in the collection loaded with the flush");
        assert!(moved[0].same(&waiting[0]), "the same object");
        assert!(aw!(front.tickets().load(sref!(s)))?.is_empty(), "and the queue it left no longer lists it");
        Ok(())
    })?;
    // Both queues' tickets loaded (one query), then a flush: the collections answer from memory
    // afterwards, and follow the hook.
    session!(db, |s| {
        let back = aw!(s.by_pk::<Queue>(&back))?;
        let front = aw!(s.by_pk::<Queue>(&front))?;
        let held = aw!(back.tickets().load(sref!(s)))?;
        assert!(aw!(front.tickets().load(sref!(s)))?.is_empty());
        held[0].set_escalation(front.id())?;
        assert!(aw!(front.tickets().load(sref!(s)))?.is_empty(), "the hook has not run yet");
        aw!(s.flush())?;
        assert_eq!(aw!(front.tickets().load(sref!(s)))?.len(), 1, "moved back by the hook at the flush");
        assert!(aw!(back.tickets().load(sref!(s)))?.is_empty());
        Ok(())
    })?;
    // A count kept from before a change whose hook moves a member is not answered: the hook
    // runs at the flush the count makes first.
    session!(db, |s| {
        let ticket = aw!(select!(t for t in Ticket).fetch_all(sref!(s)))?.remove(0);
        let back = aw!(s.by_pk::<Queue>(&back))?;
        assert_eq!(aw!(back.tickets().count(sref!(s)))?, 0);
        ticket.set_escalation(back.id())?;
        assert_eq!(aw!(back.tickets().count(sref!(s)))?, 1, "the hook moved the ticket before the count");
        Ok(())
    })?;
    let queues: Vec<i64> = aw!(db.select("SELECT queue FROM ticket", ()))?;
    assert_eq!(queues, vec![back]);
    assert_pool_idle(db);
    Ok(())
}


/// `obj.flush(s)` of a delete sends the changes its delete rules made and nothing else, and runs
/// no other object's `before_update` hook: a ticket changed in the session runs its hook once,
/// at the flush that sends it.
pub async fn relations_flushing_a_delete_runs_no_other_objects_hook(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let gone = session!(db, |s| {
        let kept = aw!(s.create(Queue { name: "kept".into(), ..Default::default() }))?;
        let gone = aw!(s.create(Queue { name: "gone".into(), ..Default::default() }))?;
        aw!(s.flush())?;
        aw!(s.create(Ticket { id: 0, priority: 1, escalation: kept.id(), updates: 0, queue: Single::from(&kept) }))?;
        Ok(gone.id())
    })?;
    session!(db, |s| {
        let ticket = aw!(select!(t for t in Ticket).fetch_all(sref!(s)))?.remove(0);
        let gone = aw!(s.by_pk::<Queue>(&gone))?;
        ticket.set_priority(2)?;
        gone.delete()?;
        aw!(gone.flush(sref!(s)))?;
        assert_eq!(ticket.updates(), 0, "the delete's flush ran no hook of the ticket, which it does not send");
        aw!(s.flush())?;
        assert_eq!(ticket.updates(), 1, "the ticket's own flush runs its hook once");
        Ok(())
    })?;
    let updates: Vec<i32> = aw!(db.select("SELECT updates FROM ticket", ()))?;
    assert_eq!(updates, vec![1]);
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM queue", ()))?, 1);
    assert_pool_idle(db);
    Ok(())
}

/// Two models with the same table names (`team`, `player`) in one program: each query resolves
/// its paths through its own entities, whichever was linked first, and one database mapping
/// both is a mapping error rather than a silent choice.
pub async fn relations_two_models_on_one_table_name(t: &Ctx) -> Result<()> {
    {
        use crate::entities::tenant_a::{Player, Team};
        let db = &open(&t.url, OpenOptions::new().entities([Team::meta(), Player::meta()])).await?;
        aw!(db.generate_mapping(CreateTables::Yes))?;
        for (id, name) in [(1, "reds"), (2, "blues")] {
            aw!(db.insert(&mut Team { id, name: name.into(), players: Set::new() }))?;
        }
        for (id, team) in [(1, 1), (2, 1), (3, 2)] {
            aw!(db.insert(&mut Player { id, team: Single::new(team) }))?;
        }
        let big = select!(t.name for t in Team if count(t.players) > 1);
        assert_eq!(aw!(big.fetch_all(db))?, vec!["reds".to_string()]);
        let of_blues = select!(p.id for p in Player if p.team.name == "blues");
        assert_eq!(aw!(of_blues.fetch_all(db))?, vec![3]);
        aw!(db.drop_all_tables())?;
    }
    {
        use crate::entities::tenant_b::{Player, Team, TeamObj};
        let db = &open(&t.url, OpenOptions::new().entities([Team::meta(), Player::meta()])).await?;
        aw!(db.generate_mapping(CreateTables::Yes))?;
        for code in [10, 20] {
            aw!(db.insert(&mut Team { code, players: Set::new() }))?;
        }
        for (number, team) in [(7, 20), (9, 20), (11, 10)] {
            aw!(db.insert(&mut Player { number, team: Single::new(team) }))?;
        }
        let big = select!(t.code for t in Team if count(t.players) > 1);
        assert_eq!(aw!(big.fetch_all(db))?, vec![20]);
        let teams = session!(db, |s| aw!(select!(t for t in Team).prefetch(|t| t.players).fetch_all(sref!(s))))?;
        let mut prefetched = 0;
        for team in &teams {
            prefetched += team.players().loaded()?.len();
        }
        assert_eq!(prefetched, 3, "prefetch resolves the collection of this model's `team`");
        aw!(db.drop_all_tables())?;
    }
    use crate::entities::{tenant_a, tenant_b};
    let both = [tenant_a::Team::meta(), tenant_a::Player::meta(), tenant_b::Team::meta(), tenant_b::Player::meta()];
    let both = open(&t.url, OpenOptions::new().entities(both)).await?;
    let e = expect_kind(aw!(both.generate_mapping(CreateTables::No)), ErrorKind::Mapping, "two entities on `team`");
    assert!(e.message().contains("both mapped to table `team`"), "{e}");
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

/// The labels of tag objects, sorted.
fn labels(tags: &[nextorm::Handle<Tag>]) -> Vec<String> {
    let mut v: Vec<String> = tags.iter().map(|t| t.label()).collect();
    v.sort();
    v
}

/// The totals of purchase objects, sorted.
fn totals(purchases: &[nextorm::Handle<Purchase>]) -> Vec<i64> {
    let mut v: Vec<i64> = purchases.iter().map(|p| p.total()).collect();
    v.sort();
    v
}

pub async fn relations_many_to_many_add_remove_clear(t: &Ctx) -> Result<()> {
    let db = &t.db;
    seed_clients(db, 6).await?;
    let count_pairs = "SELECT COUNT(*) FROM purchase_tag";
    session!(db, |s| {
        let p = aw!(select!(p for p in Purchase).order_by(|p| p.total).fetch_all(sref!(s)))?;
        let red = aw!(s.create(Tag { label: "red".into(), ..Default::default() }))?;
        let blue = aw!(s.create(Tag { label: "blue".into(), ..Default::default() }))?;
        // Both sides see an added pair at once, before any flush (and before the tags exist).
        aw!(p[0].tags().add(sref!(s), &red))?;
        aw!(p[0].tags().add(sref!(s), &blue))?;
        aw!(red.purchases().add(sref!(s), &p[1]))?;
        aw!(p[0].tags().add(sref!(s), &red))?; // twice is once
        assert_eq!(labels(&aw!(p[0].tags().load(sref!(s)))?), ["blue", "red"]);
        assert_eq!(totals(&aw!(red.purchases().load(sref!(s)))?), [0, 1]);
        assert_eq!(aw!(p[1].tags().len(sref!(s)))?, 1);
        assert!(aw!(p[2].tags().is_empty(sref!(s)))?);
        aw!(s.flush())?;
        // After the flush, the database agrees, and removal shows on both sides at once.
        assert_eq!(aw!(red.purchases().count(sref!(s)))?, 2);
        aw!(p[0].tags().remove(sref!(s), &red))?;
        assert_eq!(totals(&aw!(red.purchases().load(sref!(s)))?), [1]);
        assert_eq!(labels(&aw!(p[0].tags().load(sref!(s)))?), ["blue"]);
        aw!(blue.purchases().clear(sref!(s)))?;
        assert!(aw!(p[0].tags().is_empty(sref!(s)))?);
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<i64>(count_pairs, ()))?, 1, "committed: only purchase 1 is still red");

    session!(db, |s| {
        let p = aw!(select!(p for p in Purchase).order_by(|p| p.total).fetch_all(sref!(s)))?;
        let before = aw!(s.stats()).statements;
        assert_eq!(labels(&aw!(p[1].tags().load(sref!(s)))?), ["red"]);
        assert!(aw!(p[0].tags().load(sref!(s)))?.is_empty());
        assert!(aw!(p[5].tags().load(sref!(s)))?.is_empty());
        assert_eq!(aw!(s.stats()).statements, before + 1, "one query loaded the tags of all six purchases");
        // Adding a pair the database holds, without loading it from that side, changes nothing.
        let red = aw!(Tag::get(sref!(s), |t| t.label.eq("red")))?.expect("red");
        let blue = aw!(Tag::get(sref!(s), |t| t.label.eq("blue")))?.expect("blue");
        aw!(red.purchases().add(sref!(s), &p[1]))?;
        for q in &p[2..] {
            aw!(blue.purchases().add(sref!(s), q))?;
        }
        aw!(s.flush())?;
        assert_eq!(aw!(red.purchases().count(sref!(s)))?, 1);
        // A collection is a query too: filtered, ordered and paged in SQL.
        let page = aw!(blue.purchases().query().filter(|q| q.total.gt(2)).order_by(|q| q.total).page(1, 2).fetch_all(sref!(s)))?;
        assert_eq!(page.iter().map(|q| q.total()).collect::<Vec<_>>(), [3, 4]);
        // Deleting a tag deletes its pairs (the database cascades), and it leaves the collections.
        blue.delete()?;
        assert!(aw!(p[3].tags().is_empty(sref!(s)))?);
        Ok(())
    })?;
    assert_eq!(aw!(db.get::<i64>(count_pairs, ()))?, 1, "blue's pairs went with it");
    // Outside a session, a collection cannot change.
    let r: Result<()> = session!(db, |s| {
        let red = aw!(Tag::get(sref!(s), |t| t.label.eq("red")))?.expect("red");
        let p0 = aw!(select!(p for p in Purchase if p.total == 0).fetch_one(sref!(s)))?;
        aw!(red.purchases().add(db, &p0))
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Config);
    assert_pool_idle(db);
    Ok(())
}

pub async fn relations_one_to_many_add_remove_clear(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let ids = seed_clients(db, 12).await?;
    session!(db, |s| {
        let clients = aw!(select!(c for c in Client).order_by(|c| c.id).fetch_all(sref!(s)))?;
        let (ann, bob) = (&clients[0], &clients[1]);
        let anns = aw!(ann.orders().load(sref!(s)))?;
        assert_eq!(totals(&anns), [0, 3, 6, 9]);
        // Adding moves the purchase: both collections change at once.
        aw!(bob.orders().add(sref!(s), &anns[0]))?;
        assert_eq!(totals(&aw!(ann.orders().load(sref!(s)))?), [3, 6, 9]);
        assert_eq!(totals(&aw!(bob.orders().load(sref!(s)))?), [0, 1, 4, 7, 10]);
        assert_eq!(anns[0].client().key(), bob.id());
        // An optional reference is cleared.
        let referred = aw!(bob.referred().load(sref!(s)))?;
        assert_eq!(totals(&referred), [0, 6]);
        aw!(bob.referred().remove(sref!(s), &referred[0]))?;
        assert_eq!(aw!(bob.referred().len(sref!(s)))?, 1);
        aw!(bob.referred().clear(sref!(s)))?;
        assert!(aw!(bob.referred().is_empty(sref!(s)))?);
        assert!(referred.iter().all(|p| p.referrer().is_none()));
        // A member whose required reference leaves the collection is deleted (PonyORM's
        // `Set.remove`); see `relations_removing_a_required_member_deletes_it`.
        aw!(bob.orders().remove(sref!(s), &anns[0]))?;
        assert_eq!(totals(&aw!(bob.orders().load(sref!(s)))?), [1, 4, 7, 10]);
        Ok(())
    })?;
    let bobs: i64 = aw!(db.get("SELECT COUNT(*) FROM purchase WHERE client = ?", (ids[1],)))?;
    assert_eq!(bobs, 4, "committed: purchase 0 moved to Bob, then left his collection: deleted");
    let referred: i64 = aw!(db.get("SELECT COUNT(*) FROM purchase WHERE referrer = ?", (ids[1],)))?;
    assert_eq!(referred, 0, "committed: Bob referred none");
    assert_pool_idle(db);
    Ok(())
}

pub async fn relations_self_references(t: &Ctx) -> Result<()> {
    let db = &t.db;
    session!(db, |s| {
        let boss = aw!(s.create(Employee { name: "Boss".into(), ..Default::default() }))?;
        for name in ["Ann", "Bob"] {
            let e = Employee { name: name.into(), manager: Some(Single::from(&boss)), ..Default::default() };
            aw!(s.create(e))?;
        }
        let people: Vec<_> = ["Al", "Bo", "Cy"]
            .into_iter()
            .map(|n| Person { name: n.into(), ..Default::default() })
            .collect();
        let mut persons = Vec::new();
        for p in people {
            persons.push(aw!(s.create(p))?);
        }
        // A symmetric relation: a friend of Al has Al as a friend.
        aw!(persons[0].friends().add(sref!(s), &persons[1]))?;
        aw!(persons[2].friends().add(sref!(s), &persons[0]))?;
        let mut names: Vec<String> = aw!(persons[0].friends().load(sref!(s)))?.iter().map(|p| p.name()).collect();
        names.sort();
        assert_eq!(names, ["Bo", "Cy"]);
        assert_eq!(aw!(persons[1].friends().load(sref!(s)))?.len(), 1);
        Ok(())
    })?;
    session!(db, |s| {
        let boss = aw!(Employee::get(sref!(s), |e| e.name.eq("Boss")))?.expect("boss");
        let mut reports: Vec<String> = aw!(boss.reports().load(sref!(s)))?.iter().map(|e| e.name()).collect();
        reports.sort();
        assert_eq!(reports, ["Ann", "Bob"]);
        let under_boss = aw!(select!(e.name for e in Employee if e.manager.name == "Boss").count(sref!(s)))?;
        assert_eq!(under_boss, 2);
        let managers = aw!(select!(e.name for e in Employee if !e.reports.is_empty()).fetch_all(sref!(s)))?;
        assert_eq!(managers, ["Boss"]);
        let bo = aw!(Person::get(sref!(s), |p| p.name.eq("Bo")))?.expect("Bo");
        let friends: Vec<String> = aw!(bo.friends().load(sref!(s)))?.iter().map(|p| p.name()).collect();
        assert_eq!(friends, ["Al"], "stored in both directions");
        let popular = aw!(select!(p.name for p in Person if count(p.friends) == 2).fetch_all(sref!(s)))?;
        assert_eq!(popular, ["Al"]);
        // Deleting the boss sets the reports' manager to NULL (an optional reference).
        boss.delete()?;
        Ok(())
    })?;
    let orphans: i64 = aw!(db.get("SELECT COUNT(*) FROM employee WHERE manager IS NULL", ()))?;
    assert_eq!(orphans, 2);
    assert_pool_idle(db);
    Ok(())
}

pub async fn relations_prefetch_levels_and_use_after_the_session(t: &Ctx) -> Result<()> {
    let db = &t.db;
    seed_clients(db, 12).await?;
    session!(db, |s| {
        let even = aw!(s.create(Tag { label: "even".into(), ..Default::default() }))?;
        let three = aw!(s.create(Tag { label: "three".into(), ..Default::default() }))?;
        for p in aw!(select!(p for p in Purchase).fetch_all(sref!(s)))? {
            if p.total() % 2 == 0 {
                aw!(p.tags().add(sref!(s), &even))?;
            }
            if p.total() % 3 == 0 {
                aw!(p.tags().add(sref!(s), &three))?;
            }
        }
        Ok(())
    })?;

    // Three levels, one query each: the clients, their purchases, the purchases' tags.
    let clients = session!(db, |s| {
        let before = aw!(s.stats()).statements;
        let query = select!(c for c in Client).order_by(|c| c.id).prefetch(|c| c.orders.tags);
        let clients = aw!(query.fetch_all(sref!(s)))?;
        assert_eq!(aw!(s.stats()).statements, before + 3, "one query per level");
        // What was prefetched answers in the session without a query too.
        for c in &clients {
            for p in aw!(c.orders().load(sref!(s)))? {
                aw!(p.tags().load(sref!(s)))?;
            }
        }
        assert_eq!(aw!(s.stats()).statements, before + 3);
        Ok(clients)
    })?;
    // After the session: the collections, the members' references to their owner, the tags.
    let ann = &clients[0];
    let anns = ann.orders().loaded()?;
    assert_eq!(totals(&anns), [0, 3, 6, 9]);
    let six = anns.iter().find(|p| p.total() == 6).expect("purchase 6");
    assert_eq!(labels(&six.tags().loaded()?), ["even", "three"]);
    assert!(anns.iter().all(|p| p.client().loaded().is_ok_and(|c| c == *ann)), "one object per row");
    assert_eq!(labels(&anns.iter().find(|p| p.total() == 9).expect("9").tags().loaded()?), ["three"]);
    // What was not loaded says so.
    let r = ann.referred().loaded();
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Config);
    let tag = &six.tags().loaded()?[0];
    assert_eq!(tag.purchases().loaded().unwrap_err().kind(), ErrorKind::Config);

    // Order.customer: the references of every purchase in one query, both fields at once.
    let purchases = session!(db, |s| {
        let before = aw!(s.stats()).statements;
        let query = select!(p for p in Purchase).order_by(|p| p.total).prefetch(|p| (p.client, p.referrer));
        let purchases = aw!(query.fetch_all(sref!(s)))?;
        assert_eq!(aw!(s.stats()).statements, before + 2, "the purchases, then their clients");
        Ok(purchases)
    })?;
    let names = purchases.iter().map(|p| p.client().loaded().map(|c| c.name())).collect::<Result<Vec<_>>>()?;
    assert_eq!(names[..4], ["Ann", "Bob", "Cy", "Ann"]);
    let referrer = purchases[0].referrer().expect("purchase 0 has a referrer").loaded()?;
    assert_eq!(referrer.name(), "Bob");
    assert!(purchases[1].referrer().is_none());

    // Prefetch needs a session's objects, and the rows before they are handed out.
    let on_db = aw!(select!(p for p in Purchase).prefetch(|p| p.client).fetch_all(db));
    assert_eq!(on_db.unwrap_err().kind(), ErrorKind::Config);
    let streamed: Result<()> = session!(db, |s| {
        aw!(select!(p for p in Purchase).prefetch(|p| p.client).for_each(sref!(s), |_| Ok(())))
    });
    assert_eq!(streamed.unwrap_err().kind(), ErrorKind::Config);
    assert_pool_idle(db);
    Ok(())
}

pub async fn relations_prefetched_cycles_are_freed(t: &Ctx) -> Result<()> {
    let db = &t.db;
    session!(db, |s| {
        let mut people = Vec::new();
        for name in ["Al", "Bo", "Cy"] {
            people.push(aw!(s.create(Person { name: name.into(), ..Default::default() }))?);
        }
        aw!(people[0].friends().add(sref!(s), &people[1]))?;
        aw!(people[2].friends().add(sref!(s), &people[0]))?;
        // A chain: each employee manages the next.
        let mut manager: Option<nextorm::Handle<Employee>> = None;
        for i in 0..2000 {
            let e = Employee { name: format!("e{i:04}"), manager: manager.as_ref().map(Single::from), ..Default::default() };
            manager = Some(aw!(s.create(e))?);
        }
        Ok(())
    })?;
    // Friends of friends: the links form cycles (Al and Bo are each other's friends).
    let people = session!(db, |s| {
        let query = select!(p for p in Person).order_by(|p| p.name).prefetch(|p| p.friends.friends);
        aw!(query.fetch_all(sref!(s)))
    })?;
    let al = &people[0];
    let names = |ps: &[nextorm::Handle<Person>]| {
        let mut v: Vec<String> = ps.iter().map(|p| p.name()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&al.friends().loaded()?), ["Bo", "Cy"]);
    let bo = al.friends().loaded()?.into_iter().find(|p| p.name() == "Bo").expect("Bo");
    assert!(bo.friends().loaded()? == vec![al.clone()], "the same object for Al on both sides");
    let watched: Vec<_> = people.iter().map(nextorm::Handle::downgrade).collect();
    drop((people, bo));
    assert!(watched.iter().all(|w| w.upgrade().is_none()), "no cycle of links keeps the people alive");

    // A chain of 2000 reports, held only by its first link: freed without deep recursion.
    let first = session!(db, |s| {
        let query = select!(e for e in Employee).order_by(|e| e.name).prefetch(|e| e.reports);
        Ok(aw!(query.fetch_all(sref!(s)))?.swap_remove(0))
    })?;
    let mut last = first.clone();
    let mut depth = 0;
    while let Some(next) = last.reports().loaded()?.pop() {
        assert!(next.manager().expect("a manager").loaded()? == last);
        last = next;
        depth += 1;
    }
    assert_eq!(depth, 1999);
    let tail = last.downgrade();
    drop((first, last));
    assert!(tail.upgrade().is_none(), "the whole chain was freed");

    // Two managing each other, and one managing itself: each one's only link closes a cycle.
    let (x1, x2, x3) = (9001, 9002, 9003);
    session!(db, |s| {
        let first = aw!(s.create(Employee { id: x1, name: "x1".into(), ..Default::default() }))?;
        let second = Employee { id: x2, name: "x2".into(), manager: Some(Single::from(&first)), ..Default::default() };
        let second = aw!(s.create(second))?;
        let own = aw!(s.create(Employee { id: x3, name: "x3".into(), ..Default::default() }))?;
        aw!(s.flush())?;
        first.set_manager(Some(Single::from(&second)))?;
        own.set_manager(Some(Single::from(&own)))?;
        Ok(())
    })?;
    let cycles = session!(db, |s| {
        let query = select!(e for e in Employee if e.id >= x1).order_by(|e| e.id).prefetch(|e| e.manager);
        aw!(query.fetch_all(sref!(s)))
    })?;
    let managers: Vec<i64> =
        cycles.iter().map(|e| Ok(e.manager().expect("a manager").loaded()?.id())).collect::<Result<_>>()?;
    assert_eq!(managers, [x2, x1, x3], "each link answers after the session");
    let watched: Vec<_> = cycles.iter().map(nextorm::Handle::downgrade).collect();
    drop(cycles);
    assert!(watched.iter().all(|w| w.upgrade().is_none()), "no object keeps itself or its pair alive");
    assert_pool_idle(db);
    Ok(())
}

/// Accounts Ann, Bob and Cy; Ann and Bob have a profile, Ann holds locker 1, locker 2 is free.
async fn seed_accounts(db: &Db) -> Result<()> {
    session!(db, |s| {
        let mut accounts = Vec::new();
        for name in ["Ann", "Bob", "Cy"] {
            accounts.push(aw!(s.create(Account { name: name.into(), ..Default::default() }))?);
        }
        for a in &accounts[..2] {
            let bio = format!("about {}", a.name());
            aw!(s.create(Profile { id: 0, bio, account: Single::from(a) }))?;
        }
        aw!(s.create(Locker { id: 0, number: 1, holder: Some(Single::from(&accounts[0])) }))?;
        aw!(s.create(Locker { id: 0, number: 2, holder: None }))?;
        Ok(())
    })
}

pub async fn relations_one_to_one(t: &Ctx) -> Result<()> {
    let db = &t.db;
    seed_accounts(db).await?;

    // The key is unique: a second profile for Ann is refused, and nothing of the session stays.
    let second: Result<()> = session!(db, |s| {
        let ann = aw!(select!(a for a in Account if a.name == "Ann").fetch_one(sref!(s)))?;
        aw!(s.create(Profile { id: 0, bio: "again".into(), account: Single::from(&ann) }))?;
        aw!(s.flush())
    });
    assert_eq!(second.unwrap_err().kind(), ErrorKind::UniqueViolation);
    let profiles: i64 = aw!(db.get("SELECT COUNT(*) FROM profile", ()))?;
    assert_eq!(profiles, 2);

    session!(db, |s| {
        let accounts = aw!(select!(a for a in Account).order_by(|a| a.id).fetch_all(sref!(s)))?;
        // The first read loads the profile of every account of the session: one query.
        let before = aw!(s.stats()).statements;
        let mut bios = Vec::new();
        for a in &accounts {
            bios.push(aw!(a.profile().get(sref!(s)))?.map(|p| p.bio()));
        }
        assert_eq!(aw!(s.stats()).statements, before + 1, "one IN (...) query for the three accounts");
        assert_eq!(bios, [Some("about Ann".to_owned()), Some("about Bob".to_owned()), None]);
        // Both sides lead to the same objects.
        let ann_profile = aw!(accounts[0].profile().get(sref!(s)))?.expect("Ann's profile");
        assert!(aw!(ann_profile.account().get(sref!(s)))? == accounts[0]);

        // Moving the locker: both sides see it at once, before the flush.
        let locker = aw!(accounts[0].locker().get(sref!(s)))?.expect("Ann's locker");
        aw!(accounts[1].locker().set(sref!(s), Some(&locker)))?;
        assert!(aw!(accounts[0].locker().get(sref!(s)))?.is_none());
        assert!(aw!(accounts[1].locker().get(sref!(s)))? == Some(locker.clone()));
        // A required reference cannot be left empty: delete the profile instead.
        let refused = aw!(accounts[1].profile().set(sref!(s), None));
        assert_eq!(refused.unwrap_err().kind(), ErrorKind::Config);
        // But it can move to an account that has none.
        aw!(accounts[2].profile().set(sref!(s), Some(&ann_profile)))?;
        assert!(aw!(accounts[0].profile().get(sref!(s)))?.is_none());
        Ok(())
    })?;
    let holders: Vec<(i32, Option<String>)> = aw!(db.select(
        "SELECT l.number, a.name FROM locker l LEFT JOIN account a ON a.id = l.holder ORDER BY l.number",
        ()
    ))?;
    assert_eq!(holders, [(1, Some("Bob".to_owned())), (2, None)]);

    // Queries through both sides: a LEFT JOIN from the HasOne side.
    let (no_locker, with_bio, by_holder) = session!(db, |s| {
        let mut no_locker = aw!(select!(a.name for a in Account if a.locker.is_none()).fetch_all(sref!(s)))?;
        no_locker.sort();
        let with_bio = aw!(select!(a.name for a in Account if a.profile.bio == "about Ann").fetch_all(sref!(s)))?;
        let by_holder = aw!(select!(l.number for l in Locker if l.holder.profile.bio == "about Bob").fetch_all(sref!(s)))?;
        Ok((no_locker, with_bio, by_holder))
    })?;
    assert_eq!(no_locker, ["Ann", "Cy"]);
    assert_eq!(with_bio, ["Cy"], "the profile moved from Ann to Cy");
    assert_eq!(by_holder, [1]);

    // Prefetch from the HasOne side: one query per relation, usable after the session.
    let accounts = session!(db, |s| {
        let before = aw!(s.stats()).statements;
        let query = select!(a for a in Account).order_by(|a| a.id).prefetch(|a| (a.profile, a.locker));
        let accounts = aw!(query.fetch_all(sref!(s)))?;
        assert_eq!(aw!(s.stats()).statements, before + 3, "accounts, profiles, lockers");
        Ok(accounts)
    })?;
    let bios = accounts.iter().map(|a| Ok(a.profile().loaded()?.map(|p| p.bio()))).collect::<Result<Vec<_>>>()?;
    assert_eq!(bios, [None, Some("about Bob".to_owned()), Some("about Ann".to_owned())]);
    let bobs = accounts[1].locker().loaded()?.expect("Bob holds locker 1");
    assert_eq!(bobs.number(), 1);
    assert!(bobs.holder().expect("a holder").loaded()? == accounts[1], "back to the same object");

    // Delete rules from the HasOne side: the required profile goes, the optional locker stays.
    session!(db, |s| {
        let bob = aw!(select!(a for a in Account if a.name == "Bob").fetch_one(sref!(s)))?;
        let locker = aw!(bob.locker().get(sref!(s)))?.expect("Bob's locker");
        bob.delete()?;
        aw!(s.flush())?;
        assert!(locker.holder().is_none(), "the identity map applied set null");
        Ok(())
    })?;
    let left: Vec<(i64, i64)> =
        aw!(db.select("SELECT (SELECT COUNT(*) FROM profile), (SELECT COUNT(*) FROM locker WHERE holder IS NULL)", ()))?;
    assert_eq!(left, [(1, 2)], "Bob's profile deleted, both lockers free");

    // A unique value moves in the order the database needs, whatever order the objects joined
    // the session in. Cy holds locker 1, Ann locker 2.
    session!(db, |s| {
        let accounts = aw!(select!(a for a in Account).order_by(|a| a.id).fetch_all(sref!(s)))?;
        let lockers = aw!(select!(l for l in Locker).order_by(|l| l.number).fetch_all(sref!(s)))?;
        lockers[0].set_holder(Some(Single::from(&accounts[1])))?;
        lockers[1].set_holder(Some(Single::from(&accounts[0])))?;
        Ok(())
    })?;
    session!(db, |s| {
        // Locker 1 joins first; giving it to Ann frees locker 2, whose UPDATE must go first.
        let lockers = aw!(select!(l for l in Locker).order_by(|l| l.number).fetch_all(sref!(s)))?;
        let ann = aw!(select!(a for a in Account if a.name == "Ann").fetch_one(sref!(s)))?;
        aw!(ann.locker().set(sref!(s), Some(&lockers[0])))?;
        // A refused change leaves nothing half done: locker 1 stays Ann's.
        let gone = aw!(s.create(Locker { id: 0, number: 3, holder: None }))?;
        gone.delete()?;
        let refused = aw!(ann.locker().set(sref!(s), Some(&gone)));
        assert_eq!(refused.unwrap_err().kind(), ErrorKind::Config);
        assert!(lockers[0].holder().is_some_and(|h| h.key() == ann.id()), "locker 1 is still Ann's");
        Ok(())
    })?;
    let holders: Vec<(i32, Option<String>)> = aw!(db.select(
        "SELECT l.number, a.name FROM locker l LEFT JOIN account a ON a.id = l.holder ORDER BY l.number",
        ()
    ))?;
    assert_eq!(holders, [(1, Some("Ann".to_owned())), (2, None)]);
    // A required one: Cy's profile (loaded first) goes to Ann, whose own profile is deleted in
    // the same flush; the DELETE must go first.
    session!(db, |s| {
        let ann = aw!(select!(a for a in Account if a.name == "Ann").fetch_one(sref!(s)))?;
        aw!(s.create(Profile { id: 0, bio: "Ann's own".into(), account: Single::from(&ann) }))?;
        Ok(())
    })?;
    session!(db, |s| {
        let profiles = aw!(select!(p for p in Profile).order_by(|p| p.id).fetch_all(sref!(s)))?;
        let (cys, anns) = (&profiles[0], &profiles[1]);
        let ann = aw!(select!(a for a in Account if a.name == "Ann").fetch_one(sref!(s)))?;
        anns.delete()?;
        aw!(ann.profile().set(sref!(s), Some(cys)))?;
        Ok(())
    })?;
    let bios: Vec<(String, Option<String>)> = aw!(db.select(
        "SELECT a.name, p.bio FROM account a LEFT JOIN profile p ON p.account = a.id ORDER BY a.name",
        ()
    ))?;
    assert_eq!(bios, [("Ann".to_owned(), Some("about Ann".to_owned())), ("Cy".to_owned(), None)]);
    assert_pool_idle(db);
    Ok(())
}
