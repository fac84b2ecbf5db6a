//! Rendering the AST to SQL for a dialect: the entry points. The walker (`render/walk.rs`) writes
//! the SQL common to the three dialects through one writer (`render/writer.rs`, which also hashes
//! a statement's shape for the statement cache) and asks the dialect's [`SqlDialect`]
//! implementation (`render/syntax.rs`) where one departs from it; `render/sqlite.rs`,
//! `render/postgres.rs` and `render/mariadb.rs` hold those departures and nothing else.

mod mariadb;
mod postgres;
mod sqlite;
mod syntax;
mod walk;
mod writer;

pub(crate) use writer::ShapeHasher;

use crate::ast::{Select, Statement};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::value::{ColumnType, DataType, Value};
use syntax::SqlDialect;
use writer::{Spelling, Writer};

/// Runs `$body` with `$d` naming the [`SqlDialect`] implementation of `$dialect`: the one place
/// the enum is matched to its implementation, so everything generic over the dialect is
/// resolved at compile time.
macro_rules! with_sql_dialect {
    ($dialect:expr, $d:ident => $body:expr) => {
        match $dialect {
            Dialect::Sqlite => {
                type $d = sqlite::Sqlite;
                $body
            }
            Dialect::Postgres => {
                type $d = postgres::Postgres;
                $body
            }
            Dialect::MariaDb => {
                type $d = mariadb::MariaDb;
                $body
            }
        }
    };
}

/// Rendered SQL: the text and the values bound to its placeholders, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    /// The statement text.
    pub text: String,
    /// Values captured from [`Expr::Value`](crate::ast::Expr::Value) nodes.
    pub binds: Vec<Value>,
    /// The number of placeholders in `text` (captured values and
    /// [`Expr::Param`](crate::ast::Expr::Param)s).
    pub placeholders: usize,
}

impl<D> From<Writer<'_, D>> for Sql {
    fn from(w: Writer<'_, D>) -> Sql {
        Sql { text: w.text, binds: w.binds, placeholders: w.placeholders }
    }
}

/// Renders a statement for a dialect.
///
/// ```
/// use nextorm_core::ast::*;
/// use nextorm_core::{render, Dialect, Value};
/// let stmt = Statement::Delete(Delete {
///     alias: None,
///     table: "order".into(),
///     filter: Some(Expr::column("id").eq(Expr::Value(Value::Int(7)))),
/// });
/// assert_eq!(render(&stmt, Dialect::Postgres).text, r#"DELETE FROM "order" WHERE "id" = $1"#);
/// assert_eq!(render(&stmt, Dialect::MariaDb).text, "DELETE FROM `order` WHERE `id` = ?");
/// ```
pub fn render(stmt: &Statement, dialect: Dialect) -> Sql {
    with_sql_dialect!(dialect, D => {
        let mut w = Writer::<D>::text(128);
        w.statement(stmt);
        w.into()
    })
}

/// Renders a query for a dialect.
pub fn render_select(select: &Select, dialect: Dialect) -> Sql {
    with_sql_dialect!(dialect, D => {
        let mut w = Writer::<D>::text(256);
        w.select(select);
        w.into()
    })
}

/// Walks a query as [`render_select`] would, but feeds the text it would write into `hasher`
/// instead of building it: the hash identifies the text, and the binds come out in order.
pub(crate) fn binds_and_shape(select: &Select, dialect: Dialect, hasher: &mut ShapeHasher) -> Vec<Value> {
    with_sql_dialect!(dialect, D => {
        let mut w = Writer::<D>::shape(hasher);
        w.select(select);
        w.binds
    })
}

/// What a dialect does, read from its implementation (`render/sqlite.rs`, `render/postgres.rs`,
/// `render/mariadb.rs`).
impl Dialect {
    /// The identifier quote character.
    pub fn quote_char(self) -> char {
        with_sql_dialect!(self, D => D::QUOTE)
    }

    /// The longest identifier the dialect keeps intact: PostgreSQL truncates past 63 bytes and
    /// MariaDB refuses past 64 characters. `None`: no practical limit.
    pub fn max_identifier_len(self) -> Option<usize> {
        with_sql_dialect!(self, D => D::MAX_IDENTIFIER_LEN)
    }

    /// The most bind parameters one statement may carry.
    pub fn max_binds(self) -> usize {
        with_sql_dialect!(self, D => D::MAX_BINDS)
    }

