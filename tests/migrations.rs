//! Migrations without a server: the schema model, operations and their inverses, the differ
//! (renames from hints, refusals), the files and the snapshot, and the SQLite plans applied to a
//! real in-memory SQLite database with rows in it.

#![allow(missing_docs)]

use nextorm::{Dialect, Entity};
use nextorm_core::migrate::*;
use nextorm_core::{DataType, ErrorKind, OnDelete};

fn col(name: &str, ty: DataType) -> Column {
    Column::new(name, ty)
}

fn text(name: &str, max_len: u32) -> Column {
    Column { max_len: Some(max_len), ..col(name, DataType::Text) }
}

fn nullable(c: Column) -> Column {
    Column { nullable: true, ..c }
}

fn id() -> Column {
    Column { auto_increment: true, ..col("id", DataType::BigInt) }
}

fn table(name: &str, columns: Vec<Column>) -> Table {
    Table {
        name: name.into(),
        primary_key: vec![columns[0].name.clone()],
        columns,
        unique_keys: Vec::new(),
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        checks: Vec::new(),
    }
}

fn fk(table: &str, column: &str, references: &str, on_delete: OnDelete) -> ForeignKey {
    ForeignKey {
        name: format!("fk_{table}__{column}"),
        columns: vec![column.into()],
        references: references.into(),
        referenced_columns: vec!["id".into()],
        on_delete,
    }
}

fn index(table: &str, column: &str) -> Index {
    Index { name: format!("idx_{table}__{column}"), columns: vec![column.into()] }
}

/// member(id, name, country?), post(id, title, score, author -> member; unique title, author
/// and score indexed).
fn blog() -> Schema {
    let member = table("member", vec![id(), text("name", 40), nullable(text("country", 2))]);
    let mut post =
        table("post", vec![id(), text("title", 80), col("score", DataType::Int), col("author", DataType::BigInt)]);
    post.unique_keys.push(UniqueKey { name: "uq_post__title".into(), columns: vec!["title".into()] });
    post.indexes.push(index("post", "author"));
    post.indexes.push(index("post", "score"));
    post.foreign_keys.push(fk("post", "author", "member", OnDelete::Cascade));
    Schema { tables: vec![member, post] }
}

fn apply_all(schema: &Schema, ops: &[Operation]) -> Schema {
    let mut s = schema.clone();
    for op in ops {
        op.apply(&mut s).unwrap_or_else(|e| panic!("{}: {e}", op.describe()));
    }
    s
}

fn undo_all(schema: &Schema, ops: &[Operation]) -> Schema {
    let inverse: Vec<Operation> = ops.iter().rev().map(Operation::inverse).collect();
    apply_all(schema, &inverse)
}

/// One operation of every kind, each valid on [`blog`].
fn every_operation() -> Vec<Operation> {
    let base = blog();
    let post = base.table("post").unwrap().clone();
    let tag = Table {
        foreign_keys: vec![fk("tag", "post", "post", OnDelete::SetNull)],
        ..table("tag", vec![id(), text("label", 20), nullable(col("post", DataType::BigInt))])
    };
    vec![
        Operation::CreateTable { table: tag },
        Operation::DropTable { table: base.table("post").unwrap().clone() },
        Operation::RenameTable { from: "member".into(), to: "person".into() },
        Operation::AddColumn {
            table: "post".into(),
            column: Column { default: Some("0".into()), ..col("rating", DataType::Int) },
        },
        Operation::DropColumn { table: "member".into(), column: nullable(text("country", 2)) },
        Operation::RenameColumn { table: "post".into(), from: "title".into(), to: "heading".into() },
        Operation::AlterColumn {
            table: "post".into(),
            from: col("score", DataType::Int),
            to: col("score", DataType::BigInt),
        },
        Operation::AddIndex {
            table: "post".into(),
            index: Index { name: "idx_post__author__score".into(), columns: vec!["author".into(), "score".into()] },
        },
        // Not the index of the foreign key, which MariaDB keeps while the key needs it.
        Operation::DropIndex { table: "post".into(), index: post.indexes[1].clone() },
        Operation::AddUnique {
            table: "member".into(),
            unique: UniqueKey { name: "uq_member__name".into(), columns: vec!["name".into()] },
        },
        Operation::DropUnique { table: "post".into(), unique: post.unique_keys[0].clone() },
        Operation::AddForeignKey {
            table: "member".into(),
            foreign_key: fk("member", "id", "member", OnDelete::Restrict),
        },
        Operation::DropForeignKey { table: "post".into(), foreign_key: post.foreign_keys[0].clone() },
        Operation::AddCheck { table: "post".into(), check: score_check() },
        Operation::RawSql(RawSql {
            dialects: vec![Dialect::Postgres],
            up: vec!["CREATE EXTENSION IF NOT EXISTS pg_trgm".into()],
            down: Some(vec!["DROP EXTENSION pg_trgm".into()]),
        }),
    ]
}

