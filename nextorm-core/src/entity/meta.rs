//! The metadata the derive emits for an entity: [`EntityMeta`] (table, columns, key, statement
//! cache) and its relation fields ([`RelationMeta`]). The two refer to each other (an entity
//! lists its relations, a relation names its target entity), so they share this file; what is
//! derived from pairing two relations lives in `relation.rs`, above it.

use super::column::{ColumnMeta, CompositeMeta};
use super::row_fns::RowFns;
use crate::ast::OnDelete;
use crate::dialect::Dialect;
use crate::value::Value;
use std::sync::OnceLock;

/// Statement kinds cached per entity and dialect.
#[derive(Debug, Clone, Copy)]
#[repr(usize)]
pub enum CachedStatement {
    /// `INSERT` without the auto-increment key.
    InsertGeneratedKey,
    /// `INSERT` of every column.
    InsertAllColumns,
    /// `SELECT ... WHERE <key>`.
    SelectByKey,
    /// `UPDATE ... WHERE <key>`.
    UpdateByKey,
    /// `DELETE ... WHERE <key>`.
    DeleteByKey,
    /// `SELECT <columns> FROM <table>`.
    SelectAll,
    /// `SELECT ... WHERE <key>` with the lazy columns left out (`NULL`), what a session loads.
    SelectByKeyLazyOut,
}

const CACHED_KINDS: usize = 7;

/// Statement texts rendered once per entity and dialect.
pub struct StatementCache {
    slots: [[OnceLock<String>; CACHED_KINDS]; 3],
}

impl StatementCache {
    /// An empty cache, for the `static` the derive emits.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        StatementCache { slots: [const { [const { OnceLock::new() }; CACHED_KINDS] }; 3] }
    }

    /// The cached text, rendered by `build` the first time.
    pub fn get(&self, dialect: Dialect, kind: CachedStatement, build: impl FnOnce() -> String) -> &str {
        self.slots[dialect.index()][kind as usize].get_or_init(build)
    }
}

impl std::fmt::Debug for StatementCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatementCache")
    }
}

/// Everything nextorm knows about an entity, built at compile time by the derive.
#[derive(Debug)]
pub struct EntityMeta {
    /// The Rust type name.
    pub name: &'static str,
    /// The table name.
    pub table: &'static str,
    /// The table's previous name (`#[orm(renamed_from = "old")]` on the struct): a migration
    /// renames that table rather than dropping it and creating this one.
    pub renamed_from: Option<&'static str>,
    /// The columns, in declaration order.
    pub columns: &'static [ColumnMeta],
    /// Indexes into `columns` of the primary key, in key order.
    pub primary_key: &'static [usize],
    /// Composite unique keys and indexes.
    pub composites: &'static [CompositeMeta],
    /// The relation fields (`Single`, `Set`), in declaration order.
    pub relations: &'static [RelationMeta],
    /// The table's own `CHECK` conditions, raw SQL (`#[orm(check = "...")]` on the struct).
    pub checks: &'static [&'static str],
    /// Indexes into `columns` of the `lazy` columns (see [`ColumnMeta::lazy`]).
    pub lazy_columns: &'static [usize],
    /// Indexes into `columns` of the `volatile` columns (see [`ColumnMeta::volatile`]).
    pub volatile_columns: &'static [usize],
    /// Rendered statements.
    pub statements: StatementCache,
}

impl EntityMeta {
    /// A row's name for messages: `Product[3]`, `Course["Calculus", 1]`.
    pub fn describe_key(&self, key: &[Value]) -> String {
        let parts: Vec<String> = key
            .iter()
            .map(|v| match v {
                Value::Int(i) => i.to_string(),
                Value::Text(s) => format!("{s:?}"),
                Value::Uuid(u) => u.to_string(),
                other => format!("{other:?}"),
            })
            .collect();
        format!("{}[{}]", self.name, parts.join(", "))
    }

    /// The auto-increment key column, if the entity has one.
    pub fn auto_key(&self) -> Option<&ColumnMeta> {
        self.columns.iter().find(|c| c.auto)
    }

    /// The primary-key columns.
    pub fn key_columns(&self) -> impl Iterator<Item = &ColumnMeta> {
        self.primary_key.iter().map(|&i| &self.columns[i])
    }

    /// The relation field named `field`.
    pub fn relation(&self, field: &str) -> Option<&'static RelationMeta> {
        self.relations.iter().find(|r| r.field == field)
    }

    /// The `Single` relations, with their foreign-key columns.
    pub fn references(&self) -> impl Iterator<Item = (&'static RelationMeta, usize)> {
        self.relations.iter().filter_map(|r| r.fk_column().map(|c| (r, c)))
    }
}

/// An entity is the one `static` its derive emits: two metadata are equal when they are the same.
impl PartialEq for EntityMeta {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Eq for EntityMeta {}

/// What a relation field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// `Single<T>` or `Option<Single<T>>`: the foreign key, stored in column `column`.
    Single {
        /// The index of the foreign-key column in the entity's columns.
        column: usize,
    },
    /// `Set<T>`: the other side of a `Single<Self>` in `T` (one-to-many), or of a `Set<Self>`
    /// (many-to-many).
    Set,
    /// `HasOne<T>`: the other side of a `Single<Self>` in `T` whose column is therefore unique
    /// (one-to-one).
    HasOne,
}

/// One relation field of an entity, built by the derive.
#[derive(Debug)]
pub struct RelationMeta {
    /// The Rust field name.
    pub field: &'static str,
    /// Its kind.
    pub kind: RelationKind,
    /// The entity on the other side.
    pub target: fn() -> &'static EntityMeta,
    /// The field on the other side, when the pair must be named (`#[orm(reverse = "...")]`).
    pub reverse: Option<&'static str>,
    /// For a `Single`: what deleting the target does to this row. `Some(false)` restricts,
    /// `Some(true)` cascades; `None` is the default: cascade for a required reference, set null
    /// for an optional one.
    pub cascade_delete: Option<bool>,
    /// Decoders of the target's rows, for the code that loads relations knowing only this
    /// metadata (`prefetch`).
    pub rows: RowFns,
}

impl RelationMeta {
    /// The entity on the other side.
    pub fn target(&self) -> &'static EntityMeta {
        (self.target)()
    }

    /// The foreign-key column, for a `Single`.
    pub fn fk_column(&self) -> Option<usize> {
        match self.kind {
            RelationKind::Single { column } => Some(column),
            RelationKind::Set | RelationKind::HasOne => None,
        }
    }

    /// The delete rule of a `Single` of `owner`: restrict with `cascade_delete = false`, cascade
    /// with `cascade_delete = true`; unset, cascade for a required reference and set null for an
    /// optional one. The DDL (`ON DELETE ...`) and a session's identity map both follow it.
    pub fn on_delete(&self, owner: &EntityMeta) -> OnDelete {
        let nullable = self.fk_column().is_some_and(|c| owner.columns[c].nullable);
        match (self.cascade_delete, nullable) {
            (Some(false), _) => OnDelete::Restrict,
            (Some(true), _) | (None, false) => OnDelete::Cascade,
            (None, true) => OnDelete::SetNull,
        }
    }
}
