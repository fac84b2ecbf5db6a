//! The one walker that renders the AST for a dialect. Values become placeholders and binds;
//! identifiers are always quoted.

use crate::ast::*;
use crate::dialect::Dialect;
use crate::sqlite_decimal::{self, DecimalAggregate, DecimalFn};
use crate::value::{Kind, SqlType, Value};

/// Lists up to this length become one placeholder per value, as many as there are values.
pub(crate) const INLINE_LIST_MAX: usize = 64;

/// On SQLite and MariaDB, lists up to this length are placeholders too, padded to the next power
/// of two by repeating the last value (which changes neither `IN` nor `NOT IN`): a batch of keys
/// stays a plain indexed `IN`, and lists longer than [`INLINE_LIST_MAX`] give a statement shape
/// only five more texts to prepare and cache (128, 256, 512 and 1024 placeholders, and the
/// collection bind). Longer lists are one collection bind. PostgreSQL binds every long list as
/// one array.
pub(crate) const PADDED_LIST_MAX: usize = 1024;

/// A JSON array of the values, in the text forms the database stores.
fn json_list(values: &[Value]) -> String {
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

fn mariadb_json_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Bool | Kind::Int => "BIGINT",
        Kind::Float => "DOUBLE",
        Kind::Decimal => "DECIMAL(65, 28)",
        Kind::Date => "DATE",
        Kind::DateTime | Kind::Timestamp => "DATETIME(6)",
        Kind::Text | Kind::Uuid | Kind::Json | Kind::Bytes => "LONGTEXT COLLATE utf8mb4_nopad_bin",
    }
}

/// Rendered SQL: the text and the values bound to its placeholders, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    /// The statement text.
    pub text: String,
    /// Values captured from [`Expr::Value`] nodes.
    pub binds: Vec<Value>,
    /// The number of placeholders in `text` (captured values and [`Expr::Param`]s).
    pub placeholders: usize,
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
    let mut w = Writer { dialect, text: String::with_capacity(128), binds: Vec::new(), placeholders: 0, hash: None };
    match stmt {
        Statement::Select(s) => w.select(s),
        Statement::Insert(s) => w.insert(s),
        Statement::Update(s) => w.update(s),
        Statement::Delete(s) => w.delete(s),
        Statement::CreateTable(s) => w.create_table(s),
        Statement::CreateIndex(s) => w.create_index(s),
        Statement::DropTable(s) => w.drop_table(s),
    }
    Sql { text: w.text, binds: w.binds, placeholders: w.placeholders }
}

/// Renders a query for a dialect.
pub fn render_select(select: &Select, dialect: Dialect) -> Sql {
    let mut w = Writer { dialect, text: String::with_capacity(256), binds: Vec::new(), placeholders: 0, hash: None };
    w.select(select);
    Sql { text: w.text, binds: w.binds, placeholders: w.placeholders }
}

/// Walks a query as [`render_select`] would, but feeds the text it would write into `hasher`
/// instead of building it: the hash identifies the text, and the binds come out in order.
pub(crate) fn binds_and_shape(select: &Select, dialect: Dialect, hasher: &mut ShapeHasher) -> Vec<Value> {
    let mut w = Writer { dialect, text: String::new(), binds: Vec::new(), placeholders: 0, hash: Some(hasher) };
    w.select(select);
    w.binds
}

/// FNV-1a over the pieces of SQL text a render would write.
#[derive(Debug)]
pub(crate) struct ShapeHasher(u64);

impl Default for ShapeHasher {
    fn default() -> Self {
        ShapeHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl ShapeHasher {
    fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    }

    fn write(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash.
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

struct Writer<'h> {
    dialect: Dialect,
    text: String,
    binds: Vec<Value>,
    placeholders: usize,
    /// Set in shape mode: text goes to the hasher instead of `text`.
    hash: Option<&'h mut ShapeHasher>,
}

impl Writer<'_> {
    /// Writes SQL text fixed in the program. In shape mode a static piece is identified by its
    /// address and length: the same piece always has the same text.
    fn sql(&mut self, s: &'static str) {
        match &mut self.hash {
            Some(h) => h.word(s.as_ptr() as u64 ^ ((s.len() as u64) << 48)),
            None => self.text.push_str(s),
        }
    }

    /// Writes SQL text computed at run time (type names, raw fragments built in code).
    fn sql_dyn(&mut self, s: &str) {
        match &mut self.hash {
            Some(h) => h.write(s.as_bytes()),
            None => self.text.push_str(s),
        }
    }

    fn name(&mut self, n: &Name) {
        match n {
            std::borrow::Cow::Borrowed(s) => self.sql(s),
            std::borrow::Cow::Owned(s) => self.sql_dyn(s),
        }
    }

    fn ident(&mut self, name: &Name) {
        match &mut self.hash {
            // Quoting is a function of the name: the name and a marker identify it.
            Some(h) => {
                h.word(0xff);
                self.name(name);
            }
            None => self.dialect.write_ident(&mut self.text, name),
        }
    }

    fn idents(&mut self, names: &[Name]) {
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.ident(n);
        }
    }