#[test]
fn every_operation_is_undone_by_its_inverse() {
    let base = blog();
    for op in every_operation() {
        assert_eq!(op.inverse().inverse(), op);
        if let Operation::DropTable { .. } = op {
            // post is referenced by nothing; member is, so dropping it alone is refused.
            let mut s = base.clone();
            let member = Operation::DropTable { table: base.table("member").unwrap().clone() };
            assert_eq!(member.apply(&mut s).unwrap_err().kind(), ErrorKind::Config);
        }
        let after = apply_all(&base, std::slice::from_ref(&op));
        if !matches!(op, Operation::RawSql(_)) {
            assert_ne!(after, base, "{} changes nothing", op.describe());
        }
        let back = apply_all(&after, &[op.inverse()]);
        assert_eq!(back.normalized(), base.normalized(), "{}", op.describe());
    }
}

#[test]
fn lossy_operations_are_marked() {
    let lossy: Vec<String> = every_operation().iter().filter(|o| o.is_lossy()).map(Operation::describe).collect();
    assert_eq!(lossy, ["drop table post", "drop column member.country"]);
    let narrow = Operation::AlterColumn { table: "t".into(), from: text("a", 80), to: text("a", 40) };
    let wide = narrow.inverse();
    assert!(narrow.is_lossy() && !wide.is_lossy());
    let raw = |down| Operation::RawSql(RawSql { dialects: vec![], up: vec!["UPDATE t SET a = 1".into()], down });
    assert!(raw(None).is_lossy() && !raw(Some(vec![])).is_lossy());
    let enums = |v: &[&str]| col("s", DataType::TextEnum(v.iter().map(|s| (*s).to_owned()).collect()));
    let more = Operation::AlterColumn { table: "t".into(), from: enums(&["a"]), to: enums(&["a", "b"]) };
    assert!(!more.is_lossy() && more.inverse().is_lossy());
}

/// A table's own check on `post`.
fn score_check() -> TableCheck {
    TableCheck { name: "ck_post__score".into(), sql: "score >= 0 OR title <> ''".into() }
}

fn post(s: &mut Schema) -> &mut Table {
    s.table_mut("post").unwrap()
}

/// Pairs (name, from, to) the differ must bridge.
fn schema_pairs() -> Vec<(&'static str, Schema, Schema)> {
    let base = blog();
    let changed = |f: &dyn Fn(&mut Schema)| {
        let mut s = base.clone();
        f(&mut s);
        s
    };
    vec![
        ("add a table", base.clone(), changed(&|s| s.tables.push(table("tag", vec![id(), text("label", 20)])))),
        ("drop a table", changed(&|s| s.tables.push(table("tag", vec![id(), text("label", 20)]))), base.clone()),
        (
            "add a nullable column",
            base.clone(),
            changed(&|s| post(s).columns.insert(2, nullable(text("summary", 200)))),
        ),
        (
            "drop an indexed referencing column",
            base.clone(),
            changed(&|s| {
                let p = post(s);
                p.columns.retain(|c| c.name != "author");
                p.indexes.retain(|i| i.columns != ["author"]);
                p.foreign_keys.clear();
            }),
        ),
        ("add an index", base.clone(), changed(&|s| post(s).indexes.push(index("post", "title")))),
        ("drop an index", changed(&|s| post(s).indexes.push(index("post", "title"))), base.clone()),
        (
            "add a unique key",
            base.clone(),
            changed(&|s| {
                post(s).unique_keys.push(UniqueKey {
                    name: "uq_post__author__score".into(),
                    columns: vec!["author".into(), "score".into()],
                })
            }),
        ),
        ("drop a unique key", base.clone(), changed(&|s| post(s).unique_keys.clear())),
        (
            "add a foreign key to a new table",
            base.clone(),
            changed(&|s| {
                s.tables.push(table("category", vec![id(), text("name", 20)]));
                let p = post(s);
                p.columns.push(nullable(col("category", DataType::BigInt)));
                p.foreign_keys.push(fk("post", "category", "category", OnDelete::SetNull));
            }),
        ),
        ("drop a foreign key", base.clone(), changed(&|s| post(s).foreign_keys.clear())),
        ("add a table check", base.clone(), changed(&|s| post(s).checks.push(score_check()))),
        ("drop a table check", changed(&|s| post(s).checks.push(score_check())), base.clone()),
        (
            "change a table check",
            changed(&|s| post(s).checks.push(score_check())),
            changed(&|s| post(s).checks.push(TableCheck { sql: "score < 100".into(), ..score_check() })),
        ),
        (
            "drop a column and the check that names it",
            changed(&|s| post(s).checks.push(TableCheck { sql: "score >= 0".into(), ..score_check() })),
            changed(&|s| {
                let p = post(s);
                p.columns.retain(|c| c.name != "score");
                p.indexes.retain(|i| i.columns != ["score"]);
            }),
        ),
        ("change the delete rule", base.clone(), changed(&|s| post(s).foreign_keys[0].on_delete = OnDelete::Restrict)),
        ("change a type", base.clone(), changed(&|s| post(s).columns[2].ty = DataType::BigInt)),
        ("lengthen a text", base.clone(), changed(&|s| post(s).columns[1].max_len = Some(200))),
        ("make a column nullable", base.clone(), changed(&|s| post(s).columns[2].nullable = true)),
        ("give a column a default", base.clone(), changed(&|s| post(s).columns[2].default = Some("0".into()))),
        (
            "reuse an index name on other columns",
            base.clone(),
            changed(&|s| post(s).indexes[0].columns.push("score".into())),
        ),
        (
            "add a many-to-many relation",
            {
                let mut s = Schema::from_entities(&v1_entities()).unwrap();
                s.tables.retain(|t| t.name != "tag" && t.name != "book_tag");
                s
            },
            Schema::from_entities(&v1_entities()).unwrap(),
        ),
    ]
}

