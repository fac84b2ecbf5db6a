// The conformance cases, written once. This file is included into `blocking` and `asynchronous`
// (see main.rs), which define `Db`, `aw!` and `transaction!`.

use crate::entities::*;
use chrono::{DateTime, NaiveDate, Utc};
use nextorm::query::EntityQuery;
use nextorm::select;
use nextorm::{CreateTables, Dialect, Entity, ErrorKind, OpenOptions, Result};
use rust_decimal::Decimal;
use std::str::FromStr;
use std::time::Duration;

pub struct Ctx {
    pub db: Db,
    pub dialect: Dialect,
    pub url: String,
}

impl Ctx {
    pub async fn new(scratch: &crate::harness::Scratch) -> Ctx {
        let db = open(&scratch.url, crate::mapped_options()).await.expect("open the scratch database");
        aw!(db.generate_mapping(CreateTables::Yes)).expect("create the tables");
        Ctx { db, dialect: scratch.dialect, url: scratch.url.clone() }
    }

    fn label(&self) -> String {
        format!("{}/{FACADE}", self.dialect.name())
    }
}

fn expect_kind<T: std::fmt::Debug>(r: Result<T>, kind: ErrorKind, what: &str) -> nextorm::Error {
    match r {
        Ok(v) => panic!("{what}: expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{what}: wrong kind for {e}");
            e
        }
    }
}

/// Open and idle counts must match once every handle is back: nothing is left checked out or
/// inside a transaction.
fn assert_pool_idle(db: &Db) {
    let status = db.pool_status();
    assert_eq!(status.open, status.idle, "a connection is still checked out: {status:?}");
}

pub async fn crud_roundtrip(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut a = Product::new("Widget", "W-1");
    assert_eq!(a.stock, 5, "`default = 5` feeds Default");
    aw!(db.insert(&mut a))?;
    let mut b = Product::new("Gadget", "G-1");
    aw!(db.insert(&mut b))?;
    assert!(a.id > 0 && b.id > a.id, "generated keys are stored back: {} then {}", a.id, b.id);

    assert_eq!(aw!(db.by_pk::<Product>(&a.id))?, a);
    assert_eq!(aw!(db.find::<Product>(&-1))?, None);
    let e = expect_kind(aw!(db.by_pk::<Product>(&-1)), ErrorKind::NotFound, "by_pk of a missing key");
    assert!(e.message().contains("Product[-1]"), "{e}");

    a.price = 12.25;
    a.summary = Some("now with a summary".into());
    aw!(db.update(&a))?;
    assert_eq!(aw!(db.by_pk::<Product>(&a.id))?, a);

    // An explicit value for an auto key is kept.
    let mut c = Product { id: 1000, ..Product::new("Explicit", "E-1") };
    aw!(db.insert(&mut c))?;
    assert_eq!(c.id, 1000);
    assert_eq!(aw!(db.by_pk::<Product>(&1000))?.name, "Explicit");

    assert_eq!(aw!(db.all::<Product>())?.len(), 3);
    aw!(db.delete(&b))?;
    expect_kind(aw!(db.delete(&b)), ErrorKind::NotFound, "delete twice");
    expect_kind(aw!(db.update(&b)), ErrorKind::NotFound, "update of a deleted row");
    assert!(aw!(db.delete_by_pk::<Product>(&c.id))?);
    assert!(!aw!(db.delete_by_pk::<Product>(&c.id))?);
    let left: Vec<i64> = aw!(db.select("SELECT id FROM product ORDER BY id", ()))?;
    assert_eq!(left, vec![a.id]);
    assert_pool_idle(db);
    Ok(())
}

pub async fn explicit_and_composite_keys(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut fr = Country { code: "FR".into(), name: "France".into() };
    aw!(db.insert(&mut fr))?;
    assert_eq!(aw!(db.by_pk::<Country>(&"FR".to_string()))?, fr);
    expect_kind(aw!(db.insert(&mut fr.clone())), ErrorKind::UniqueViolation, "duplicate text key");

    let mut calc1 = Course { name: "Calculus".into(), semester: 1, credits: 5 };
    let mut calc2 = Course { name: "Calculus".into(), semester: 2, credits: 4 };
    aw!(db.insert(&mut calc1))?;
    aw!(db.insert(&mut calc2))?;
    assert_eq!(calc1.key(), ("Calculus".to_string(), 1));
    assert_eq!(aw!(db.by_pk::<Course>(&("Calculus".into(), 2)))?, calc2);
    calc2.credits = 6;
    aw!(db.update(&calc2))?;
    assert_eq!(aw!(db.by_pk::<Course>(&("Calculus".into(), 2)))?.credits, 6);
    assert_eq!(aw!(db.by_pk::<Course>(&("Calculus".into(), 1)))?.credits, 5, "the other key is untouched");
    aw!(db.delete(&calc1))?;
    let e = expect_kind(aw!(db.by_pk::<Course>(&("Calculus".into(), 1))), ErrorKind::NotFound, "deleted composite");
    assert!(e.message().contains("Course[\"Calculus\", 1]"), "{e}");
    expect_kind(aw!(db.insert(&mut calc2.clone())), ErrorKind::UniqueViolation, "duplicate composite key");
    Ok(())
}

