//! The schema model as DDL nodes of the AST: tables, columns, indexes and constraints, in the
//! two forms nextorm writes: a mapping's (`generate_mapping`, safe to run twice) and a
//! migration's (every constraint named, so a later migration can drop it).

use super::model::{Column, ForeignKey, Index, Table};
use crate::ast::{self, ColumnDef, CreateIndex, CreateTable, Name};

/// Which DDL a model is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DdlStyle {
    /// `generate_mapping`'s: `IF NOT EXISTS` everywhere; a one-column unique key with its
    /// generated name written `UNIQUE` on the column and foreign keys left unnamed, as the
    /// tables made before migrations existed.
    Mapping,
    /// A migration's: plain `CREATE`, every unique key and foreign key named.
    Migration,
}

/// `CREATE TABLE` of `table`.
pub(crate) fn create_table(table: &Table, style: DdlStyle) -> CreateTable {
    let mapping = style == DdlStyle::Mapping;
    let inline_unique = |c: &Column| {
        mapping
            && table.unique_keys.iter().any(|u| {
                u.columns.len() == 1
                    && u.columns[0] == c.name
                    && u.name == super::entities::generated_name("uq", &table.name, &[&c.name])
            })
    };
    CreateTable {
        name: table.name.clone().into(),
        if_not_exists: mapping,
        columns: table.columns.iter().map(|c| ColumnDef { unique: inline_unique(c), ..column_def(table, c) }).collect(),
        primary_key: names(&table.primary_key),
        unique_keys: table
            .unique_keys
            .iter()
            .filter(|u| !(u.columns.len() == 1 && table.column(&u.columns[0]).is_some_and(inline_unique)))
            .map(|u| (Name::from(u.name.clone()), names(&u.columns)))
            .collect(),
        foreign_keys: table.foreign_keys.iter().map(|fk| foreign_key(fk, !mapping)).collect(),
        checks: table.checks.iter().map(|c| (Name::from(c.name.clone()), c.sql.clone())).collect(),
    }
}

/// `CREATE INDEX` of one index of `table`.
pub(crate) fn create_index(table: &str, index: &Index, style: DdlStyle) -> CreateIndex {
    CreateIndex {
        name: index.name.clone().into(),
        table: table.to_owned().into(),
        columns: names(&index.columns),
        unique: false,
        if_not_exists: style == DdlStyle::Mapping,
    }
}

/// A column's definition; the auto-increment key is declared with its column only when it is
/// the table's whole key.
pub(crate) fn column_def(table: &Table, c: &Column) -> ColumnDef {
    ColumnDef {
        name: c.name.clone().into(),
        ty: c.ty.clone(),
        max_len: c.max_len,
        decimal: c.decimal,
        nullable: c.nullable,
        auto_increment: c.auto_increment && table.has_auto_key(),
        unique: false,
        sql_default: c.default.clone().map(Name::from),
        sql_type: c.sql_type.clone(),
        checks: c.checks.clone(),
    }
}

/// A foreign key, named or left for the database to name.
pub(crate) fn foreign_key(fk: &ForeignKey, named: bool) -> ast::ForeignKey {
    ast::ForeignKey {
        name: named.then(|| fk.name.clone().into()),
        columns: names(&fk.columns),
        table: fk.references.clone().into(),
        references: names(&fk.referenced_columns),
        on_delete: fk.on_delete,
    }
}

pub(crate) fn names(list: &[String]) -> Vec<Name> {
    list.iter().map(|s| Name::from(s.clone())).collect()
}