#[test]
fn a_diff_applied_gives_the_target_and_its_inverse_the_origin() {
    for (name, from, to) in schema_pairs() {
        let ops = diff(&from, &to, &RenameHints::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!ops.is_empty(), "{name}");
        let after = apply_all(&from, &ops);
        assert_eq!(after.normalized(), to.normalized(), "{name}");
        assert!(diff(&after, &to, &RenameHints::default()).unwrap().is_empty(), "{name}");
        assert_eq!(undo_all(&after, &ops).normalized(), from.normalized(), "{name}");
        // Every dialect can plan it, both ways.
        for d in Dialect::ALL {
            plan(&from, &ops, d).unwrap_or_else(|e| panic!("{name} on {}: {e}", d.name()));
        }
    }
}

#[test]
fn drops_and_creates_come_in_foreign_key_order() {
    let mut three = blog();
    let mut comment = table("comment", vec![id(), col("post", DataType::BigInt)]);
    comment.foreign_keys.push(fk("comment", "post", "post", OnDelete::Cascade));
    three.tables.push(comment);
    let names = |ops: &[Operation]| ops.iter().map(Operation::describe).collect::<Vec<_>>();
    let created = diff(&Schema::default(), &three, &RenameHints::default()).unwrap();
    assert_eq!(names(&created), ["create table member", "create table post", "create table comment"]);
    let dropped = diff(&three, &Schema::default(), &RenameHints::default()).unwrap();
    assert_eq!(names(&dropped), ["drop table comment", "drop table post", "drop table member"]);
}

#[test]
fn renames_come_only_from_hints() {
    let base = blog();
    let mut renamed = base.clone();
    let p = renamed.table_mut("post").unwrap();
    p.name = "article".into();
    p.columns[1].name = "heading".into();
    p.unique_keys[0] = UniqueKey { name: "uq_article__heading".into(), columns: vec!["heading".into()] };
    p.indexes[0].name = "idx_article__author".into();
    p.foreign_keys[0].name = "fk_article__author".into();
    let describe = |ops: Vec<Operation>| ops.iter().map(Operation::describe).collect::<Vec<_>>();

    let guessed = describe(diff(&base, &renamed, &RenameHints::default()).unwrap());
    assert!(guessed.contains(&"drop table post".to_owned()) && guessed.contains(&"create table article".to_owned()));

    let mut hints = RenameHints::default();
    hints.rename_table("post", "article");
    hints.rename_column("article", "title", "heading");
    let ops = diff(&base, &renamed, &hints).unwrap();
    assert_eq!(
        describe(ops.clone()),
        [
            "rename table post to article",
            "rename column article.title to heading",
            "drop foreign key fk_post__author on article",
            "add unique key uq_article__heading on article",
            "add index idx_article__author on article",
            "drop unique key uq_post__title on article",
            "drop index idx_post__author on article",
            "add foreign key fk_article__author on article",
        ]
    );
    assert_eq!(apply_all(&base, &ops).normalized(), renamed.normalized());
    // A hint whose old name is gone (its migration was made) does nothing.
    assert!(diff(&renamed, &renamed, &hints).unwrap().is_empty());
}

#[test]
fn a_required_column_without_default_is_refused() {
    let base = blog();
    let mut to = base.clone();
    to.table_mut("post").unwrap().columns.push(col("rating", DataType::Int));
    let e = diff(&base, &to, &RenameHints::default()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Mapping);
    let message = e.to_string();
    for needle in ["post.rating", "#[orm(sql_default = \"...\")]", "Option<T>"] {
        assert!(message.contains(needle), "{message}");
    }
    // With a default, or nullable, it is added.
    to.table_mut("post").unwrap().columns.last_mut().unwrap().default = Some("0".into());
    assert!(diff(&base, &to, &RenameHints::default()).is_ok());
    // A new key is refused too: migrations do not change primary keys.
    let mut rekeyed = base.clone();
    rekeyed.table_mut("post").unwrap().primary_key = vec!["id".into(), "score".into()];
    assert_eq!(diff(&base, &rekeyed, &RenameHints::default()).unwrap_err().kind(), ErrorKind::Unsupported);
}