pub async fn reserved_words_everywhere(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut o = Order { id: 0, r#group: "g1".into(), select: 3, from: None, condition: true };
    aw!(db.insert(&mut o))?;
    o.from = Some(-4);
    o.r#group = "g2".into();
    aw!(db.update(&o))?;
    assert_eq!(aw!(db.by_pk::<Order>(&o.id))?, o);
    let ddl = t.db.ddl()?;
    let q = t.dialect.quote("order");
    assert!(ddl.iter().any(|s| s.contains(&format!("CREATE TABLE IF NOT EXISTS {q}"))), "{ddl:?}");
    assert!(ddl.iter().any(|s| s.contains(&t.dialect.quote("where"))), "{ddl:?}");
    aw!(db.delete(&o))?;
    assert!(aw!(db.all::<Order>())?.is_empty());
    Ok(())
}

pub async fn constraint_violations_have_kinds(t: &Ctx) -> Result<()> {
    let db = &t.db;
    aw!(db.insert(&mut Product::new("One", "SKU-1")))?;
    let e = expect_kind(aw!(db.insert(&mut Product::new("Two", "SKU-1"))), ErrorKind::UniqueViolation, "unique sku");
    assert!(e.code().is_some(), "the database code is kept: {e:?}");

    let mut p1 = Part { id: 0, maker: "acme".into(), code: "x".into(), rank: 1, hits: 0, cost: Decimal::new(150, 2) };
    aw!(db.insert(&mut p1))?;
    let mut p2 = Part { id: 0, ..p1.clone() };
    expect_kind(aw!(db.insert(&mut p2)), ErrorKind::UniqueViolation, "composite unique key");

    // sql_default fills a column left out by raw SQL.
    aw!(db.execute("INSERT INTO part (maker, code, \"rank\", cost) VALUES (?, ?, ?, ?)".replace('"', if t.dialect == Dialect::MariaDb { "`" } else { "\"" }).as_str(), ("acme", "y", 2, Decimal::new(100, 2))))?;
    let hits: i64 = aw!(db.get("SELECT hits FROM part WHERE code = ?", ("y",)))?;
    assert_eq!(hits, 7);

    expect_kind(
        aw!(db.execute("INSERT INTO country (code, name) VALUES (?, NULL)", ("XX",))),
        ErrorKind::NotNullViolation,
        "NULL into NOT NULL",
    );
    expect_kind(
        aw!(db.execute("INSERT INTO all_types (status) VALUES (?)", ("active",))),
        ErrorKind::NotNullViolation,
        "a NOT NULL column left out",
    );

    let mut row = sample_all_types();
    aw!(db.insert(&mut row))?;
    expect_kind(
        aw!(db.execute("UPDATE all_types SET status = ? WHERE id = ?", ("bogus", row.id))),
        ErrorKind::CheckViolation,
        "an enum value outside its CHECK",
    );

    aw!(db.execute("CREATE TABLE fk_parent (id INTEGER NOT NULL PRIMARY KEY)", ()))?;
    aw!(db.execute(
        "CREATE TABLE fk_child (id INTEGER NOT NULL PRIMARY KEY, parent_id INTEGER NOT NULL, FOREIGN KEY (parent_id) REFERENCES fk_parent (id))",
        ()
    ))?;
    aw!(db.execute("INSERT INTO fk_parent (id) VALUES (?)", (1,)))?;
    aw!(db.execute("INSERT INTO fk_child (id, parent_id) VALUES (?, ?)", (1, 1)))?;
    expect_kind(
        aw!(db.execute("INSERT INTO fk_child (id, parent_id) VALUES (?, ?)", (2, 99))),
        ErrorKind::ForeignKeyViolation,
        "a child without a parent",
    );
    expect_kind(
        aw!(db.execute("DELETE FROM fk_parent WHERE id = ?", (1,))),
        ErrorKind::ForeignKeyViolation,
        "deleting a referenced parent",
    );
    assert_pool_idle(db);
    Ok(())
}

pub fn sample_all_types() -> AllTypes {
    AllTypes {
        id: 0,
        flag: true,
        small: -3,
        int: 42,
        big: 1 << 40,
        unsigned: 7,
        real: 1.5,
        double: 2.25,
        text: "plain".into(),
        bytes: vec![0, 1, 2, 255],
        dec: Decimal::from_str("12.34").unwrap(),
        day: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap(),
        moment: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().and_hms_micro_opt(13, 14, 15, 123_456).unwrap(),
        instant: DateTime::<Utc>::from_timestamp(1_700_000_000, 654_321_000).unwrap(),
        uuid: uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef),
        json: serde_json::json!({"a": [1, 2, {"b": null}]}),
        status: Status::OnHold,
        priority: Priority::High,
        maybe_text: None,
        maybe_int: None,
        maybe_dec: None,
        maybe_day: None,
        maybe_instant: None,
        maybe_uuid: None,
        maybe_json: None,
        maybe_bytes: None,
    }
}

/// Inserts `row`, reads it back through a fresh connection and compares.
async fn round_trip(db: &Db, mut row: AllTypes, what: &str) -> Result<AllTypes> {
    row.id = 0;
    aw!(db.insert(&mut row)).map_err(|e| e.context(what))?;
    let back = aw!(db.by_pk::<AllTypes>(&row.id)).map_err(|e| e.context(what))?;
    assert_eq!(back, row, "{what} did not round-trip");
    Ok(back)
}

