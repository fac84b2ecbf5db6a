// Navigation without passing the session, and `to_dict` with relations (issue 18), written
// once; included into `blocking` and `asynchronous`, whose `nav!` is `Navigate::fetch` or
// `NavigateAsync::fetch_async(..).await`.

use nextorm::DictOptions;

/// Seeds Ann (two purchases, one referring Bob), Bob, and an account with a profile; returns
/// the first purchase's key and the account's.
async fn seed_navigation(db: &Db) -> Result<(i64, i64)> {
    session!(db, |s| {
        let ann = aw!(s.create(Client { name: "Ann".into(), ..Default::default() }))?;
        let bob = aw!(s.create(Client { name: "Bob".into(), ..Default::default() }))?;
        let first = aw!(s.create(Purchase {
            id: 0,
            total: 10,
            client: Single::from(&ann),
            referrer: Some(Single::from(&bob)),
            tags: Set::new(),
        }))?;
        aw!(s.create(Purchase { id: 0, total: 20, client: Single::from(&ann), referrer: None, tags: Set::new() }))?;
        let account = aw!(s.create(Account { name: "acc".into(), ..Default::default() }))?;
        aw!(s.create(Profile { id: 0, bio: "hello".into(), account: Single::from(&account) }))?;
        aw!(s.flush())?;
        Ok((first.id(), account.id()))
    })
}

/// `p.client().fetch()?`, `c.orders().fetch()?` (`fetch_async().await` in async code) follow
/// relations through the current session, as `get(current())`/`load(current())` do: the same
/// objects, loaded in the same batches. Outside a session they are `Config` errors.
pub async fn navigation_through_the_current_session(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let (first, account) = seed_navigation(db).await?;
    let kept = session!(db, |s| {
        let p = aw!(s.by_pk::<Purchase>(&first))?;
        let ann = nav!(p.client())?;
        assert_eq!(ann.name(), "Ann");
        let bob = nav!(p.referrer())?.expect("the referrer is set");
        assert_eq!(bob.name(), "Bob");
        assert_eq!(aw!(s.stats()).statements, 2, "the purchase, then both clients in one batch");
        assert!(nav!(p.client())? == ann, "the same object, from the identity map");
        let mut totals: Vec<i64> = nav!(ann.orders())?.iter().map(|o| o.total()).collect();
        totals.sort();
        assert_eq!(totals, vec![10, 20]);
        assert!(nav!(ann.orders())?.contains(&p), "the members are the session's objects");
        assert!(nav!(bob.orders())?.is_empty());
        let other = nav!(ann.orders())?.into_iter().find(|o| o.total() == 20).expect("the second purchase");
        assert!(nav!(other.referrer())?.is_none(), "an unset optional reference is None");
        let acc = aw!(s.by_pk::<Account>(&account))?;
        let profile = nav!(acc.profile())?.expect("the account has a profile");
        assert_eq!(profile.bio(), "hello");
        assert!(nav!(acc.locker())?.is_none());
        assert!(nav!(profile.account())? == acc);
        Ok(p)
    })?;
    // After the session a reference it linked is that object (as `loaded()`); anything else
    // needs a session.
    assert_eq!(nav!(kept.client())?.name(), "Ann", "{}", t.label());
    let outside = nav!(kept.tags());
    assert_eq!(outside.unwrap_err().kind(), ErrorKind::Config, "{}: no session outside one", t.label());
    let unlinked = session!(db, |s| aw!(s.by_pk::<Purchase>(&first)))?;
    let outside = nav!(unlinked.client());
    assert_eq!(outside.unwrap_err().kind(), ErrorKind::Config, "{}: no session outside one", t.label());

    // A reference made from a new object is that object, before any flush.
    session!(db, |s| {
        let cat = aw!(s.create(Client { name: "Cat".into(), ..Default::default() }))?;
        let order =
            aw!(s.create(Purchase { id: 0, total: 5, client: Single::from(&cat), referrer: None, tags: Set::new() }))?;
        assert!(nav!(order.client())? == cat);
        assert_eq!(aw!(s.stats()).statements, 0, "nothing sent");
        assert!(nav!(cat.orders())?.contains(&order), "the new member shows");
        Ok(())
    })?;
    assert_pool_idle(db);
    Ok(())
}

