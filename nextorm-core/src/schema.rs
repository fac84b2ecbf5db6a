//! Mapping entities to tables: validation and DDL, per dialect.

use crate::ast::{DropTable, Expr, Select, Statement};
use crate::dialect::Dialect;
use crate::entity::EntityMeta;
use crate::entity::meta::RelationKind;
use crate::error::{Error, Result};
use crate::migrate::Schema;
use crate::migrate::ddl::{self, DdlStyle};
use crate::render::render;
use crate::value::ColumnType;
use std::collections::HashMap;

/// A query that reads no row but names the columns of `meta` (all of them, or only the column at
/// `only`), run to check that the table has every column the entity maps:
///
/// ```text
/// SELECT "id", "name", "nickname" FROM "member" WHERE 1 = 0
/// ```
pub fn column_probe(meta: &EntityMeta, only: Option<usize>, dialect: Dialect) -> String {
    let columns = meta
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| only.is_none_or(|o| o == *i))
        .map(|(_, c)| Expr::column(c.name))
        .collect();
    let nothing = Expr::Raw { parts: vec!["1 = 0".into()], args: Vec::new() };
    render(&Statement::Select(Select::simple(meta.table, columns, Some(nothing))), dialect).text
}

/// Checks that the entities can be mapped on `dialect`: every identifier is valid and within the
/// dialect's length limit, no two entities share a table, no two fields share a column, and keys
/// and indexes are on columns the dialect can index.
pub fn validate(entities: &[&'static EntityMeta], dialect: Dialect) -> Result<()> {
    let mut tables: HashMap<&str, &str> = HashMap::new();
    for meta in entities {
        let ctx = |e: Error| e.context(format_args!("entity `{}`", meta.name));
        dialect.check_identifier(meta.table).map_err(ctx)?;
        if let Some(other) = tables.insert(meta.table, meta.name) {
            return Err(Error::mapping(format!(
                "entities `{other}` and `{}` are both mapped to table `{}`",
                meta.name, meta.table
            )));
        }
        let mut columns: HashMap<&str, &str> = HashMap::new();
        for col in meta.columns {
            dialect.check_identifier(col.name).map_err(ctx)?;
            if let Some(other) = columns.insert(col.name, col.field) {
                return Err(ctx(Error::mapping(format!(
                    "fields `{other}` and `{}` are both mapped to column `{}`",
                    col.field, col.name
                ))));
            }
            let keyed = col.primary_key || col.index.is_some();
            if keyed && col.ty == ColumnType::Text && col.max_len.is_none() && !dialect.indexes_unbounded_text() {
                return Err(ctx(Error::mapping(format!(
                    "field `{}` is a key or indexed but has no max_len: {} cannot index unbounded text; add #[orm(max_len = N)]",
                    col.field,
                    dialect.name()
                ))));
            }
        }
        if meta.primary_key.is_empty() {
            return Err(ctx(Error::mapping("no primary key")));
        }
        // A session tracks read and written columns in a fixed-size set.
        if meta.columns.len() > crate::session::Bits::CAPACITY {
            return Err(ctx(Error::mapping(format!(
                "{} columns; an entity has at most {}",
                meta.columns.len(),
                crate::session::Bits::CAPACITY
            ))));
        }
        for relation in meta.relations {
            let target = (relation.target)();
            match relation.kind {
                RelationKind::Single { .. } => {
                    crate::entity::relation::reverse_of(meta, relation)?;
                    if target.primary_key.len() != 1 {
                        return Err(ctx(Error::mapping(format!(
                            "field `{}` refers to {}, whose key has several columns: a Single needs a one-column key",
                            relation.field, target.name
                        ))));
                    }
                }
                RelationKind::HasOne => {
                    crate::entity::relation::set_link(meta, relation)?;
                }
                RelationKind::Set => {
                    if let crate::entity::relation::Link::Table { table, .. } =
                        crate::entity::relation::set_link(meta, relation)?
                    {
                        dialect.check_identifier(&table.name).map_err(ctx)?;
                        for c in table.owner_columns.iter().chain(&table.target_columns) {
                            dialect.check_identifier(c).map_err(ctx)?;
                        }
                    }
                }
            }
            if !entities.iter().any(|m| std::ptr::eq(*m, target)) {
                return Err(ctx(Error::mapping(format!(
                    "field `{}` refers to {}, which is not among the mapped entities",
                    relation.field, target.name
                ))));
            }
        }
        for c in meta.composites {
            for col in c.columns {
                if !meta.columns.iter().any(|m| m.name == *col) {
                    return Err(ctx(Error::mapping(format!("composite key or index names unknown column `{col}`"))));
                }
            }
        }
    }
    // The names of keys and indexes, generated or given.
    for table in Schema::from_entities(entities)?.tables {
        let names = table.unique_keys.iter().map(|u| &u.name).chain(table.indexes.iter().map(|i| &i.name));
        for name in names.chain(table.foreign_keys.iter().map(|f| &f.name)) {
            dialect.check_identifier(name).map_err(|e| e.context(format_args!("table `{}`", table.name)))?;
        }
    }
    Ok(())
}

/// The statements that create the entities' tables and indexes, safe to run twice: the schema
/// model of the entities ([`Schema::from_entities`]) written as a mapping's DDL.
///
/// ```
/// # use nextorm_core::{schema, Dialect};
/// // For `#[derive(Entity)] struct Tag { #[pk] id: i64, #[orm(max_len = 40, unique)] label: String }`:
/// // SQLite:     CREATE TABLE IF NOT EXISTS "tag" (
/// //               "id" INTEGER PRIMARY KEY AUTOINCREMENT,
/// //               "label" VARCHAR(40) NOT NULL UNIQUE
/// //             )
/// // PostgreSQL: ... "id" BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY ...
/// // MariaDB:    ... `id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY ...
/// //             ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin
/// # let _ = schema::create_statements;
/// ```
pub fn create_statements(entities: &[&'static EntityMeta], dialect: Dialect) -> Result<Vec<String>> {
    validate(entities, dialect)?;
    let model = Schema::from_entities(entities)?;
    let mut out = Vec::new();
    for table in &model.tables {
        out.push(render(&Statement::CreateTable(ddl::create_table(table, DdlStyle::Mapping)), dialect).text);
        for index in &table.indexes {
            out.push(
                render(&Statement::CreateIndex(ddl::create_index(&table.name, index, DdlStyle::Mapping)), dialect).text,
            );
        }
    }
    Ok(out)
}

/// The statements that drop the entities' tables, in reverse order.
pub fn drop_statements(entities: &[&'static EntityMeta], dialect: Dialect) -> Vec<String> {
    let names: Vec<String> = match Schema::from_entities(entities) {
        Ok(model) => model.tables.into_iter().map(|t| t.name).collect(),
        Err(_) => entities.iter().map(|m| m.table.to_owned()).collect(),
    };
    names
        .into_iter()
        .rev()
        .map(|name| {
            render(&Statement::DropTable(DropTable { name: name.into(), if_exists: true, cascade: true }), dialect).text
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_columns_than_a_session_tracks_is_a_mapping_error() {
        use crate::entity::{ColumnMeta, StatementCache};
        let column = |i: usize| ColumnMeta {
            field: Box::leak(format!("c{i}").into_boxed_str()),
            name: Box::leak(format!("c{i}").into_boxed_str()),
            ty: ColumnType::BigInt,
            nullable: false,
            primary_key: i == 0,
            auto: false,
            optimistic: true,
            max_len: None,
            decimal: None,
            unique: false,
            index: None,
            sql_default: None,
            renamed_from: None,
            sql_type: None,
            check: None,
            min: None,
            max: None,
            lazy: false,
            volatile: false,
        };
        let wide = |n: usize| -> &'static EntityMeta {
            Box::leak(Box::new(EntityMeta {
                name: "Wide",
                table: "wide",
                renamed_from: None,
                columns: Box::leak((0..n).map(column).collect::<Vec<_>>().into_boxed_slice()),
                primary_key: &[0],
                composites: &[],
                relations: &[],
                checks: &[],
                lazy_columns: &[],
                volatile_columns: &[],
                statements: StatementCache::new(),
            }))
        };
        assert!(validate(&[wide(128)], Dialect::Sqlite).is_ok());
        let e = validate(&[wide(129)], Dialect::Sqlite).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Mapping);
        assert!(e.to_string().contains("at most 128"), "{e}");
    }
}
