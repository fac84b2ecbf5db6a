// Lazy and volatile columns (issue 18), written once; included into `blocking` and
// `asynchronous` after `sessions.rs`, whose `meddle!` it uses.

async fn seed_articles(db: &Db, n: i64) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut a = Article { title: format!("T{i}"), body: format!("body {i}"), ..Default::default() };
        aw!(db.insert(&mut a))?;
        ids.push(a.id);
    }
    Ok(ids)
}

/// `#[orm(lazy)]`: left out of the SELECTs that load objects into a session, loaded at the first
/// read for every object of the session that lacks it (one statement), written without being
/// read, never in the optimistic check; plain reads load it with the row.
pub async fn lazy_columns_load_on_first_read_in_batches(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let ids = seed_articles(db, 3).await?;

    // Plain values have no way to load later: they load the column with the row.
    let plain = aw!(db.find::<Article>(&ids[0]))?.expect("the first article");
    assert_eq!(plain.body, "body 0", "{}", t.label());
    let all = aw!(select!(a for a in Article).order_by(|a| a.id).fetch_all(db))?;
    assert_eq!(all.iter().map(|a| a.body.as_str()).collect::<Vec<_>>(), ["body 0", "body 1", "body 2"]);

    let kept = session!(db, |s| {
        let articles = aw!(select!(a for a in Article).order_by(|a| a.id).fetch_all(sref!(s)))?;
        let sql = aw!(s.last_sql()).unwrap_or_default();
        assert!(!sql.contains("body"), "{}: the query leaves the lazy column out: {sql}", t.label());
        assert_eq!(articles[2].title(), "T2");
        // Not loaded yet: a session's `to_dict` leaves it out rather than show a placeholder.
        let dict = aw!(s.to_dict(&articles[1], &nextorm::DictOptions::new()))?;
        assert!(dict.contains_key("title") && !dict.contains_key("body"), "{}: {dict:?}", t.label());
        let before = aw!(s.stats()).statements;
        assert_eq!(aw!(articles[1].body(sref!(s)))?, "body 1", "{}", t.label());
        assert_eq!(aw!(s.stats()).statements, before + 1, "{}: one statement loads it", t.label());
        let sql = aw!(s.last_sql()).unwrap_or_default();
        assert!(sql.contains("body") && sql.contains("IN"), "{}: a batch by key: {sql}", t.label());
        assert_eq!(aw!(articles[0].body(sref!(s)))?, "body 0");
        assert_eq!(aw!(articles[2].body(sref!(s)))?, "body 2");
        assert_eq!(aw!(s.stats()).statements, before + 1, "{}: the others came with the first", t.label());
        let dict = aw!(s.to_dict(&articles[1], &nextorm::DictOptions::new()))?;
        assert_eq!(dict.get("body"), Some(&nextorm::serde_json::json!("body 1")), "{}: loaded, shown", t.label());
        // A row stream leaves it out too.
        let mut streamed = 0;
        aw!(select!(a for a in Article).for_each(sref!(s), |_| {
            streamed += 1;
            Ok(())
        }))?;
        let sql = aw!(s.last_sql()).unwrap_or_default();
        assert!(streamed == 3 && !sql.contains("body"), "{}: for_each: {sql}", t.label());
        // A query that names the column reads it.
        let body = aw!(select!(a.body for a in Article if a.id == ids[2]).fetch_one(sref!(s)))?;
        assert_eq!(body, "body 2");
        Ok(articles)
    })?;
    // After the session, what was loaded answers without a query.
    assert_eq!(aw!(kept[0].body(db))?, "body 0", "{}", t.label());

    // Written without being read: sent, the value the default included; and the column never
    // loaded is no part of the optimistic check, so another writer's change to it is no conflict.
    let unread = session!(db, |s| {
        let a = aw!(s.by_pk::<Article>(&ids[0]))?;
        let sql = aw!(s.last_sql()).unwrap_or_default();
        assert!(!sql.contains("body"), "{}: by_pk leaves the lazy column out: {sql}", t.label());
        let b = aw!(s.by_pk::<Article>(&ids[1]))?;
        let c = aw!(s.by_pk::<Article>(&ids[2]))?;
        assert_eq!(b.title(), "T1");
        // Before the session writes (SQLite's writer lock would hold the other writer off).
        meddle!(db, "UPDATE article SET body = 'meddled' WHERE id = ?", ids[1])?;
        a.set_body("")?;
        let before = aw!(s.stats()).statements;
        assert_eq!(aw!(a.body(sref!(s)))?, "", "{}: a written value is read back", t.label());
        assert_eq!(aw!(s.stats()).statements, before, "{}: without a query", t.label());
        b.set_title("T1b")?;
        aw!(s.flush())?;
        Ok(c)
    })?;
    let rows: Vec<(String, String)> = aw!(db.select("SELECT title, body FROM article ORDER BY id", ()))?;
    assert_eq!(
        rows,
        [("T0".into(), "".into()), ("T1b".into(), "meddled".into()), ("T2".into(), "body 2".into())],
        "{}",
        t.label()
    );
    // A lazy column an ended session never loaded is read through the executor given.
    assert_eq!(aw!(unread.body(db))?, "body 2", "{}", t.label());

    // Read, then changed by another writer: the optimistic check covers it.
    let r: Result<()> = session!(db, |s| {
        let a = aw!(s.by_pk::<Article>(&ids[2]))?;
        assert_eq!(aw!(a.body(sref!(s)))?, "body 2");
        meddle!(db, "UPDATE article SET body = 'other' WHERE id = ?", ids[2])?;
        a.set_title("T2b")?;
        Ok(())
    });
    expect_kind(r, ErrorKind::OptimisticConflict, "a loaded lazy column changed by another writer");
    assert_pool_idle(db);
    Ok(())
}

