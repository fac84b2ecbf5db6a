// Column rules (`min`, `max`, `check`, `sql_type`), written once; included into `blocking` and
// `asynchronous`.

fn gauge(percent: i32, celsius: Option<f64>, price: Decimal, label: &str) -> Gauge {
    Gauge { id: 0, percent, celsius, price, label: label.into() }
}

async fn gauge_count(db: &Db) -> Result<i64> {
    aw!(db.get::<i64>("SELECT COUNT(*) FROM gauge", ()))
}

pub async fn column_rules_are_checked_before_sending_and_by_the_database(t: &Ctx) -> Result<()> {
    let db = &t.db;
    // The bounds are inclusive.
    let mut low = gauge(0, Some(-40.5), Decimal::new(999_999, 2), "low");
    aw!(db.insert(&mut low))?;
    aw!(db.insert(&mut gauge(100, None, Decimal::ZERO, "high")))?;

    // Refused in Rust, before anything is sent, naming the field and the bound.
    let refused = [
        (gauge(101, None, Decimal::ZERO, "a"), "Gauge.percent", "101 is above max 100"),
        (gauge(-1, None, Decimal::ZERO, "a"), "Gauge.percent", "-1 is below min 0"),
        (gauge(5, Some(-40.6), Decimal::ZERO, "a"), "Gauge.celsius", "-40.6 is below min -40.5"),
        (gauge(5, Some(f64::NAN), Decimal::ZERO, "a"), "Gauge.celsius", "NaN is below min -40.5"),
        (gauge(5, None, Decimal::new(1_000_000, 2), "a"), "Gauge.price", "10000.00 is above max 9999.99"),
    ];
    for (mut row, field, message) in refused {
        let e = expect_kind(aw!(db.insert(&mut row)), ErrorKind::InvalidValue, message);
        let text = e.to_string();
        assert!(text.contains(field) && text.contains(message), "{}: {text}", t.label());
    }
    assert_eq!(gauge_count(db).await?, 2, "{}: nothing was sent", t.label());

    // A session's change is checked at its flush the same way, and the session rolls back.
    let r: Result<()> = session!(db, |s| {
        let g = aw!(sref!(s).find::<Gauge>(&low.id))?.expect("the low gauge");
        g.set_percent(250)?;
        Ok(())
    });
    expect_kind(r, ErrorKind::InvalidValue, "a session's change past max");
    assert_eq!(aw!(db.get::<i32>("SELECT percent FROM gauge WHERE id = ?", (low.id,)))?, 0);

    // The database holds the same rules as CHECKs, for writers that bypass nextorm.
    let bypass = [
        ("UPDATE gauge SET percent = 101 WHERE id = ?", "percent past max"),
        ("UPDATE gauge SET celsius = -41 WHERE id = ?", "celsius past min"),
        ("UPDATE gauge SET price = 10000 WHERE id = ?", "price past max"),
        ("UPDATE gauge SET label = 'forbidden' WHERE id = ?", "the raw check"),
    ];
    for (sql, what) in bypass {
        expect_kind(aw!(db.execute(sql, (low.id,))), ErrorKind::CheckViolation, what);
    }

    // The table's own check, over two columns: the database's alone (nothing is checked in Rust).
    let mut full = gauge(100, None, Decimal::ZERO, "full");
    expect_kind(aw!(db.insert(&mut full)), ErrorKind::CheckViolation, "the table check");
    aw!(db.insert(&mut gauge(99, None, Decimal::ZERO, "full")))?;
    expect_kind(
        aw!(db.execute("UPDATE gauge SET percent = 100 WHERE label = 'full'", ())),
        ErrorKind::CheckViolation,
        "the table check, bypassing nextorm",
    );

    // `sql_type` is the column's type as written.
    let ddl = db.ddl()?.join("\n");
    assert!(ddl.contains("CHECK (percent < 100 OR label <> 'full')"), "{}: {ddl}", t.label());
    assert!(ddl.contains("CONSTRAINT ") && ddl.contains("ck_gauge__"), "{}: the table check is named: {ddl}", t.label());
    assert!(ddl.contains("VARCHAR(12) NOT NULL CHECK ((label <> 'forbidden'))"), "{}: {ddl}", t.label());
    assert_eq!(aw!(db.find::<Gauge>(&low.id))?, Some(low), "{}", t.label());
    Ok(())
}