/// Version 1 and version 2 of an application's entities.
mod v1 {
    use nextorm::{Set, Single};

    #[derive(nextorm::Entity)]
    pub(super) struct Author {
        pub(super) id: i64,
        #[orm(max_len = 40)]
        pub(super) name: String,
        pub(super) books: Set<Book>,
    }

    #[derive(nextorm::Entity)]
    pub(super) struct Book {
        pub(super) id: i64,
        #[orm(max_len = 80)]
        pub(super) title: String,
        pub(super) pages: i32,
        pub(super) author: Single<Author>,
        pub(super) tags: Set<Tag>,
    }

    #[derive(nextorm::Entity)]
    pub(super) struct Tag {
        pub(super) id: i64,
        #[orm(max_len = 20)]
        pub(super) label: String,
        pub(super) books: Set<Book>,
    }
}

mod v2 {
    use nextorm::{Set, Single};

    /// `author` renamed `writer`.
    #[derive(nextorm::Entity)]
    #[orm(renamed_from = "author")]
    pub(super) struct Writer {
        pub(super) id: i64,
        #[orm(max_len = 40)]
        pub(super) name: String,
        pub(super) books: Set<Book>,
    }

    /// `title` renamed `heading`, `pages` widened, `rating` added with a default, an index.
    #[derive(nextorm::Entity)]
    pub(super) struct Book {
        pub(super) id: i64,
        #[orm(max_len = 80, renamed_from = "title")]
        pub(super) heading: String,
        pub(super) pages: i64,
        #[orm(sql_default = "0", index)]
        pub(super) rating: i32,
        #[orm(renamed_from = "author")]
        pub(super) writer: Single<Writer>,
        pub(super) tags: Set<Label>,
    }

    /// `tag` renamed `label`: the join table `book_tag` becomes `book_label`.
    #[derive(nextorm::Entity)]
    #[orm(renamed_from = "tag")]
    pub(super) struct Label {
        pub(super) id: i64,
        #[orm(max_len = 20)]
        pub(super) label: String,
        pub(super) books: Set<Book>,
    }
}

fn v1_entities() -> Vec<&'static nextorm::EntityMeta> {
    vec![v1::Author::meta(), v1::Book::meta(), v1::Tag::meta()]
}

fn v2_entities() -> Vec<&'static nextorm::EntityMeta> {
    vec![v2::Writer::meta(), v2::Book::meta(), v2::Label::meta()]
}

#[test]
fn entity_hints_rename_tables_columns_and_join_tables() {
    let before = Schema::from_entities(&v1_entities()).unwrap();
    let after = Schema::from_entities(&v2_entities()).unwrap();
    let hints = RenameHints::from_entities(&v2_entities());
    let ops = diff(&before, &after, &hints).unwrap();
    let described: Vec<String> = ops.iter().map(Operation::describe).collect();
    for expected in [
        "rename table author to writer",
        "rename table book_tag to book_label",
        "rename table tag to label",
        "rename column book.title to heading",
        "rename column book.author to writer",
        "rename column book_label.tag_id to label_id",
        "alter column book.pages",
        "add column book.rating",
        "add index idx_book__rating on book",
    ] {
        assert!(described.contains(&expected.to_owned()), "{expected} not in {described:#?}");
    }
    assert!(!described.iter().any(|d| d.starts_with("drop table") || d.starts_with("create table")), "{described:#?}");
    assert_eq!(apply_all(&before, &ops).normalized(), after.normalized());
    assert_eq!(undo_all(&apply_all(&before, &ops), &ops).normalized(), before.normalized());
}

#[test]
fn files_round_trip_with_a_stable_checksum() {
    let m = Migration::new(2, "every_operation", Some("one of each".into()), every_operation()).unwrap();
    let text = m.to_toml().unwrap();
    assert_eq!(m.to_toml().unwrap(), text);
    let read = Migration::parse("0002_every_operation.toml", &text).unwrap();
    assert_eq!(read, m);
    assert_eq!(read.checksum(), m.checksum());
    assert_eq!(read.checksum().len(), 64);
    let edited = Migration::parse("0002_every_operation.toml", &text.replace("one of each", "one of every")).unwrap();
    assert_ne!(edited.checksum(), m.checksum());
    assert_eq!(m.id(), "0002_every_operation");

    let schema = Schema::from_entities(&v2_entities()).unwrap();
    assert_eq!(Schema::parse_snapshot(&schema.to_snapshot().unwrap()).unwrap(), schema);
}

