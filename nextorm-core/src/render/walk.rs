//! The one walker: renders every AST node in the SQL common to the three dialects and asks the
//! dialect `D` ([`SqlDialect`]) at each point where one departs from it. Values become
//! placeholders and binds; identifiers are always quoted.

use super::syntax::{INLINE_LIST_MAX, Piece, SqlDialect};
use super::writer::Writer;
use crate::ast::*;
use crate::value::{DataType, Kind, Value};

impl<'h, D: SqlDialect> Writer<'h, D> {
    /// Renders any statement.
    pub(super) fn statement(&mut self, stmt: &Statement) {
        match stmt {
            Statement::Select(s) => self.select(s),
            Statement::Insert(s) => self.insert(s),
            Statement::Update(s) => self.update(s),
            Statement::Delete(s) => self.delete(s),
            Statement::CreateTable(s) => self.create_table(s),
            Statement::CreateIndex(s) => self.create_index(s),
            Statement::DropTable(s) => self.drop_table(s),
            Statement::DropIndex(s) => D::drop_index(self, s),
            Statement::AlterTable(s) => self.alter_table(s),
            Statement::InsertSelect(s) => self.insert_select(s),
        }
    }

    pub(crate) fn expr(&mut self, e: &Expr) {
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
            Expr::Like { expr, needle, mode } => D::text_test(self, expr, needle, *mode),
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
            Expr::Decimal(op) => D::decimal(self, op),
            Expr::DecimalKey(key) => D::decimal_key(self, key),
        }
    }

    /// Writes `e` as the operand of an operator binding with strength `strength`, in parentheses
    /// when it binds more loosely.
    pub(crate) fn operand(&mut self, e: &Expr, strength: u8) {
        if Self::strength(e) < strength {
            self.sql("(");
            self.expr(e);
            self.sql(")");
        } else {
            self.expr(e);
        }
    }

    /// How tightly `e` binds as written in this dialect.
    pub(crate) fn strength(e: &Expr) -> u8 {
        match e {
            Expr::Decimal(op) => D::decimal_strength(op),
            Expr::DecimalKey(key) => D::decimal_key_strength(key),
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

    #[inline]
    fn binary(&mut self, op: BinOp, lhs: &Expr, rhs: &Expr) {
        D::binary(self, op, lhs, rhs);
    }

    /// `lhs <operator> rhs`, with `operator` written for `op` and operands in parentheses
    /// where they bind more loosely.
    #[inline]
    pub(crate) fn infix(&mut self, op: BinOp, operator: &'static str, lhs: &Expr, rhs: &Expr) {
        let p = op.precedence();
        // Comparisons never chain; the right operand of a non-associative operator needs
        // parentheses at equal strength (`a - (b - c)`).
        let associative = matches!(op, BinOp::And | BinOp::Or | BinOp::Add | BinOp::Mul | BinOp::Concat);
        let left = if p == 4 { p + 1 } else { p };
        let right = if associative { p } else { p + 1 };
        self.operand(lhs, left);
        self.sql(" ");
        self.sql(operator);
        self.sql(" ");
        self.operand(rhs, right);
    }

    fn in_values(&mut self, expr: &Expr, values: &[Value], kind: Kind, negated: bool) {
        if values.is_empty() {
            // `x IN ()` is not SQL: nothing is in an empty list.
            self.sql(if negated { "1 = 1" } else { "1 = 0" });
            return;
        }
        self.operand(expr, 5);
        self.sql(if negated { " NOT IN (" } else { " IN (" });
        let padded = match values.len() {
            len if len <= INLINE_LIST_MAX => Some(len),
            len => D::padded_list_width(len),
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
        // A long list is one bind whatever its length.
        D::long_list(self, values, kind);
    }

    /// `expr LIKE pattern ESCAPE '!'`, the pattern built from `needle` with its wildcards escaped.
    pub(crate) fn like(&mut self, expr: &Expr, needle: &Expr, mode: LikeMode) {
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
                let mut parts: Vec<Piece<'_, 'h, D>> = Vec::new();
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
                D::concat(self, &parts);
            }
        }
        self.sql(" ESCAPE '!'");
    }

    pub(crate) fn args<'e>(&mut self, args: impl IntoIterator<Item = &'e Expr>) {
        for (i, a) in args.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.expr(a);
        }
    }

    pub(crate) fn call<'e>(&mut self, name: &'static str, args: impl IntoIterator<Item = &'e Expr>) {
        self.sql(name);
        self.sql("(");
        self.args(args);
        self.sql(")");
    }

    fn func(&mut self, func: Func, args: &[Expr]) {
        match func {
            Func::Lower => self.call("LOWER", args),
            Func::Upper => self.call("UPPER", args),
            Func::Trim => self.call("TRIM", args),
            Func::Abs => self.call("ABS", args),
            Func::Coalesce => self.call("COALESCE", args),
            Func::Substr => D::substr(self, args),
            Func::Length => self.call(D::LENGTH, args),
            Func::Random => self.sql(D::RANDOM),
            part => D::date_part(self, part, args),
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
            AggFunc::GroupConcat(sep) => return D::group_concat(self, arg, sep),
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

    pub(crate) fn select(&mut self, s: &Select) {
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
                // A decimal key is looked up as the dialect writes it.
                let key = D::position_key(&o.expr);
                match s.columns.iter().position(|c| c == key) {
                    Some(i) if !matches!(key, Expr::Column { .. }) => self.sql_dyn(&(i + 1).to_string()),
                    _ => self.expr(&o.expr),
                }
                if o.desc {
                    self.sql(" DESC");
                }
                if o.nullable {
                    D::nulls_lowest(self, o.desc);
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
                self.sql(D::OFFSET_WITHOUT_LIMIT);
                self.expr(o);
            }
            (None, None) => {}
        }
        if let Some(lock) = s.lock {
            D::lock(self, lock);
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
            self.sql(D::INSERT_DEFAULTS);
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
        if !s.returning.is_empty() {
            self.sql(" RETURNING ");
            self.idents(&s.returning);
        }
    }

    fn update(&mut self, s: &Update) {
        self.sql("UPDATE ");
        self.ident(&s.table);
        if let Some(a) = &s.alias {
            self.sql(D::UPDATE_ALIAS);
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
        match &s.alias {
            Some(alias) => D::delete_aliased(self, &s.table, alias),
            None => {
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
            self.sql(",\n  ");
            self.foreign_key(fk);
        }
        for (name, check) in &t.checks {
            self.sql(",\n  ");
            self.table_check(name, check);
        }
        self.sql("\n)");
        if let Some(options) = D::TABLE_OPTIONS {
            self.sql(options);
        }
    }

    /// `CONSTRAINT name CHECK (sql)`: a table's own check.
    fn table_check(&mut self, name: &Name, check: &str) {
        self.sql("CONSTRAINT ");
        self.ident(name);
        self.sql(" CHECK (");
        self.sql_dyn(check);
        self.sql(")");
    }

    /// `[CONSTRAINT name] FOREIGN KEY (...) REFERENCES t (...) [ON DELETE ...]`.
    fn foreign_key(&mut self, fk: &ForeignKey) {
        if let Some(name) = &fk.name {
            self.sql("CONSTRAINT ");
            self.ident(name);
            self.sql(" ");
        }
        self.sql("FOREIGN KEY (");
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

    pub(crate) fn column_def(&mut self, c: &ColumnDef) {
        self.ident(&c.name);
        self.sql(" ");
        if c.auto_increment {
            D::auto_increment_column(self, &c.ty);
            return;
        }
        self.column_type(c);
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
        if has_check(c) {
            self.sql(" ");
            self.column_check(c);
        }
    }

    /// The column's type: its `sql_type` as written, else the dialect's spelling.
    pub(crate) fn column_type(&mut self, c: &ColumnDef) {
        match &c.sql_type {
            Some(ty) => self.sql_dyn(ty),
            None => self.sql_dyn(&D::column_type(&c.ty, c.max_len, c.decimal)),
        }
    }

    /// The column's one `CHECK`: an enum's values, the raw condition, `min` and `max`, joined by
    /// `AND` (`CHECK ("c" IN ('a', 'b'))`, `CHECK ((length(code) = 3) AND "score" >= 0)`).
    pub(crate) fn column_check(&mut self, c: &ColumnDef) {
        self.sql("CHECK (");
        let mut first = true;
        let mut and = |w: &mut Self| {
            if !std::mem::take(&mut first) {
                w.sql(" AND ");
            }
        };
        if matches!(c.ty, DataType::TextEnum(_) | DataType::IntEnum(_)) {
            and(self);
            self.check_in(c);
        }
        if let Some(sql) = &c.checks.sql {
            and(self);
            self.sql("(");
            self.sql_dyn(sql);
            self.sql(")");
        }
        for (op, bound) in [(" >= ", &c.checks.min), (" <= ", &c.checks.max)] {
            if let Some(bound) = bound {
                and(self);
                D::bounded_column(self, c);
                self.sql(op);
                self.sql_dyn(bound);
            }
        }
        self.sql(")");
    }

    /// `c IN (...)`, the values an enum column allows.
    fn check_in(&mut self, c: &ColumnDef) {
        self.ident(&c.name);
        self.sql(" IN (");
        match &c.ty {
            DataType::TextEnum(values) => {
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        self.sql(", ");
                    }
                    self.string_literal(v);
                }
            }
            DataType::IntEnum(values) => {
                let list: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                self.sql_dyn(&list.join(", "));
            }
            _ => {}
        }
        self.sql(")");
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
        if let Some(suffix) = D::DROP_TABLE_SUFFIX.filter(|_| d.cascade) {
            self.sql(suffix);
        }
    }

    fn insert_select(&mut self, s: &InsertSelect) {
        self.sql("INSERT INTO ");
        self.ident(&s.table);
        self.sql(" (");
        self.idents(&s.columns);
        self.sql(") ");
        self.select(&s.select);
    }

    fn alter_table(&mut self, t: &AlterTable) {
        self.sql("ALTER TABLE ");
        self.ident(&t.table);
        for (i, action) in t.actions.iter().enumerate() {
            self.sql(if i == 0 { " " } else { ", " });
            self.alter_action(&t.table, action);
        }
    }

    fn alter_action(&mut self, table: &Name, action: &AlterAction) {
        match action {
            AlterAction::RenameTo(name) => {
                self.sql("RENAME TO ");
                self.ident(name);
            }
            AlterAction::AddColumn(c) => {
                self.sql("ADD COLUMN ");
                self.column_def(c);
            }
            AlterAction::DropColumn(name) => {
                self.sql("DROP COLUMN ");
                self.ident(name);
            }
            AlterAction::RenameColumn { from, to } => {
                self.sql("RENAME COLUMN ");
                self.ident(from);
                self.sql(" TO ");
                self.ident(to);
            }
            AlterAction::AlterColumn { from, to } => D::alter_column(self, table, from, to),
            AlterAction::AddUnique { name, columns } => {
                self.sql("ADD CONSTRAINT ");
                self.ident(name);
                self.sql(" UNIQUE (");
                self.idents(columns);
                self.sql(")");
            }
            AlterAction::DropUnique(name) => {
                self.sql(D::DROP_UNIQUE);
                self.ident(name);
            }
            AlterAction::AddForeignKey(fk) => {
                self.sql("ADD ");
                self.foreign_key(fk);
            }
            AlterAction::DropForeignKey(name) => {
                self.sql(D::DROP_FOREIGN_KEY);
                self.ident(name);
            }
            AlterAction::AddCheck { name, sql } => {
                self.sql("ADD ");
                self.table_check(name, sql);
            }
            AlterAction::DropCheck(name) => {
                self.sql("DROP CONSTRAINT ");
                self.ident(name);
            }
            AlterAction::RenameConstraint { from, to } => {
                self.sql("RENAME CONSTRAINT ");
                self.ident(from);
                self.sql(" TO ");
                self.ident(to);
            }
        }
    }

    /// The standard `ALTER COLUMN` actions for what differs between `from` and `to`: the type
    /// (with the default dropped before and set after, so it is never cast), the enum's `CHECK`
    /// where the dialect named it ([`SqlDialect::implicit_check_name`]), nullability, default.
    pub(crate) fn alter_column_actions(&mut self, table: &Name, from: &ColumnDef, to: &ColumnDef) {
        let mut first = true;
        let mut next = |w: &mut Self| {
            if !std::mem::take(&mut first) {
                w.sql(", ");
            }
        };
        let retyped = from.ty != to.ty
            || from.max_len != to.max_len
            || from.decimal != to.decimal
            || from.sql_type != to.sql_type;
        let check = D::implicit_check_name(table, &to.name).filter(|_| from.ty != to.ty || from.checks != to.checks);
        if let Some(check) = &check
            && has_check(from)
        {
            next(self);
            self.sql("DROP CONSTRAINT IF EXISTS ");
            self.ident(&Name::from(check.clone()));
        }
        let default_changes = from.sql_default != to.sql_default || (retyped && from.sql_default.is_some());
        if default_changes && from.sql_default.is_some() {
            next(self);
            self.sql("ALTER COLUMN ");
            self.ident(&to.name);
            self.sql(" DROP DEFAULT");
        }
        if retyped {
            next(self);
            D::set_data_type(self, to);
        }
        if from.nullable != to.nullable {
            next(self);
            self.sql("ALTER COLUMN ");
            self.ident(&to.name);
            self.sql(if to.nullable { " DROP NOT NULL" } else { " SET NOT NULL" });
        }
        if let Some(d) = to.sql_default.as_ref().filter(|_| default_changes) {
            next(self);
            self.sql("ALTER COLUMN ");
            self.ident(&to.name);
            self.sql(" SET DEFAULT ");
            self.name(d);
        }
        if let Some(check) = &check
            && has_check(to)
        {
            next(self);
            self.sql("ADD CONSTRAINT ");
            self.ident(&Name::from(check.clone()));
            self.sql(" ");
            self.column_check(to);
        }
    }
}

/// Whether the column has a `CHECK`: an enum's values, or its own.
pub(crate) fn has_check(c: &ColumnDef) -> bool {
    matches!(c.ty, DataType::TextEnum(_) | DataType::IntEnum(_)) || !c.checks.is_empty()
}
