//! Reading a live schema and comparing it with the entities, without a database: each dialect's
//! type spellings read back, catalog rows made into the model, and the lines of the comparison.

use nextorm_core::ast::OnDelete;
use nextorm_core::migrate::{
    CatalogRow, CatalogRows, Column, ForeignKey, LiveSchema, Schema, Table, Unmapped, read_type, schema_differences,
};
use nextorm_core::{DataType, Dialect, ErrorKind};

/// A column type: `(ty, max_len, decimal)`.
type Typed = (DataType, Option<u32>, Option<(u32, u32)>);

/// The column type of a spelling, or `None`.
fn read(dialect: Dialect, spelling: &str) -> Option<Typed> {
    read_type(dialect, spelling).map(|t| (t.ty, t.max_len, t.decimal))
}

/// Every type nextorm writes, with a length or precision where it takes one.
fn every_type() -> Vec<Typed> {
    use DataType as T;
    let plain = [
        T::Bool,
        T::SmallInt,
        T::Int,
        T::BigInt,
        T::Real,
        T::Double,
        T::Text,
        T::Bytes,
        T::Decimal,
        T::Date,
        T::DateTime,
        T::Timestamp,
        T::Uuid,
        T::Json,
        T::TextEnum(vec!["draft".into(), "live".into()]),
        T::IntEnum(vec![1, 5]),
    ];
    let mut out: Vec<_> = plain.into_iter().map(|t| (t, None, None)).collect();
    out.push((T::Text, Some(40), None));
    out.push((T::TextEnum(vec!["a".into()]), Some(12), None));
    out.push((T::Decimal, None, Some((10, 2))));
    out
}

/// How the catalog spells a DDL type nextorm wrote: SQLite keeps the declared type as written;
/// `format_type` and `COLUMN_TYPE` have their own words.
fn reported(dialect: Dialect, ddl: &str) -> String {
    let known: &[(&str, &str)] = match dialect {
        Dialect::Sqlite => &[],
        Dialect::Postgres => &[
            ("BOOLEAN", "boolean"),
            ("SMALLINT", "smallint"),
            ("INTEGER", "integer"),
            ("BIGINT", "bigint"),
            ("REAL", "real"),
            ("DOUBLE PRECISION", "double precision"),
            ("TEXT", "text"),
            ("BYTEA", "bytea"),
            ("NUMERIC", "numeric"),
            ("NUMERIC(10, 2)", "numeric(10,2)"),
            ("DATE", "date"),
            ("TIMESTAMP", "timestamp without time zone"),
            ("TIMESTAMPTZ", "timestamp with time zone"),
            ("UUID", "uuid"),
            ("JSONB", "jsonb"),
        ],
        Dialect::MariaDb => &[
            ("BOOLEAN", "tinyint(1)"),
            ("SMALLINT", "smallint(6)"),
            ("INTEGER", "int(11)"),
            ("BIGINT", "bigint(20)"),
            ("FLOAT", "float"),
            ("DOUBLE", "double"),
            ("LONGTEXT", "longtext"),
            ("LONGBLOB", "longblob"),
            ("DECIMAL(65, 28)", "decimal(65,28)"),
            ("DECIMAL(10, 2)", "decimal(10,2)"),
            ("DATE", "date"),
            ("DATETIME(6)", "datetime(6)"),
            ("CHAR(36)", "char(36)"),
            // MariaDB stores JSON as LONGTEXT; the catalog query tells it by its json_valid check.
            ("JSON", "json"),
        ],
    };
    if let Some(n) = ddl.strip_prefix("VARCHAR(") {
        return match dialect {
            Dialect::Postgres => format!("character varying({n}"),
            _ => ddl.to_lowercase(),
        };
    }
    match known.iter().find(|(d, _)| *d == ddl) {
        Some((_, spelled)) => (*spelled).to_owned(),
        None => {
            assert_eq!(dialect, Dialect::Sqlite, "no catalog spelling of {ddl} on {dialect:?}");
            ddl.to_owned()
        }
    }
}

#[test]
fn every_type_nextorm_writes_reads_back_as_the_same_ddl_type() {
    for dialect in Dialect::ALL {
        for (ty, max_len, decimal) in every_type() {
            let ddl = dialect.ddl_type(&ty, max_len, decimal);
            let spelled = reported(dialect, &ddl);
            let Some((back, back_len, back_decimal)) = read(dialect, &spelled) else {
                panic!("{dialect:?}: `{spelled}` (for {ty:?}) does not read back");
            };
            assert_eq!(dialect.ddl_type(&back, back_len, back_decimal), ddl, "{dialect:?}: {ty:?} as `{spelled}`");
        }
    }
}