#[test]
fn bad_files_are_configuration_errors_naming_the_file_and_line() {
    let file = |name: &str, body: &str| Migration::parse(name, &format!("nextorm = 1\nname = \"0003_x\"\n{body}"));
    let cases = [
        file("0003_x.toml", "[[operation]]\nop = \"add_colum\"\ntable = \"t\"\n"),
        file("0003_x.toml", "[[operation]]\nop = \"add_column\"\ntable = \"t\"\n"),
        file("0003_x.toml", "[[operation]]\nop = \"drop_index\"\ntable = \"t\"\nbogus = 1\n"),
        file("0004_x.toml", ""),
        file("x.toml", ""),
        file("0003_X.toml", ""),
        Migration::parse("0003_x.toml", "nextorm = 9\nname = \"0003_x\"\n"),
    ];
    let wanted = [
        "unknown variant `add_colum`",
        "missing field `column`",
        "unknown field `bogus`",
        "the header names the migration `0003_x` but the file is `0004_x`",
        "expected a migration file named like 0002_add_post_rating.toml",
        "must be lowercase letters",
        "format version 9",
    ];
    for (result, wanted) in cases.into_iter().zip(wanted) {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        let message = e.to_string();
        assert!(message.contains(wanted), "{message}");
        assert!(message.contains(".toml"), "{message}");
    }
    let line = file("0003_x.toml", "[[operation]]\nop = \"add_colum\"\n").unwrap_err().to_string();
    assert!(line.contains("line 4"), "{line}");

    let one = Migration::new(1, "a", None, Vec::new()).unwrap();
    let three = Migration::new(3, "c", None, Vec::new()).unwrap();
    let e = Migrations::new(vec![one.clone(), three]).unwrap_err();
    assert!(e.to_string().contains("number 0002 is missing"), "{e}");
    let e = Migrations::new(vec![one.clone(), Migration::new(1, "b", None, Vec::new()).unwrap()]).unwrap_err();
    assert!(e.to_string().contains("0001_a.toml and 0001_b.toml have the same number"), "{e}");
}

/// The files `makemigrations` writes for v1 then v2, as (file name, text), and the snapshot.
fn two_migrations() -> (Vec<(String, String)>, Schema) {
    let mut files = Vec::new();
    let mut snapshot = Schema::default();
    for entities in [v1_entities(), v2_entities()] {
        let set = Migrations::parse(files.iter().map(|(n, t): &(String, String)| (n.as_str(), t.as_str()))).unwrap();
        set.check_snapshot(&snapshot).unwrap();
        let target = Schema::from_entities(&entities).unwrap();
        let made = set.make(&snapshot, &target, &RenameHints::from_entities(&entities), None).unwrap().unwrap();
        files.push((made.migration.file_name(), made.migration.to_toml().unwrap()));
        snapshot = made.snapshot;
        assert!(set.make(&snapshot, &target, &RenameHints::from_entities(&entities), None).unwrap().is_none());
    }
    (files, snapshot)
}

