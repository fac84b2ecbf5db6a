//! The SQL AST: plain data, one tree for every dialect, rendered by [`crate::render`].
//!
//! Statements name tables and columns by their SQL identifiers; the renderer quotes them.

use crate::value::{DataType, Value};

/// An identifier: a table, alias or column name. Static names (from generated code) cost no
/// allocation.
pub type Name = std::borrow::Cow<'static, str>;

/// The walk of [`Expr::visit`] and [`Expr::visit_mut`], written once for `&` and `&mut`.
macro_rules! expr_visitor {
    ($(#[$doc:meta])* $name:ident, [$($r:tt)+]) => {
        $(#[$doc])*
        pub fn $name($($r)+ self, f: &mut impl FnMut($($r)+ Expr)) {
            f(self);
            match self {
                Expr::Binary { lhs, rhs, .. } => {
                    lhs.$name(f);
                    rhs.$name(f);
                }
                Expr::Unary { expr, .. }
                | Expr::IsNull { expr, .. }
                | Expr::InValues { expr, .. }
                | Expr::InQuery { expr, .. }
                | Expr::Decimal(expr)
                | Expr::DecimalKey(expr) => expr.$name(f),
                Expr::Between { expr, low, high } => {
                    expr.$name(f);
                    low.$name(f);
                    high.$name(f);
                }
                Expr::Like { expr, needle, .. } => {
                    expr.$name(f);
                    needle.$name(f);
                }
                Expr::Func { args, .. } | Expr::Raw { args, .. } | Expr::Row(args) => {
                    for a in args {
                        a.$name(f);
                    }
                }
                Expr::Agg { arg: Some(a), .. } => a.$name(f),
                Expr::Case { when, otherwise } => {
                    for (c, v) in when {
                        c.$name(f);
                        v.$name(f);
                    }
                    otherwise.$name(f);
                }
                Expr::Agg { arg: None, .. }
                | Expr::Column { .. }
                | Expr::Param
                | Expr::Value(_)
                | Expr::Exists { .. }
                | Expr::Subquery(_)
                | Expr::CountStar => {}
            }
        }
    };
}

/// A scalar SQL expression.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expr {
    /// A column, optionally qualified by a table name or alias.
    Column {
        /// The table or alias, if qualified.
        table: Option<Name>,
        /// The column name.
        name: Name,
    },
    /// A placeholder whose value is supplied when the statement runs (cached statements).
    Param,
    /// A value captured with the statement; rendered as a placeholder and returned in the binds.
    Value(Value),
    /// `lhs <op> rhs`.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `NOT expr` or `-expr`.
    Unary {
        /// The operator.
        op: UnOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `expr IS NULL` or `expr IS NOT NULL`.
    IsNull {
        /// The tested expression.
        expr: Box<Expr>,
        /// `IS NOT NULL` when true.
        negated: bool,
    },
    /// `expr BETWEEN low AND high`.
    Between {
        /// The tested expression.
        expr: Box<Expr>,
        /// Lower bound (inclusive).
        low: Box<Expr>,
        /// Upper bound (inclusive).
        high: Box<Expr>,
    },
    /// `expr [NOT] IN (values)`: short lists become placeholders, long ones one collection bind.
    InValues {
        /// The tested expression.
        expr: Box<Expr>,
        /// The values, all of one kind.
        values: Vec<Value>,
        /// The values' kind (for an empty list or a collection bind).
        kind: crate::value::Kind,
        /// `NOT IN` when true.
        negated: bool,
    },
    /// `expr [NOT] IN (SELECT ...)`.
    InQuery {
        /// The tested expression.
        expr: Box<Expr>,
        /// The subquery, projecting one column.
        query: Box<Select>,
        /// `NOT IN` when true.
        negated: bool,
    },
    /// `[NOT] EXISTS (SELECT ...)`.
    Exists {
        /// The subquery.
        query: Box<Select>,
        /// `NOT EXISTS` when true.
        negated: bool,
    },
    /// A scalar subquery `(SELECT ...)`.
    Subquery(Box<Select>),
    /// A prefix, suffix or substring test, rendered with `LIKE` and an explicit escape character.
    Like {
        /// The tested text.
        expr: Box<Expr>,
        /// The text searched for. A bound value is escaped in Rust; any other expression is
        /// escaped in SQL with `REPLACE`.
        needle: Box<Expr>,
        /// Where the needle must occur.
        mode: LikeMode,
    },
    /// A scalar function.
    Func {
        /// The function.
        func: Func,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// An aggregate.
    Agg {
        /// The aggregate function.
        func: AggFunc,
        /// The argument; `None` for `COUNT(*)`.
        arg: Option<Box<Expr>>,
        /// `COUNT(DISTINCT x)` and the like.
        distinct: bool,
    },
    /// `CASE WHEN c THEN a ... ELSE b END`.
    Case {
        /// The branches.
        when: Vec<(Expr, Expr)>,
        /// The `ELSE` value.
        otherwise: Box<Expr>,
    },
    /// A raw SQL fragment: `parts[0] args[0] parts[1] args[1] ... parts[n]`. The parts come from
    /// the program's text; every argument is an expression (values are bound).
    Raw {
        /// The literal SQL pieces, one more than `args`.
        parts: Vec<Name>,
        /// The expressions between them.
        args: Vec<Expr>,
    },
    /// `(a, b)`: the key of an object with a composite key.
    Row(Vec<Expr>),
    /// An operation on exact decimals: a comparison, arithmetic, `BETWEEN`, `ABS`, or a sum,
    /// average, minimum or maximum. Where the database has a decimal type it is the operation
    /// itself; SQLite, which stores decimals as text, computes it with nextorm's decimal functions
    /// ([`crate::sqlite_decimal`]):
    ///
    /// ```text
    /// p.price < limit     "p"."price" < $1                  (PostgreSQL, MariaDB)
    ///                     nextorm_decimal_cmp("p"."price", ?) < 0          (SQLite)
    /// sum(i.price * i.qty) COALESCE(nextorm_decimal_sum(nextorm_decimal_mul("i"."price", "i"."qty")), '0')
    /// ```
    Decimal(Box<Expr>),
    /// A decimal sorted or matched by its value: an `ORDER BY` key or the tested side of `IN`.
    /// SQLite renders `CAST("p"."price" AS TEXT) COLLATE nextorm_decimal`; elsewhere it is the
    /// expression itself.
    DecimalKey(Box<Expr>),
    /// `COUNT(*)`.
    CountStar,
}

impl Expr {
    /// An unqualified column.
    pub fn column(name: impl Into<Name>) -> Expr {
        Expr::Column { table: None, name: name.into() }
    }

    /// A column qualified by a table alias.
    pub fn qualified(table: impl Into<Name>, name: impl Into<Name>) -> Expr {
        Expr::Column { table: Some(table.into()), name: name.into() }
    }

    /// `self = rhs`.
    pub fn eq(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::Eq, self, rhs)
    }

    /// `self AND rhs`.
    pub fn and(self, rhs: Expr) -> Expr {
        Expr::binary(BinOp::And, self, rhs)
    }

    /// `lhs <op> rhs`.
    pub fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }
    }

    /// This operation wrapped in [`Expr::Decimal`] when `decimal` holds: the query builder marks
    /// each operation whose operands are decimals.
    pub fn decimal_if(self, decimal: bool) -> Expr {
        if decimal { Expr::Decimal(Box::new(self)) } else { self }
    }

    /// This value wrapped in [`Expr::DecimalKey`] when `decimal` holds.
    pub fn decimal_key_if(self, decimal: bool) -> Expr {
        if decimal { Expr::DecimalKey(Box::new(self)) } else { self }
    }

    /// Joins conditions with `AND`; `None` for an empty list.
    pub fn all(conditions: impl IntoIterator<Item = Expr>) -> Option<Expr> {
        conditions.into_iter().reduce(Expr::and)
    }

    /// Whether an aggregate occurs in this expression, outside any subquery.
    pub fn has_aggregate(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, Expr::Agg { .. } | Expr::CountStar));
        found
    }

    expr_visitor!(
        /// Calls `f` on this expression and every sub-expression, not descending into subqueries.
        visit, [&]
    );
    expr_visitor!(
        /// [`Expr::visit`] with mutable access: `f` sees each expression before its sub-expressions.
        visit_mut, [&mut]
    );

    /// Splits `a AND b AND c` into its conjuncts.
    pub fn conjuncts(self) -> Vec<Expr> {
        match self {
            Expr::Binary { op: BinOp::And, lhs, rhs } => {
                let mut v = lhs.conjuncts();
                v.extend(rhs.conjuncts());
                v
            }
            other => vec![other],
        }
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BinOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` on non-integers.
    Div,
    /// Integer division, truncating (`DIV` on MariaDB, where `/` is exact).
    IntDiv,
    /// `%`
    Rem,
    /// String concatenation (`||`, `CONCAT` on MariaDB).
    Concat,
}

impl BinOp {
    /// The SQL operator text (for `Concat` and `IntDiv`, the common spelling).
    pub fn sql(self) -> &'static str {
        match self {
            BinOp::Eq => "=",
            BinOp::Ne => "<>",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div | BinOp::IntDiv => "/",
            BinOp::Rem => "%",
            BinOp::Concat => "||",
        }
    }

    /// Binding strength: higher binds tighter.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
            BinOp::Concat => 5,
            BinOp::Add | BinOp::Sub => 6,
            BinOp::Mul | BinOp::Div | BinOp::IntDiv | BinOp::Rem => 7,
        }
    }
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `NOT`
    Not,
    /// `-`
    Neg,
}

/// Where a [`Expr::Like`] needle must occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LikeMode {
    /// At the start (`starts_with`).
    Prefix,
    /// At the end (`ends_with`).
    Suffix,
    /// Anywhere (`contains`).
    Contains,
}

/// Scalar functions, rendered per dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Func {
    /// Lower case.
    Lower,
    /// Upper case.
    Upper,
    /// Length in characters.
    Length,
    /// Strip surrounding spaces.
    Trim,
    /// `SUBSTR(x, start, len)`, 1-based start.
    Substr,
    /// `COALESCE(a, b, ...)`.
    Coalesce,
    /// Absolute value.
    Abs,
    /// The year of a date or time.
    Year,
    /// The month (1-12).
    Month,
    /// The day of the month.
    Day,
    /// The hour.
    Hour,
    /// The minute.
    Minute,
    /// The whole second.
    Second,
    /// A random number (for `ORDER BY`).
    Random,
}

/// Aggregate functions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AggFunc {
    /// `COUNT`
    Count,
    /// `SUM`, which is 0 rather than NULL over no rows (Pony's rule).
    Sum,
    /// `AVG`
    Avg,
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// Text joined with a separator fixed in the program.
    GroupConcat(Name),
}

/// A table in `FROM`, with its alias.
#[derive(Debug, Clone, PartialEq)]
pub struct FromItem {
    /// The table (ignored when `query` is set).
    pub table: Name,
    /// The alias.
    pub alias: Option<Name>,
    /// A derived table: `(SELECT ...) alias`.
    pub query: Option<Box<Select>>,
    /// Joined to the items before it (`[LEFT] JOIN ... ON ...`) rather than cross-joined.
    pub join: Option<Join>,
}

/// How a `FROM` item joins the items before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// `LEFT JOIN` rather than `JOIN`.
    pub left: bool,
    /// The join condition.
    pub on: Expr,
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// The key.
    pub expr: Expr,
    /// Descending.
    pub desc: bool,
    /// Whether the key may be NULL; nulls then sort first ascending and last descending on every
    /// dialect (PostgreSQL is told so explicitly).
    pub nullable: bool,
}

/// Row locking of a `SELECT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lock {
    /// `FOR UPDATE`: wait for other locks.
    Wait,
    /// `FOR UPDATE NOWAIT`: fail at once.
    NoWait,
    /// `FOR UPDATE SKIP LOCKED`: leave locked rows out.
    SkipLocked,
}

/// `SELECT [DISTINCT] columns FROM ... [WHERE] [GROUP BY] [HAVING] [ORDER BY] [LIMIT] [OFFSET] [FOR UPDATE]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// The projected expressions.
    pub columns: Vec<Expr>,
    /// The tables, cross-joined.
    pub from: Vec<FromItem>,
    /// The row condition.
    pub filter: Option<Expr>,
    /// Grouping keys.
    pub group_by: Vec<Expr>,
    /// The group condition.
    pub having: Option<Expr>,
    /// Ordering keys.
    pub order_by: Vec<OrderItem>,
    /// The row limit (a bound value).
    pub limit: Option<Expr>,
    /// Rows to skip (a bound value).
    pub offset: Option<Expr>,
    /// Row locking.
    pub lock: Option<Lock>,
}