    fn placeholder(&mut self) {
        self.placeholders += 1;
        match &mut self.hash {
            Some(h) => h.word(0xfd),
            None => self.dialect.write_placeholder(&mut self.text, self.placeholders),
        }
    }

    fn bind(&mut self, v: Value) {
        self.placeholder();
        self.binds.push(v);
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Column { table, name } => {
                if let Some(t) = table {
                    self.ident(t);
                    self.sql(".");
                }
                self.ident(name);
            }
            Expr::Param => self.placeholder(),
            Expr::Value(v) => self.bind(v.clone()),
            Expr::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            Expr::Unary { op, expr } => {
                self.sql(match op {
                    UnOp::Not => "NOT ",
                    UnOp::Neg => "-",
                });
                self.operand(expr, 8);
            }
            Expr::IsNull { expr, negated } => {
                self.operand(expr, 5);
                self.sql(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            Expr::Between { expr, low, high } => {
                self.operand(expr, 5);
                self.sql(" BETWEEN ");
                self.operand(low, 5);
                self.sql(" AND ");
                self.operand(high, 5);
            }
            Expr::InValues { expr, values, kind, negated } => self.in_values(expr, values, *kind, *negated),
            Expr::InQuery { expr, query, negated } => {
                self.operand(expr, 5);
                self.sql(if *negated { " NOT IN (" } else { " IN (" });
                self.select(query);
                self.sql(")");
            }
            Expr::Exists { query, negated } => {
                self.sql(if *negated { "NOT EXISTS (" } else { "EXISTS (" });
                self.select(query);
                self.sql(")");
            }
            Expr::Subquery(query) => {
                self.sql("(");
                self.select(query);
                self.sql(")");
            }
            Expr::Like { expr, needle, mode } => self.like(expr, needle, *mode),
            Expr::Func { func, args } => self.func(*func, args),
            Expr::Agg { func, arg, distinct } => self.aggregate(func, arg.as_deref(), *distinct),
            Expr::Case { when, otherwise } => {
                self.sql("CASE");
                for (c, v) in when {
                    self.sql(" WHEN ");
                    self.expr(c);
                    self.sql(" THEN ");
                    self.expr(v);
                }
                self.sql(" ELSE ");
                self.expr(otherwise);
                self.sql(" END");
            }
            Expr::Raw { parts, args } => {
                for (i, part) in parts.iter().enumerate() {
                    self.name(part);
                    if let Some(a) = args.get(i) {
                        self.operand(a, 8);
                    }
                }
            }
            Expr::Row(items) => {
                self.sql("(");
                self.args(items);
                self.sql(")");
            }
            Expr::CountStar => self.sql("COUNT(*)"),
            Expr::Decimal(op) if self.dialect == Dialect::Sqlite => self.sqlite_decimal(op),
            Expr::DecimalKey(key) if self.dialect == Dialect::Sqlite => {
                self.operand(key, 9);
                self.sql(" COLLATE ");
                self.sql(sqlite_decimal::COLLATION);
            }
            Expr::Decimal(e) | Expr::DecimalKey(e) => self.expr(e),
        }
    }

    /// An operation on decimals stored as text: through the functions every nextorm SQLite
    /// connection registers, never through SQLite's text or floating-point arithmetic.
    fn sqlite_decimal(&mut self, op: &Expr) {
        let comparison =
            |op: BinOp| matches!(op, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge);
        match op {
            Expr::Binary { op, lhs, rhs } if comparison(*op) => {
                self.call(DecimalFn::Cmp.name(), [&**lhs, &**rhs]);
                self.sql(" ");
                self.sql(op.sql());
                self.sql(" 0");
            }
            Expr::Binary { op, lhs, rhs } => {
                let func = match op {
                    BinOp::Add => DecimalFn::Add,
                    BinOp::Sub => DecimalFn::Sub,
                    BinOp::Mul => DecimalFn::Mul,
                    BinOp::Rem => DecimalFn::Rem,
                    _ => DecimalFn::Div,
                };
                self.call(func.name(), [&**lhs, &**rhs]);
            }
            Expr::Unary { op: UnOp::Neg, expr } => self.call(DecimalFn::Neg.name(), [&**expr]),
            Expr::Func { func: Func::Abs, args } => self.call(DecimalFn::Abs.name(), args),
            Expr::Between { expr, low, high } => self.call(DecimalFn::Between.name(), [&**expr, &**low, &**high]),
            Expr::Agg { func, arg: Some(arg), distinct } => {
                let aggregate = match func {
                    AggFunc::Sum => DecimalAggregate::Sum,
                    AggFunc::Avg => DecimalAggregate::Avg,
                    AggFunc::Min => DecimalAggregate::Min,
                    AggFunc::Max => DecimalAggregate::Max,
                    _ => return self.expr(op),
                };
                if aggregate == DecimalAggregate::Sum {
                    self.sql("COALESCE(");
                }
                self.sql(aggregate.name());
                self.sql(if *distinct { "(DISTINCT " } else { "(" });
                self.expr(arg);
                self.sql(")");
                if aggregate == DecimalAggregate::Sum {
                    self.sql(", 0)");
                }
            }
            other => self.expr(other),
        }
    }

    /// Writes `e` as the operand of an operator binding with strength `strength`, in parentheses
    /// when it binds more loosely.
    fn operand(&mut self, e: &Expr, strength: u8) {
        if self.strength(e) < strength {
            self.sql("(");
            self.expr(e);
            self.sql(")");
        } else {
            self.expr(e);
        }
    }

    /// How tightly `e` binds as written in this dialect.
    fn strength(&self, e: &Expr) -> u8 {
        match e {
            Expr::Decimal(op) if self.dialect == Dialect::Sqlite => match **op {
                // `nextorm_decimal_cmp(a, b) < 0` is a comparison; every other form is a call.
                Expr::Binary { op, .. } if op.precedence() == 4 => 4,
                _ => 9,
            },
            Expr::Decimal(e) | Expr::DecimalKey(e) if self.dialect != Dialect::Sqlite => self.strength(e),
            Expr::Binary { op, .. } => op.precedence(),
            Expr::Unary { op: UnOp::Not, .. } => 3,
            Expr::Unary { op: UnOp::Neg, .. } => 8,
            Expr::IsNull { .. }
            | Expr::Between { .. }
            | Expr::InValues { .. }
            | Expr::InQuery { .. }
            | Expr::Like { .. } => 4,
            Expr::Raw { .. } => 0,
            _ => 9,
        }
    }

    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) {
        let p = op.precedence();
        // Comparisons never chain; the right operand of a non-associative operator needs
        // parentheses at equal strength (`a - (b - c)`).
        let associative = matches!(op, BinOp::And | BinOp::Or | BinOp::Add | BinOp::Mul | BinOp::Concat);
        let left = if p == 4 { p + 1 } else { p };
        let right = if associative { p } else { p + 1 };
        match (self.dialect, op) {
            (Dialect::MariaDb, BinOp::Concat) => {
                self.sql("CONCAT(");
                self.expr(lhs);
                self.sql(", ");
                self.expr(rhs);
                self.sql(")");
            }
            (Dialect::MariaDb, BinOp::IntDiv) => {
                self.operand(lhs, left);
                self.sql(" DIV ");
                self.operand(rhs, right);
            }
            _ => {
                self.operand(lhs, left);
                self.sql(" ");
                self.sql(op.sql());
                self.sql(" ");
                self.operand(rhs, right);
            }
        }
    }