#[test]
fn sqlite_reads_declared_types_by_their_affinity() {
    let s = Dialect::Sqlite;
    assert_eq!(read(s, "INTEGER"), Some((DataType::BigInt, None, None)));
    assert_eq!(read(s, "bigint"), Some((DataType::BigInt, None, None)));
    assert_eq!(read(s, "VARCHAR(64)"), Some((DataType::Text, Some(64), None)));
    assert_eq!(read(s, "  varchar ( 64 ) "), Some((DataType::Text, Some(64), None)));
    assert_eq!(read(s, "REAL"), Some((DataType::Double, None, None)));
    assert_eq!(read(s, "BOOLEAN"), Some((DataType::Bool, None, None)));
    // Decimals are TEXT on SQLite: a NUMERIC column is not what nextorm writes.
    assert_eq!(read(s, "NUMERIC(10,2)"), None);
    assert_eq!(read(s, ""), None);
    assert_eq!(read(s, "CHAR(3)"), None);
}

#[test]
fn postgres_reads_format_type_spellings() {
    let p = Dialect::Postgres;
    assert_eq!(read(p, "character varying(100)"), Some((DataType::Text, Some(100), None)));
    assert_eq!(read(p, "character varying"), Some((DataType::Text, None, None)));
    assert_eq!(read(p, "numeric(10,2)"), Some((DataType::Decimal, None, Some((10, 2)))));
    assert_eq!(read(p, "timestamp with time zone"), Some((DataType::Timestamp, None, None)));
    assert_eq!(read(p, "json"), None, "nextorm writes JSONB");
    assert_eq!(read(p, "character(3)"), None);
    assert_eq!(read(p, "timestamp(3) without time zone"), None);
}

#[test]
fn mariadb_reads_column_type_spellings() {
    let m = Dialect::MariaDb;
    assert_eq!(read(m, "tinyint(1)"), Some((DataType::Bool, None, None)));
    assert_eq!(read(m, "tinyint(4)"), None);
    assert_eq!(read(m, "int"), Some((DataType::Int, None, None)), "newer servers drop the display width");
    assert_eq!(read(m, "bigint(20) unsigned"), None);
    assert_eq!(read(m, "varchar(40)"), Some((DataType::Text, Some(40), None)));
    assert_eq!(read(m, "char(36)"), Some((DataType::Uuid, None, None)));
    assert_eq!(read(m, "mediumtext"), None);
    assert_eq!(read(m, "datetime"), None, "nextorm keeps microseconds: datetime(6)");
}

fn row(cells: &[Option<&str>]) -> CatalogRow {
    cells.iter().map(|c| c.map(str::to_owned)).collect()
}

/// Rows as SQLite's catalog queries return them: `post` with an auto key, a `VARCHAR`, a column
/// of a type nextorm does not write, a unique key and an index; `vote` with a two-column key and
/// foreign keys whose referenced columns are left to the key (`NULL`), one with `SET DEFAULT`.
fn sqlite_rows() -> CatalogRows {
    let s = Some;
    CatalogRows {
        columns: vec![
            row(&[s("post"), s("id"), s("INTEGER"), s("0"), s("1"), None, s("1")]),
            row(&[s("post"), s("title"), s("VARCHAR(80)"), s("0"), s("0"), None, s("0")]),
            row(&[s("post"), s("odd"), s("CHAR(3)"), s("1"), s("0"), s("'x'"), s("0")]),
            row(&[s("vote"), s("voter"), s("INTEGER"), s("0"), s("0"), None, s("2")]),
            row(&[s("vote"), s("post"), s("INTEGER"), s("0"), s("0"), None, s("1")]),
        ],
        indexes: vec![
            row(&[s("post"), s("sqlite_autoindex_post_1"), s("1"), s("title")]),
            row(&[s("vote"), s("idx_vote__voter"), s("0"), s("voter")]),
        ],
        foreign_keys: vec![
            row(&[s("vote"), s("0"), None, s("post"), s("post"), None, s("CASCADE")]),
            row(&[s("vote"), s("1"), None, s("voter"), s("post"), s("id"), s("SET DEFAULT")]),
        ],
    }
}

#[test]
fn catalog_rows_become_the_model() {
    let live = LiveSchema::from_catalog(Dialect::Sqlite, &sqlite_rows()).unwrap();
    let post = live.schema.table("post").unwrap();
    assert_eq!(post.primary_key, ["id"]);
    let id = post.column("id").unwrap();
    assert!(id.auto_increment && !id.nullable && id.ty == DataType::BigInt);
    assert_eq!(post.column("title").unwrap().max_len, Some(80));
    assert!(post.column("odd").is_none(), "a type nextorm does not write is left out of the model");
    assert_eq!(post.unique_keys[0].columns, ["title"]);
    let vote = live.schema.table("vote").unwrap();
    assert_eq!(vote.primary_key, ["post", "voter"], "in key order, not column order");
    assert_eq!(vote.indexes[0].name, "idx_vote__voter");
    assert_eq!(vote.foreign_keys.len(), 1);
    let fk = &vote.foreign_keys[0];
    assert_eq!((fk.name.as_str(), fk.references.as_str()), ("", "post"));
    assert_eq!(fk.referenced_columns, ["id"], "the referenced key fills a NULL referenced column");
    assert_eq!(fk.on_delete, OnDelete::Cascade);
    assert_eq!(live.unmapped.len(), 2);
    assert!(
        matches!(&live.unmapped[0], Unmapped::ColumnType { column, spelling, .. } if column == "odd" && spelling == "CHAR(3)")
    );
    assert!(matches!(&live.unmapped[1], Unmapped::DeleteRule { rule, .. } if rule == "SET DEFAULT"));
}

