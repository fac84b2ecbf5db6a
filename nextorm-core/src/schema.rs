//! Mapping entities to tables: validation and DDL, per dialect.

use crate::ast::{ColumnDef, CreateIndex, CreateTable, DropTable, Expr, ForeignKey, Name, Select, Statement};
use crate::dialect::Dialect;
use crate::entity::EntityMeta;
use crate::error::{Error, Result};
use crate::relation_meta::RelationKind;
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
        for name in index_names(meta) {
            dialect.check_identifier(&name).map_err(ctx)?;
        }
        for relation in meta.relations {
            let target = (relation.target)();
            match relation.kind {
                RelationKind::Single { .. } => {
                    crate::relation_meta::reverse_of(meta, relation)?;
                    if target.primary_key.len() != 1 {
                        return Err(ctx(Error::mapping(format!(
                            "field `{}` refers to {}, whose key has several columns: a Single needs a one-column key",
                            relation.field, target.name
                        ))));
                    }
                }
                RelationKind::HasOne => {
                    crate::relation_meta::set_link(meta, relation)?;
                }
                RelationKind::Set => {
                    if let crate::relation_meta::Link::Table { table, .. } =
                        crate::relation_meta::set_link(meta, relation)?
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
    Ok(())
}

/// The statements that create the entities' tables and indexes, safe to run twice.
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
    let mut out = Vec::new();
    for meta in creation_order(entities)? {
        out.push(render(&Statement::CreateTable(create_table(meta)), dialect).text);
        for index in indexes(meta) {
            out.push(render(&Statement::CreateIndex(index), dialect).text);
        }
    }
    for (table, index) in join_tables(entities) {
        out.push(render(&Statement::CreateTable(table), dialect).text);
        out.push(render(&Statement::CreateIndex(index), dialect).text);
    }
    Ok(out)
}

/// The join tables of the many-to-many relations, each once, with the index on their second
/// half (the primary key leads with the first):
///
/// ```text
/// CREATE TABLE IF NOT EXISTS "course_student" ("course_name" VARCHAR(100) NOT NULL,
///     "course_semester" INTEGER NOT NULL, "student_id" INTEGER NOT NULL,
///     PRIMARY KEY ("course_name", "course_semester", "student_id"),
///     FOREIGN KEY ("course_name", "course_semester") REFERENCES "course" ("name", "semester") ON DELETE CASCADE,
///     FOREIGN KEY ("student_id") REFERENCES "student" ("id") ON DELETE CASCADE)
/// CREATE INDEX IF NOT EXISTS "idx_course_student__student_id" ON "course_student" ("student_id")
/// ```
fn join_tables(entities: &[&'static EntityMeta]) -> Vec<(CreateTable, CreateIndex)> {
    let mut out: Vec<(CreateTable, CreateIndex)> = Vec::new();
    for meta in entities {
        for relation in meta.relations.iter().filter(|r| r.kind == RelationKind::Set) {
            let Ok(crate::relation_meta::Link::Table { target, table }) =
                crate::relation_meta::set_link(meta, relation)
            else {
                continue;
            };
            if out.iter().any(|(t, _)| t.name == table.name.as_str()) {
                continue;
            }
            // The side whose columns come first: the one whose table sorts first.
            let owner_first = table.owner_columns <= table.target_columns;
            let side = |m: &'static EntityMeta, cols: &[String]| (m, cols.to_vec());
            let (first, second) = if owner_first {
                (side(meta, &table.owner_columns), side(target, &table.target_columns))
            } else {
                (side(target, &table.target_columns), side(meta, &table.owner_columns))
            };
            let columns = [&first, &second]
                .into_iter()
                .flat_map(|(m, cols)| {
                    m.key_columns().zip(cols.iter()).map(|(k, name)| ColumnDef {
                        name: name.clone().into(),
                        ty: k.ty,
                        max_len: k.max_len,
                        decimal: k.decimal,
                        nullable: false,
                        auto_increment: false,
                        unique: false,
                        sql_default: None,
                    })
                })
                .collect::<Vec<_>>();
            let foreign_keys = [&first, &second]
                .into_iter()
                .map(|(m, cols)| ForeignKey {
                    columns: cols.iter().map(|c| Name::from(c.clone())).collect(),
                    table: m.table.into(),
                    references: m.key_columns().map(|c| Name::from(c.name)).collect(),
                    on_delete: crate::ast::OnDelete::Cascade,
                })
                .collect();
            let second_names: Vec<&str> = second.1.iter().map(String::as_str).collect();
            let index = CreateIndex {
                name: generated_name("idx", &table.name, &second_names).into(),
                table: table.name.clone().into(),
                columns: second.1.iter().map(|c| Name::from(c.clone())).collect(),
                unique: false,
                if_not_exists: true,
            };
            let create = CreateTable {
                name: table.name.clone().into(),
                if_not_exists: true,
                primary_key: columns.iter().map(|c| c.name.clone()).collect(),
                columns,
                foreign_keys,
                unique_keys: Vec::new(),
            };
            out.push((create, index));
        }
    }
    out
}

/// The statements that drop the entities' tables, in reverse order.
pub fn drop_statements(entities: &[&'static EntityMeta], dialect: Dialect) -> Vec<String> {
    let order = creation_order(entities).unwrap_or_else(|_| entities.to_vec());
    let drop = |name: Name| render(&Statement::DropTable(DropTable { name, if_exists: true }), dialect).text;
    let joins = join_tables(entities).into_iter().map(|(t, _)| drop(t.name));
    joins.chain(order.iter().rev().map(|m| drop(m.table.into()))).collect()
}

fn create_table(meta: &'static EntityMeta) -> CreateTable {
    let single_key = meta.primary_key.len() == 1;
    CreateTable {
        name: meta.table.into(),
        if_not_exists: true,
        columns: meta
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| ColumnDef {
                name: c.name.into(),
                ty: c.ty,
                max_len: c.max_len,
                decimal: c.decimal,
                nullable: c.nullable,
                auto_increment: c.auto && single_key,
                unique: meta.is_unique_column(i) && !(c.primary_key && single_key),
                sql_default: c.sql_default.map(Name::from),
            })
            .collect(),
        primary_key: meta.key_columns().map(|c| Name::from(c.name)).collect(),
        foreign_keys: meta
            .references()
            .map(|(relation, column)| {
                let target = (relation.target)();
                ForeignKey {
                    columns: vec![Name::from(meta.columns[column].name)],
                    table: target.table.into(),
                    references: target.key_columns().map(|c| Name::from(c.name)).collect(),
                    on_delete: relation.on_delete(meta),
                }
            })
            .collect(),
        unique_keys: meta
            .composites
            .iter()
            .filter(|c| c.unique)
            .map(|c| {
                (
                    composite_name(meta, c.name, "uq", c.columns).into(),
                    c.columns.iter().map(|s| Name::from(*s)).collect(),
                )
            })
            .collect(),
    }
}

fn indexes(meta: &'static EntityMeta) -> Vec<CreateIndex> {
    let single = meta.columns.iter().filter_map(|c| {
        c.index.map(|name| CreateIndex {
            name: name.map(Name::from).unwrap_or_else(|| generated_name("idx", meta.table, &[c.name]).into()),
            table: meta.table.into(),
            columns: vec![Name::from(c.name)],
            unique: false,
            if_not_exists: true,
        })
    });
    // Foreign keys are indexed, unless a key or index already leads with the column.
    let foreign = meta.references().filter_map(|(_, column)| {
        let c = &meta.columns[column];
        let leads = |cols: &[&str]| cols.first() == Some(&c.name);
        let covered = meta.is_unique_column(column)
            || c.index.is_some()
            || meta.key_columns().next().is_some_and(|k| k.name == c.name)
            || meta.composites.iter().any(|k| leads(k.columns));
        (!covered).then(|| CreateIndex {
            name: generated_name("idx", meta.table, &[c.name]).into(),
            table: meta.table.into(),
            columns: vec![Name::from(c.name)],
            unique: false,
            if_not_exists: true,
        })
    });
    let composite = meta.composites.iter().filter(|c| !c.unique).map(|c| CreateIndex {
        name: composite_name(meta, c.name, "idx", c.columns).into(),
        table: meta.table.into(),
        columns: c.columns.iter().map(|s| Name::from(*s)).collect(),
        unique: false,
        if_not_exists: true,
    });
    single.chain(foreign).chain(composite).collect()
}

/// The entities ordered so that every table comes after the tables its foreign keys refer to
/// (PostgreSQL and MariaDB check the referenced table exists). A cycle of references between
/// tables is a mapping error: it would need constraints added after both tables exist.
fn creation_order<'m>(entities: &[&'m EntityMeta]) -> Result<Vec<&'m EntityMeta>> {
    let mut order: Vec<&EntityMeta> = Vec::with_capacity(entities.len());
    let mut pending: Vec<&EntityMeta> = entities.to_vec();
    while !pending.is_empty() {
        let ready = |m: &&EntityMeta| {
            m.references().all(|(r, _)| {
                let target = (r.target)();
                std::ptr::eq(target, *m) || !pending.iter().any(|p| std::ptr::eq(*p, target))
            })
        };
        let Some(i) = pending.iter().position(ready) else {
            let names: Vec<&str> = pending.iter().map(|m| m.name).collect();
            return Err(Error::mapping(format!(
                "the entities {} refer to each other in a cycle, which is not supported yet",
                names.join(", ")
            )));
        };
        order.push(pending.remove(i));
    }
    Ok(order)
}

