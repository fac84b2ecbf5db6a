//! The entities' schema compared with a live one (`generate_mapping(CreateTables::Check)`,
//! `nextorm check`): every difference, one line each.

use super::introspect::{LiveSchema, Unmapped};
use super::model::{Column, ForeignKey, Schema, Table};
use crate::ast::OnDelete;
use crate::dialect::Dialect;

/// How the `live` schema of a `dialect` database differs from `expected` (the entities'
/// [`Schema::from_entities`]), one line each, table by table in `expected`'s order, then the
/// tables the entities lack:
///
/// ```text
/// table `tag` is missing
/// table `post`: column `rating` is missing
/// column `post.title`: type VARCHAR(100) in the entities, VARCHAR(50) in the database
/// column `post.note`: NOT NULL in the entities, nullable in the database
/// table `post`: index `idx_post__rank` (rank) is missing
/// table `legacy` is extra
/// ```
///
/// What the database reports is compared as the dialect stores it: types by the DDL type
/// nextorm writes for them ([`Dialect::ddl_type`]: on SQLite `INTEGER` for every integer, on
/// MariaDB `tinyint(1)` is `BOOLEAN`); unique keys, indexes and foreign keys by their columns,
/// since a database names an unnamed constraint its own way. Defaults are not compared (each
/// database writes an expression back in its own spelling), nor are `CHECK`s, nor the types of
/// columns with an `sql_type`.
pub fn schema_differences(dialect: Dialect, expected: &Schema, live: &LiveSchema) -> Vec<String> {
    let mut out = Vec::new();
    for e in &expected.tables {
        match live.schema.table(&e.name) {
            Some(l) => Compared { dialect, expected: e, live: l, unmapped: &live.unmapped, out: &mut out }.all(),
            None => out.push(format!("table `{}` is missing", e.name)),
        }
    }
    for l in live.schema.tables.iter().filter(|l| expected.table(&l.name).is_none()) {
        out.push(format!("table `{}` is extra", l.name));
    }
    out
}

/// One table of the entities and the live table of its name.
struct Compared<'a> {
    dialect: Dialect,
    expected: &'a Table,
    live: &'a Table,
    unmapped: &'a [Unmapped],
    out: &'a mut Vec<String>,
}