    /// Writes the placeholder of parameter `n` (1-based).
    pub fn write_placeholder(self, out: &mut String, n: usize) {
        with_sql_dialect!(self, D => D::write_placeholder(out, n))
    }

    /// Whether a one-row `INSERT` returns its generated key with `RETURNING` (PostgreSQL) rather
    /// than through the driver's last-insert id (SQLite, MariaDB). A multi-row `INSERT` returns
    /// its keys with `RETURNING` on all three (see [`crate::crud::insert_many`]).
    pub fn returns_key_with_returning(self) -> bool {
        with_sql_dialect!(self, D => D::RETURNS_KEY_WITH_RETURNING)
    }

    /// The statements that open a transaction, `SERIALIZABLE` if asked: `BEGIN` (`BEGIN
    /// IMMEDIATE` on SQLite, whose transactions are all serializable),
    /// `BEGIN ISOLATION LEVEL SERIALIZABLE` on PostgreSQL,
    /// `SET TRANSACTION ISOLATION LEVEL SERIALIZABLE` then `START TRANSACTION` on MariaDB.
    pub fn begin_statements(self, serializable: bool) -> &'static [&'static str] {
        if serializable {
            with_sql_dialect!(self, D => D::BEGIN_SERIALIZABLE)
        } else {
            with_sql_dialect!(self, D => D::BEGIN)
        }
    }

    /// Whether `$tag$ ... $tag$` quotes a string (PostgreSQL), so a `?` inside is no placeholder.
    pub(crate) fn has_dollar_quoted_strings(self) -> bool {
        with_sql_dialect!(self, D => D::DOLLAR_QUOTED_STRINGS)
    }

    /// Whether a key or index may be on text without a length limit (not on MariaDB).
    pub(crate) fn indexes_unbounded_text(self) -> bool {
        with_sql_dialect!(self, D => D::INDEXES_UNBOUNDED_TEXT)
    }

    /// Whether DDL runs inside a transaction and rolls back with it: PostgreSQL and SQLite yes;
    /// MariaDB commits each DDL statement on its own.
    pub fn transactional_ddl(self) -> bool {
        with_sql_dialect!(self, D => D::TRANSACTIONAL_DDL)
    }

    /// The statements that take and release the lock `migrate` holds on its connection, so that
    /// two processes never apply a migration twice. The first returns one row whose first column is
    /// 1 once the lock is taken:
    ///
    /// ```text
    /// PostgreSQL: SELECT 1 FROM pg_advisory_lock(1852797042, hashtext(current_schema()))
    /// MariaDB:    SELECT GET_LOCK(CONCAT('nextorm_migrate.', DATABASE()), 3600)
    /// SQLite:     none; each migration's `BEGIN EXCLUSIVE` is the lock
    /// ```
    pub fn migration_lock(self) -> Option<(&'static str, &'static str)> {
        with_sql_dialect!(self, D => D::MIGRATION_LOCK)
    }

    /// The statement that begins a migration's transaction: `BEGIN`, or `BEGIN EXCLUSIVE` on
    /// SQLite (no other connection reads or writes until it ends).
    pub fn migration_begin(self) -> &'static str {
        with_sql_dialect!(self, D => D::MIGRATION_BEGIN)
    }

    /// Around a migration that rebuilds tables (SQLite): the statement turning foreign-key
    /// enforcement off before its transaction, the one turning it on after, and the query run
    /// before `COMMIT` whose rows (table, rowid, parent table, key) are the foreign keys broken:
    ///
    /// ```text
    /// PRAGMA foreign_keys = OFF    PRAGMA foreign_keys = ON    PRAGMA foreign_key_check
    /// ```
    pub fn rebuild_foreign_keys(self) -> Option<[&'static str; 3]> {
        with_sql_dialect!(self, D => D::REBUILD_FOREIGN_KEYS)
    }

    /// Whether `ALTER TABLE` cannot change a column's type, nullability or default, nor add or
    /// drop constraints (SQLite), so that a migration rebuilds the table: a new table, the rows
    /// copied, the old one dropped, the new one renamed, the indexes made again.
    pub fn rebuilds_tables(self) -> bool {
        with_sql_dialect!(self, D => D::REBUILDS_TABLES)
    }

    /// The name the dialect gives the unnamed `CHECK` of enum column `column` of `table`, when
    /// it names it after them: PostgreSQL's `<table>_<column>_check`, which keeps its name when
    /// the table or column is renamed. `None` on SQLite and MariaDB.
    pub fn implicit_check_name(self, table: &str, column: &str) -> Option<String> {
        with_sql_dialect!(self, D => D::implicit_check_name(table, column))
    }

    /// Checks that an identifier can be used on this dialect: not empty, no NUL, within the
    /// length limit, and on MariaDB only characters of the Basic Multilingual Plane.
    pub fn check_identifier(self, ident: &str) -> Result<()> {
        if ident.is_empty() {
            return Err(Error::mapping("an SQL identifier cannot be empty"));
        }
        if ident.contains('\0') {
            return Err(Error::mapping(format!("the SQL identifier {ident:?} contains a NUL byte")));
        }
        let (len, unit) = with_sql_dialect!(self, D => D::identifier_len(ident));
        if let Some(max) = self.max_identifier_len()
            && len > max
        {
            return Err(Error::mapping(format!(
                "the identifier `{ident}` is {len} {unit} long; {} allows at most {max} and would not keep it intact",
                self.name()
            )));
        }
        with_sql_dialect!(self, D => D::check_identifier_chars(ident))
    }

    /// Writes `ident` quoted, doubling any quote character inside it.
    pub fn write_ident(self, out: &mut String, ident: &str) {
        with_sql_dialect!(self, D => D::write_ident(out, ident))
    }

    /// The quoted form of `ident`.
    pub fn quote(self, ident: &str) -> String {
        let mut s = String::with_capacity(ident.len() + 2);
        self.write_ident(&mut s, ident);
        s
    }

    /// The DDL type of a column.
    pub fn column_type(self, ty: ColumnType, max_len: Option<u32>, decimal: Option<(u32, u32)>) -> String {
        with_sql_dialect!(self, D => D::column_type(&DataType::from(ty), max_len, decimal))
    }

    /// The DDL type of a schema model's column: `VARCHAR(100)`, `NUMERIC(10, 2)` on PostgreSQL,
    /// `INTEGER` for every integer on SQLite. Two columns with the same DDL type are stored
    /// alike, which is how the live schema is compared with the entities.
    pub fn ddl_type(self, ty: &DataType, max_len: Option<u32>, decimal: Option<(u32, u32)>) -> String {
        with_sql_dialect!(self, D => D::column_type(ty, max_len, decimal))
    }

    /// Refuses a value this dialect would store unfaithfully: NaN on SQLite (it becomes NULL) and
    /// MariaDB (no NaN), a NUL byte in PostgreSQL text, a date outside the years 0 to 9999 on SQLite
    /// (its text would no longer sort as the date does).
    pub fn check_value(self, value: &Value) -> Result<()> {
        if let Value::Invalid(message) = value {
            return Err(Error::invalid_value(message.clone()));
        }
        with_sql_dialect!(self, D => D::check_value(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::*;
    use crate::value::{DataType, Kind};

    #[test]
    fn values_become_binds_and_placeholders_are_numbered() {
        let stmt = Statement::Update(Update {
            alias: None,
            table: "t".into(),
            set: vec![("a".into(), Expr::Value(Value::Text("x'; DROP".into()))), ("b".into(), Expr::Param)],
            filter: Some(Expr::column("id").eq(Expr::Value(Value::Int(1)))),
        });
        let sql = render(&stmt, Dialect::Postgres);
        assert_eq!(sql.text, r#"UPDATE "t" SET "a" = $1, "b" = $2 WHERE "id" = $3"#);
        assert_eq!(sql.binds, vec![Value::Text("x'; DROP".into()), Value::Int(1)]);
        assert_eq!(sql.placeholders, 3);
    }

    #[test]
    fn lists_are_padded_placeholders_then_one_collection_bind() {
        let list = |n: i64, negated: bool| {
            let values = (0..n).map(Value::Int).collect();
            let filter = Expr::InValues { expr: Box::new(Expr::column("id")), values, kind: Kind::Int, negated };
            Statement::Delete(Delete { table: "t".into(), alias: None, filter: Some(filter) })
        };
        let exact = render(&list(3, false), Dialect::Sqlite);
        assert_eq!(exact.text, r#"DELETE FROM "t" WHERE "id" IN (?, ?, ?)"#);
        for dialect in [Dialect::Sqlite, Dialect::MariaDb] {
            // 100 values: 128 placeholders, the last value repeated.
            let padded = render(&list(100, true), dialect);
            assert_eq!(padded.text.matches('?').count(), 128, "{}", padded.text);
            assert!(padded.text.contains(" NOT IN ("), "{}", padded.text);
            assert_eq!(padded.binds[..100], (0..100).map(Value::Int).collect::<Vec<_>>());
            assert!(padded.binds[100..].iter().all(|v| *v == Value::Int(99)));
            let long = render(&list(1025, false), dialect);
            assert_eq!(long.binds.len(), 1, "one JSON array: {}", long.text);
            assert!(long.text.contains("json_each(?)") || long.text.contains("JSON_TABLE(?"), "{}", long.text);
        }
        let array = render(&list(100, false), Dialect::Postgres);
        assert_eq!(array.text, r#"DELETE FROM "t" WHERE "id" IN (SELECT UNNEST($1))"#);
    }

    #[test]
    fn or_inside_and_is_parenthesised() {
        let or = Expr::Binary { op: BinOp::Or, lhs: Box::new(Expr::column("a")), rhs: Box::new(Expr::column("b")) };
        let stmt =
            Statement::Delete(Delete { table: "t".into(), alias: None, filter: Some(or.and(Expr::column("c"))) });
        assert_eq!(render(&stmt, Dialect::Sqlite).text, r#"DELETE FROM "t" WHERE ("a" OR "b") AND "c""#);
    }

    #[test]
    fn an_insert_of_defaults_only() {
        let stmt = Statement::Insert(Insert {
            table: "t".into(),
            columns: vec![],
            rows: vec![],
            returning: vec!["id".into()],
        });
        assert_eq!(render(&stmt, Dialect::Sqlite).text, r#"INSERT INTO "t" DEFAULT VALUES RETURNING "id""#);
        assert_eq!(render(&stmt, Dialect::Postgres).text, r#"INSERT INTO "t" DEFAULT VALUES RETURNING "id""#);
        assert_eq!(render(&stmt, Dialect::MariaDb).text, "INSERT INTO `t` () VALUES () RETURNING `id`");
    }

    #[test]
    fn a_long_list_is_one_json_bind_unpacked_by_the_database() {
        let values = (0..1025).map(Value::Int).collect();
        let filter = Expr::InValues { expr: Box::new(Expr::column("id")), values, kind: Kind::Int, negated: false };
        let stmt = Statement::Delete(Delete { table: "t".into(), alias: None, filter: Some(filter) });
        assert_eq!(
            render(&stmt, Dialect::Sqlite).text,
            r#"DELETE FROM "t" WHERE "id" IN (SELECT value FROM json_each(?))"#
        );
        assert_eq!(
            render(&stmt, Dialect::MariaDb).text,
            "DELETE FROM `t` WHERE `id` IN (SELECT jt.v FROM JSON_TABLE(?, '$[*]' COLUMNS (v BIGINT PATH '$')) AS jt)"
        );
    }

    #[test]
    fn enum_literals_escape_quotes_and_on_mariadb_backslashes() {
        let stmt = Statement::CreateTable(CreateTable {
            name: "t".into(),
            if_not_exists: false,
            columns: vec![ColumnDef {
                name: "k".into(),
                ty: DataType::TextEnum(vec!["it's".into(), r"a\b".into()]),
                max_len: None,
                decimal: None,
                nullable: false,
                auto_increment: false,
                unique: false,
                sql_default: None,
                sql_type: None,
                checks: Default::default(),
            }],
            primary_key: vec![],
            unique_keys: vec![],
            foreign_keys: vec![],
            checks: vec![],
        });
        assert_eq!(
            render(&stmt, Dialect::Sqlite).text,
            "CREATE TABLE \"t\" (\n  \"k\" TEXT NOT NULL CHECK (\"k\" IN ('it''s', 'a\\b'))\n)"
        );
        assert_eq!(
            render(&stmt, Dialect::Postgres).text,
            "CREATE TABLE \"t\" (\n  \"k\" VARCHAR(4) NOT NULL CHECK (\"k\" IN ('it''s', 'a\\b'))\n)"
        );
        assert_eq!(
            render(&stmt, Dialect::MariaDb).text,
            "CREATE TABLE `t` (\n  `k` VARCHAR(4) NOT NULL CHECK (`k` IN ('it''s', 'a\\\\b'))\n) \
             ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"
        );
    }

    #[test]
    fn nullable_keys_sort_null_lowest_and_an_offset_needs_no_limit() {
        let mut select = Select::simple("t", vec![Expr::column("a")], None);
        select.order_by = vec![OrderItem { expr: Expr::column("a"), desc: true, nullable: true }];
        select.offset = Some(Expr::Value(Value::Int(5)));
        select.lock = Some(Lock::NoWait);
        assert_eq!(
            render_select(&select, Dialect::Sqlite).text,
            r#"SELECT "a" FROM "t" ORDER BY "a" DESC LIMIT -1 OFFSET ?"#
        );
        assert_eq!(
            render_select(&select, Dialect::Postgres).text,
            r#"SELECT "a" FROM "t" ORDER BY "a" DESC NULLS LAST OFFSET $1 FOR UPDATE NOWAIT"#
        );
        assert_eq!(
            render_select(&select, Dialect::MariaDb).text,
            "SELECT `a` FROM `t` ORDER BY `a` DESC LIMIT 18446744073709551615 OFFSET ? FOR UPDATE NOWAIT"
        );
    }

    #[test]
    fn shape_mode_hashes_what_text_mode_writes() {
        let query = |needle: &str, ids: &[i64]| {
            let values = ids.iter().copied().map(Value::Int).collect();
            let listed = Expr::InValues { expr: Box::new(Expr::column("id")), values, kind: Kind::Int, negated: false };
            let like = Expr::Like {
                expr: Box::new(Expr::column("name")),
                needle: Box::new(Expr::column("other")),
                mode: LikeMode::Contains,
            };
            let filter = listed.and(like).and(Expr::column("name").eq(Expr::Value(Value::Text(needle.into()))));
            Select::simple("t", vec![Expr::column("id")], Some(filter))
        };
        let shape = |select: &Select, dialect: Dialect| {
            let mut hasher = ShapeHasher::default();
            let binds = binds_and_shape(select, dialect, &mut hasher);
            (hasher.finish(), binds)
        };
        for dialect in Dialect::ALL {
            let (a, b, wider) = (query("x", &[1, 2]), query("y", &[3, 4]), query("x", &[1, 2, 3]));
            let (hash_a, binds_a) = shape(&a, dialect);
            assert_eq!(binds_a, render_select(&a, dialect).binds);
            // Same text, other values: same shape. Other text: another shape.
            assert_eq!(render_select(&a, dialect).text, render_select(&b, dialect).text);
            assert_eq!(hash_a, shape(&b, dialect).0, "{dialect:?}");
            assert_ne!(render_select(&a, dialect).text, render_select(&wider, dialect).text);
            assert_ne!(hash_a, shape(&wider, dialect).0, "{dialect:?}");
        }
    }

    #[test]
    fn identifiers_are_quoted_with_the_quote_doubled() {
        assert_eq!(Dialect::Postgres.quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(Dialect::MariaDb.quote("a`b"), "`a``b`");
        assert_eq!(Dialect::Sqlite.quote("order"), "\"order\"");
    }

    #[test]
    fn identifier_limits_are_enforced_not_truncated() {
        let long = "x".repeat(64);
        assert!(Dialect::Postgres.check_identifier(&long).is_err());
        assert!(Dialect::Postgres.check_identifier(&long[..63]).is_ok());
        assert!(Dialect::MariaDb.check_identifier(&long).is_ok());
        assert!(Dialect::MariaDb.check_identifier(&"x".repeat(65)).is_err());
        assert!(Dialect::Sqlite.check_identifier("a\0b").is_err());
        assert!(Dialect::MariaDb.check_identifier("emoji😀").is_err());
        // 32 two-byte characters: 64 bytes, over PostgreSQL's limit, fine on MariaDB.
        let wide = "é".repeat(32);
        assert!(Dialect::Postgres.check_identifier(&wide).is_err());
        assert!(Dialect::MariaDb.check_identifier(&wide).is_ok());
    }

    #[test]
    fn placeholders() {
        let mut s = String::new();
        Dialect::Postgres.write_placeholder(&mut s, 12);
        Dialect::Sqlite.write_placeholder(&mut s, 3);
        assert_eq!(s, "$12?");
    }

    #[test]
    fn unfaithful_values_are_refused() {
        assert!(Dialect::Sqlite.check_value(&Value::Float(f64::NAN)).is_err());
        assert!(Dialect::Postgres.check_value(&Value::Float(f64::NAN)).is_ok());
        assert!(Dialect::Postgres.check_value(&Value::Text("a\0".into())).is_err());
        assert!(Dialect::Sqlite.check_value(&Value::Text("a\0".into())).is_ok());
        let far = chrono::NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
        assert!(Dialect::Sqlite.check_value(&Value::Date(far)).is_err());
        assert!(Dialect::Postgres.check_value(&Value::Date(far)).is_ok());
    }
}