impl Select {
    /// `SELECT columns FROM table [WHERE filter]`, unaliased.
    pub fn simple(table: impl Into<Name>, columns: Vec<Expr>, filter: Option<Expr>) -> Select {
        Select {
            columns,
            from: vec![FromItem { table: table.into(), alias: None, query: None, join: None }],
            filter,
            ..Select::default()
        }
    }
}

/// `INSERT INTO table (columns) VALUES (...), (...) [RETURNING ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// The table.
    pub table: Name,
    /// The column names.
    pub columns: Vec<Name>,
    /// One list of expressions per row.
    pub rows: Vec<Vec<Expr>>,
    /// Columns to return (`RETURNING`, which the three dialects have: SQLite since 3.35,
    /// MariaDB since 10.5).
    pub returning: Vec<Name>,
}

/// `UPDATE table SET col = expr, ... [WHERE ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The table.
    pub table: Name,
    /// The table's alias, for conditions that name it.
    pub alias: Option<Name>,
    /// The assignments.
    pub set: Vec<(Name, Expr)>,
    /// The condition.
    pub filter: Option<Expr>,
}

/// `DELETE FROM table [WHERE ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    /// The table.
    pub table: Name,
    /// The table's alias, for conditions that name it.
    pub alias: Option<Name>,
    /// The condition.
    pub filter: Option<Expr>,
}