fn index_names(meta: &'static EntityMeta) -> Vec<Name> {
    let mut names: Vec<Name> = indexes(meta).into_iter().map(|i| i.name).collect();
    names.extend(create_table(meta).unique_keys.into_iter().map(|(n, _)| n));
    names
}

fn composite_name(meta: &EntityMeta, given: Option<&str>, prefix: &str, columns: &[&str]) -> String {
    given.map(str::to_owned).unwrap_or_else(|| generated_name(prefix, meta.table, columns))
}

/// `prefix_table__col1__col2`, shortened with a stable hash when over 63 bytes so that generated
/// names fit every dialect and two long names never collide by truncation.
fn generated_name(prefix: &str, table: &str, columns: &[&str]) -> String {
    let full = format!("{prefix}_{table}__{}", columns.join("__"));
    if full.len() <= 63 {
        return full;
    }
    let hash = full.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let mut cut = 54;
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hash:08x}", &full[..cut])
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
        };
        let wide = |n: usize| -> &'static EntityMeta {
            Box::leak(Box::new(EntityMeta {
                name: "Wide",
                table: "wide",
                columns: Box::leak((0..n).map(column).collect::<Vec<_>>().into_boxed_slice()),
                primary_key: &[0],
                composites: &[],
                relations: &[],
                statements: StatementCache::new(),
            }))
        };
        assert!(validate(&[wide(128)], Dialect::Sqlite).is_ok());
        let e = validate(&[wide(129)], Dialect::Sqlite).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Mapping);
        assert!(e.to_string().contains("at most 128"), "{e}");
    }

    #[test]
    fn long_generated_names_are_hashed_not_truncated() {
        let cols = ["a_really_long_column_name_number_one", "another_long_column_name_two"];
        let a = generated_name("idx", "some_table", &cols);
        let b = generated_name(
            "idx",
            "some_table",
            &["a_really_long_column_name_number_one", "another_long_column_name_twx"],
        );
        assert!(a.len() <= 63 && b.len() <= 63);
        assert_ne!(a, b);
        assert_eq!(generated_name("idx", "t", &["c"]), "idx_t__c");
    }
}
