// Values whose storage differs per dialect (decimals, dates, times and UUIDs are text on SQLite)
// compare, sort and compute as PostgreSQL does. Expectations are computed in Rust from the rows.

/// The rows' amounts, sorted.
fn amounts_of(rows: &[Ledger]) -> Vec<Decimal> {
    let mut v: Vec<Decimal> = rows.iter().map(|r| r.amount).collect();
    v.sort();
    v
}

/// Ledger rows: decimals that sort differently as text (`100` < `12` < `8.99`), negative and
/// zero values, 28 significant digits; dates, times and UUIDs across their ranges.
fn ledger_rows() -> Vec<Ledger> {
    let dec = |s: &str| Decimal::from_str(s).unwrap();
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let moment = |s: &str| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
    let rows = [
        ("-20.5", "2024-02-29", "2024-01-01 12:00:00", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
        ("-0.00000001", "1000-01-01", "2024-01-01 12:00:00.5", "00000000-0000-0000-0000-000000000001"),
        ("0", "9999-12-31", "2024-01-01 11:59:59.999999", "A0000000-0000-0000-0000-000000000000"),
        ("8.99", "1970-01-01", "1000-01-01 00:00:00", "9fffffff-ffff-ffff-ffff-ffffffffffff"),
        ("12.00", "2000-01-01", "2024-01-01 12:00:00.000001", "0a000000-0000-0000-0000-000000000000"),
        ("24.50", "1999-12-31", "9999-12-31 23:59:59.999999", "10000000-0000-0000-0000-000000000000"),
        ("100", "2024-02-28", "2023-12-31 23:59:59", "0fffffff-ffff-ffff-ffff-ffffffffffff"),
        ("12345678901234567890.12345678", "1500-06-15", "2024-01-02 00:00:00", "ab000000-0000-0000-0000-000000000000"),
        ("-12345678901234567890.12345677", "2024-12-31", "2024-01-01 09:00:00.25", "0b000000-0000-0000-0000-000000000000"),
        ("100.000", "2024-03-01", "2024-01-01 12:00:00.75", "00000000-0000-0000-0000-000000000000"),
    ];
    rows.iter()
        .enumerate()
        .map(|(i, (amount, d, m, u))| Ledger {
            id: 0,
            amount: dec(amount),
            qty: i as i32 - 3,
            day: day(d),
            moment: moment(m),
            instant: moment(m).and_utc(),
            uuid: uuid::Uuid::parse_str(u).unwrap(),
        })
        .collect()
}

pub async fn values_compare_sort_and_compute_as_on_postgres(t: &Ctx) -> Result<()> {
    use nextorm::query::desc;
    let db = &t.db;
    let dec = |s: &str| Decimal::from_str(s).unwrap();
    let mut rows = ledger_rows();
    for row in &mut rows {
        aw!(db.insert(row))?;
    }
    let ids = |keep: &dyn Fn(&Ledger) -> bool| -> Vec<i64> {
        let mut v: Vec<i64> = rows.iter().filter(|r| keep(r)).map(|r| r.id).collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<i64>| {
        v.sort();
        v
    };
    let label = t.label();

    // Every comparison operator, against a bound decimal, an integer literal, and a column.
    let limit = dec("12");
    let got = aw!(select!(l.id for l in Ledger if l.amount < limit).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.amount < limit), "< on {label}");
    let got = aw!(select!(l.id for l in Ledger if l.amount <= limit).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.amount <= limit), "<= on {label}");
    let got = aw!(select!(l.id for l in Ledger if l.amount > limit).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.amount > limit), "> on {label}");
    let got = aw!(select!(l.id for l in Ledger if l.amount >= limit).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.amount >= limit), ">= on {label}");
    let got = aw!(select!(l.id for l in Ledger if l.amount == limit).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.amount == limit), "== (12.00 is 12) on {label}");
    let got = aw!(select!(l.id for l in Ledger if l.amount != limit).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.amount != limit), "!= on {label}");
    let got = aw!(select!(l.id for l in Ledger if l.amount > 10).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.amount > dec("10")), "> an integer literal on {label}");
    let got = aw!(select!(l.id for l in Ledger if l.amount * l.qty > l.amount).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.amount * Decimal::from(r.qty) > r.amount), "column against column on {label}");
    let (low, high) = (dec("-0.5"), dec("24.5"));
    let got = aw!(select!(l.id for l in Ledger if between(l.amount, low, high)).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| low <= r.amount && r.amount <= high), "between on {label}");
    let listed = [dec("12"), dec("-20.50"), dec("7")];
    let got = aw!(select!(l.id for l in Ledger if l.amount.is_in(listed)).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| listed.contains(&r.amount)), "IN by value on {label}");

    // Both orders, by value (100 and 100.000 tie; the key breaks the tie).
    let mut by_amount = rows.clone();
    by_amount.sort_by_key(|r| (r.amount, r.id));
    let ascending: Vec<i64> = by_amount.iter().map(|r| r.id).collect();
    let got = aw!(select!(l for l in Ledger).order_by(|l| (l.amount, l.id)).fetch_all(db))?;
    assert_eq!(got.iter().map(|l| l.id).collect::<Vec<_>>(), ascending, "order by amount on {label}");
    let got = aw!(select!(l for l in Ledger).order_by(|l| (desc(l.amount), desc(l.id))).fetch_all(db))?;
    let descending: Vec<i64> = ascending.iter().rev().copied().collect();
    assert_eq!(got.iter().map(|l| l.id).collect::<Vec<_>>(), descending, "order by amount desc on {label}");

    // Equal values are one value: 100 and 100.000 are one distinct amount, also when ordered by it.
    let mut distinct = amounts_of(&rows);
    distinct.dedup();
    let got = aw!(select!(l.amount for l in Ledger).order_by(|l| l.amount).fetch_all(db))?;
    assert_eq!(got, distinct, "distinct amounts in order on {label}");

    // A sum over nothing is the same 0 as a sum that comes to 0: one distinct value.
    let sums = aw!(select!(sum(m.amount for m in Ledger if m.qty == l.qty && m.amount == 0) for l in Ledger).fetch_all(db))?;
    assert_eq!(sums, vec![Decimal::ZERO], "sums of nothing and of zero on {label}");

    // Aggregates, in the projection and as terminals.
    let amounts: Vec<Decimal> = rows.iter().map(|r| r.amount).collect();
    let (least, greatest) = (amounts.iter().min().copied(), amounts.iter().max().copied());
    let total: Decimal = amounts.iter().sum();
    let (min, max, sum) = aw!(select!((min(l.amount), max(l.amount), sum(l.amount)) for l in Ledger).fetch_one(db))?;
    assert_eq!((min, max, sum), (least, greatest, total), "min, max, sum on {label}");
    let all = select!(l.amount for l in Ledger);
    assert_eq!(aw!(all.min(db))?, least, "min() on {label}");
    assert_eq!(aw!(all.max(db))?, greatest, "max() on {label}");
    assert_eq!(aw!(all.sum(db))?, total, "sum() on {label}");
    let small: Vec<&Ledger> = rows.iter().filter(|r| r.amount >= Decimal::ZERO && r.amount < dec("1000")).collect();
    let mean = small.iter().map(|r| r.amount).sum::<Decimal>() / Decimal::from(small.len());
    let avg = aw!(select!(avg(l.amount) for l in Ledger if l.amount >= 0 && l.amount < 1000).fetch_one(db))?;
    assert_eq!(avg, Some(mean), "avg on {label}");

    // Arithmetic, exact: no trip through text or a double.
    let weighted: Decimal = small.iter().map(|r| r.amount * Decimal::from(r.qty)).sum();
    let got = aw!(select!(sum(l.amount * l.qty) for l in Ledger if l.amount >= 0 && l.amount < 1000).fetch_one(db))?;
    assert_eq!(got, weighted, "sum of products on {label}");
    let mut got = aw!(select!((l.id, l.amount + 1, l.amount - l.amount / 4, -l.amount, l.amount.abs())
        for l in Ledger if l.amount > -1000 && l.amount < 1000)
    .fetch_all(db))?;
    got.sort();
    let mut expected: Vec<(i64, Decimal, Decimal, Decimal, Decimal)> = rows
        .iter()
        .filter(|r| r.amount > dec("-1000") && r.amount < dec("1000"))
        .map(|r| (r.id, r.amount + Decimal::ONE, r.amount - r.amount / Decimal::from(4), -r.amount, r.amount.abs()))
        .collect();
    expected.sort();
    assert_eq!(got, expected, "arithmetic on {label}");

    // Dates, date-times, instants and UUIDs: compared and sorted as values.
    let cutoff = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    let got = aw!(select!(l.id for l in Ledger if l.day >= cutoff).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.day >= cutoff), "dates on {label}");
    let noon = rows[0].moment;
    let got = aw!(select!(l.id for l in Ledger if l.moment > noon).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.moment > noon), "date-times on {label}");
    let instant = rows[0].instant;
    let got = aw!(select!(l.id for l in Ledger if l.instant <= instant).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.instant <= instant), "instants on {label}");
    let pivot = rows[3].uuid;
    let got = aw!(select!(l.id for l in Ledger if l.uuid < pivot).fetch_all(db))?;
    assert_eq!(sorted(got), ids(&|r| r.uuid < pivot), "UUIDs on {label}");
    let order_of = |key: &dyn Fn(&Ledger, &Ledger) -> std::cmp::Ordering| {
        let mut v = rows.clone();
        v.sort_by(key);
        v.iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let got = aw!(select!(l for l in Ledger).order_by(|l| l.day).fetch_all(db))?;
    assert_eq!(got.iter().map(|l| l.id).collect::<Vec<_>>(), order_of(&|a, b| a.day.cmp(&b.day)), "{label}");
    let got = aw!(select!(l for l in Ledger).order_by(|l| desc(l.moment)).fetch_all(db))?;
    assert_eq!(got.iter().map(|l| l.id).collect::<Vec<_>>(), order_of(&|a, b| b.moment.cmp(&a.moment)), "{label}");
    let got = aw!(select!(l for l in Ledger).order_by(|l| l.instant).fetch_all(db))?;
    assert_eq!(got.iter().map(|l| l.id).collect::<Vec<_>>(), order_of(&|a, b| a.instant.cmp(&b.instant)), "{label}");
    let got = aw!(select!(l for l in Ledger).order_by(|l| l.uuid).fetch_all(db))?;
    assert_eq!(got.iter().map(|l| l.id).collect::<Vec<_>>(), order_of(&|a, b| a.uuid.cmp(&b.uuid)), "{label}");

    // A date SQLite's text could not sort is refused there, and nothing is written.
    if t.dialect == Dialect::Sqlite {
        // Decimal text written by another program, not canonical, still compares and sorts by value.
        for (id, text) in [(100, "12.50"), (101, "1.25e1"), (102, "-0.0")] {
            aw!(db.execute(
                "INSERT INTO ledger (id, amount, qty, day, moment, instant, uuid) SELECT ?, ?, qty, day, moment, instant, uuid FROM ledger WHERE id = ?",
                (id, text, rows[0].id),
            ))?;
        }
        let twelve_and_a_half = dec("12.5");
        let got = aw!(select!(l.id for l in Ledger if l.amount == twelve_and_a_half).fetch_all(db))?;
        assert_eq!(sorted(got), vec![100, 101], "== on foreign text");
        let got = aw!(select!(l.id for l in Ledger if l.amount.is_in([twelve_and_a_half])).fetch_all(db))?;
        assert_eq!(sorted(got), vec![100, 101], "IN on foreign text");
        let got = aw!(select!(l for l in Ledger if l.id >= 100).order_by(|l| (desc(l.amount), l.id)).fetch_all(db))?;
        assert_eq!(got.iter().map(|l| l.id).collect::<Vec<_>>(), vec![100, 101, 102], "order on foreign text");
        let top = aw!(select!(l.amount for l in Ledger if l.amount < 13 && l.amount > 12.4).max(db))?;
        assert_eq!(top, Some(twelve_and_a_half), "max on foreign text");
        aw!(db.execute("DELETE FROM ledger WHERE id >= 100", ()))?;

        let mut far = Ledger { day: NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap(), ..rows[0].clone() };
        expect_kind(aw!(db.insert(&mut far)), ErrorKind::InvalidValue, "the year 10000 on SQLite");
        assert_eq!(aw!(select!(l for l in Ledger).count(db))?, rows.len() as i64);
    }
    Ok(())
}