/// A table whose `level` is at least 0, then at most 10 instead.
fn check_migrations() -> &'static [(&'static str, &'static str)] {
    nextorm::migrations!("tests/fixtures/migrations/gauges").files()
}

async fn insert_level(db: &Db, level: i32) -> Result<u64> {
    aw!(db.execute("INSERT INTO mig_gauge (level) VALUES (?)", (level,)))
}

pub async fn column_rules_change_through_migrations(t: &Ctx) -> Result<()> {
    use nextorm::migrate::{MigrateOptions, MigrateTarget, Migrations};
    let db = &t.db;
    let all = Migrations::parse(check_migrations().iter().copied()).expect("the test's migrations parse");
    let first = MigrateOptions { target: MigrateTarget::Name("0001_gauges".into()), ..MigrateOptions::default() };
    aw!(db.migrate_with(&all, &first, &mut Recorded::default()))?;
    expect_kind(insert_level(db, -1).await, ErrorKind::CheckViolation, "below min after 0001");
    insert_level(db, 11).await?;

    aw!(db.execute("DELETE FROM mig_gauge", ()))?;
    aw!(db.migrate(&all))?;
    insert_level(db, -1).await?;
    expect_kind(insert_level(db, 11).await, ErrorKind::CheckViolation, "above max after 0002");

    // Back to the first: the old check returns.
    aw!(db.execute("DELETE FROM mig_gauge", ()))?;
    aw!(db.migrate_with(&all, &first, &mut Recorded::default()))?;
    expect_kind(insert_level(db, -1).await, ErrorKind::CheckViolation, "below min after reverting 0002");
    insert_level(db, 11).await?;
    Ok(())
}

/// A table whose rows need `lo <= hi`, then `hi - lo <= 10` instead: table checks added and
/// dropped by migrations (a rebuild on SQLite).
fn table_check_migrations() -> &'static [(&'static str, &'static str)] {
    nextorm::migrations!("tests/fixtures/migrations/spans").files()
}

async fn insert_span(db: &Db, lo: i32, hi: i32) -> Result<u64> {
    aw!(db.execute("INSERT INTO mig_span (lo, hi) VALUES (?, ?)", (lo, hi)))
}

pub async fn table_checks_change_through_migrations(t: &Ctx) -> Result<()> {
    use nextorm::migrate::{MigrateOptions, MigrateTarget, Migrations};
    let db = &t.db;
    let all = Migrations::parse(table_check_migrations().iter().copied()).expect("the test's migrations parse");
    let first = MigrateOptions { target: MigrateTarget::Name("0001_spans".into()), ..MigrateOptions::default() };
    aw!(db.migrate_with(&all, &first, &mut Recorded::default()))?;
    expect_kind(insert_span(db, 5, 1).await, ErrorKind::CheckViolation, "lo > hi after 0001");
    insert_span(db, 0, 20).await?;

    aw!(db.execute("DELETE FROM mig_span", ()))?;
    aw!(db.migrate(&all))?;
    insert_span(db, 5, 1).await?;
    expect_kind(insert_span(db, 0, 20).await, ErrorKind::CheckViolation, "too wide after 0002");

    // Back to the first: the old check returns, the new one goes.
    aw!(db.execute("DELETE FROM mig_span", ()))?;
    aw!(db.migrate_with(&all, &first, &mut Recorded::default()))?;
    expect_kind(insert_span(db, 5, 1).await, ErrorKind::CheckViolation, "lo > hi after reverting 0002");
    insert_span(db, 0, 20).await?;
    Ok(())
}
