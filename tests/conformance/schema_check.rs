// The live schema compared with the entities (`generate_mapping(CreateTables::Check)`,
// `schema_differences`), written once for both facades.

use nextorm::migrate::{RenameHints, Schema};

pub async fn schema_check_agrees_after_generate_mapping(t: &Ctx) -> Result<()> {
    // `Ctx::new` made the conformance entities' tables with `generate_mapping(CreateTables::Yes)`.
    let db = &t.db;
    assert_eq!(aw!(db.schema_differences())?, Vec::<String>::new(), "{}", t.label());
    aw!(db.generate_mapping(CreateTables::Check))?;
    Ok(())
}

pub async fn schema_check_reports_each_difference(t: &Ctx) -> Result<()> {
    aw!(t.db.drop_all_tables())?;
    let db = open(&t.url, OpenOptions::new().entities([ChkItem::meta(), ChkGone::meta()])).await?;
    aw!(db.generate_mapping(CreateTables::Yes))?;
    assert_eq!(aw!(db.schema_differences())?, Vec::<String>::new(), "{}", t.label());

    let mut by_hand = vec![
        match t.dialect {
            Dialect::MariaDb => "DROP INDEX idx_chk_item__score ON chk_item",
            _ => "DROP INDEX idx_chk_item__score",
        },
        "ALTER TABLE chk_item DROP COLUMN rating",
        "ALTER TABLE chk_item ADD COLUMN legacy CHAR(3)",
    ];
    // A shorter type, NOT NULL dropped, the unique key dropped.
    by_hand.extend(match t.dialect {
        Dialect::Postgres => vec![
            "ALTER TABLE chk_item ALTER COLUMN title TYPE VARCHAR(50), ALTER COLUMN note DROP NOT NULL, \
             DROP CONSTRAINT uq_chk_item__maker__code",
        ],
        Dialect::MariaDb => vec![
            "ALTER TABLE chk_item MODIFY COLUMN title VARCHAR(50) NOT NULL, MODIFY COLUMN note VARCHAR(200) NULL, \
             DROP INDEX uq_chk_item__maker__code",
        ],
        // SQLite's ALTER TABLE cannot: the table is made again.
        Dialect::Sqlite => vec![
            "CREATE TABLE chk_item_new (id INTEGER PRIMARY KEY AUTOINCREMENT, title VARCHAR(50) NOT NULL, \
             note VARCHAR(200), score INTEGER NOT NULL, maker VARCHAR(20) NOT NULL, code VARCHAR(20) NOT NULL, \
             legacy CHAR(3))",
            "INSERT INTO chk_item_new SELECT id, title, note, score, maker, code, legacy FROM chk_item",
            "DROP TABLE chk_item",
            "ALTER TABLE chk_item_new RENAME TO chk_item",
        ],
    });
    by_hand.extend(["DROP TABLE chk_gone", "CREATE TABLE chk_extra (id INTEGER PRIMARY KEY)"]);
    for sql in by_hand {
        aw!(db.execute(sql, ()))?;
    }

    let expected = [
        "column `chk_item.note`: NOT NULL in the entities, nullable in the database",
        "column `chk_item.title`: type VARCHAR(100) in the entities, VARCHAR(50) in the database",
        "table `chk_extra` is extra",
        "table `chk_gone` is missing",
        "table `chk_item`: column `legacy` is extra",
        "table `chk_item`: column `rating` is missing",
        "table `chk_item`: index `idx_chk_item__score` (score) is missing",
        "table `chk_item`: unique key `uq_chk_item__maker__code` (maker, code) is missing",
    ];
    let found = sorted(aw!(db.schema_differences())?);
    assert_eq!(found, expected, "{}", t.label());

    let e = expect_kind(aw!(db.generate_mapping(CreateTables::Check)), ErrorKind::Mapping, "a checked mapping");
    assert!(e.message().contains("differs from the entities in 8 ways"), "{}: {e}", t.label());
    for line in expected {
        assert!(e.message().contains(line), "{}: {line} is not in {e}", t.label());
    }
    Ok(())
}

pub async fn schema_check_agrees_after_migrations(t: &Ctx) -> Result<()> {
    let db = &t.db;
    aw!(db.drop_all_tables())?;
    // Version 2 is the entities; version 1 lacks a table, a join table, a column, an index and a
    // foreign key, and has a shorter text and a NOT NULL that version 2 drops. Applying both
    // migrations creates, adds and alters (SQLite rebuilds the altered tables).
    let v2 = Schema::from_entities(&crate::entities::mapped())?;
    let mut v1 = v2.clone();
    v1.tables.retain(|table| table.name != "memo" && table.name != "purchase_tag");
    let product = v1.table_mut("product").expect("product");
    product.columns.retain(|c| c.name != "summary");
    product.column_mut("name").expect("product.name").max_len = Some(32);
    v1.table_mut("part").expect("part").indexes.clear();
    v1.table_mut("order").expect("order").column_mut("from").expect("order.from").nullable = false;
    v1.table_mut("book").expect("book").foreign_keys.clear();

    let hints = RenameHints::default();
    let none = Migrations::default();
    let first = none.make(&Schema::default(), &v1, &hints, Some("v1"))?.expect("version 1 has tables");
    let one = Migrations::new(vec![first.migration.clone()])?;
    let second = one.make(&first.snapshot, &v2, &hints, Some("v2"))?.expect("version 2 differs");
    let both = Migrations::new(vec![first.migration, second.migration])?;
    let report = aw!(db.migrate(&both))?;
    assert_eq!(report.applied, ["0001_v1", "0002_v2"], "{}", t.label());

    assert_eq!(aw!(db.schema_differences())?, Vec::<String>::new(), "{}", t.label());
    aw!(db.generate_mapping(CreateTables::Check))?;
    Ok(())
}