/// One column of a `CREATE TABLE` (or of `ALTER TABLE ... ADD COLUMN`).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// The column name.
    pub name: Name,
    /// The column type.
    pub ty: DataType,
    /// `VARCHAR(n)` bound for text.
    pub max_len: Option<u32>,
    /// Precision and scale for decimals.
    pub decimal: Option<(u32, u32)>,
    /// Whether `NULL` is allowed.
    pub nullable: bool,
    /// An auto-increment key (the table's only key column).
    pub auto_increment: bool,
    /// A single-column `UNIQUE`.
    pub unique: bool,
    /// A raw SQL `DEFAULT` expression, from the entity's `sql_default`.
    pub sql_default: Option<Name>,
    /// The column's SQL type as the user wrote it (`sql_type`), in place of the dialect's own.
    pub sql_type: Option<String>,
    /// The column's own `CHECK`s besides an enum's values.
    pub checks: ColumnChecks,
}

/// The `CHECK`s a column declares (`#[orm(check = "...", min = .., max = ..)]`), rendered with an
/// enum's values as one `CHECK (... AND ...)`, so a column has at most one check to replace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnChecks {
    /// A raw SQL condition, as written.
    pub sql: Option<String>,
    /// The smallest value allowed, as a number literal (`c >= min`).
    pub min: Option<String>,
    /// The largest value allowed, as a number literal (`c <= max`).
    pub max: Option<String>,
}

