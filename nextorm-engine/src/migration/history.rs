//! The history table `nextorm_migrations`: one row per applied migration, with its checksum, and
//! on MariaDB (whose DDL commits as it goes) the steps done of a migration under way.
//!
//! ```text
//! CREATE TABLE IF NOT EXISTS "nextorm_migrations" ("name" VARCHAR(200) NOT NULL,
//!     "checksum" VARCHAR(64) NOT NULL, "state" VARCHAR(16) NOT NULL, "steps_done" INTEGER NOT NULL,
//!     "steps_total" INTEGER NOT NULL, "applied_at" TIMESTAMP NOT NULL, "duration_ms" BIGINT NOT NULL,
//!     PRIMARY KEY ("name"))
//! ```

use crate::driver::Conn;
use nextorm_core::ast::{ColumnDef, CreateTable, Delete, Expr, Insert, Name, Select, Statement, Update};
use nextorm_core::migrate::{Record, RecordState};
use nextorm_core::{ColumnType, Error, Result, Value, render};

const TABLE: &str = "nextorm_migrations";
const COLUMNS: [&str; 7] = ["name", "checksum", "state", "steps_done", "steps_total", "applied_at", "duration_ms"];

fn column(name: &'static str, ty: ColumnType, max_len: Option<u32>) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        ty: ty.into(),
        max_len,
        decimal: None,
        nullable: false,
        auto_increment: false,
        unique: false,
        sql_default: None,
        sql_type: None,
        checks: Default::default(),
    }
}

/// Creates the history table if it does not exist.
pub(crate) async fn ensure_table(conn: &mut Conn) -> Result<()> {
    let create = CreateTable {
        name: TABLE.into(),
        if_not_exists: true,
        columns: vec![
            column("name", ColumnType::Text, Some(200)),
            column("checksum", ColumnType::Text, Some(64)),
            column("state", ColumnType::Text, Some(16)),
            column("steps_done", ColumnType::Int, None),
            column("steps_total", ColumnType::Int, None),
            column("applied_at", ColumnType::Timestamp, None),
            column("duration_ms", ColumnType::BigInt, None),
        ],
        primary_key: vec!["name".into()],
        unique_keys: Vec::new(),
        foreign_keys: Vec::new(),
        checks: Vec::new(),
    };
    let sql = render(&Statement::CreateTable(create), conn.dialect());
    conn.batch(&sql.text).await
}

/// Every recorded migration, by name.
pub(crate) async fn read_all(conn: &mut Conn) -> Result<Vec<Record>> {
    read(conn, None).await
}

/// The record of one migration, if there is one.
pub(crate) async fn read_one(conn: &mut Conn, name: &str) -> Result<Option<Record>> {
    Ok(read(conn, Some(name)).await?.pop())
}

async fn read(conn: &mut Conn, name: Option<&str>) -> Result<Vec<Record>> {
    let filter = name.map(|n| Expr::column("name").eq(Expr::Value(Value::Text(n.to_owned()))));
    let mut select = Select::simple(TABLE, COLUMNS.iter().map(|c| Expr::column(*c)).collect(), filter);
    select.order_by = vec![nextorm_core::ast::OrderItem { expr: Expr::column("name"), desc: false, nullable: false }];
    let sql = render(&Statement::Select(select), conn.dialect());
    let mut out = Vec::new();
    conn.fetch_sql(&sql.text, &sql.binds, &mut |row| {
        let count =
            |i| usize::try_from(row.get_i64(i)?).map_err(|_| Error::decode(format!("a negative count in {TABLE}")));
        out.push(Record {
            name: row.get_string(0)?,
            checksum: row.get_string(1)?,
            state: RecordState::parse(&row.get_string(2)?)?,
            steps_done: count(3)?,
            steps_total: count(4)?,
            applied_at: row.get_timestamp(5)?,
            duration_ms: row.get_i64(6)?,
        });
        Ok(())
    })
    .await?;
    Ok(out)
}

fn int(n: usize) -> Expr {
    Expr::Value(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

fn text(s: &str) -> Expr {
    Expr::Value(Value::Text(s.to_owned()))
}

/// Records a migration: applied, or started on a dialect without transactional DDL.
pub(crate) async fn insert(conn: &mut Conn, record: &Record) -> Result<()> {
    let insert = Insert {
        table: TABLE.into(),
        columns: COLUMNS.iter().map(|c| Name::from(*c)).collect(),
        rows: vec![vec![
            text(&record.name),
            text(&record.checksum),
            text(record.state.as_str()),
            int(record.steps_done),
            int(record.steps_total),
            Expr::Value(Value::Timestamp(record.applied_at)),
            Expr::Value(Value::Int(record.duration_ms)),
        ]],
        returning: Vec::new(),
    };
    let sql = render(&Statement::Insert(insert), conn.dialect());
    conn.execute_sql(&sql.text, &sql.binds).await.map(drop)
}

/// Updates a migration's progress, state and duration.
pub(crate) async fn update(conn: &mut Conn, record: &Record) -> Result<()> {
    let update = Update {
        table: TABLE.into(),
        alias: None,
        set: vec![
            ("state".into(), text(record.state.as_str())),
            ("steps_done".into(), int(record.steps_done)),
            ("duration_ms".into(), Expr::Value(Value::Int(record.duration_ms))),
        ],
        filter: Some(Expr::column("name").eq(text(&record.name))),
    };
    let sql = render(&Statement::Update(update), conn.dialect());
    conn.execute_sql(&sql.text, &sql.binds).await.map(drop)
}

/// Removes a migration's record (it was reverted).
pub(crate) async fn delete(conn: &mut Conn, name: &str) -> Result<()> {
    let delete = Delete { table: TABLE.into(), alias: None, filter: Some(Expr::column("name").eq(text(name))) };
    let sql = render(&Statement::Delete(delete), conn.dialect());
    conn.execute_sql(&sql.text, &sql.binds).await.map(drop)
}