    fn in_values(&mut self, expr: &Expr, values: &[Value], kind: Kind, negated: bool) {
        if values.is_empty() {
            // `x IN ()` is not SQL: nothing is in an empty list.
            self.sql(if negated { "1 = 1" } else { "1 = 0" });
            return;
        }
        self.operand(expr, 5);
        self.sql(if negated { " NOT IN (" } else { " IN (" });
        let padded = match self.dialect {
            _ if values.len() <= INLINE_LIST_MAX => Some(values.len()),
            Dialect::Sqlite | Dialect::MariaDb if values.len() <= PADDED_LIST_MAX => {
                Some(values.len().next_power_of_two())
            }
            _ => None,
        };
        if let Some(width) = padded {
            let last = values.len() - 1;
            for i in 0..width {
                if i > 0 {
                    self.sql(", ");
                }
                self.bind(values[i.min(last)].clone());
            }
            self.sql(")");
            return;
        }
        // A long list is one bind whatever its length: an array on PostgreSQL, a JSON array
        // unpacked by the database elsewhere.
        match self.dialect {
            Dialect::Postgres => {
                self.sql("SELECT UNNEST(");
                self.bind(Value::Array(kind, values.to_vec()));
                self.sql("))");
            }
            Dialect::Sqlite => {
                self.sql("SELECT value FROM json_each(");
                self.bind(Value::Text(json_list(values)));
                self.sql("))");
            }
            Dialect::MariaDb => {
                self.sql("SELECT jt.v FROM JSON_TABLE(");
                self.bind(Value::Text(json_list(values)));
                self.sql(", '$[*]' COLUMNS (v ");
                self.sql(mariadb_json_type(kind));
                self.sql(" PATH '$')) AS jt)");
            }
        }
    }

