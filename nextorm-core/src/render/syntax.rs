//! [`SqlDialect`]: every point where one dialect departs from the SQL the walker writes. The
//! defaults are the common SQL; `sqlite.rs`, `postgres.rs` and `mariadb.rs` override only what
//! differs. The public [`Dialect`] enum names a dialect; this trait is what it does, implemented
//! by one zero-sized type per dialect file and reached through `with_sql_dialect!`.

use super::writer::{Spelling, Writer};
use crate::ast::{BinOp, ColumnDef, DropIndex, Expr, Func, LikeMode, Lock, Name};
use crate::dialect::Dialect;
use crate::error::Result;
use crate::value::{DataType, Kind, Value};

/// A piece of SQL text written by a closure (the parts of a concatenation).
pub(crate) type Piece<'p, 'h, D> = &'p dyn Fn(&mut Writer<'h, D>);

/// Lists up to this length become one placeholder per value, as many as there are values.
pub(super) const INLINE_LIST_MAX: usize = 64;

/// On SQLite and MariaDB, lists up to this length are placeholders too, padded to the next power
/// of two by repeating the last value (which changes neither `IN` nor `NOT IN`): a batch of keys
/// stays a plain indexed `IN`, and lists longer than [`INLINE_LIST_MAX`] give a statement shape
/// only five more texts to prepare and cache (128, 256, 512 and 1024 placeholders, and the
/// collection bind). Longer lists are one collection bind. PostgreSQL binds every long list as
/// one array.
const PADDED_LIST_MAX: usize = 1024;