pub async fn types_round_trip_with_edge_values(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let base = sample_all_types();
    round_trip(db, base.clone(), "the sample row").await?;

    let big_text: String = "é😀x".repeat(1_000_000 / 7);
    let mins = AllTypes {
        small: i16::MIN,
        int: i32::MIN,
        big: i64::MIN,
        unsigned: 0,
        real: f32::MIN_POSITIVE,
        double: -0.0,
        text: String::new(),
        bytes: Vec::new(),
        dec: Decimal::from_str("-9999999999999999999.999999999").unwrap(),
        day: NaiveDate::from_ymd_opt(1900, 1, 1).unwrap(),
        moment: NaiveDate::from_ymd_opt(1969, 7, 20).unwrap().and_hms_micro_opt(20, 17, 40, 1).unwrap(),
        instant: NaiveDate::from_ymd_opt(1950, 6, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc(),
        flag: false,
        status: Status::Active,
        priority: Priority::Low,
        ..base.clone()
    };
    round_trip(db, mins, "minimum values").await?;

    let maxes = AllTypes {
        small: i16::MAX,
        int: i32::MAX,
        big: i64::MAX,
        unsigned: i64::MAX as u64,
        real: f32::MAX,
        double: f64::MAX,
        text: big_text,
        bytes: (0..=255u8).cycle().take(1 << 20).collect(),
        dec: Decimal::from_str("1234567890123456789.012345678").unwrap(),
        day: NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
        moment: NaiveDate::from_ymd_opt(9001, 1, 2).unwrap().and_hms_micro_opt(23, 59, 59, 999_999).unwrap(),
        instant: NaiveDate::from_ymd_opt(9100, 12, 31).unwrap().and_hms_micro_opt(23, 59, 59, 999_999).unwrap().and_utc(),
        uuid: uuid::Uuid::max(),
        json: serde_json::json!({"nested": {"deep": [1, 2.5, "x", true, null, {"big": 9007199254740993_i64}]}, "text": "a'b\"c😀"}),
        maybe_text: Some("𝄞 outside the BMP".into()),
        maybe_int: Some(i64::MIN),
        maybe_dec: Some(Decimal::from_str("0.0000000001").unwrap()),
        maybe_day: Some(NaiveDate::from_ymd_opt(1000, 1, 1).unwrap()),
        maybe_instant: Some(DateTime::<Utc>::from_timestamp(0, 0).unwrap()),
        maybe_uuid: Some(uuid::Uuid::from_u128(42)),
        maybe_json: Some(serde_json::json!([])),
        maybe_bytes: Some(vec![0]),
        ..base.clone()
    };
    let back = round_trip(db, maxes, "maximum values").await?;
    assert_eq!(back.text.chars().count(), 3 * (1_000_000 / 7));

    // Sub-microsecond precision is truncated to what every dialect stores.
    let mut nanos = base.clone();
    nanos.moment = nanos.moment.with_nanosecond_checked(123_456_789);
    let mut expected = nanos.clone();
    expected.moment = expected.moment.with_nanosecond_checked(123_456_000);
    nanos.id = 0;
    aw!(db.insert(&mut nanos))?;
    expected.id = nanos.id;
    assert_eq!(aw!(db.by_pk::<AllTypes>(&nanos.id))?, expected);

    // PostgreSQL keeps NaN and infinities; the other two refuse NaN (see unfaithful_values_are_refused).
    if t.dialect == Dialect::Postgres {
        let mut nan = AllTypes { double: f64::NAN, real: f32::INFINITY, ..base.clone() };
        aw!(db.insert(&mut nan))?;
        let back = aw!(db.by_pk::<AllTypes>(&nan.id))?;
        assert!(back.double.is_nan() && back.real == f32::INFINITY);
    } else {
        let nul = AllTypes { text: "a\0b".into(), ..base.clone() };
        round_trip(db, nul, "a NUL byte").await?;
    }
    Ok(())
}

trait NanosExt {
    fn with_nanosecond_checked(self, n: u32) -> Self;
}
impl NanosExt for chrono::NaiveDateTime {
    fn with_nanosecond_checked(self, n: u32) -> Self {
        chrono::Timelike::with_nanosecond(&self, n).expect("a valid nanosecond")
    }
}

pub async fn unfaithful_values_are_refused(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let base = sample_all_types();

    let mut too_big = AllTypes { unsigned: i64::MAX as u64 + 1, ..base.clone() };
    let e = expect_kind(aw!(db.insert(&mut too_big)), ErrorKind::InvalidValue, "u64 above i64::MAX");
    assert!(e.message().contains("AllTypes.unsigned"), "{e}");

    let mut long = Product::new(&"x".repeat(65), "L-1");
    let e = expect_kind(aw!(db.insert(&mut long)), ErrorKind::InvalidValue, "a string over max_len");
    assert!(e.message().contains("Product.name") && e.message().contains("max_len is 64"), "{e}");
    let mut exactly = Product::new(&"😀".repeat(64), "L-2");
    aw!(db.insert(&mut exactly))?;
    assert_eq!(aw!(db.by_pk::<Product>(&exactly.id))?.name, exactly.name, "max_len counts characters");

    let mut cents = Part { id: 0, maker: "m".into(), code: "c".into(), rank: 1, hits: 0, cost: Decimal::from_str("1.234").unwrap() };
    expect_kind(aw!(db.insert(&mut cents)), ErrorKind::InvalidValue, "a decimal finer than its scale");
    cents.cost = Decimal::from_str("123456.00").unwrap();
    expect_kind(aw!(db.insert(&mut cents)), ErrorKind::InvalidValue, "a decimal wider than its precision");

    match t.dialect {
        Dialect::Sqlite | Dialect::MariaDb => {
            let mut nan = AllTypes { double: f64::NAN, ..base.clone() };
            let e = expect_kind(aw!(db.insert(&mut nan)), ErrorKind::InvalidValue, "NaN");
            assert!(e.message().contains("AllTypes.double"), "{e}");
            expect_kind(aw!(db.execute("UPDATE all_types SET double = ?", (f64::NAN,))), ErrorKind::InvalidValue, "NaN in raw SQL");
        }
        Dialect::Postgres => {
            let mut nul = AllTypes { text: "a\0b".into(), ..base.clone() };
            let e = expect_kind(aw!(db.insert(&mut nul)), ErrorKind::InvalidValue, "NUL in PostgreSQL text");
            assert!(e.message().contains("AllTypes.text"), "{e}");
            expect_kind(aw!(db.select::<String>("SELECT ?", ("\0",))), ErrorKind::InvalidValue, "NUL in a raw bind");
        }
    }

    // The server enforces lengths too: MariaDB in strict mode and PostgreSQL refuse; SQLite has no
    // VARCHAR limit, which is why the client-side max_len check exists.
    let raw = aw!(db.execute("INSERT INTO country (code, name) VALUES (?, ?)", ("TOO", "x")));
    match t.dialect {
        Dialect::Sqlite => assert_eq!(raw?, 1),
        Dialect::Postgres | Dialect::MariaDb => {
            expect_kind(raw, ErrorKind::InvalidValue, "an over-long value through raw SQL");
        }
    }
    assert_eq!(aw!(db.select::<String>("SELECT code FROM country", ()))?.len(), usize::from(t.dialect == Dialect::Sqlite));
    Ok(())
}

pub async fn integers_of_every_width_read_as_i64(t: &Ctx) -> Result<()> {
    let db = &t.db;
    // MariaDB names an unsigned column apart ("INT UNSIGNED"): every width reads as an i64,
    // and a BIGINT UNSIGNED above i64::MAX is a decode error, not a wrapped number.
    let widths: &[&str] = match t.dialect {
        Dialect::MariaDb => &[
            "BIGINT",
            "INT",
            "MEDIUMINT",
            "SMALLINT",
            "TINYINT",
            "BIGINT UNSIGNED",
            "INT UNSIGNED",
            "SMALLINT UNSIGNED",
            "TINYINT UNSIGNED",
        ],
        Dialect::Postgres | Dialect::Sqlite => &["BIGINT", "INT", "SMALLINT"],
    };
    for (i, ty) in widths.iter().enumerate() {
        aw!(db.execute(&format!("CREATE TABLE int_width_{i} (v {ty} NOT NULL)"), ()))?;
        aw!(db.execute(&format!("INSERT INTO int_width_{i} (v) VALUES (?)"), (100,)))?;
        assert_eq!(aw!(db.get::<i64>(&format!("SELECT v FROM int_width_{i}"), ()))?, 100, "{ty}");
    }
    if t.dialect == Dialect::MariaDb {
        aw!(db.execute("CREATE TABLE int_width_max (v BIGINT UNSIGNED NOT NULL)", ()))?;
        aw!(db.execute("INSERT INTO int_width_max (v) VALUES (18446744073709551615)", ()))?;
        let e = expect_kind(aw!(db.get::<i64>("SELECT v FROM int_width_max", ())), ErrorKind::Decode, "u64::MAX as i64");
        assert!(e.message().contains("does not fit"), "{e}");
    }
    Ok(())
}

pub async fn null_into_non_option_is_a_decode_error(t: &Ctx) -> Result<()> {
    let db = &t.db;
    aw!(db.execute("CREATE TABLE loose_rows (id BIGINT NOT NULL PRIMARY KEY, note TEXT)", ()))?;
    aw!(db.execute("INSERT INTO loose_rows (id, note) VALUES (?, NULL)", (1,)))?;
    let e = expect_kind(aw!(db.by_pk::<Loose>(&1)), ErrorKind::Decode, "NULL into String");
    assert!(e.message().contains("Loose.note") && e.message().contains("NULL"), "{e}");
    let e = expect_kind(aw!(db.get::<String>("SELECT note FROM loose_rows", ())), ErrorKind::Decode, "raw NULL into String");
    assert!(e.message().contains("note"), "{e}");
    assert_eq!(aw!(db.get::<Option<String>>("SELECT note FROM loose_rows", ()))?, None);
    expect_kind(aw!(db.get::<i64>("SELECT 'text'", ())), ErrorKind::Decode, "text into i64");
    Ok(())
}

pub async fn schema_is_idempotent_and_droppable(t: &Ctx) -> Result<()> {
    let db = &t.db;
    aw!(db.insert(&mut Product::new("Kept", "K-1")))?;
    aw!(db.generate_mapping(CreateTables::Yes))?;
    assert_eq!(aw!(db.all::<Product>())?.len(), 1, "a second generate_mapping keeps the data");
    let ddl = db.ddl()?;
    assert!(ddl.iter().all(|s| s.contains("IF NOT EXISTS")), "{ddl:?}");
    assert!(ddl.iter().any(|s| s.starts_with("CREATE INDEX IF NOT EXISTS") && s.contains("idx_order__select__from")), "{ddl:?}");
    aw!(db.drop_all_tables())?;
    expect_kind(aw!(db.all::<Product>()), ErrorKind::Database, "a dropped table");
    aw!(db.generate_mapping(CreateTables::Yes))?;
    assert!(aw!(db.all::<Product>())?.is_empty());
    assert_pool_idle(db);
    Ok(())
}

pub async fn identifier_limits_are_enforced_at_mapping(t: &Ctx) -> Result<()> {
    let db = open(&t.url, OpenOptions::new().entities([LongName::meta()])).await?;
    let r = aw!(db.generate_mapping(CreateTables::Yes));
    match t.dialect {
        Dialect::Postgres => {
            let e = expect_kind(r, ErrorKind::Mapping, "a 64-byte name on PostgreSQL");
            assert!(e.message().contains("at most 63"), "{e}");
        }
        Dialect::Sqlite | Dialect::MariaDb => {
            r?;
            aw!(db.insert(&mut LongName { id: 0 }))?;
        }
    }
    Ok(())
}

pub async fn raw_sql_binds_never_splice(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let nasty = [
        "'", "''", "\"", "%", "_", "!", "\\", "\\'", "--", "/*", ";", "?", "$1", "a'); DROP TABLE product; --",
        "ünïcødé", "😀 𝄞", "\u{202e}rtl",
    ];
    for (i, s) in nasty.iter().enumerate() {
        let mut p = Product::new(s, &format!("N-{i}"));
        p.summary = Some(format!("{s}{s}"));
        aw!(db.insert(&mut p))?;
        let back: (String, Option<String>) = aw!(db.get("SELECT name, summary FROM product WHERE name = ?", (*s,)))?;
        assert_eq!(back, (s.to_string(), Some(format!("{s}{s}"))), "{s:?} on {}", t.label());
        let echoed: String = aw!(db.get("SELECT ?", (*s,)))?;
        assert_eq!(echoed, *s);
    }
    assert_eq!(aw!(db.all::<Product>())?.len(), nasty.len());
    Ok(())
}

pub async fn raw_sql_lookups_and_errors(t: &Ctx) -> Result<()> {
    let db = &t.db;
    for (i, n) in ["a", "b", "c"].iter().enumerate() {
        aw!(db.insert(&mut Product { price: i as f64, ..Product::new(n, n) }))?;
    }
    let rows: Vec<(String, f64)> = aw!(db.select("SELECT name, price FROM product WHERE price >= ? ORDER BY name", (1.0,)))?;
    assert_eq!(rows, vec![("b".to_string(), 1.0), ("c".to_string(), 2.0)]);
    let products: Vec<Product> = aw!(db.select("SELECT id, name, price, product_sku, summary, stock FROM product ORDER BY id", ()))?;
    assert_eq!(products.len(), 3);
    let count: i64 = aw!(db.get("SELECT COUNT(*) FROM product", ()))?;
    assert_eq!(count, 3);
    let total: i64 = aw!(db.get("SELECT SUM(stock) FROM product", ()))?;
    assert_eq!(total, 15, "SUM comes back as DECIMAL on MariaDB and still reads as i64");
    expect_kind(aw!(db.get::<String>("SELECT name FROM product", ())), ErrorKind::SeveralFound, "get of three rows");
    expect_kind(aw!(db.get::<String>("SELECT name FROM product WHERE name = ?", ("zzz",))), ErrorKind::NotFound, "get of none");
    assert_eq!(aw!(db.get_optional::<String>("SELECT name FROM product WHERE name = ?", ("zzz",)))?, None);
    let e = expect_kind(aw!(db.execute("UPDATE product SET price = ? WHERE id = ?", (1.0,))), ErrorKind::Config, "missing parameter");
    assert!(e.message().contains("2 `?` placeholder"), "{e}");
    expect_kind(aw!(db.execute("BEGIN", ())), ErrorKind::Config, "raw BEGIN");
    let dyn_params: &[&dyn nextorm::ToValue] = &[&"a", &0.0];
    assert_eq!(aw!(db.execute("UPDATE product SET price = ? WHERE name = ? AND price = ?", (5.0, "a", 0.0)))?, 1);
    assert_eq!(aw!(db.select::<i64>("SELECT stock FROM product WHERE name = ? AND price <> ?", dyn_params))?, vec![5]);
    expect_kind(aw!(db.execute("SELEC nonsense", ())), ErrorKind::Database, "a syntax error");

    // Past the dialect's bind limit: a clear error before anything is sent, never a panic.
    let limit = t.dialect.max_binds();
    let sql = format!("SELECT COUNT(*) FROM product WHERE id IN ({})", vec!["?"; limit + 1].join(", "));
    let params: Vec<nextorm::Value> = (0..=limit as i64).map(nextorm::Value::Int).collect();
    let e = expect_kind(aw!(db.get::<i64>(&sql, params)), ErrorKind::InvalidValue, "too many binds");
    assert!(e.message().contains(&format!("at most {limit}")), "{e}");
    let sql = format!("SELECT COUNT(*) FROM product WHERE id IN ({})", vec!["?"; limit].join(", "));
    let params: Vec<nextorm::Value> = (0..limit as i64).map(nextorm::Value::Int).collect();
    assert_eq!(aw!(db.get::<i64>(&sql, params))?, 3, "exactly at the limit works");
    assert_pool_idle(db);
    Ok(())
}

pub async fn transactions_commit_and_roll_back(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let ids = transaction!(db, |tx| {
        let mut ids = Vec::new();
        for i in 0..100 {
            let mut p = Product::new(&format!("bulk {i}"), &format!("B-{i}"));
            aw!(tx.insert(&mut p))?;
            ids.push(p.id);
        }
        Ok(ids)
    })?;
    assert_eq!(ids.len(), 100);
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 100);

    let r: Result<()> = transaction!(db, |tx| {
        aw!(tx.execute("DELETE FROM product", ()))?;
        assert_eq!(aw!(tx.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 0, "the transaction sees its own delete");
        Err(nextorm::Error::new(ErrorKind::Config, "changed my mind"))
    });
    assert_eq!(r.unwrap_err().message(), "changed my mind");
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 100, "Err rolled back");

    // A failing statement inside the transaction rolls everything back.
    let r: Result<()> = transaction!(db, |tx| {
        aw!(tx.insert(&mut Product::new("fresh", "F-1")))?;
        aw!(tx.insert(&mut Product::new("dup", "B-0")))?;
        Ok(())
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::UniqueViolation);
    assert_eq!(aw!(db.find::<Product>(&(ids[99] + 1)))?, None, "nothing of the failed transaction remains");
    assert_pool_idle(db);
    Ok(())
}

pub async fn panicking_transaction_leaves_nothing(t: &Ctx) -> Result<()> {
    let db = &t.db;
    for i in 0..20 {
        assert!(panic_in_transaction(db, Product::new("ghost", &format!("P-{i}"))).await, "the body panicked");
    }
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 0, "no panicking transaction committed");
    assert_pool_idle(db);
    // Every pooled connection still works and is outside a transaction: a fresh transaction
    // commits through it.
    transaction!(db, |tx| aw!(tx.insert(&mut Product::new("after", "A-1"))))?;
    assert_eq!(aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()))?, 1);
    Ok(())
}

