//! The one walker that renders the AST for a dialect. Values become placeholders and binds;
//! identifiers are always quoted.

use crate::ast::*;
use crate::dialect::Dialect;
use crate::value::{SqlType, Value};

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
///     table: "order".into(),
///     filter: Some(Expr::column("id").eq(Expr::Value(Value::Int(7)))),
/// });
/// assert_eq!(render(&stmt, Dialect::Postgres).text, r#"DELETE FROM "order" WHERE "id" = $1"#);
/// assert_eq!(render(&stmt, Dialect::MariaDb).text, "DELETE FROM `order` WHERE `id` = ?");
/// ```
pub fn render(stmt: &Statement, dialect: Dialect) -> Sql {
    let mut w = Writer { dialect, text: String::with_capacity(128), binds: Vec::new(), placeholders: 0 };
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

struct Writer {
    dialect: Dialect,
    text: String,
    binds: Vec<Value>,
    placeholders: usize,
}

impl Writer {
    fn sql(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn ident(&mut self, name: &str) {
        self.dialect.write_ident(&mut self.text, name);
    }

    fn idents(&mut self, names: &[String]) {
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.ident(n);
        }
    }

    fn placeholder(&mut self) {
        self.placeholders += 1;
        self.dialect.write_placeholder(&mut self.text, self.placeholders);
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
            Expr::Value(v) => {
                self.placeholder();
                self.binds.push(v.clone());
            }
            Expr::Binary { op, lhs, rhs } => {
                let wrap = |e: &Expr| matches!(e, Expr::Binary { op: BinOp::Or, .. });
                let nested = *op == BinOp::And;
                for (i, side) in [lhs, rhs].into_iter().enumerate() {
                    if i == 1 {
                        self.sql(" ");
                        self.sql(op.sql());
                        self.sql(" ");
                    }
                    let paren = nested && wrap(side);
                    if paren {
                        self.sql("(");
                    }
                    self.expr(side);
                    if paren {
                        self.sql(")");
                    }
                }
            }
            Expr::IsNull { expr, negated } => {
                self.expr(expr);
                self.sql(if *negated { " IS NOT NULL" } else { " IS NULL" });
            }
            Expr::CountStar => self.sql("COUNT(*)"),
        }
    }

    fn filter(&mut self, filter: &Option<Expr>) {
        if let Some(f) = filter {
            self.sql(" WHERE ");
            self.expr(f);
        }
    }

    fn select(&mut self, s: &Select) {
        self.sql("SELECT ");
        for (i, c) in s.columns.iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.expr(c);
        }
        self.sql(" FROM ");
        self.ident(&s.from);
        self.filter(&s.filter);
        if let Some(n) = s.limit {
            self.sql(" LIMIT ");
            self.sql(&n.to_string());
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
        self.sql("DELETE FROM ");
        self.ident(&s.table);
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
                    self.sql(&ty);
                    self.sql(" GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
                }
                Dialect::MariaDb => {
                    self.sql(&ty);
                    self.sql(" NOT NULL AUTO_INCREMENT PRIMARY KEY");
                }
            }
            return;
        }
        let ty = self.dialect.column_type(c.ty, c.max_len, c.decimal);
        self.sql(&ty);
        if !c.nullable {
            self.sql(" NOT NULL");
        }
        if let Some(d) = &c.sql_default {
            self.sql(" DEFAULT ");
            self.sql(d);
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
                self.sql(&list.join(", "));
                self.sql("))");
            }
            _ => {}
        }
    }

    /// A string literal in DDL, where binds are not allowed. Only for text fixed in the program
    /// (enum values), never for user data.
    fn string_literal(&mut self, s: &str) {
        self.sql("'");
        for c in s.chars() {
            if c == '\'' {
                self.sql("'");
            }
            if c == '\\' && self.dialect == Dialect::MariaDb {
                self.sql("\\");
            }
            self.text.push(c);
        }
        self.sql("'");
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
    fn or_inside_and_is_parenthesised() {
        let or = Expr::Binary { op: BinOp::Or, lhs: Box::new(Expr::column("a")), rhs: Box::new(Expr::column("b")) };
        let stmt = Statement::Delete(Delete { table: "t".into(), filter: Some(or.and(Expr::column("c"))) });
        assert_eq!(render(&stmt, Dialect::Sqlite).text, r#"DELETE FROM "t" WHERE ("a" OR "b") AND "c""#);
    }
}