/// The members' keys of a collection in a `to_dict`, sorted.
fn sorted_keys(list: &serde_json::Value) -> Vec<i64> {
    let mut keys: Vec<i64> = list.as_array().expect("a list").iter().map(|k| k.as_i64().expect("a key")).collect();
    keys.sort();
    keys
}

/// `s.to_dict(&obj, options)` (PonyORM's `to_dict`): columns with references as keys;
/// `with_collections` adds each `Set` as its members' keys; `related_objects` nests the objects
/// instead; a `HasOne` is the other side's key or null; `only`/`exclude` name columns and
/// relations alike.
pub async fn navigation_to_dict_with_relations(t: &Ctx) -> Result<()> {
    use serde_json::json;
    let db = &t.db;
    let (first, account) = seed_navigation(db).await?;
    session!(db, |s| {
        let p = aw!(s.by_pk::<Purchase>(&first))?;
        let ann = nav!(p.client())?;
        let bob = nav!(p.referrer())?.expect("the referrer");
        let (ann_id, bob_id) = (ann.id(), bob.id());
        let plain = aw!(s.to_dict(&p, &DictOptions::new()))?;
        assert_eq!(
            serde_json::Value::Object(plain),
            json!({"id": first, "total": 10, "client": ann_id, "referrer": bob_id}),
            "columns, references as keys, no collections"
        );
        let nested = aw!(s.to_dict(&p, &DictOptions::new().related_objects()))?;
        assert_eq!(
            serde_json::Value::Object(nested),
            json!({"id": first, "total": 10, "client": {"id": ann_id, "name": "Ann"}, "referrer": {"id": bob_id, "name": "Bob"}}),
        );

        let with = aw!(s.to_dict(&ann, &DictOptions::new().with_collections()))?;
        let second = nav!(ann.orders())?.into_iter().find(|o| o.id() != first).expect("the second purchase").id();
        let mut ids = [first, second];
        ids.sort();
        assert_eq!(sorted_keys(&with["orders"]), ids, "{with:?}");
        assert_eq!(with["referred"], json!([]), "{with:?}");
        assert_eq!(with["name"], json!("Ann"));
        let bob_dict = aw!(s.to_dict(&bob, &DictOptions::new().with_collections()))?;
        assert_eq!(bob_dict["referred"], json!([first]));

        let objects = aw!(s.to_dict(&ann, &DictOptions::new().with_collections().related_objects().only(["orders"])))?;
        let mut totals: Vec<(i64, serde_json::Value)> = objects["orders"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|o| (o["total"].as_i64().expect("a total"), o["referrer"].clone()))
            .collect();
        totals.sort_by_key(|(total, _)| *total);
        assert_eq!(totals, vec![(10, json!(bob_id)), (20, json!(null))], "members as objects, their references as keys");
        assert_eq!(objects.len(), 1, "only the orders: {objects:?}");

        let some = aw!(s.to_dict(&ann, &DictOptions::new().with_collections().exclude(["orders", "referred", "id"])))?;
        assert_eq!(serde_json::Value::Object(some), json!({"name": "Ann"}));

        let acc = aw!(s.by_pk::<Account>(&account))?;
        let profile = nav!(acc.profile())?.expect("the profile").id();
        let one = aw!(s.to_dict(&acc, &DictOptions::new()))?;
        assert_eq!(serde_json::Value::Object(one), json!({"id": account, "name": "acc", "profile": profile, "locker": null}));
        let one = aw!(s.to_dict(&acc, &DictOptions::new().related_objects().only(["profile"])))?;
        assert_eq!(serde_json::Value::Object(one), json!({"profile": {"id": profile, "bio": "hello", "account": account}}));

        // A new object is flushed first, so it has its key.
        let fresh = aw!(s.create(Purchase { id: 0, total: 30, client: Single::from(&bob), referrer: None, tags: Set::new() }))?;
        let fresh_dict = aw!(s.to_dict(&fresh, &DictOptions::new()))?;
        assert!(fresh_dict["id"].as_i64().is_some_and(|id| id > 0), "{fresh_dict:?}");
        let bob_dict = aw!(s.to_dict(&bob, &DictOptions::new().with_collections()))?;
        assert_eq!(bob_dict["orders"], json!([fresh.id()]), "the collection follows the session");
        // A handle's own `to_dict` sends nothing: a reference to an object not saved yet has no
        // key to show, and is refused rather than shown as null.
        let cid = aw!(s.create(Client { name: "Cid".into(), ..Default::default() }))?;
        let pending = aw!(s.create(Purchase { id: 0, total: 5, client: Single::from(&cid), referrer: None, tags: Set::new() }))?;
        let refused = pending.to_dict(&[], &[]).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::InvalidValue, "{refused}");
        assert!(refused.to_string().contains("Purchase.client"), "{refused}");
        let saved = aw!(s.to_dict(&pending, &DictOptions::new()))?;
        assert_eq!(saved["client"], json!(cid.id()), "the session's to_dict flushes first");

        let unknown = aw!(s.to_dict(&ann, &DictOptions::new().only(["nope"])));
        assert_eq!(unknown.unwrap_err().kind(), ErrorKind::Config);
        Ok(())
    })?;
    assert_pool_idle(db);
    Ok(())
}