pub async fn dropped_transaction_future_leaves_nothing(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let mut polls = 0;
    loop {
        let Some(finished) = drop_transaction_after(db, polls).await else {
            return Ok(()); // The blocking facade has no future to drop.
        };
        // All or nothing: the row is absent, or present with the transaction's second statement
        // applied. A future dropped after COMMIT reached the server may have committed.
        let stock: Option<i32> =
            aw!(db.get_optional("SELECT stock FROM product WHERE product_sku = ?", (format!("DROP-{polls}"),)))?;
        assert!(matches!(stock, None | Some(6)), "half a transaction after {polls} polls: stock {stock:?}");
        assert_pool_idle(db);
        if finished {
            assert_eq!(stock, Some(6), "the completed transaction committed");
            return Ok(());
        }
        polls += 1;
        assert!(polls < 10_000, "the transaction never completed");
    }
}

pub async fn pool_timeout_is_its_own_kind(t: &Ctx) -> Result<()> {
    let options = crate::mapped_options().max_connections(1).acquire_timeout(Duration::from_millis(200));
    let db = open(&t.url, options).await?;
    let r: Result<()> = transaction!(db, |tx| {
        aw!(tx.execute("DELETE FROM product", ()))?;
        // The only connection is held by this transaction.
        let e = expect_kind(aw!(db.all::<Product>()), ErrorKind::PoolTimeout, "a second checkout");
        assert!(e.message().contains("within 200ms"), "{e}");
        Ok(())
    });
    r?;
    assert_eq!(aw!(db.all::<Product>())?.len(), 0, "the pool serves again once the transaction ended");
    assert_pool_idle(&db);
    Ok(())
}