    fn like(&mut self, expr: &Expr, needle: &Expr, mode: LikeMode) {
        self.operand(expr, 5);
        self.sql(" LIKE ");
        match needle {
            Expr::Value(Value::Text(s)) => {
                let escaped = s.replace('!', "!!").replace('%', "!%").replace('_', "!_");
                let pattern = match mode {
                    LikeMode::Prefix => format!("{escaped}%"),
                    LikeMode::Suffix => format!("%{escaped}"),
                    LikeMode::Contains => format!("%{escaped}%"),
                };
                self.bind(Value::Text(pattern));
            }
            other => {
                // Escape in SQL: the needle comes from a column.
                let mut parts: Vec<&dyn Fn(&mut Self)> = Vec::new();
                let percent = |w: &mut Self| w.sql("'%'");
                let escaped = |w: &mut Self| {
                    w.sql("REPLACE(REPLACE(REPLACE(");
                    w.expr(other);
                    w.sql(", '!', '!!'), '%', '!%'), '_', '!_')");
                };
                if mode != LikeMode::Prefix {
                    parts.push(&percent);
                }
                parts.push(&escaped);
                if mode != LikeMode::Suffix {
                    parts.push(&percent);
                }
                if self.dialect == Dialect::MariaDb {
                    self.sql("CONCAT(");
                    for (i, p) in parts.iter().enumerate() {
                        if i > 0 {
                            self.sql(", ");
                        }
                        p(self);
                    }
                    self.sql(")");
                } else {
                    for (i, p) in parts.iter().enumerate() {
                        if i > 0 {
                            self.sql(" || ");
                        }
                        p(self);
                    }
                }
            }
        }
        self.sql(" ESCAPE '!'");
    }