/// Relations load objects without their lazy columns too (references, collections, prefetch);
/// the first read loads the column of every object of the session that lacks it.
pub async fn lazy_columns_stay_out_of_relation_loads(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let ids = seed_articles(db, 2).await?;
    for (i, &article) in ids.iter().enumerate() {
        for j in 0..3 {
            let text = if j == 2 { None } else { Some(format!("r{i}{j}")) };
            aw!(db.insert(&mut Remark { id: 0, article: Single::new(article), text }))?;
        }
    }
    session!(db, |s| {
        let articles = aw!(select!(a for a in Article).order_by(|a| a.id).fetch_all(sref!(s)))?;
        let remarks = aw!(articles[0].comments().load(sref!(s)))?;
        let sql = aw!(s.last_sql()).unwrap_or_default();
        assert!(sql.contains("remark") && !sql.contains("text"), "{}: a collection load: {sql}", t.label());
        assert_eq!(remarks.len(), 3);
        let before = aw!(s.stats()).statements;
        let mut texts = Vec::new();
        for r in &remarks {
            texts.push(aw!(r.text(sref!(s)))?);
        }
        assert_eq!(texts, [Some("r00".to_string()), Some("r01".into()), None], "{}", t.label());
        let others = aw!(articles[1].comments().load(sref!(s)))?;
        assert_eq!(aw!(others[0].text(sref!(s)))?.as_deref(), Some("r10"));
        // The collections of both articles came in one statement, and their texts in one.
        assert_eq!(aw!(s.stats()).statements, before + 1, "{}", t.label());
        Ok(())
    })?;
    session!(db, |s| {
        let remarks = aw!(select!(r for r in Remark).order_by(|r| r.id).fetch_all(sref!(s)))?;
        let article = aw!(remarks[0].article().get(sref!(s)))?;
        let sql = aw!(s.last_sql()).unwrap_or_default();
        assert!(sql.contains("article") && !sql.contains("body"), "{}: a reference load: {sql}", t.label());
        assert_eq!(aw!(article.body(sref!(s)))?, "body 0");
        Ok(())
    })?;
    let kept = session!(db, |s| {
        let remarks = aw!(select!(r for r in Remark).prefetch(|r| r.article).fetch_all(sref!(s)))?;
        let sql = aw!(s.last_sql()).unwrap_or_default();
        assert!(sql.contains("article") && !sql.contains("body"), "{}: a prefetch: {sql}", t.label());
        Ok(remarks)
    })?;
    let article = kept[0].article().loaded()?;
    assert_eq!(aw!(article.body(db))?, "body 0", "{}: loaded by key after the session", t.label());
    assert_pool_idle(db);
    Ok(())
}

/// `#[orm(volatile)]`: another writer's change is no optimistic conflict, and a flush that
/// wrote the object reads the column again, so the object shows the database's value.
pub async fn volatile_columns_are_read_again_and_never_checked(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let ids = seed_articles(db, 2).await?;
    // The database adds 100 to the revision of every new article.
    let trigger: &[&str] = match t.dialect {
        Dialect::Sqlite => &["CREATE TRIGGER article_revision AFTER INSERT ON article \
             BEGIN UPDATE article SET revision = revision + 100 WHERE id = NEW.id; END"],
        Dialect::Postgres => &[
            "CREATE FUNCTION article_revision() RETURNS trigger AS $$ \
             BEGIN NEW.revision := NEW.revision + 100; RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER article_revision BEFORE INSERT ON article \
             FOR EACH ROW EXECUTE FUNCTION article_revision()",
        ],
        _ => &["CREATE TRIGGER article_revision BEFORE INSERT ON article \
             FOR EACH ROW SET NEW.revision = NEW.revision + 100"],
    };
    for sql in trigger {
        aw!(db.execute(sql, ()))?;
    }
    session!(db, |s| {
        let a = aw!(s.by_pk::<Article>(&ids[0]))?;
        assert_eq!(a.revision(), 0);
        meddle!(db, "UPDATE article SET revision = 7 WHERE id = ?", ids[0])?;
        a.set_title("T0b")?;
        aw!(s.flush())?;
        assert_eq!(a.revision(), 7, "{}: read again after the update", t.label());
        let sql = aw!(s.last_sql()).unwrap_or_default();
        assert!(sql.starts_with("SELECT") && sql.contains("revision"), "{}: {sql}", t.label());
        // An object the flush did not write is not read again.
        aw!(s.commit())?;
        let b = aw!(s.by_pk::<Article>(&ids[1]))?;
        meddle!(db, "UPDATE article SET revision = 3 WHERE id = ?", ids[1])?;
        aw!(s.flush())?;
        assert_eq!(b.revision(), 0, "{}", t.label());
        // A new object shows what the database holds after its insert (a trigger's change).
        let c = aw!(s.create(Article { title: "new".into(), revision: 2, ..Default::default() }))?;
        aw!(s.flush())?;
        assert!(c.id() > 0, "{}", t.label());
        assert_eq!(c.revision(), 102, "{}: read again after the insert", t.label());
        Ok(())
    })?;
    let rows: Vec<(String, i64)> = aw!(db.select("SELECT title, revision FROM article ORDER BY id", ()))?;
    assert_eq!(rows, [("T0b".into(), 7), ("T1".into(), 3), ("new".into(), 102)], "{}", t.label());
    assert_pool_idle(db);
    Ok(())
}