pub async fn dead_server_and_bad_urls(t: &Ctx) -> Result<()> {
    let dead = match t.dialect {
        Dialect::Sqlite => "sqlite:///nonexistent-dir/for/sure/x.db".to_string(),
        Dialect::Postgres => "postgres://postgres@127.0.0.1:1/test".to_string(),
        Dialect::MariaDb => "mysql://root@127.0.0.1:1/test".to_string(),
    };
    let e = expect_kind(open(&dead, OpenOptions::new().connect_timeout(Duration::from_secs(5))).await.map(|_| ()), ErrorKind::ConnectFailed, "a dead server");
    assert!(e.to_string().contains("cannot"), "{e}");
    expect_kind(open("oracle://x", OpenOptions::new()).await.map(|_| ()), ErrorKind::Config, "an unknown scheme");
    expect_kind(open("postgres://[::bad", OpenOptions::new()).await.map(|_| ()), ErrorKind::Config, "a malformed URL");
    // Near misses of `sqlite::memory:` would create a file named `memory`; `sqlite:` names nothing.
    for url in ["sqlite:memory", "sqlite:"] {
        let e = expect_kind(open(url, OpenOptions::new()).await.map(|_| ()), ErrorKind::Config, url);
        assert!(e.message().contains("write `sqlite::memory:` for an in-memory database"), "{e}");
    }
    let e = expect_kind(open("sqlite:", OpenOptions::new()).await.map(|_| ()), ErrorKind::Config, "sqlite:");
    assert!(e.message().contains("`sqlite:path/to/file.db`, `sqlite://path/to/file.db`"), "{e}");
    Ok(())
}