impl ColumnChecks {
    /// No check at all.
    pub fn is_empty(&self) -> bool {
        self.sql.is_none() && self.min.is_none() && self.max.is_none()
    }
}

/// `CREATE TABLE [IF NOT EXISTS] ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    /// The table.
    pub name: Name,
    /// Add `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// The columns.
    pub columns: Vec<ColumnDef>,
    /// The primary-key column names.
    pub primary_key: Vec<Name>,
    /// Named composite unique keys.
    pub unique_keys: Vec<(Name, Vec<Name>)>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// The table's own `CHECK`s (`#[orm(check = "...")]` on the struct), each named:
    /// `CONSTRAINT name CHECK (sql)`.
    pub checks: Vec<(Name, String)>,
}

/// `[CONSTRAINT name] FOREIGN KEY (columns) REFERENCES table (columns) ON DELETE ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    /// The constraint name; `None` lets the database choose one.
    pub name: Option<Name>,
    /// The referencing columns.
    pub columns: Vec<Name>,
    /// The referenced table.
    pub table: Name,
    /// The referenced columns.
    pub references: Vec<Name>,
    /// What deleting a referenced row does.
    pub on_delete: OnDelete,
}

/// The delete rule of a foreign key (`ON DELETE ...`); in a migration file `cascade`,
/// `set_null` or `restrict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Deleting the target deletes the rows that refer to it.
    Cascade,
    /// Deleting the target sets the reference to `NULL`.
    SetNull,
    /// Deleting a target that rows still refer to fails.
    Restrict,
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (columns)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateIndex {
    /// The index name.
    pub name: Name,
    /// The table.
    pub table: Name,
    /// The indexed columns.
    pub columns: Vec<Name>,
    /// A unique index.
    pub unique: bool,
    /// Add `IF NOT EXISTS`.
    pub if_not_exists: bool,
}