impl Compared<'_> {
    fn all(mut self) {
        self.columns();
        self.primary_key();
        self.unique_keys();
        self.indexes();
        self.foreign_keys();
    }

    fn push(&mut self, what: String) {
        self.out.push(format!("table `{}`: {what}", self.expected.name));
    }

    fn columns(&mut self) {
        let (expected, live, unmapped) = (self.expected, self.live, self.unmapped);
        // The live columns whose type nextorm does not write: name, spelling, nullability.
        let odd: Vec<(&String, &String, bool)> = unmapped
            .iter()
            .filter_map(|u| match u {
                Unmapped::ColumnType { table, column, spelling, nullable } if *table == live.name => {
                    Some((column, spelling, *nullable))
                }
                _ => None,
            })
            .collect();
        for e in &expected.columns {
            let odd_one = odd.iter().find(|(name, ..)| **name == e.name);
            let (live_type, live_nullable, live_auto) = match (live.column(&e.name), odd_one) {
                (Some(l), _) => (self.ddl_type(l), l.nullable, l.auto_increment),
                (None, Some((_, spelling, nullable))) => (spelling_of(spelling), *nullable, false),
                (None, None) => {
                    self.push(format!("column `{}` is missing", e.name));
                    continue;
                }
            };
            let null = |nullable: bool| if nullable { "nullable" } else { "NOT NULL" };
            let auto = |on: bool| if on { "auto-increment" } else { "not auto-increment" };
            let expected_type = self.ddl_type(e);
            let expected_auto = e.auto_increment && expected.has_auto_key();
            // A type the entity spells itself (`sql_type`) is the database's to spell back.
            if e.sql_type.is_none() && expected_type != live_type {
                self.column_differs(&e.name, &format!("type {expected_type}"), &live_type);
            }
            if e.nullable != live_nullable {
                self.column_differs(&e.name, null(e.nullable), null(live_nullable));
            }
            if expected_auto != live_auto {
                self.column_differs(&e.name, auto(expected_auto), auto(live_auto));
            }
        }
        let extra: Vec<&String> =
            live.columns.iter().map(|c| &c.name).chain(odd.iter().map(|(name, ..)| *name)).collect();
        for name in extra.into_iter().filter(|n| expected.column(n).is_none()) {
            self.push(format!("column `{name}` is extra"));
        }
    }

    /// ``column `post.title`: <entities> in the entities, <database> in the database``.
    fn column_differs(&mut self, column: &str, entities: &str, database: &str) {
        let table = &self.expected.name;
        self.out.push(format!("column `{table}.{column}`: {entities} in the entities, {database} in the database"));
    }

    fn ddl_type(&self, c: &Column) -> String {
        self.dialect.ddl_type(&c.ty, c.max_len, c.decimal)
    }

    fn primary_key(&mut self) {
        if self.expected.primary_key != self.live.primary_key {
            let (e, l) = (list(&self.expected.primary_key), list(&self.live.primary_key));
            self.push(format!("primary key {e} in the entities, {l} in the database"));
        }
    }

    fn unique_keys(&mut self) {
        let named = |t: &Table| t.unique_keys.iter().map(|u| (u.name.clone(), u.columns.clone())).collect();
        self.keyed("unique key", named(self.expected), named(self.live));
    }

    fn indexes(&mut self) {
        let named = |t: &Table| t.indexes.iter().map(|i| (i.name.clone(), i.columns.clone())).collect();
        self.keyed("index", named(self.expected), named(self.live));
    }

    /// Keys or indexes matched by their columns: the missing ones named as the entities name
    /// them, the extra ones as the database does.
    fn keyed(&mut self, what: &str, expected: Vec<(String, Vec<String>)>, live: Vec<(String, Vec<String>)>) {
        for (name, columns) in &expected {
            if !live.iter().any(|(_, c)| c == columns) {
                self.push(format!("{what} `{name}` {} is missing", list(columns)));
            }
        }
        for (name, columns) in &live {
            if !expected.iter().any(|(_, c)| c == columns) {
                self.push(format!("{what} `{name}` {} is extra", list(columns)));
            }
        }
    }

    /// Foreign keys matched by their columns and what they reference, then compared by rule.
    fn foreign_keys(&mut self) {
        let same = |a: &ForeignKey, b: &ForeignKey| {
            a.columns == b.columns && a.references == b.references && a.referenced_columns == b.referenced_columns
        };
        let (expected, live_table, all_unmapped) = (self.expected, self.live, self.unmapped);
        let unmapped: Vec<(&ForeignKey, &str)> = all_unmapped
            .iter()
            .filter_map(|u| match u {
                Unmapped::DeleteRule { table, foreign_key, rule } if *table == live_table.name => {
                    Some((foreign_key, rule.as_str()))
                }
                _ => None,
            })
            .collect();
        for e in &expected.foreign_keys {
            let found = live_table.foreign_keys.iter().find(|l| same(e, l));
            let live_rule = match (found, unmapped.iter().find(|(l, _)| same(e, l))) {
                (Some(l), _) => rule(l.on_delete).to_owned(),
                (None, Some((_, spelled))) => format!("ON DELETE {spelled}"),
                (None, None) => {
                    self.push(format!("foreign key {} is missing", describe(e)));
                    continue;
                }
            };
            if rule(e.on_delete) != live_rule {
                self.push(format!(
                    "foreign key {}: {} in the entities, {live_rule} in the database",
                    describe(e),
                    rule(e.on_delete)
                ));
            }
        }
        let live = live_table.foreign_keys.iter().chain(unmapped.iter().map(|(fk, _)| *fk));
        let extra: Vec<String> =
            live.filter(|l| !expected.foreign_keys.iter().any(|e| same(e, l))).map(describe).collect();
        for fk in extra {
            self.push(format!("foreign key {fk} is extra"));
        }
    }
}

/// A type as the database spells it, or a word for none (SQLite takes a column without one).
fn spelling_of(spelling: &str) -> String {
    if spelling.is_empty() { "no type".to_owned() } else { spelling.to_owned() }
}

/// `(a, b)`.
fn list(columns: &[String]) -> String {
    format!("({})", columns.join(", "))
}

/// `(author) -> member (id)`.
fn describe(fk: &ForeignKey) -> String {
    format!("{} -> {} {}", list(&fk.columns), fk.references, list(&fk.referenced_columns))
}

/// The delete rule as a line shows it.
fn rule(on_delete: OnDelete) -> &'static str {
    match on_delete {
        OnDelete::Cascade => "ON DELETE CASCADE",
        OnDelete::SetNull => "ON DELETE SET NULL",
        OnDelete::Restrict => "ON DELETE RESTRICT",
    }
}