/// `url` with `password` as its password (the user part is `user@` or `user:old@`).
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a server URL");
    let (user, host) = rest.split_once('@').expect("the URL names a user");
    let user = user.split_once(':').map_or(user, |(name, _)| name);
    format!("{scheme}://{user}:{password}@{host}")
}

/// `url` as errors show it: a password masked.
fn shown(url: &str) -> String {
    let user = url.split_once("://").and_then(|(_, rest)| rest.split_once('@')).map(|(user, _)| user);
    if user.is_some_and(|u| u.contains(':')) { with_password(url, "***") } else { url.to_owned() }
}

/// `url` naming another database.
fn with_database(url: &str, database: &str) -> String {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    let (server, _) = base.rsplit_once('/').expect("the URL names a database");
    format!("{server}/{database}")
}

/// Opens `url` and expects a connection that was never made: `ConnectFailed` (not
/// `ConnectionLost`), a message naming the URL as written with its password masked, and the
/// database's own code when it answered.
async fn expect_connect_failed(url: &str, shown: &str, code: Option<&str>) {
    let options = OpenOptions::new().connect_timeout(Duration::from_secs(5));
    let e = expect_kind(open(url, options).await.map(|_| ()), ErrorKind::ConnectFailed, url);
    assert!(e.message().contains(&format!("cannot connect to {shown}")), "{e}");
    assert_no_password(&e);
    assert_eq!(e.code(), code, "{e}");
}