/// `DROP TABLE [IF EXISTS] name [CASCADE]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropTable {
    /// The table.
    pub name: Name,
    /// Add `IF EXISTS`.
    pub if_exists: bool,
    /// Drop what depends on the table too, where the dialect needs to be told (PostgreSQL's
    /// `CASCADE`, which drops the foreign keys of other tables that refer to it).
    pub cascade: bool,
}

/// `DROP INDEX name` (MariaDB: `DROP INDEX name ON table`).
#[derive(Debug, Clone, PartialEq)]
pub struct DropIndex {
    /// The index.
    pub name: Name,
    /// Its table.
    pub table: Name,
}

/// `INSERT INTO table (columns) SELECT ...`: copies rows, as a table rebuild does.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertSelect {
    /// The table written.
    pub table: Name,
    /// Its columns, in the order the query yields them.
    pub columns: Vec<Name>,
    /// The rows.
    pub select: Select,
}

/// `ALTER TABLE table <action>[, <action>...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlterTable {
    /// The table.
    pub table: Name,
    /// What changes, in order.
    pub actions: Vec<AlterAction>,
}

/// One change of an [`AlterTable`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AlterAction {
    /// `RENAME TO name`.
    RenameTo(Name),
    /// `ADD COLUMN definition`.
    AddColumn(ColumnDef),
    /// `DROP COLUMN name`.
    DropColumn(Name),
    /// `RENAME COLUMN from TO to`.
    RenameColumn {
        /// The current name.
        from: Name,
        /// The new name.
        to: Name,
    },
    /// Changes a column's type, nullability or default from `from` to `to` (same name):
    /// `ALTER COLUMN ... SET DATA TYPE / SET NOT NULL / SET DEFAULT ...` for what differs
    /// (PostgreSQL adds `USING` and replaces an enum's `CHECK`); MariaDB restates the whole
    /// column with `MODIFY COLUMN`. SQLite has no such statement: a migration rebuilds the table.
    AlterColumn {
        /// The column as it is.
        from: ColumnDef,
        /// The column as it becomes.
        to: ColumnDef,
    },
    /// `ADD CONSTRAINT name UNIQUE (columns)`.
    AddUnique {
        /// The constraint name.
        name: Name,
        /// Its columns.
        columns: Vec<Name>,
    },
    /// `DROP CONSTRAINT name` (MariaDB: `DROP INDEX name`).
    DropUnique(Name),
    /// `ADD [CONSTRAINT name] FOREIGN KEY ...`.
    AddForeignKey(ForeignKey),
    /// `DROP CONSTRAINT name` (MariaDB: `DROP FOREIGN KEY name`).
    DropForeignKey(Name),
    /// `ADD CONSTRAINT name CHECK (sql)`: a table's own check.
    AddCheck {
        /// The constraint name.
        name: Name,
        /// The condition, raw SQL.
        sql: String,
    },
    /// `DROP CONSTRAINT name`: a table's own check (PostgreSQL and MariaDB; SQLite rebuilds).
    DropCheck(Name),
    /// `RENAME CONSTRAINT from TO to`: PostgreSQL keeps a constraint's name when its table or
    /// column is renamed, so the `CHECK` it named after them (see
    /// [`Dialect::implicit_check_name`](crate::Dialect::implicit_check_name)) is renamed along.
    RenameConstraint {
        /// The current name.
        from: Name,
        /// The new name.
        to: Name,
    },
}

/// Any statement the renderer knows.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Statement {
    /// A query.
    Select(Select),
    /// An insert.
    Insert(Insert),
    /// An update.
    Update(Update),
    /// A delete.
    Delete(Delete),
    /// A table definition.
    CreateTable(CreateTable),
    /// An index definition.
    CreateIndex(CreateIndex),
    /// A table drop.
    DropTable(DropTable),
    /// An index drop.
    DropIndex(DropIndex),
    /// A change of a table.
    AlterTable(AlterTable),
    /// A copy of rows from a query.
    InsertSelect(InsertSelect),
}
