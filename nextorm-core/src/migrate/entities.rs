//! The schema model of the mapped entities (their tables and the join tables of their
//! many-to-many relations), and the rename hints they carry (`#[orm(renamed_from = "...")]`).
//! This is the one place where entity metadata becomes tables.

use super::diff::RenameHints;
use super::model::{Column, ForeignKey, Index, Schema, Table, TableCheck, UniqueKey};
use crate::ast::ColumnChecks;
use crate::entity::EntityMeta;
use crate::entity::meta::{RelationKind, RelationMeta};
use crate::entity::relation::{self, JoinTable, Link};
use crate::error::Result;
use crate::value::DataType;

impl Schema {
    /// The tables of `entities`, each after the tables it refers to, then the join tables of
    /// their many-to-many relations, each once. Constraints get generated names
    /// (`uq_<table>__<columns>`, `idx_...`, `fk_...`, shortened with a hash past 63 bytes)
    /// unless the entity gives one. A cycle of references between entities is a mapping error.
    pub fn from_entities(entities: &[&'static EntityMeta]) -> Result<Schema> {
        let mut tables: Vec<Table> = entities.iter().map(|m| entity_table(m)).collect();
        tables.extend(join_tables(entities).into_iter().map(|(table, ..)| table));
        let order: Vec<Table> = super::model::creation_order(tables.iter().collect())?.into_iter().cloned().collect();
        Ok(Schema { tables: order })
    }
}

impl RenameHints {
    /// The renames the entities declare with `#[orm(renamed_from = "...")]`, and those of the
    /// join tables they imply (a join table is named after its two tables and their keys).
    pub fn from_entities(entities: &[&'static EntityMeta]) -> RenameHints {
        let mut hints = RenameHints::default();
        for meta in entities {
            if let Some(old) = meta.renamed_from {
                hints.rename_table(old, meta.table);
            }
            for c in meta.columns.iter() {
                if let Some(old) = c.renamed_from {
                    hints.rename_column(meta.table, old, c.name);
                }
            }
        }
        for (table, (owner, relation, target, reverse), now) in join_tables(entities) {
            // Each side under its old name or its current one, whichever the old schema has.
            for old_owner in [false, true] {
                for old_target in [false, true] {
                    let name =
                        |m: &EntityMeta, old: bool| if old { m.renamed_from.unwrap_or(m.table) } else { m.table };
                    let column = |c: &crate::entity::ColumnMeta, old: bool| {
                        if old { c.renamed_from.unwrap_or(c.name) } else { c.name }
                    };
                    let before = relation::join_table_named(
                        owner,
                        relation,
                        target,
                        reverse,
                        &|m| name(m, if std::ptr::eq(m, owner) { old_owner } else { old_target }),
                        &|m, c| column(c, if std::ptr::eq(m, owner) { old_owner } else { old_target }),
                    );
                    let after = now.owner_columns.iter().chain(&now.target_columns);
                    let renamed_columns: Vec<(String, String)> = before
                        .owner_columns
                        .iter()
                        .chain(&before.target_columns)
                        .cloned()
                        .zip(after.cloned())
                        .filter(|(old, new)| old != new)
                        .collect();
                    if before.name != table.name {
                        hints.rename_table(&before.name, &table.name);
                    }
                    for (old, new) in renamed_columns {
                        hints.rename_column(&table.name, &old, &new);
                    }
                }
            }
        }
        hints
    }
}

/// The table of one entity.
fn entity_table(meta: &'static EntityMeta) -> Table {
    let single_key = meta.primary_key.len() == 1;
    let columns = meta
        .columns
        .iter()
        .map(|c| Column {
            name: c.name.to_owned(),
            ty: DataType::from(c.ty),
            max_len: c.max_len,
            decimal: c.decimal,
            nullable: c.nullable,
            auto_increment: c.auto && single_key,
            default: c.sql_default.map(str::to_owned),
            sql_type: c.sql_type.map(str::to_owned),
            checks: ColumnChecks {
                sql: c.check.map(str::to_owned),
                min: c.min.map(|l| l.to_string()),
                max: c.max.map(|l| l.to_string()),
            },
        })
        .collect();
    let mut unique_keys: Vec<UniqueKey> = Vec::new();
    let mut push_unique = |key: UniqueKey| {
        if !unique_keys.contains(&key) {
            unique_keys.push(key);
        }
    };
    for (i, c) in meta.columns.iter().enumerate() {
        if meta.is_unique_column(i) && !(c.primary_key && single_key) {
            push_unique(UniqueKey {
                name: generated_name("uq", meta.table, &[c.name]),
                columns: vec![c.name.to_owned()],
            });
        }
    }
    for c in meta.composites.iter().filter(|c| c.unique) {
        push_unique(UniqueKey {
            name: composite_name(meta, c.name, "uq", c.columns),
            columns: c.columns.iter().map(|s| (*s).to_owned()).collect(),
        });
    }
    Table {
        name: meta.table.to_owned(),
        primary_key: meta.key_columns().map(|c| c.name.to_owned()).collect(),
        columns,
        unique_keys,
        indexes: indexes(meta),
        foreign_keys: meta
            .references()
            .map(|(relation, column)| {
                let target = (relation.target)();
                let name = meta.columns[column].name;
                ForeignKey {
                    name: generated_name("fk", meta.table, &[name]),
                    columns: vec![name.to_owned()],
                    references: target.table.to_owned(),
                    referenced_columns: target.key_columns().map(|c| c.name.to_owned()).collect(),
                    on_delete: relation.on_delete(meta),
                }
            })
            .collect(),
        checks: meta.checks.iter().map(|sql| table_check(meta.table, sql)).collect(),
    }
}

/// A table's own check, named after the table and the condition's text.
pub(crate) fn table_check(table: &str, sql: &str) -> TableCheck {
    let hash = sql.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    TableCheck { name: generated_name("ck", table, &[&format!("{hash:08x}")]), sql: sql.to_owned() }
}

/// The indexes of an entity: its indexed columns, its foreign keys (unless a key or index
/// already leads with the column), its composite indexes.
fn indexes(meta: &'static EntityMeta) -> Vec<Index> {
    let single = meta.columns.iter().filter_map(|c| {
        c.index.map(|name| Index {
            name: name.map_or_else(|| generated_name("idx", meta.table, &[c.name]), str::to_owned),
            columns: vec![c.name.to_owned()],
        })
    });
    let foreign = meta.references().filter_map(|(_, column)| {
        let c = &meta.columns[column];
        let leads = |cols: &[&str]| cols.first() == Some(&c.name);
        let covered = meta.is_unique_column(column)
            || c.index.is_some()
            || meta.key_columns().next().is_some_and(|k| k.name == c.name)
            || meta.composites.iter().any(|k| leads(k.columns));
        (!covered)
            .then(|| Index { name: generated_name("idx", meta.table, &[c.name]), columns: vec![c.name.to_owned()] })
    });
    let composite = meta.composites.iter().filter(|c| !c.unique).map(|c| Index {
        name: composite_name(meta, c.name, "idx", c.columns),
        columns: c.columns.iter().map(|s| (*s).to_owned()).collect(),
    });
    single.chain(foreign).chain(composite).collect()
}

/// The two sides of a many-to-many relation: owner, its field, target, the target's field.
type Pair = (&'static EntityMeta, &'static RelationMeta, &'static EntityMeta, &'static RelationMeta);

/// The join tables of the many-to-many relations, each once, with the relation that names it
/// and its naming seen from that relation's side.
/// A join table's columns come side by side, the side whose columns sort first leading; its
/// primary key is all of them, and an index covers the second side (the key leads with the
/// first):
///
/// ```text
/// CREATE TABLE "course_student" ("course_name" VARCHAR(100) NOT NULL,
///     "course_semester" INTEGER NOT NULL, "student_id" INTEGER NOT NULL,
///     PRIMARY KEY ("course_name", "course_semester", "student_id"),
///     FOREIGN KEY ("course_name", "course_semester") REFERENCES "course" ("name", "semester") ON DELETE CASCADE,
///     FOREIGN KEY ("student_id") REFERENCES "student" ("id") ON DELETE CASCADE)
/// CREATE INDEX "idx_course_student__student_id" ON "course_student" ("student_id")
/// ```
fn join_tables(entities: &[&'static EntityMeta]) -> Vec<(Table, Pair, JoinTable)> {
    let mut out: Vec<(Table, Pair, JoinTable)> = Vec::new();
    for meta in entities {
        for relation in meta.relations.iter().filter(|r| r.kind == RelationKind::Set) {
            let Ok(Link::Table { target, table }) = relation::set_link(meta, relation) else {
                continue;
            };
            if out.iter().any(|(t, ..)| t.name == table.name) {
                continue;
            }
            let Ok(Some((_, reverse))) = relation::reverse_of(meta, relation) else {
                continue;
            };
            out.push((join_table(meta, target, &table), (meta, relation, target, reverse), table));
        }
    }
    out
}

/// The model of one join table, seen from `owner`.
fn join_table(owner: &'static EntityMeta, target: &'static EntityMeta, table: &JoinTable) -> Table {
    // The side whose columns come first: the one whose table sorts first.
    let owner_first = table.owner_columns <= table.target_columns;
    let side = |m: &'static EntityMeta, cols: &[String]| (m, cols.to_vec());
    let (first, second) = if owner_first {
        (side(owner, &table.owner_columns), side(target, &table.target_columns))
    } else {
        (side(target, &table.target_columns), side(owner, &table.owner_columns))
    };
    let columns: Vec<Column> = [&first, &second]
        .into_iter()
        .flat_map(|(m, cols)| {
            m.key_columns().zip(cols.iter()).map(|(k, name)| Column {
                name: name.clone(),
                ty: DataType::from(k.ty),
                max_len: k.max_len,
                decimal: k.decimal,
                nullable: false,
                auto_increment: false,
                default: None,
                sql_type: k.sql_type.map(str::to_owned),
                checks: ColumnChecks::default(),
            })
        })
        .collect();
    let foreign_keys = [&first, &second]
        .into_iter()
        .map(|(m, cols)| {
            let names: Vec<&str> = cols.iter().map(String::as_str).collect();
            ForeignKey {
                name: generated_name("fk", &table.name, &names),
                columns: cols.clone(),
                references: m.table.to_owned(),
                referenced_columns: m.key_columns().map(|c| c.name.to_owned()).collect(),
                on_delete: crate::ast::OnDelete::Cascade,
            }
        })
        .collect();
    let second_names: Vec<&str> = second.1.iter().map(String::as_str).collect();
    Table {
        name: table.name.clone(),
        primary_key: columns.iter().map(|c| c.name.clone()).collect(),
        columns,
        unique_keys: Vec::new(),
        indexes: vec![Index { name: generated_name("idx", &table.name, &second_names), columns: second.1.clone() }],
        foreign_keys,
        checks: Vec::new(),
    }
}

fn composite_name(meta: &EntityMeta, given: Option<&str>, prefix: &str, columns: &[&str]) -> String {
    given.map(str::to_owned).unwrap_or_else(|| generated_name(prefix, meta.table, columns))
}

/// `prefix_table__col1__col2`, shortened with a stable hash when over 63 bytes so that generated
/// names fit every dialect and two long names never collide by truncation.
pub(crate) fn generated_name(prefix: &str, table: &str, columns: &[&str]) -> String {
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