/// Neither the error nor anything it wraps shows the password `secret`, in Display or Debug form.
fn assert_no_password(e: &nextorm::Error) {
    let mut shown = vec![e.to_string(), format!("{e:?}"), format!("{e:#?}")];
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        shown.extend([inner.to_string(), format!("{inner:?}")]);
        source = inner.source();
    }
    for text in shown {
        assert!(!text.contains("secret"), "the password is shown: {text}");
    }
}

pub async fn refused_connections_are_connect_failed(t: &Ctx) -> Result<()> {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.local_addr().expect("its address").port()
    };
    match t.dialect {
        Dialect::Sqlite => {
            let missing = std::env::temp_dir().join(format!("nextorm_missing_{}.db", std::process::id()));
            let url = format!("sqlite://{}?mode=rw", missing.display());
            let e = expect_kind(open(&url, OpenOptions::new()).await.map(|_| ()), ErrorKind::ConnectFailed, &url);
            assert!(e.message().contains(&format!("cannot open the SQLite database {}", missing.display())), "{e}");
        }
        Dialect::Postgres => {
            for scheme in ["postgres", "postgresql"] {
                let url = format!("{scheme}://postgres:secret@127.0.0.1:{closed_port}/test");
                expect_connect_failed(&url, &shown(&url), None).await;
            }
            let url = format!("postgres://127.0.0.1:{closed_port}/test?user=postgres&password=secret&sslmode=require");
            let masked = format!("postgres://127.0.0.1:{closed_port}/test?user=postgres&password=***&sslmode=require");
            expect_connect_failed(&url, &masked, None).await;
            // The test server trusts every login, so a wrong password is not refused there.
            let unknown = with_database(&crate::harness::pg_url(), "nextorm_no_such_database");
            expect_connect_failed(&unknown, &shown(&unknown), Some("3D000")).await;
        }
        Dialect::MariaDb => {
            for scheme in ["mariadb", "mysql"] {
                let url = format!("{scheme}://root:secret@127.0.0.1:{closed_port}/test");
                expect_connect_failed(&url, &format!("{scheme}://root:***@127.0.0.1:{closed_port}/test"), None).await;
            }
            let real = crate::harness::mariadb_url().replacen("mysql://", "mariadb://", 1);
            let wrong_password = with_password(&real, "secret");
            expect_connect_failed(&wrong_password, &shown(&wrong_password), Some("1045")).await;
            let unknown = with_database(&real, "nextorm_no_such_database");
            expect_connect_failed(&unknown, &shown(&unknown), Some("1049")).await;
        }
    }
    Ok(())
}

pub async fn connection_settings_per_dialect(t: &Ctx) -> Result<()> {
    let db = &t.db;
    match t.dialect {
        Dialect::Sqlite => {
            assert_eq!(aw!(db.get::<String>("PRAGMA journal_mode", ()))?, "wal");
            assert_eq!(aw!(db.get::<i64>("PRAGMA foreign_keys", ()))?, 1);
        }
        Dialect::MariaDb => {
            let mode: String = aw!(db.get("SELECT @@sql_mode", ()))?;
            assert!(mode.contains("STRICT_ALL_TABLES"), "{mode}");
            let (charset, tz): (String, String) = aw!(db.get("SELECT @@character_set_connection, @@time_zone", ()))?;
            assert_eq!((charset.as_str(), tz.as_str()), ("utf8mb4", "+00:00"));
            // Matched rows, not changed rows: an UPDATE that changes nothing still counts its row.
            let mut p = Product::new("same", "S-1");
            aw!(db.insert(&mut p))?;
            assert_eq!(aw!(db.execute("UPDATE product SET name = ? WHERE id = ?", ("same", p.id)))?, 1);
            aw!(db.update(&p))?;
            // The statement cache: a repeated lookup on one connection is prepared once.
            let prepares = transaction!(db, |tx| {
                let before: i64 = aw!(tx.get::<String>("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'", ()))?.parse().unwrap();
                for _ in 0..3 {
                    aw!(tx.by_pk::<Product>(&p.id))?;
                }
                let after: i64 = aw!(tx.get::<String>("SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'", ()))?.parse().unwrap();
                Ok(after - before)
            })?;
            assert!(prepares <= 2, "three lookups prepared {prepares} statements");
        }
        Dialect::Postgres => {
            let mut p = Product::new("cached", "C-1");
            aw!(db.insert(&mut p))?;
            // The statement cache: the same connection prepared the lookup once and reuses it.
            let prepared: i64 = transaction!(db, |tx| {
                aw!(tx.by_pk::<Product>(&p.id))?;
                aw!(tx.by_pk::<Product>(&p.id))?;
                aw!(tx.get::<i64>("SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE ?", ("SELECT \"id\", \"name\"%",)))
            })?;
            assert_eq!(prepared, 1);
        }
    }
    Ok(())
}