/// What one SQL dialect does its own way: its facts (limits, column types, values it refuses),
/// the forms it writes differently, and through [`Spelling`] its quoting and placeholders. The
/// walker is generic over it, so every hook is resolved at compile time.
pub(crate) trait SqlDialect: Spelling {
    /// The public name of this dialect.
    const DIALECT: Dialect;
    /// The longest identifier kept intact; `None`: no practical limit.
    const MAX_IDENTIFIER_LEN: Option<usize> = None;
    /// The most bind parameters one statement may carry.
    const MAX_BINDS: usize;
    /// Whether a one-row `INSERT` reads its generated key with `RETURNING` rather than the
    /// driver's last-insert id (a multi-row one always uses `RETURNING`).
    const RETURNS_KEY_WITH_RETURNING: bool = false;
    /// `INSERT INTO t ...` when every column is generated or defaulted.
    const INSERT_DEFAULTS: &'static str = " DEFAULT VALUES";
    /// Between `UPDATE t` and the alias.
    const UPDATE_ALIAS: &'static str = " AS ";
    /// `OFFSET` without `LIMIT`.
    const OFFSET_WITHOUT_LIMIT: &'static str = " OFFSET ";
    /// Written after the closing parenthesis of `CREATE TABLE`.
    const TABLE_OPTIONS: Option<&'static str> = None;
    /// Written after `DROP TABLE t` when what depends on the table goes too.
    const DROP_TABLE_SUFFIX: Option<&'static str> = None;
    /// Whether `ALTER TABLE` cannot change a column's type, nullability or default, nor add or
    /// drop a table's constraints, so that a migration rebuilds the table instead.
    const REBUILDS_TABLES: bool = false;
    /// The `ALTER TABLE` action dropping a named unique key.
    const DROP_UNIQUE: &'static str = "DROP CONSTRAINT ";
    /// The `ALTER TABLE` action dropping a named foreign key.
    const DROP_FOREIGN_KEY: &'static str = "DROP CONSTRAINT ";
    /// The function counting the characters of a text.
    const LENGTH: &'static str = "LENGTH";
    /// A random number.
    const RANDOM: &'static str = "RANDOM()";
    /// Whether `$tag$ ... $tag$` quotes a string (so a `?` inside it is no placeholder).
    const DOLLAR_QUOTED_STRINGS: bool = false;
    /// Whether a key or index may be on text without a length limit.
    const INDEXES_UNBOUNDED_TEXT: bool = true;
    /// The statements that open a transaction.
    const BEGIN: &'static [&'static str] = &["BEGIN"];
    /// The statements that open a `SERIALIZABLE` transaction.
    const BEGIN_SERIALIZABLE: &'static [&'static str];
    /// Whether DDL runs inside a transaction and rolls back with it (MariaDB commits each DDL
    /// statement on its own).
    const TRANSACTIONAL_DDL: bool = true;
    /// The statements that take and release the lock `migrate` holds on its connection while it
    /// runs; `None` where the lock is the transaction itself (SQLite's `BEGIN EXCLUSIVE`).
    const MIGRATION_LOCK: Option<(&'static str, &'static str)> = None;
    /// The statement that begins a migration's transaction.
    const MIGRATION_BEGIN: &'static str = "BEGIN";
    /// Around a migration that rebuilds tables: the statement that turns foreign-key enforcement
    /// off before its transaction, the one that turns it back on after, and the query, run before
    /// `COMMIT`, whose rows are the foreign keys left broken (`None` where no table is rebuilt).
    const REBUILD_FOREIGN_KEYS: Option<[&'static str; 3]> = None;

    /// The length of an identifier as the dialect's limit counts it, and the unit's name.
    fn identifier_len(ident: &str) -> (usize, &'static str) {
        (ident.chars().count(), "characters")
    }

    /// Refuses characters the dialect does not take in identifiers.
    fn check_identifier_chars(_ident: &str) -> Result<()> {
        Ok(())
    }

    /// The DDL type of a column.
    fn column_type(ty: &DataType, max_len: Option<u32>, decimal: Option<(u32, u32)>) -> String;

    /// The name the dialect gives the unnamed `CHECK` of an enum column, if it names it after
    /// the table and column (and so keeps a stale name when either is renamed); `None` where the
    /// check needs no name to be replaced.
    fn implicit_check_name(_table: &str, _column: &str) -> Option<String> {
        None
    }

    /// The column as a `min`/`max` `CHECK` compares it with a number literal.
    fn bounded_column(w: &mut Writer<'_, Self>, c: &ColumnDef) {
        w.ident(&c.name);
    }

    /// `DROP INDEX name`.
    fn drop_index(w: &mut Writer<'_, Self>, i: &DropIndex) {
        w.sql("DROP INDEX ");
        w.ident(&i.name);
    }

    /// The `ALTER TABLE` actions changing column `from` into `to`: the standard `ALTER COLUMN`
    /// forms for what differs.
    fn alter_column(w: &mut Writer<'_, Self>, table: &Name, from: &ColumnDef, to: &ColumnDef) {
        w.alter_column_actions(table, from, to);
    }

    /// The action changing a column's type to `to`'s.
    fn set_data_type(w: &mut Writer<'_, Self>, to: &ColumnDef) {
        w.sql("ALTER COLUMN ");
        w.ident(&to.name);
        w.sql(" SET DATA TYPE ");
        w.column_type(to);
    }

    /// Refuses a value this dialect would store unfaithfully.
    fn check_value(_value: &Value) -> Result<()> {
        Ok(())
    }

    /// A binary operation.
    #[inline]
    fn binary(w: &mut Writer<'_, Self>, op: BinOp, lhs: &Expr, rhs: &Expr) {
        w.infix(op, op.sql(), lhs, rhs);
    }

    /// The pieces of a text concatenation, each written by a closure.
    fn concat<'h>(w: &mut Writer<'h, Self>, pieces: &[Piece<'_, 'h, Self>]) {
        for (i, piece) in pieces.iter().enumerate() {
            if i > 0 {
                w.sql(" || ");
            }
            piece(w);
        }
    }

    /// An operation on decimals ([`Expr::Decimal`]).
    fn decimal(w: &mut Writer<'_, Self>, op: &Expr) {
        w.expr(op);
    }

    /// How tightly a decimal operation binds as written.
    fn decimal_strength(op: &Expr) -> u8 {
        Writer::<Self>::strength(op)
    }

    /// A decimal sort key or the tested side of `IN` ([`Expr::DecimalKey`]).
    fn decimal_key(w: &mut Writer<'_, Self>, key: &Expr) {
        w.expr(key);
    }

    /// How tightly a decimal key binds as written.
    fn decimal_key_strength(key: &Expr) -> u8 {
        Writer::<Self>::strength(key)
    }

    /// The expression an `ORDER BY` key is looked up as among the projected columns.
    fn position_key(key: &Expr) -> &Expr {
        match key {
            Expr::DecimalKey(inner) => inner,
            key => key,
        }
    }

    /// How many placeholders a list of `len` values longer than the inline limit gets; `None`:
    /// one collection bind ([`SqlDialect::long_list`]). The default pads to the next power of
    /// two up to [`PADDED_LIST_MAX`].
    fn padded_list_width(len: usize) -> Option<usize> {
        (len <= PADDED_LIST_MAX).then(|| len.next_power_of_two())
    }

    /// The inside of `IN (...)` for a list bound as one value, closing parenthesis included.
    fn long_list(w: &mut Writer<'_, Self>, values: &[Value], kind: Kind);

    /// A prefix, suffix or substring test ([`Expr::Like`]): `expr LIKE ? ESCAPE '!'` with the
    /// needle's `!`, `%` and `_` escaped.
    fn text_test(w: &mut Writer<'_, Self>, expr: &Expr, needle: &Expr, mode: LikeMode) {
        w.like(expr, needle, mode);
    }

    /// `SUBSTR(x, start, len)`.
    fn substr(w: &mut Writer<'_, Self>, args: &[Expr]) {
        w.call("SUBSTR", args);
    }

    /// A part of a date or time ([`Func::Year`] to [`Func::Second`]) as an integer.
    fn date_part(w: &mut Writer<'_, Self>, part: Func, args: &[Expr]);

    /// `GROUP_CONCAT(arg, sep)` in the dialect's spelling.
    fn group_concat(w: &mut Writer<'_, Self>, arg: &Expr, sep: &str);

    /// After a nullable `ORDER BY` key: makes NULL sort lowest, as SQLite and MariaDB do.
    fn nulls_lowest(_w: &mut Writer<'_, Self>, _desc: bool) {}

    /// A row lock after a `SELECT`.
    fn lock(w: &mut Writer<'_, Self>, lock: Lock) {
        w.sql(match lock {
            Lock::Wait => " FOR UPDATE",
            Lock::NoWait => " FOR UPDATE NOWAIT",
            Lock::SkipLocked => " FOR UPDATE SKIP LOCKED",
        });
    }

    /// `DELETE FROM table AS alias`.
    fn delete_aliased(w: &mut Writer<'_, Self>, table: &Name, alias: &Name) {
        w.sql("DELETE FROM ");
        w.ident(table);
        w.sql(" AS ");
        w.ident(alias);
    }

    /// The type and key clause of an auto-incremented primary key column.
    fn auto_increment_column(w: &mut Writer<'_, Self>, ty: &DataType);
}

/// `VARCHAR(n)` wide enough for the longest of an enum's values (PostgreSQL, MariaDB).
pub(super) fn enum_varchar(values: &[String]) -> String {
    let n = values.iter().map(|v| v.chars().count()).max().unwrap_or(1).max(1);
    format!("VARCHAR({n})")
}

/// A JSON array of the values, in the text forms the database stores: the one bind of a long
/// list on SQLite (`json_each`) and MariaDB (`JSON_TABLE`).
pub(super) fn json_list(values: &[Value]) -> String {
    let items: Vec<serde_json::Value> = values
        .iter()
        .map(|v| match v {
            Value::Null(_) => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::from(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Value::from(*f),
            Value::Text(s) => serde_json::Value::from(s.as_str()),
            other => other.stored_text().map_or(serde_json::Value::Null, serde_json::Value::from),
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}