/// Version 2 of a program reads a table version 1 made, without the column version 2 added: every
/// path fails naming the column, and none reads the column's name as its value (SQLite's
/// double-quoted string literals are off).
pub async fn missing_column_is_an_error_never_a_value(t: &Ctx) -> Result<()> {
    let db = &t.db;
    aw!(db.execute("CREATE TABLE member_v1 (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL)", ()))?;
    aw!(db.execute("INSERT INTO member_v1 (id, name) VALUES (?, ?)", (1, "Ann")))?;
    let names_column = |e: &nextorm::Error| e.message().contains("nickname");

    let e = aw!(db.by_pk::<MemberV2>(&1)).expect_err("a plain read of a missing column");
    assert!(names_column(&e), "plain read on {}: {e}", t.label());
    let e = aw!(select!(m for m in MemberV2).fetch_all(db)).expect_err("a query of a missing column");
    assert!(names_column(&e), "query on {}: {e}", t.label());
    let e = aw!(select!(m.id for m in MemberV2 if m.nickname.is_none()).fetch_all(db)).expect_err("a condition");
    assert!(names_column(&e), "condition on {}: {e}", t.label());
    let r: Result<usize> = session!(db, |s| aw!(s.select(&select!(m for m in MemberV2))).map(|all| all.len()));
    let e = r.expect_err("a session read of a missing column");
    assert!(names_column(&e), "session on {}: {e}", t.label());
    let quoted = if t.dialect == Dialect::MariaDb { "SELECT `nickname` FROM member_v1" } else { "SELECT \"nickname\" FROM member_v1" };
    let e = aw!(db.select::<(Option<String>,)>(quoted, ())).expect_err("raw SQL naming a missing column");
    assert!(names_column(&e), "raw SQL on {}: {e}", t.label());

    // generate_mapping says which table lacks which column.
    let v2 = open(&t.url, OpenOptions::new().entities(vec![MemberV2::meta()])).await?;
    let e = expect_kind(aw!(v2.generate_mapping(CreateTables::Yes)), ErrorKind::Mapping, "mapping onto the old table");
    assert!(e.message().contains("member_v1") && names_column(&e), "{e}");
    Ok(())
}