/// `insert_many`: one multi-row INSERT per batch, generated keys stored back in row order, an
/// empty slice a no-op, batches cut at the bind limit, and all or nothing.
pub async fn insert_many_stores_keys_splits_batches_and_is_all_or_nothing(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let count = async || aw!(db.get::<i64>("SELECT COUNT(*) FROM product", ()));
    aw!(db.insert_many(&mut Vec::<Product>::new()))?;
    assert_eq!(count().await?, 0, "an empty slice inserts nothing");

    let mut products: Vec<Product> = (0..40).map(|i| Product::new(&format!("Many {i}"), &format!("M-{i}"))).collect();
    products[20].id = 1_000_000; // a given key between generated ones: three statements
    aw!(db.insert_many(&mut products))?;
    let mut keys: Vec<i64> = products.iter().map(|p| p.id).collect();
    assert_eq!(products[20].id, 1_000_000, "a given key is kept");
    keys.sort_unstable();
    keys.dedup();
    assert!(keys.len() == 40 && keys[0] > 0, "40 distinct keys: {keys:?}");
    // Each key came back to the value whose row it is (RETURNING in the order of the rows).
    for p in &products {
        assert_eq!(aw!(db.by_pk::<Product>(&p.id))?, *p);
    }

    // Five binds a row (the key is generated): one more batch than the bind limit holds.
    let per_statement = t.dialect.max_binds() / 5;
    let mut many: Vec<Product> =
        (0..per_statement + 3).map(|i| Product::new(&format!("Bulk {i}"), &format!("B-{i}"))).collect();
    aw!(db.insert_many(&mut many))?;
    assert_eq!(count().await?, 40 + many.len() as i64);
    let stored: std::collections::HashMap<i64, Product> =
        aw!(db.all::<Product>())?.into_iter().map(|p| (p.id, p)).collect();
    assert!(many.iter().all(|p| stored.get(&p.id) == Some(p)), "every row of both batches has its own key");

    // A duplicate in the middle of a batch: the transaction keeps nothing; the error names it.
    let before = count().await?;
    let r: Result<()> = transaction!(db, |tx| {
        aw!(tx.insert(&mut Product::new("first", "T-0")))?;
        let mut batch = vec![Product::new("a", "T-1"), Product::new("dup", "M-3"), Product::new("c", "T-2")];
        aw!(tx.insert_many(&mut batch))
    });
    let e = expect_kind(r, ErrorKind::UniqueViolation, "a duplicate inside a batch");
    assert!(e.to_string().contains("product_sku") || e.to_string().contains("M-3"), "the error names it: {e}");
    assert_eq!(count().await?, before, "nothing of the failed transaction remains");

    // Outside a transaction, a slice that takes two statements is inserted whole or not at all.
    let mut two: Vec<Product> =
        (0..per_statement + 1).map(|i| Product::new("Again", &format!("A-{i}"))).collect();
    two[per_statement].sku = "B-0".into();
    let e = expect_kind(aw!(db.insert_many(&mut two)), ErrorKind::UniqueViolation, "a duplicate in the 2nd batch");
    assert!(e.to_string().contains("product_sku") || e.to_string().contains("B-0"), "the error names it: {e}");
    assert_eq!(count().await?, before, "the first batch was rolled back with the second");
    assert_pool_idle(db);

    // In a session: plain values, inserted in the session's transaction.
    let r: Result<()> = session!(db, |s| {
        let mut rows = vec![Product::new("s1", "S-1"), Product::new("s2", "S-2")];
        aw!(s.insert_many(&mut rows))?;
        assert!(rows[0].id > 0 && rows[1].id > rows[0].id, "keys stored back: {rows:?}");
        assert_eq!(aw!(s.get::<i64>("SELECT COUNT(*) FROM product WHERE product_sku LIKE 'S-%'", ()))?, 2);
        Err(nextorm::Error::config("roll the session back"))
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Config);
    assert_eq!(count().await?, before, "the session's inserts rolled back with it");
    session!(db, |s| {
        let mut rows = vec![Product::new("s1", "S-1"), Product::new("s2", "S-2")];
        aw!(s.insert_many(&mut rows))?;
        aw!(s.insert_many(&mut Vec::<Product>::new()))
    })?;
    assert_eq!(count().await?, before + 2);
    assert_pool_idle(db);
    Ok(())
}
