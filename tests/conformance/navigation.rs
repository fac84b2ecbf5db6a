// Navigation without passing the session, and `to_dict` with relations (issue 18), written
// once; included into `blocking` and `asynchronous`, whose `nav!` is `Navigate::fetch` or
// `NavigateAsync::fetch_async(..).await`.

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
        assert!(nav!(ann.orders())?.iter().any(|o| *o == p), "the members are the session's objects");
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
    let outside = nav!(kept.client());
    assert_eq!(outside.unwrap_err().kind(), ErrorKind::Config, "{}: no session outside one", t.label());
    let outside = nav!(kept.tags());
    assert_eq!(outside.unwrap_err().kind(), ErrorKind::Config, "{}: no session outside one", t.label());
    assert_pool_idle(db);
    Ok(())
}