#[test]
fn replaying_the_files_gives_the_snapshot_and_an_edit_is_named() {
    let (files, snapshot) = two_migrations();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["0001_initial.toml", "0002_rename_author_writer_and_more.toml"]);
    let set = Migrations::parse(files.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap();
    assert_eq!(set.schema().unwrap(), snapshot);
    set.check_snapshot(&Schema::parse_snapshot(&snapshot.to_snapshot().unwrap()).unwrap()).unwrap();

    let mut edited = files.clone();
    edited[1].1 = edited[1].1.replacen("type = \"bigint\"", "type = \"int\"", 1);
    let set = Migrations::parse(edited.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap();
    let e = set.check_snapshot(&snapshot).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let message = e.to_string();
    assert!(
        message.contains("table `book`") && message.contains("0002_rename_author_writer_and_more.toml"),
        "{message}"
    );
}

/// Runs a plan on SQLite the way the runner will: foreign keys off around the transaction when
/// it rebuilds a table, and checked before the commit.
fn run_on_sqlite(db: &rusqlite::Connection, plan: &Plan) {
    if plan.foreign_keys_off {
        db.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    }
    db.execute_batch("BEGIN").unwrap();
    for step in &plan.steps {
        for sql in &step.statements {
            db.execute_batch(sql).unwrap_or_else(|e| panic!("{}: {sql}: {e}", step.description));
        }
    }
    let violations: i64 = db.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(violations, 0);
    db.execute_batch("COMMIT; PRAGMA foreign_keys = ON").unwrap();
}

fn rows(db: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = db.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        Ok((0..n)
            .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
            .collect::<Vec<_>>()
            .join(","))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

#[test]
fn sqlite_applies_both_migrations_and_back_keeping_the_rows() {
    let (files, _) = two_migrations();
    let set = Migrations::parse(files.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap();
    let db = rusqlite::Connection::open_in_memory().unwrap();
    db.execute_batch("PRAGMA foreign_keys = ON").unwrap();
    run_on_sqlite(&db, &set.plan(1, Direction::Forwards, Dialect::Sqlite).unwrap());
    db.execute_batch(
        "INSERT INTO author (id, name) VALUES (1, 'Ann'), (2, 'Bo');
         INSERT INTO book (id, title, pages, author) VALUES (10, 'Dune', 412, 1), (11, 'Emma', 300, 2);
         INSERT INTO tag (id, label) VALUES (5, 'classic');
         INSERT INTO book_tag (book_id, tag_id) VALUES (10, 5), (11, 5);",
    )
    .unwrap();

    let forwards = set.plan(2, Direction::Forwards, Dialect::Sqlite).unwrap();
    assert!(forwards.foreign_keys_off && forwards.lossy.is_empty());
    run_on_sqlite(&db, &forwards);
    assert_eq!(
        rows(&db, "SELECT id, heading, pages, rating, writer FROM book ORDER BY id"),
        [
            "Integer(10),Text(\"Dune\"),Integer(412),Integer(0),Integer(1)",
            "Integer(11),Text(\"Emma\"),Integer(300),Integer(0),Integer(2)"
        ]
    );
    assert_eq!(rows(&db, "SELECT book_id, label_id FROM book_label ORDER BY book_id").len(), 2);
    // The foreign keys still hold: deleting a writer deletes their book and its pairs.
    db.execute_batch("DELETE FROM writer WHERE id = 2").unwrap();
    assert_eq!(rows(&db, "SELECT book_id FROM book_label"), ["Integer(10)"]);

    let backwards = set.plan(2, Direction::Backwards, Dialect::Sqlite).unwrap();
    run_on_sqlite(&db, &backwards);
    assert_eq!(
        rows(&db, "SELECT id, title, pages, author FROM book"),
        ["Integer(10),Text(\"Dune\"),Integer(412),Integer(1)"]
    );
    assert_eq!(rows(&db, "SELECT book_id, tag_id FROM book_tag"), ["Integer(10),Integer(5)"]);
    run_on_sqlite(&db, &forwards);
    assert_eq!(rows(&db, "SELECT heading FROM book"), ["Text(\"Dune\")"]);
    let indexes = rows(
        &db,
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'book' AND sql IS NOT NULL ORDER BY name",
    );
    assert_eq!(indexes, ["Text(\"idx_book__rating\")", "Text(\"idx_book__writer\")"]);
}

#[test]
fn every_operation_runs_on_sqlite_both_ways() {
    let initial =
        Migration::new(1, "initial", None, diff(&Schema::default(), &blog(), &RenameHints::default()).unwrap())
            .unwrap();
    for op in every_operation().into_iter().filter(|o| !matches!(o, Operation::RawSql(_))) {
        let second = Migration::new(2, "one", None, vec![op.clone()]).unwrap();
        let set = Migrations::new(vec![initial.clone(), second]).unwrap();
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        run_on_sqlite(&db, &set.plan(1, Direction::Forwards, Dialect::Sqlite).unwrap());
        db.execute_batch("INSERT INTO member (id, name) VALUES (1, 'Ann'); INSERT INTO post VALUES (1, 'Hi', 3, 1)")
            .unwrap();
        run_on_sqlite(&db, &set.plan(2, Direction::Forwards, Dialect::Sqlite).unwrap());
        let back = set.plan(2, Direction::Backwards, Dialect::Sqlite).unwrap();
        assert_eq!(back.lossy.is_empty(), !op.is_lossy());
        run_on_sqlite(&db, &back);
        let posts = rows(&db, "SELECT id FROM post");
        assert_eq!(posts.is_empty(), matches!(op, Operation::DropTable { .. }), "{}", op.describe());
    }
}

/// Each operation's plan on every dialect, under a `## description` heading.
fn sql_side_by_side(schema: &Schema, ops: &[Operation]) -> String {
    let mut out = String::new();
    for op in ops {
        out.push_str(&format!("## {}\n", op.describe()));
        for d in Dialect::ALL {
            let p = plan(schema, std::slice::from_ref(op), d).unwrap_or_else(|e| panic!("{}: {e}", op.describe()));
            let statements: Vec<&str> = p.steps.iter().flat_map(|s| s.statements.iter().map(String::as_str)).collect();
            let off = if p.foreign_keys_off { " (foreign keys off)" } else { "" };
            if statements.is_empty() {
                out.push_str(&format!("-- {}: nothing\n", d.name()));
            } else {
                out.push_str(&format!("-- {}{off}\n{};\n", d.name(), statements.join(";\n")));
            }
        }
        out.push('\n');
    }
    out
}

/// [`blog`] with an enum column, whose `CHECK` PostgreSQL names after the table and column.
fn blog_with_status() -> Schema {
    let mut s = blog();
    let status = DataType::TextEnum(vec!["active".into(), "gone".into()]);
    s.table_mut("member").unwrap().columns.push(Column { default: Some("'active'".into()), ..col("status", status) });
    s
}

#[test]
fn sql_of_every_operation() {
    let schema = blog_with_status();
    let mut ops = every_operation();
    let status = |values: &[&str], nullable: bool| Column {
        nullable,
        default: Some("'active'".into()),
        ..col("status", DataType::TextEnum(values.iter().map(|v| (*v).to_owned()).collect()))
    };
    ops.extend([
        Operation::AlterColumn {
            table: "member".into(),
            from: status(&["active", "gone"], false),
            to: status(&["active", "gone", "banned"], true),
        },
        Operation::AlterColumn {
            table: "post".into(),
            from: col("score", DataType::Int),
            to: Column { default: Some("0".into()), ..col("score", DataType::Int) },
        },
        Operation::AlterColumn {
            table: "post".into(),
            from: text("title", 80),
            to: nullable(col("title", DataType::Text)),
        },
        Operation::RenameColumn { table: "member".into(), from: "status".into(), to: "state".into() },
        Operation::AddColumn {
            table: "post".into(),
            column: Column { default: Some("CURRENT_TIMESTAMP".into()), ..col("created", DataType::DateTime) },
        },
    ]);
    insta::assert_snapshot!(sql_side_by_side(&schema, &ops));
}

#[test]
fn sql_of_a_sqlite_rebuild_with_a_rename_inside() {
    let schema = blog();
    let ops = vec![
        Operation::RenameColumn { table: "post".into(), from: "title".into(), to: "heading".into() },
        Operation::DropUnique {
            table: "post".into(),
            unique: UniqueKey { name: "uq_post__title".into(), columns: vec!["heading".into()] },
        },
        Operation::AlterColumn {
            table: "post".into(),
            from: col("score", DataType::Int),
            to: col("score", DataType::BigInt),
        },
        Operation::DropIndex { table: "post".into(), index: index("post", "score") },
        Operation::DropColumn { table: "post".into(), column: col("score", DataType::BigInt) },
    ];
    let p = plan(&schema, &ops, Dialect::Sqlite).unwrap();
    assert_eq!(p.steps.len(), 1);
    insta::assert_snapshot!(format!("-- {}\n{};", p.steps[0].description, p.steps[0].statements.join(";\n")));
}

/// A column with `min`, `max` and a raw `check`, as `#[orm(min = 0, max = 100, check = "...")]`.
fn checked(c: Column, sql: Option<&str>, min: Option<&str>, max: Option<&str>) -> Column {
    let checks = ColumnChecks { sql: sql.map(str::to_owned), min: min.map(str::to_owned), max: max.map(str::to_owned) };
    Column { checks, ..c }
}

#[test]
fn a_changed_check_is_an_altered_column() {
    let before = blog();
    let mut after = blog();
    let score = after.table_mut("post").unwrap().columns.iter_mut().find(|c| c.name == "score").unwrap();
    *score = checked(score.clone(), None, Some("0"), None);
    let ops = diff(&before, &after, &RenameHints::default()).unwrap();
    assert_eq!(
        ops,
        vec![Operation::AlterColumn {
            table: "post".into(),
            from: col("score", DataType::Int),
            to: checked(col("score", DataType::Int), None, Some("0"), None),
        }]
    );
    assert_eq!(undo_all(&apply_all(&before, &ops), &ops), before);
}

#[test]
fn sql_of_checks_and_sql_types() {
    let schema = blog();
    let score = col("score", DataType::Int);
    let ops = vec![
        Operation::AlterColumn {
            table: "post".into(),
            from: score.clone(),
            to: checked(score.clone(), Some("score % 5 = 0"), Some("0"), Some("100")),
        },
        Operation::AddColumn {
            table: "post".into(),
            column: Column {
                sql_type: Some("CHAR(7)".into()),
                ..checked(nullable(col("color", DataType::Text)), Some("color LIKE '#%'"), None, None)
            },
        },
        Operation::AlterColumn {
            table: "member".into(),
            from: text("name", 40),
            to: Column { sql_type: Some("VARCHAR(60)".into()), ..text("name", 40) },
        },
    ];
    let mut checked_schema = blog();
    let with_min = checked(score.clone(), None, Some("0"), None);
    *checked_schema.table_mut("post").unwrap().columns.iter_mut().find(|c| c.name == "score").unwrap() =
        with_min.clone();
    let dropped = [Operation::AlterColumn { table: "post".into(), from: with_min, to: score }];
    insta::assert_snapshot!(sql_side_by_side(&schema, &ops) + &sql_side_by_side(&checked_schema, &dropped));
}

#[test]
fn checks_and_sql_types_survive_a_migration_file() {
    let column = Column {
        sql_type: Some("VARCHAR(60)".into()),
        ..checked(col("score", DataType::Double), Some("score <> 13"), Some("-1.5"), Some("99"))
    };
    let text = toml::to_string(&column).unwrap();
    assert!(text.contains("min = \"-1.5\"") && text.contains("sql_type = \"VARCHAR(60)\""), "{text}");
    assert_eq!(toml::from_str::<Column>(&text).unwrap(), column);
}

/// A table's own check: in the `CREATE TABLE` of a mapping and of a migration, added and
/// dropped by name with `ALTER TABLE` on PostgreSQL and MariaDB, by a rebuild on SQLite; the
/// entities' `#[orm(check = "...")]` reaches the model named after the table and condition.
#[test]
fn table_checks_are_created_added_and_dropped() {
    let base = blog();
    let mut checked = base.clone();
    post(&mut checked).checks.push(score_check());
    let ops = diff(&base, &checked, &RenameHints::default()).unwrap();
    assert_eq!(ops, vec![Operation::AddCheck { table: "post".into(), check: score_check() }]);
    let step = |dialect| plan(&base, &ops, dialect).unwrap().steps.concat_statements();
    assert_eq!(
        step(Dialect::Postgres),
        [r#"ALTER TABLE "post" ADD CONSTRAINT "ck_post__score" CHECK (score >= 0 OR title <> '')"#]
    );
    assert_eq!(
        step(Dialect::MariaDb),
        ["ALTER TABLE `post` ADD CONSTRAINT `ck_post__score` CHECK (score >= 0 OR title <> '')"]
    );
    let sqlite = step(Dialect::Sqlite);
    assert!(sqlite[0].starts_with(r#"CREATE TABLE "_new_post""#), "{sqlite:?}");
    assert!(sqlite[0].contains(r#"CONSTRAINT "ck_post__score" CHECK (score >= 0 OR title <> '')"#), "{sqlite:?}");
    let back = plan(&checked, &[ops[0].inverse()], Dialect::Postgres).unwrap().steps.concat_statements();
    assert_eq!(back, [r#"ALTER TABLE "post" DROP CONSTRAINT "ck_post__score""#]);
    let back = plan(&checked, &[ops[0].inverse()], Dialect::MariaDb).unwrap().steps.concat_statements();
    assert_eq!(back, ["ALTER TABLE `post` DROP CONSTRAINT `ck_post__score`"]);

    // A migration file spells it `[[table.check]]` / `op = "add_check"`, and SQLite enforces it.
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let create = Operation::CreateTable { table: checked.table("member").unwrap().clone() };
    run_on_sqlite(&db, &plan(&Schema::default(), &[create], Dialect::Sqlite).unwrap());
    let create = Operation::CreateTable { table: checked.table("post").unwrap().clone() };
    run_on_sqlite(&db, &plan(&Schema::default(), &[create], Dialect::Sqlite).unwrap());
    db.execute_batch("INSERT INTO member (id, name) VALUES (1, 'Ann'); INSERT INTO post (id, title, score, author) VALUES (1, 'a', 5, 1)").unwrap();
    let refused = db.execute_batch("INSERT INTO post (id, title, score, author) VALUES (2, '', -1, 1)");
    assert!(refused.unwrap_err().to_string().contains("CHECK constraint failed"));

    #[derive(Entity)]
    #[orm(check = "lo <= hi", check = "hi - lo < 10")]
    struct Span {
        #[pk]
        id: i64,
        lo: i32,
        hi: i32,
    }
    let model = Schema::from_entities(&[Span::meta()]).unwrap();
    let checks = &model.table("span").unwrap().checks;
    assert_eq!(checks.iter().map(|c| c.sql.as_str()).collect::<Vec<_>>(), ["lo <= hi", "hi - lo < 10"]);
    assert!(
        checks.iter().all(|c| c.name.starts_with("ck_span__") && c.name.len() == "ck_span__".len() + 8),
        "{checks:?}"
    );
    assert_ne!(checks[0].name, checks[1].name);
    let text = toml::to_string(&model).unwrap();
    assert!(text.contains("[[table.check]]"), "{text}");
}

trait ConcatStatements {
    fn concat_statements(&self) -> Vec<String>;
}

impl ConcatStatements for Vec<Step> {
    fn concat_statements(&self) -> Vec<String> {
        self.iter().flat_map(|s| s.statements.clone()).collect()
    }
}

/// `lazy` and `volatile` are runtime options: the schema model, and so the DDL and every
/// migration, is the same as without them.
#[test]
fn lazy_and_volatile_leave_the_schema_unchanged() {
    mod with {
        #[derive(nextorm::Entity)]
        #[orm(table = "doc")]
        pub(super) struct Doc {
            id: i64,
            #[orm(lazy)]
            body: String,
            #[orm(volatile)]
            revision: i64,
        }
    }
    mod without {
        #[derive(nextorm::Entity)]
        #[orm(table = "doc")]
        pub(super) struct Doc {
            id: i64,
            body: String,
            revision: i64,
        }
    }
    let a = Schema::from_entities(&[with::Doc::meta()]).unwrap();
    let b = Schema::from_entities(&[without::Doc::meta()]).unwrap();
    assert_eq!(a, b);
    assert!(diff(&a, &b, &RenameHints::default()).unwrap().is_empty());
}