/// With the `serde` feature every entity and `Handle` is `serde::Serialize`, shaped as
/// `to_dict`: decimals exact as text, dates and times ISO 8601 text, UUIDs text, references
/// their keys.
pub async fn navigation_serde_shapes_entities_and_handles(t: &Ctx) -> Result<()> {
    use serde_json::json;
    let db = &t.db;
    let mut row = Ledger {
        id: 0,
        amount: Decimal::from_str("12.50").unwrap(),
        qty: 3,
        day: NaiveDate::from_ymd_opt(2024, 5, 1).unwrap(),
        moment: NaiveDate::from_ymd_opt(2024, 5, 1).unwrap().and_hms_milli_opt(9, 30, 0, 250).unwrap(),
        instant: DateTime::<Utc>::from_timestamp(1_714_555_800, 0).unwrap(),
        uuid: uuid::Uuid::from_u128(0x1234),
    };
    aw!(db.insert(&mut row))?;
    let value = serde_json::to_value(&row).expect("a Ledger serializes");
    assert_eq!(
        value,
        json!({
            "id": row.id,
            "amount": "12.50",
            "qty": 3,
            "day": "2024-05-01",
            "moment": "2024-05-01T09:30:00.250",
            "instant": "2024-05-01T09:30:00+00:00",
            "uuid": "00000000-0000-0000-0000-000000001234",
        })
    );
    assert_eq!(serde_json::to_string(&row).unwrap(), serde_json::to_string(&nextorm::to_dict(&row, &[], &[])?).unwrap());

    let (first, _) = seed_navigation(db).await?;
    let (handle_json, dict) = session!(db, |s| {
        let p = aw!(s.by_pk::<Purchase>(&first))?;
        let loaded = aw!(s.by_pk::<Ledger>(&row.id))?;
        let ledger = serde_json::to_value(&loaded).expect("a handle serializes");
        assert_eq!(Decimal::from_str(ledger["amount"].as_str().expect("text")).unwrap(), row.amount, "{ledger}");
        assert_eq!(ledger["day"], json!("2024-05-01"));
        Ok((serde_json::to_value(&p).expect("a handle serializes"), aw!(s.to_dict(&p, &DictOptions::new()))?))
    })?;
    assert_eq!(handle_json, serde_json::Value::Object(dict), "a handle serializes as its to_dict");
    let plain: Purchase = aw!(db.by_pk::<Purchase>(&first))?;
    assert_eq!(serde_json::to_value(&plain).unwrap(), handle_json, "a value serializes as its handle");
    Ok(())
}