#[test]
fn a_catalog_row_of_another_shape_is_an_internal_error() {
    let mut rows = sqlite_rows();
    rows.indexes[0].pop();
    let e = LiveSchema::from_catalog(Dialect::Sqlite, &rows).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal, "{e}");
    rows = sqlite_rows();
    rows.columns[0][3] = Some("yes".into());
    assert_eq!(LiveSchema::from_catalog(Dialect::Sqlite, &rows).unwrap_err().kind(), ErrorKind::Internal);
}

fn column(name: &str, ty: DataType) -> Column {
    Column::new(name, ty)
}

fn table(name: &str, key: &[&str], columns: Vec<Column>) -> Table {
    Table {
        name: name.into(),
        primary_key: key.iter().map(|k| (*k).to_owned()).collect(),
        columns,
        unique_keys: Vec::new(),
        indexes: Vec::new(),
        foreign_keys: Vec::new(),
        checks: Vec::new(),
    }
}

/// What the entities of `sqlite_rows` would be: `post.odd` a text, `vote`'s keys cascading.
fn entities() -> Schema {
    let mut post = table(
        "post",
        &["id"],
        vec![
            Column { auto_increment: true, ..column("id", DataType::BigInt) },
            Column { max_len: Some(80), ..column("title", DataType::Text) },
            Column { nullable: true, ..column("odd", DataType::Text) },
        ],
    );
    post.unique_keys
        .push(nextorm_core::migrate::UniqueKey { name: "uq_post__title".into(), columns: vec!["title".into()] });
    let mut vote =
        table("vote", &["post", "voter"], vec![column("post", DataType::Int), column("voter", DataType::SmallInt)]);
    vote.indexes.push(nextorm_core::migrate::Index { name: "idx_vote__voter".into(), columns: vec!["voter".into()] });
    for c in ["post", "voter"] {
        vote.foreign_keys.push(ForeignKey {
            name: format!("fk_vote__{c}"),
            columns: vec![c.into()],
            references: "post".into(),
            referenced_columns: vec!["id".into()],
            on_delete: OnDelete::Cascade,
        });
    }
    Schema { tables: vec![post, vote] }
}

#[test]
fn differences_compare_types_as_stored_and_keys_by_columns() {
    let live = LiveSchema::from_catalog(Dialect::Sqlite, &sqlite_rows()).unwrap();
    // Unique keys and foreign keys match by columns whatever their names; SMALLINT and INTEGER
    // are both INTEGER on SQLite.
    assert_eq!(
        schema_differences(Dialect::Sqlite, &entities(), &live),
        [
            "column `post.odd`: type TEXT in the entities, CHAR(3) in the database",
            "table `vote`: foreign key (voter) -> post (id): ON DELETE CASCADE in the entities, ON DELETE SET DEFAULT in the database",
        ]
    );
}

#[test]
fn differences_of_keys_nullability_and_auto_increment() {
    let live = LiveSchema::from_catalog(Dialect::Sqlite, &sqlite_rows()).unwrap();
    let mut expected = entities();
    let post = expected.table_mut("post").unwrap();
    post.column_mut("id").unwrap().auto_increment = false;
    post.column_mut("title").unwrap().nullable = true;
    let vote = expected.table_mut("vote").unwrap();
    vote.primary_key.reverse();
    vote.foreign_keys[0].on_delete = OnDelete::SetNull;
    vote.foreign_keys[1].references = "user".into();
    vote.indexes.clear();
    expected.tables.push(table("tag", &["id"], vec![column("id", DataType::BigInt)]));
    expected.table_mut("post").unwrap().columns.push(column("rating", DataType::Int));
    assert_eq!(
        schema_differences(Dialect::Sqlite, &expected, &live),
        [
            "column `post.id`: not auto-increment in the entities, auto-increment in the database",
            "column `post.title`: nullable in the entities, NOT NULL in the database",
            "column `post.odd`: type TEXT in the entities, CHAR(3) in the database",
            "table `post`: column `rating` is missing",
            "table `vote`: primary key (voter, post) in the entities, (post, voter) in the database",
            "table `vote`: index `idx_vote__voter` (voter) is extra",
            "table `vote`: foreign key (post) -> post (id): ON DELETE SET NULL in the entities, ON DELETE CASCADE in the database",
            "table `vote`: foreign key (voter) -> user (id) is missing",
            "table `vote`: foreign key (voter) -> post (id) is extra",
            "table `tag` is missing",
        ]
    );
}
