//! The SQL AST: plain data, one tree for every dialect, rendered by [`crate::render`].
//!
//! Statements name tables and columns by their SQL identifiers; the renderer quotes them.

use crate::value::{SqlType, Value};

/// A scalar SQL expression.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expr {
    /// A column, optionally qualified by a table name or alias.
    Column {
        /// The table or alias, if qualified.
        table: Option<String>,
        /// The column name.
        name: String,
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
    /// `expr IS NULL` or `expr IS NOT NULL`.
    IsNull {
        /// The tested expression.
        expr: Box<Expr>,
        /// `IS NOT NULL` when true.
        negated: bool,
    },
    /// `COUNT(*)`.
    CountStar,
}

impl Expr {
    /// An unqualified column.
    pub fn column(name: impl Into<String>) -> Expr {
        Expr::Column { table: None, name: name.into() }
    }

    /// `self = rhs`.
    pub fn eq(self, rhs: Expr) -> Expr {
        Expr::Binary { op: BinOp::Eq, lhs: Box::new(self), rhs: Box::new(rhs) }
    }

    /// `self AND rhs`.
    pub fn and(self, rhs: Expr) -> Expr {
        Expr::Binary { op: BinOp::And, lhs: Box::new(self), rhs: Box::new(rhs) }
    }

    /// Joins conditions with `AND`; `None` for an empty list.
    pub fn all(conditions: impl IntoIterator<Item = Expr>) -> Option<Expr> {
        conditions.into_iter().reduce(Expr::and)
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl BinOp {
    /// The SQL operator text.
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
        }
    }
}

/// `SELECT columns FROM table [WHERE ...] [LIMIT n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    /// The projected expressions.
    pub columns: Vec<Expr>,
    /// The table.
    pub from: String,
    /// The condition.
    pub filter: Option<Expr>,
    /// The row limit.
    pub limit: Option<u64>,
}

/// `INSERT INTO table (columns) VALUES (...), (...) [RETURNING ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// The table.
    pub table: String,
    /// The column names.
    pub columns: Vec<String>,
    /// One list of expressions per row.
    pub rows: Vec<Vec<Expr>>,
    /// Columns to return (rendered only where the dialect has `RETURNING`).
    pub returning: Vec<String>,
}

/// `UPDATE table SET col = expr, ... [WHERE ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The table.
    pub table: String,
    /// The assignments.
    pub set: Vec<(String, Expr)>,
    /// The condition.
    pub filter: Option<Expr>,
}

/// `DELETE FROM table [WHERE ...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    /// The table.
    pub table: String,
    /// The condition.
    pub filter: Option<Expr>,
}

/// One column of a `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// The column name.
    pub name: String,
    /// The column type.
    pub ty: SqlType,
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
    pub sql_default: Option<String>,
}

/// `CREATE TABLE [IF NOT EXISTS] ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTable {
    /// The table.
    pub name: String,
    /// Add `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// The columns.
    pub columns: Vec<ColumnDef>,
    /// The primary-key column names.
    pub primary_key: Vec<String>,
    /// Named composite unique keys.
    pub unique_keys: Vec<(String, Vec<String>)>,
}

/// `CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (columns)`.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateIndex {
    /// The index name.
    pub name: String,
    /// The table.
    pub table: String,
    /// The indexed columns.
    pub columns: Vec<String>,
    /// A unique index.
    pub unique: bool,
    /// Add `IF NOT EXISTS`.
    pub if_not_exists: bool,
}

/// `DROP TABLE [IF EXISTS] name`.
#[derive(Debug, Clone, PartialEq)]
pub struct DropTable {
    /// The table.
    pub name: String,
    /// Add `IF EXISTS`.
    pub if_exists: bool,
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
}
