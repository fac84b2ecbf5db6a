//! Relations paired: which field is the other side of a relation (`reverse_of`), how the members
//! of a `Set` or `HasOne` are reached (`set_link`: the other side's foreign key, or a join table
//! and its naming), and what pairing says about a column (a one-to-one key is unique).

use super::column::ColumnMeta;
use super::meta::{EntityMeta, RelationKind, RelationMeta};
use crate::error::{Error, Result};

impl RelationMeta {
    /// Whether the relation is the foreign-key side of a one-to-one pair: a `Single` whose other
    /// side is a `HasOne`, so its column is unique.
    pub fn is_one_to_one(&'static self, owner: &'static EntityMeta) -> bool {
        self.fk_column().is_some()
            && matches!(reverse_of(owner, self), Ok(Some((_, r))) if r.kind == RelationKind::HasOne)
    }
}

impl EntityMeta {
    /// Whether column `index` holds the foreign key of a one-to-one relation (the `Single` whose
    /// other side is a `HasOne`), which is unique.
    pub fn is_one_to_one_key(&'static self, index: usize) -> bool {
        self.references().any(|(r, c)| c == index && r.is_one_to_one(self))
    }

    /// Whether the values of column `index` are unique on their own: a `unique` column or a
    /// one-to-one foreign key (a one-column primary key is not asked about here).
    pub fn is_unique_column(&'static self, index: usize) -> bool {
        self.columns[index].unique || self.is_one_to_one_key(index)
    }
}

/// The field on the other side of `relation` (a field of `owner`): the relation of the target
/// that points back at `owner` and agrees with `reverse` on either side. `None` when the target
/// has no such field (a `Single` may be one-sided); a mapping error when several could be meant.
pub fn reverse_of(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
) -> Result<Option<(&'static EntityMeta, &'static RelationMeta)>> {
    let target = (relation.target)();
    let candidates: Vec<&'static RelationMeta> = target
        .relations
        .iter()
        .filter(|r| std::ptr::eq((r.target)(), owner))
        // A field pairs with itself only when it says so: a symmetric `Set` (`reverse = "friends"`).
        .filter(|r| !(std::ptr::eq(target, owner) && r.field == relation.field) || relation.reverse == Some(r.field))
        .filter(|r| relation.reverse.is_none_or(|name| name == r.field))
        .filter(|r| r.reverse.is_none_or(|name| name == relation.field))
        .collect();
    match candidates.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((target, one))),
        several => Err(Error::mapping(format!(
            "{}.{} could pair with {}: name the other side with #[orm(reverse = \"...\")]",
            owner.name,
            relation.field,
            several.iter().map(|r| format!("{}.{}", target.name, r.field)).collect::<Vec<_>>().join(" or ")
        ))),
    }
}

/// How the members of a `Set` field are found.
#[derive(Debug, Clone)]
pub enum Link {
    /// One-to-many: the rows of `target` whose foreign-key column `fk` (an index into its
    /// columns) holds the owner's key.
    Reverse {
        /// The entity of the members.
        target: &'static EntityMeta,
        /// The foreign-key column of `target`.
        fk: usize,
    },
    /// Many-to-many: the rows of `target` paired with the owner in a join table.
    Table {
        /// The entity of the members.
        target: &'static EntityMeta,
        /// The join table, seen from the owner's side.
        table: JoinTable,
    },
}

impl Link {
    /// The entity of the members.
    pub fn target(&self) -> &'static EntityMeta {
        match self {
            Link::Reverse { target, .. } | Link::Table { target, .. } => target,
        }
    }
}

/// The join table of a many-to-many relation, seen from one side.
///
/// ```text
/// // Student.courses: Set<Course> <-> Course.students: Set<Student>
/// CREATE TABLE "course_student" ("course_name" VARCHAR(100) NOT NULL, "course_semester" INTEGER NOT NULL,
///     "student_id" INTEGER NOT NULL, PRIMARY KEY ("course_name", "course_semester", "student_id"), ...)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinTable {
    /// The table: both tables in alphabetical order, joined by `_`.
    pub name: String,
    /// The columns holding the owner's key, in key order.
    pub owner_columns: Vec<String>,
    /// The columns holding the member's key, in key order.
    pub target_columns: Vec<String>,
}