    fn args<'e>(&mut self, args: impl IntoIterator<Item = &'e Expr>) {
        for (i, a) in args.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.expr(a);
        }
    }

    fn call<'e>(&mut self, name: &'static str, args: impl IntoIterator<Item = &'e Expr>) {
        self.sql(name);
        self.sql("(");
        self.args(args);
        self.sql(")");
    }

    fn func(&mut self, func: Func, args: &[Expr]) {
        use Dialect::*;
        let part = |f: Func| match f {
            Func::Year => ("%Y", "YEAR", "YEAR"),
            Func::Month => ("%m", "MONTH", "MONTH"),
            Func::Day => ("%d", "DAY", "DAYOFMONTH"),
            Func::Hour => ("%H", "HOUR", "HOUR"),
            Func::Minute => ("%M", "MINUTE", "MINUTE"),
            _ => ("%S", "SECOND", "SECOND"),
        };
        match (self.dialect, func) {
            (_, Func::Lower) => self.call("LOWER", args),
            (_, Func::Upper) => self.call("UPPER", args),
            (_, Func::Trim) => self.call("TRIM", args),
            (_, Func::Abs) => self.call("ABS", args),
            (_, Func::Coalesce) => self.call("COALESCE", args),
            // PostgreSQL has SUBSTR(text, integer, integer) only; binds are BIGINT.
            (Postgres, Func::Substr) => {
                self.sql("SUBSTR(");
                for (i, a) in args.iter().enumerate() {
                    if i == 0 {
                        self.expr(a);
                    } else {
                        self.sql(", CAST(");
                        self.expr(a);
                        self.sql(" AS INTEGER)");
                    }
                }
                self.sql(")");
            }
            (_, Func::Substr) => self.call("SUBSTR", args),
            (MariaDb, Func::Length) => self.call("CHAR_LENGTH", args),
            (_, Func::Length) => self.call("LENGTH", args),
            (MariaDb, Func::Random) => self.sql("RAND()"),
            (_, Func::Random) => self.sql("RANDOM()"),
            (Sqlite, f) => {
                self.sql("CAST(strftime('");
                self.sql(part(f).0);
                self.sql("', ");
                self.args(args);
                self.sql(") AS INTEGER)");
            }
            (Postgres, f) => {
                self.sql("CAST(FLOOR(EXTRACT(");
                self.sql(part(f).1);
                self.sql(" FROM ");
                self.args(args);
                self.sql(")) AS INTEGER)");
            }
            (MariaDb, f) => self.call(part(f).2, args),
        }
    }

    fn aggregate(&mut self, func: &AggFunc, arg: Option<&Expr>, distinct: bool) {
        let Some(arg) = arg else {
            self.sql("COUNT(*)");
            return;
        };
        let name = match func {
            AggFunc::Count => "COUNT",
            AggFunc::Sum => "SUM",
            AggFunc::Avg => "AVG",
            AggFunc::Min => "MIN",
            AggFunc::Max => "MAX",
            AggFunc::GroupConcat(sep) => {
                match self.dialect {
                    Dialect::Sqlite => {
                        self.sql("GROUP_CONCAT(");
                        self.expr(arg);
                        self.sql(", ");
                        self.string_literal(sep);
                    }
                    Dialect::Postgres => {
                        self.sql("STRING_AGG(CAST(");
                        self.expr(arg);
                        self.sql(" AS TEXT), ");
                        self.string_literal(sep);
                    }
                    Dialect::MariaDb => {
                        self.sql("GROUP_CONCAT(");
                        self.expr(arg);
                        self.sql(" SEPARATOR ");
                        self.string_literal(sep);
                    }
                }
                self.sql(")");
                return;
            }
        };
        if *func == AggFunc::Sum {
            self.sql("COALESCE(");
        }
        self.sql(name);
        self.sql(if distinct { "(DISTINCT " } else { "(" });
        self.expr(arg);
        self.sql(")");
        if *func == AggFunc::Sum {
            self.sql(", 0)");
        }
    }

    fn table_ref(&mut self, f: &FromItem) {
        match &f.query {
            Some(q) => {
                self.sql("(");
                self.select(q);
                self.sql(")");
            }
            None => self.ident(&f.table),
        }
        if let Some(a) = &f.alias {
            self.sql(" ");
            self.ident(a);
        }
    }

    fn select(&mut self, s: &Select) {
        self.sql(if s.distinct { "SELECT DISTINCT " } else { "SELECT " });
        self.args(&s.columns);
        if !s.from.is_empty() {
            self.sql(" FROM ");
            for (i, f) in s.from.iter().enumerate() {
                match &f.join {
                    Some(join) if i > 0 => {
                        self.sql(if join.left { " LEFT JOIN " } else { " JOIN " });
                        self.table_ref(f);
                        self.sql(" ON ");
                        self.expr(&join.on);
                    }
                    _ if i > 0 => {
                        self.sql(", ");
                        self.table_ref(f);
                    }
                    _ => self.table_ref(f),
                }
            }
        }
        self.filter(&s.filter);
        if !s.group_by.is_empty() {
            self.sql(" GROUP BY ");
            self.args(&s.group_by);
        }
        if let Some(h) = &s.having {
            self.sql(" HAVING ");
            self.expr(h);
        }
        if !s.order_by.is_empty() {
            self.sql(" ORDER BY ");
            for (i, o) in s.order_by.iter().enumerate() {
                if i > 0 {
                    self.sql(", ");
                }
                // A key that is also projected is named by its position: the same expression
                // would get other placeholder numbers, which PostgreSQL treats as another key.
                // Elsewhere than SQLite a decimal key is the expression itself; on SQLite it is
                // never named by position, since only the key carries the decimal collation.
                let key = match &o.expr {
                    Expr::DecimalKey(inner) if self.dialect != Dialect::Sqlite => inner,
                    key => key,
                };
                match s.columns.iter().position(|c| c == key) {
                    Some(i) if !matches!(key, Expr::Column { .. }) => self.sql_dyn(&(i + 1).to_string()),
                    _ => self.expr(&o.expr),
                }
                if o.desc {
                    self.sql(" DESC");
                }
                // SQLite and MariaDB sort NULL lowest; make PostgreSQL agree.
                if o.nullable && self.dialect == Dialect::Postgres {
                    self.sql(if o.desc { " NULLS LAST" } else { " NULLS FIRST" });
                }
            }
        }
        match (&s.limit, &s.offset) {
            (Some(l), offset) => {
                self.sql(" LIMIT ");
                self.expr(l);
                if let Some(o) = offset {
                    self.sql(" OFFSET ");
                    self.expr(o);
                }
            }
            (None, Some(o)) => {
                self.sql(match self.dialect {
                    Dialect::Sqlite => " LIMIT -1 OFFSET ",
                    Dialect::Postgres => " OFFSET ",
                    Dialect::MariaDb => " LIMIT 18446744073709551615 OFFSET ",
                });
                self.expr(o);
            }
            (None, None) => {}
        }
        if let Some(lock) = s.lock
            && self.dialect != Dialect::Sqlite
        {
            // SQLite has no row locks; its write transactions already hold the database lock.
            self.sql(match lock {
                Lock::Wait => " FOR UPDATE",
                Lock::NoWait => " FOR UPDATE NOWAIT",
                Lock::SkipLocked => " FOR UPDATE SKIP LOCKED",
            });
        }
    }

    fn filter(&mut self, filter: &Option<Expr>) {
        if let Some(f) = filter {
            self.sql(" WHERE ");
            self.expr(f);
        }
    }

    fn insert(&mut self, s: &Insert) {
        self.sql("INSERT INTO ");
        self.ident(&s.table);
        if s.columns.is_empty() {
            // Every column is generated or defaulted.
            self.sql(match self.dialect {
                Dialect::MariaDb => " () VALUES ()",
                Dialect::Sqlite | Dialect::Postgres => " DEFAULT VALUES",
            });
        } else {
            self.sql(" (");
            self.idents(&s.columns);
            self.sql(") VALUES ");
            for (r, row) in s.rows.iter().enumerate() {
                if r > 0 {
                    self.sql(", ");
                }
                self.sql("(");
                for (i, e) in row.iter().enumerate() {
                    if i > 0 {
                        self.sql(", ");
                    }
                    self.expr(e);
                }
                self.sql(")");
            }
        }
        if !s.returning.is_empty() && self.dialect.returns_key_with_returning() {
            self.sql(" RETURNING ");
            self.idents(&s.returning);
        }
    }

    fn update(&mut self, s: &Update) {
        self.sql("UPDATE ");
        self.ident(&s.table);
        if let Some(a) = &s.alias {
            self.sql(if self.dialect == Dialect::MariaDb { " " } else { " AS " });
            self.ident(a);
        }
        self.sql(" SET ");
        for (i, (col, e)) in s.set.iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.ident(col);
            self.sql(" = ");
            self.expr(e);
        }
        self.filter(&s.filter);
    }

    fn delete(&mut self, s: &Delete) {
        match (&s.alias, self.dialect) {
            (Some(a), Dialect::MariaDb) => {
                // MariaDB takes an alias only in the multi-table form.
                self.sql("DELETE ");
                self.ident(a);
                self.sql(" FROM ");
                self.ident(&s.table);
                self.sql(" ");
                self.ident(a);
            }
            (Some(a), _) => {
                self.sql("DELETE FROM ");
                self.ident(&s.table);
                self.sql(" AS ");
                self.ident(a);
            }
            (None, _) => {
                self.sql("DELETE FROM ");
                self.ident(&s.table);
            }
        }
        self.filter(&s.filter);
    }

    fn create_table(&mut self, t: &CreateTable) {
        self.sql("CREATE TABLE ");
        if t.if_not_exists {
            self.sql("IF NOT EXISTS ");
        }
        self.ident(&t.name);
        self.sql(" (\n");
        let inline_key = t.columns.iter().any(|c| c.auto_increment);
        for (i, c) in t.columns.iter().enumerate() {
            if i > 0 {
                self.sql(",\n");
            }
            self.sql("  ");
            self.column_def(c);
        }
        if !inline_key && !t.primary_key.is_empty() {
            self.sql(",\n  PRIMARY KEY (");
            self.idents(&t.primary_key);
            self.sql(")");
        }
        for (name, cols) in &t.unique_keys {
            self.sql(",\n  CONSTRAINT ");
            self.ident(name);
            self.sql(" UNIQUE (");
            self.idents(cols);
            self.sql(")");
        }
        for fk in &t.foreign_keys {
            self.sql(",\n  FOREIGN KEY (");
            self.idents(&fk.columns);
            self.sql(") REFERENCES ");
            self.ident(&fk.table);
            self.sql(" (");
            self.idents(&fk.references);
            self.sql(match fk.on_delete {
                crate::relation::OnDelete::Cascade => ") ON DELETE CASCADE",
                crate::relation::OnDelete::SetNull => ") ON DELETE SET NULL",
                crate::relation::OnDelete::Restrict => ")",
            });
        }
        self.sql("\n)");
        if self.dialect == Dialect::MariaDb {
            // Binary, no-pad comparison: text equality behaves as on SQLite and PostgreSQL.
            self.sql(" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin");
        }
    }

    fn column_def(&mut self, c: &ColumnDef) {
        self.ident(&c.name);
        self.sql(" ");
        if c.auto_increment {
            let ty = self.dialect.column_type(c.ty, None, None);
            match self.dialect {
                // INTEGER PRIMARY KEY aliases the rowid; AUTOINCREMENT never reuses a deleted key.
                Dialect::Sqlite => self.sql("INTEGER PRIMARY KEY AUTOINCREMENT"),
                Dialect::Postgres => {
                    self.sql_dyn(&ty);
                    self.sql(" GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
                }
                Dialect::MariaDb => {
                    self.sql_dyn(&ty);
                    self.sql(" NOT NULL AUTO_INCREMENT PRIMARY KEY");
                }
            }
            return;
        }
        let ty = self.dialect.column_type(c.ty, c.max_len, c.decimal);
        self.sql_dyn(&ty);
        if !c.nullable {
            self.sql(" NOT NULL");
        }
        if let Some(d) = &c.sql_default {
            self.sql(" DEFAULT ");
            self.name(d);
        }
        if c.unique {
            self.sql(" UNIQUE");
        }
        match c.ty {
            SqlType::TextEnum(values) => {
                self.sql(" CHECK (");
                self.ident(&c.name);
                self.sql(" IN (");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        self.sql(", ");
                    }
                    self.string_literal(v);
                }
                self.sql("))");
            }
            SqlType::IntEnum(values) => {
                self.sql(" CHECK (");
                self.ident(&c.name);
                self.sql(" IN (");
                let list: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                self.sql_dyn(&list.join(", "));
                self.sql("))");
            }
            _ => {}
        }
    }

    /// A string literal in DDL, where binds are not allowed. Only for text fixed in the program
    /// (enum values), never for user data.
    fn string_literal(&mut self, s: &str) {
        if let Some(h) = &mut self.hash {
            h.write(s.as_bytes());
            return;
        }
        self.text.push('\'');
        for c in s.chars() {
            if c == '\'' {
                self.text.push('\'');
            }
            if c == '\\' && self.dialect == Dialect::MariaDb {
                self.text.push('\\');
            }
            self.text.push(c);
        }
        self.text.push('\'');
    }

    fn create_index(&mut self, i: &CreateIndex) {
        self.sql(if i.unique { "CREATE UNIQUE INDEX " } else { "CREATE INDEX " });
        if i.if_not_exists {
            self.sql("IF NOT EXISTS ");
        }
        self.ident(&i.name);
        self.sql(" ON ");
        self.ident(&i.table);
        self.sql(" (");
        self.idents(&i.columns);
        self.sql(")");
    }

    fn drop_table(&mut self, d: &DropTable) {
        self.sql("DROP TABLE ");
        if d.if_exists {
            self.sql("IF EXISTS ");
        }
        self.ident(&d.name);
        if self.dialect == Dialect::Postgres {
            self.sql(" CASCADE");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