/// The join table of the many-to-many pair `owner.relation` / `target.reverse`.
///
/// It is named from both tables in alphabetical order (`course_student`), and each side's key
/// columns are prefixed with its table (`course_name`, `course_semester`, `student_id`). When the
/// two entities have several many-to-many pairs, the name ends with the field of the first
/// table's side (`course_student_students`). A relation of an entity with itself is named from
/// the table and the first field in alphabetical order (`person_friends`), and the columns of
/// the side whose field sorts last end in `_2`; a symmetric relation (`friends` with
/// `reverse = "friends"`) stores each pair in both directions.
pub fn join_table(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
    target: &'static EntityMeta,
    reverse: &'static RelationMeta,
) -> JoinTable {
    join_table_named(owner, relation, target, reverse, &|m| m.table, &|_, c| c.name)
}

/// [`join_table`] with the tables and key columns named by `table` and `column` (the names they
/// had before a rename, to find the join table a migration renames).
pub(crate) fn join_table_named<'n>(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
    target: &'static EntityMeta,
    reverse: &'static RelationMeta,
    table: &dyn Fn(&'static EntityMeta) -> &'n str,
    column: &dyn Fn(&'static EntityMeta, &'static ColumnMeta) -> &'n str,
) -> JoinTable {
    let columns = |meta: &'static EntityMeta, suffix: &str| {
        meta.key_columns().map(|c| format!("{}_{}{suffix}", table(meta), column(meta, c))).collect()
    };
    if std::ptr::eq(owner, target) {
        let owner_first = relation.field <= reverse.field;
        let first = if owner_first { relation.field } else { reverse.field };
        let (mine, theirs) = if owner_first { ("", "_2") } else { ("_2", "") };
        return JoinTable {
            name: format!("{}_{first}", table(owner)),
            owner_columns: columns(owner, mine),
            target_columns: columns(target, theirs),
        };
    }
    let ((first, first_field), second) = if table(owner) <= table(target) {
        ((owner, relation.field), target)
    } else {
        ((target, reverse.field), owner)
    };
    let pairs = first
        .relations
        .iter()
        .filter(|r| r.kind == RelationKind::Set && std::ptr::eq((r.target)(), second))
        .filter(|r| {
            second.relations.iter().any(|b| {
                b.kind == RelationKind::Set
                    && std::ptr::eq((b.target)(), first)
                    && (r.reverse.is_none_or(|n| n == b.field))
            })
        })
        .count();
    let name = if pairs > 1 {
        format!("{}_{}_{first_field}", table(first), table(second))
    } else {
        format!("{}_{}", table(first), table(second))
    };
    JoinTable { name, owner_columns: columns(owner, ""), target_columns: columns(target, "") }
}

/// How the members of the `Set` or `HasOne` field `relation` of `owner` are found: the
/// `Single` on the other side (one-to-many, one-to-one) or a join table (many-to-many). A pair
/// that fits none of these is a mapping error naming both sides.
pub fn set_link(owner: &'static EntityMeta, relation: &'static RelationMeta) -> Result<Link> {
    let target = (relation.target)().name;
    let Some((target_meta, r)) = reverse_of(owner, relation)? else {
        let wanted = match relation.kind {
            RelationKind::HasOne => format!("Single<{}>", owner.name),
            _ => format!("Single<{}> or Set<{}>", owner.name, owner.name),
        };
        return Err(Error::mapping(format!(
            "{}.{} is a {}<{target}>, but {target} has no {wanted} field for its other side",
            owner.name,
            relation.field,
            kind_name(relation.kind)
        )));
    };
    match (relation.kind, r.kind) {
        (RelationKind::Set | RelationKind::HasOne, RelationKind::Single { column }) => {
            Ok(Link::Reverse { target: target_meta, fk: column })
        }
        (RelationKind::Set, RelationKind::Set) => {
            Ok(Link::Table { target: target_meta, table: join_table(owner, relation, target_meta, r) })
        }
        _ => Err(Error::mapping(format!(
            "{}.{} is a {}<{target}> and its other side {target}.{} is a {}<{}>: a HasOne pairs only with a Single (one-to-one), a Set with a Single or a Set",
            owner.name,
            relation.field,
            kind_name(relation.kind),
            r.field,
            kind_name(r.kind),
            owner.name
        ))),
    }
}

/// The type a relation field is declared with, for messages.
fn kind_name(kind: RelationKind) -> &'static str {
    match kind {
        RelationKind::Single { .. } => "Single",
        RelationKind::Set => "Set",
        RelationKind::HasOne => "HasOne",
    }
}
