//! Relations between entities: [`Single`] on the foreign-key side, [`Set`] on the other (or
//! [`HasOne`] for a one-to-one), and the metadata that pairs them.
//!
//! ```text
//! #[derive(Entity)] struct Customer { #[pk] id: i64, name: String, orders: Set<Order> }
//! #[derive(Entity)] struct Order    { #[pk] id: i64, total: f64, customer: Single<Customer> }
//!
//! CREATE TABLE "order" (..., "customer" BIGINT NOT NULL,
//!     FOREIGN KEY ("customer") REFERENCES "customer" ("id") ON DELETE CASCADE)
//! CREATE INDEX "idx_order__customer" ON "order" ("customer")
//! ```

use crate::ast::{self, FromItem, Join};
use crate::entity::{Entity, EntityMeta, Key};
use crate::error::{Error, ErrorKind, Result};
use crate::query::{self as types, Executor, Stmt};
use crate::session::Handle;
use crate::value::{FromSql, Kind, RowRead, SqlField, ToValue, Value};
use std::marker::PhantomData;

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

/// A decoded row of some entity, ready to join a session's identity map.
pub trait LoadedRow: Send {
    /// Puts the row into `map` (see [`crate::session::IdentityMap::attach_loaded`]).
    fn attach_to(self: Box<Self>, map: &mut crate::session::IdentityMap) -> Result<()>;
}

impl<E: Entity> LoadedRow for E {
    fn attach_to(self: Box<Self>, map: &mut crate::session::IdentityMap) -> Result<()> {
        map.attach_loaded(*self).map(drop)
    }
}

/// A decoded many-to-many pair: the member, and its owner's key.
pub type LoadedPair = (Box<dyn LoadedRow>, Vec<Value>);

/// How the rows of a relation's target are decoded without naming its type.
#[derive(Debug, Clone, Copy)]
pub struct RowFns {
    /// Decodes a row of the target and puts it into the identity map.
    pub load: fn(&dyn RowRead, usize, &mut crate::session::IdentityMap) -> Result<()>,
    /// A row of [`pairs_statement`]: the target, then the owner's key.
    pub decode_pair: fn(&dyn RowRead, usize) -> Result<LoadedPair>,
}

impl RowFns {
    /// The decoders of a relation of `O` whose target is `T`. Called by the derive.
    pub const fn of<T: Entity, O: Entity>() -> RowFns {
        RowFns { load: load_row::<T>, decode_pair: decode_pair_boxed::<T, O> }
    }
}

fn load_row<T: Entity>(row: &dyn RowRead, offset: usize, map: &mut crate::session::IdentityMap) -> Result<()> {
    map.attach_loaded(T::from_row_at(row, offset)?).map(drop)
}

fn decode_pair_boxed<T: Entity, O: Entity>(row: &dyn RowRead, offset: usize) -> Result<LoadedPair> {
    let (member, key) = decode_pair::<T, O>(row, offset)?;
    Ok((Box::new(member), key))
}

/// A relation path of `Query::prefetch`: from an entity through relation fields
/// (`Customer.orders.items`).
#[derive(Debug, Clone)]
pub struct PrefetchPath {
    /// The entity the path starts from.
    pub root: &'static EntityMeta,
    /// The relation fields followed, each of the previous one's target.
    pub hops: Vec<&'static RelationMeta>,
}

impl PrefetchPath {
    /// The path named by a query alias (`c:orders:items`, `o.customer`), whose first part is a
    /// loop variable of entity `root`.
    pub fn parse(root: &'static EntityMeta, alias: &str) -> Result<PrefetchPath> {
        let mut owner = root;
        let mut hops = Vec::new();
        for field in alias.split(['.', ':']).skip(1) {
            let relation = owner
                .relation(field)
                .ok_or_else(|| Error::config(format!("prefetch: {}.{field} is not a relation", owner.name)))?;
            hops.push(relation);
            owner = relation.target();
        }
        if hops.is_empty() {
            return Err(Error::config(format!("prefetch needs a relation of {}, such as `c.orders`", root.name)));
        }
        Ok(PrefetchPath { root, hops })
    }

    /// The path as written, for messages: `Customer.orders.items`.
    pub fn describe(&self) -> String {
        std::iter::once(self.root.name).chain(self.hops.iter().map(|r| r.field)).collect::<Vec<_>>().join(".")
    }
}

/// The delete rule of a foreign key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// Deleting the target deletes the rows that refer to it.
    Cascade,
    /// Deleting the target sets the reference to `NULL`.
    SetNull,
    /// Deleting a target that rows still refer to fails.
    Restrict,
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

    /// Whether the relation is the foreign-key side of a one-to-one pair: a `Single` whose other
    /// side is a `HasOne`, so its column is unique.
    pub fn is_one_to_one(&'static self, owner: &'static EntityMeta) -> bool {
        self.fk_column().is_some()
            && matches!(reverse_of(owner, self), Ok(Some((_, r))) if r.kind == RelationKind::HasOne)
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

    /// The `FROM` items that reach the members under `alias`, and the condition tying them to
    /// the owner whose key is `owner_key` (the key columns of an enclosing query, or bound
    /// values). The first item is plain; the others are joined to it.
    ///
    /// ```text
    /// -- one-to-many (Customer.orders), alias "o":
    /// FROM "order" "o"                                   WHERE "o"."customer" = <owner key>
    /// -- many-to-many (Student.courses), alias "c":
    /// FROM "course_student" "c#" JOIN "course" "c" ON "c#"."course_name" = "c"."name" AND ...
    ///                                                    WHERE "c#"."student_id" = <owner key>
    /// ```
    pub fn members_from(&self, alias: &str, owner_key: Vec<ast::Expr>) -> (Vec<FromItem>, ast::Expr) {
        let item = |table: &str, alias: String, join: Option<Join>, entity: Option<&'static EntityMeta>| FromItem {
            table: table.to_owned().into(),
            alias: Some(alias.into()),
            query: None,
            join,
            entity,
        };
        match self {
            Link::Reverse { target, fk } => {
                let fk = ast::Expr::qualified(alias.to_owned(), target.columns[*fk].name);
                let owner = owner_key.into_iter().next().unwrap_or(ast::Expr::Value(Value::Null(Kind::Int)));
                (vec![item(target.table, alias.to_owned(), None, Some(target))], fk.eq(owner))
            }
            Link::Table { target, table } => {
                let link = join_alias(alias);
                let tie = all_equal(
                    table.owner_columns.iter().map(|c| ast::Expr::qualified(link.clone(), c.clone())),
                    owner_key,
                );
                let on = all_equal(
                    table.target_columns.iter().map(|c| ast::Expr::qualified(link.clone(), c.clone())),
                    target.key_columns().map(|k| ast::Expr::qualified(alias.to_owned(), k.name)),
                );
                let join = Some(Join { left: false, on });
                (
                    vec![item(&table.name, link, None, None), item(target.table, alias.to_owned(), join, Some(target))],
                    tie,
                )
            }
        }
    }

    /// The `FROM` item of the join table alone and the condition tying it to the owner, with
    /// the member's key columns: enough to test membership without reading the members.
    pub fn pairs_from(&self, alias: &str, owner_key: Vec<ast::Expr>) -> (Vec<FromItem>, ast::Expr, Vec<ast::Expr>) {
        match self {
            Link::Table { table, .. } => {
                let link = join_alias(alias);
                let tie = all_equal(
                    table.owner_columns.iter().map(|c| ast::Expr::qualified(link.clone(), c.clone())),
                    owner_key,
                );
                let keys = table.target_columns.iter().map(|c| ast::Expr::qualified(link.clone(), c.clone())).collect();
                let item = FromItem {
                    table: table.name.clone().into(),
                    alias: Some(link.into()),
                    query: None,
                    join: None,
                    entity: None,
                };
                (vec![item], tie, keys)
            }
            Link::Reverse { target, .. } => {
                let (items, tie) = self.members_from(alias, owner_key);
                let keys = target.key_columns().map(|k| ast::Expr::qualified(alias.to_owned(), k.name)).collect();
                (items, tie, keys)
            }
        }
    }
}

/// The alias of the join table that reaches the members aliased `alias`.
pub(crate) fn join_alias(alias: &str) -> String {
    format!("{alias}#")
}

/// `l1 = r1 AND l2 = r2 ...`; `l = (r1, r2)` is never built.
pub fn all_equal(left: impl IntoIterator<Item = ast::Expr>, right: impl IntoIterator<Item = ast::Expr>) -> ast::Expr {
    let mut pairs = left.into_iter().zip(right).map(|(l, r)| l.eq(r));
    let first = pairs.next().unwrap_or(ast::Expr::Value(Value::Bool(false)));
    pairs.fold(first, ast::Expr::and)
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
    let columns = |meta: &EntityMeta, suffix: &str| {
        meta.key_columns().map(|c| format!("{}_{}{suffix}", meta.table, c.name)).collect()
    };
    if std::ptr::eq(owner, target) {
        let owner_first = relation.field <= reverse.field;
        let first = if owner_first { relation.field } else { reverse.field };
        let (mine, theirs) = if owner_first { ("", "_2") } else { ("_2", "") };
        return JoinTable {
            name: format!("{}_{first}", owner.table),
            owner_columns: columns(owner, mine),
            target_columns: columns(target, theirs),
        };
    }
    let ((first, first_field), second) =
        if owner.table <= target.table { ((owner, relation.field), target) } else { ((target, reverse.field), owner) };
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
        format!("{}_{}_{first_field}", first.table, second.table)
    } else {
        format!("{}_{}", first.table, second.table)
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

/// A reference to one `T`: the foreign-key side of a relation. Outside a session it is the key
/// of the row; given an object of a session (`Single::from(&handle)`), it follows the object, so
/// a reference to a new object takes the key the database generates when the session flushes
/// (which inserts the referenced object first).
///
/// [`Single::get`] loads the referenced object. In a session, the first `get` of an object the
/// session does not hold loads every object of `T` the session's objects refer to and it does
/// not hold yet, with one `IN (...)` query (PonyORM's N+1 batching).
pub struct Single<T: Entity> {
    key: T::Key,
    object: Option<Handle<T>>,
}

impl<T: Entity> Single<T> {
    /// A reference to the row with this key.
    pub fn new(key: T::Key) -> Self {
        Single { key, object: None }
    }

    /// The object of a session this reference follows, if it was made from one.
    pub fn object(&self) -> Option<&Handle<T>> {
        self.object.as_ref()
    }
}

impl<T: Entity> Single<T>
where
    T::Key: Clone,
{
    /// The key of the referenced row (the object's current key when made from an object).
    pub fn key(&self) -> T::Key {
        match &self.object {
            Some(h) => h.lock().value.key(),
            None => self.key.clone(),
        }
    }

    /// The referenced object: in a session its object (from the identity map, or loaded with the
    /// other references of the session in one query); on a database or transaction, the row.
    ///
    /// ```text
    /// SELECT "customer"."id", "customer"."name" FROM "customer" WHERE "customer"."id" IN (?, ?, ?)
    /// ```
    pub fn get<X: Executor>(&self, x: X) -> X::Out<X::Obj<T>> {
        x.related_object::<T>(&self.key())
    }

    /// The referenced object without a query, as the session left it: after the session has
    /// ended, the object it had loaded (by `prefetch`, or by [`Single::get`] in the session),
    /// and for a reference made from an object, that object. Anything else is a
    /// [`ErrorKind::Config`] error that says to prefetch it.
    ///
    /// ```text
    /// let orders = db.session(|s| select!(o for o in Order).prefetch(|o| o.customer).fetch_all(s))?;
    /// orders[0].customer().loaded()?.name()   // no session, no query
    /// ```
    pub fn loaded(&self) -> Result<Handle<T>> {
        self.object.clone().ok_or_else(|| {
            not_loaded(format_args!("{}", T::meta().describe_key(&self.key().key_values().unwrap_or_default())))
        })
    }
}

/// The error of reading a relation that the session did not leave on the object.
fn not_loaded(what: std::fmt::Arguments<'_>) -> Error {
    Error::config(format!(
        "{what} was not loaded with this object: prefetch it (`.prefetch(|x| x.relation)`), or use get/load with the session while it runs"
    ))
}

impl<T: Entity> Clone for Single<T>
where
    T::Key: Clone,
{
    fn clone(&self) -> Self {
        Single { key: self.key.clone(), object: self.object.clone() }
    }
}

impl<T: Entity> std::fmt::Debug for Single<T>
where
    T::Key: Clone + std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Single<{}>({:?})", T::meta().name, self.key())
    }
}

impl<T: Entity> PartialEq for Single<T>
where
    T::Key: Clone + PartialEq,
{
    /// Two references are equal when they refer to the same row (or the same new object).
    fn eq(&self, other: &Self) -> bool {
        match (&self.object, &other.object) {
            (Some(a), Some(b)) if a.same(b) => true,
            _ => self.key() == other.key(),
        }
    }
}

impl<T: Entity> From<&Handle<T>> for Single<T> {
    fn from(h: &Handle<T>) -> Self {
        let key = h.lock().value.key();
        Single { key, object: Some(h.clone()) }
    }
}

impl<T: Entity> From<Handle<T>> for Single<T> {
    fn from(h: Handle<T>) -> Self {
        Single::from(&h)
    }
}

impl<T: Entity> From<&T> for Single<T> {
    fn from(value: &T) -> Self {
        Single::new(value.key())
    }
}

/// The one column value of a single-column key.
fn key_value<T: Entity>(key: &T::Key) -> Result<Value> {
    key.single_value()?.ok_or_else(|| {
        Error::new(
            ErrorKind::Unsupported,
            format!("{} has a composite key: a Single<{}> needs a one-column key", T::meta().name, T::meta().name),
        )
    })
}

impl<T: Entity> ToValue for Single<T>
where
    T::Key: Clone,
{
    fn to_value(&self) -> Result<Value> {
        if let Some(h) = &self.object {
            let s = h.lock();
            if s.value.key_is_unset() {
                // Not an error yet: a flush inserts the object first and reads the value again.
                // Sent as it is, the driver refuses it with this message.
                return Ok(Value::Invalid(format!(
                    "the reference is to a new {} that has not been saved",
                    T::meta().name
                )));
            }
            return key_value::<T>(&s.value.key());
        }
        key_value::<T>(&self.key)
    }
}

impl<T: Entity> FromSql for Single<T>
where
    T::Key: FromSql,
{
    fn from_sql(row: &dyn RowRead, idx: usize) -> Result<Self> {
        Ok(Single::new(T::Key::from_sql(row, idx)?))
    }
}

impl<T: Entity> SqlField for Single<T>
where
    T::Key: SqlField,
{
    const SQL_TYPE: crate::value::SqlType = <T::Key as SqlField>::SQL_TYPE;
}

impl<T: Entity> types::SqlType for Single<T> {
    const KIND: crate::value::Kind = <T::Key as Key>::KIND;
    type Class = types::class::Object<T>;
    type Null = types::null::No;
    type NotNull = Self;
}

/// The node of an object's key: the value, or a row of values for a composite key.
fn key_node(key: Result<Vec<Value>>) -> ast::Expr {
    match key {
        Ok(mut values) if values.len() == 1 => ast::Expr::Value(values.remove(0)),
        Ok(values) => ast::Expr::Row(values.into_iter().map(ast::Expr::Value).collect()),
        Err(e) => ast::Expr::Value(Value::Invalid(e.message().to_owned())),
    }
}

impl<T: Entity> types::BindAs for Single<T>
where
    T::Key: Clone,
{
    type Ty = Single<T>;
    fn bind_node(&self) -> ast::Expr {
        key_node(self.key().key_values())
    }
}

impl<T: Entity> ToValue for Handle<T> {
    /// The key of the object: a handle binds as its row's key.
    fn to_value(&self) -> Result<Value> {
        key_value::<T>(&self.lock().value.key())
    }
}

impl<T: Entity> types::BindAs for Handle<T> {
    type Ty = Single<T>;
    fn bind_node(&self) -> ast::Expr {
        key_node(self.lock().value.key().key_values())
    }
}

/// The traits of a relation marker (`Set`, `HasOne`): it carries no data, so every value
/// equals every other.
macro_rules! relation_marker {
    ($name:ident) => {
        impl<T> $name<T> {
            /// The empty marker.
            pub const fn new() -> Self {
                $name(PhantomData)
            }
        }

        impl<T> Default for $name<T> {
            fn default() -> Self {
                $name::new()
            }
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                $name::new()
            }
        }

        impl<T> PartialEq for $name<T> {
            /// The marker carries no data: every value equals every other.
            fn eq(&self, _: &Self) -> bool {
                true
            }
        }

        impl<T> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($name))
            }
        }
    };
}

/// The other side of a `Single<Self>` in `T`: the `T`s that refer to this object (one-to-many).
/// In a plain struct it holds nothing; on an object of a session, the getter gives a [`Many`].
pub struct Set<T>(PhantomData<fn() -> T>);

relation_marker!(Set);

/// The other side of a one-to-one relation: the `T` whose `Single<Self>` (or
/// `Option<Single<Self>>`) refers to this object, if there is one. That `Single` holds the
/// column, which is unique. In a plain struct it holds nothing; on an object of a session, the
/// getter gives a [`One`].
///
/// ```text
/// #[derive(Entity)] struct Person   { #[pk] id: i64, name: String, passport: HasOne<Passport> }
/// #[derive(Entity)] struct Passport { #[pk] id: i64, number: String, person: Single<Person> }
///
/// CREATE TABLE "passport" (..., "person" BIGINT NOT NULL UNIQUE,
///     FOREIGN KEY ("person") REFERENCES "person" ("id") ON DELETE CASCADE)
/// ```
pub struct HasOne<T>(PhantomData<fn() -> T>);

relation_marker!(HasOne);

/// The other side of a one-to-one relation on an object of a session: `person.passport()`, the
/// `Passport` whose `Single<Person>` refers to the person, if any.
pub struct One<O: Entity, T: Entity> {
    members: Many<O, T>,
}

impl<O: Entity, T: Entity> One<O, T> {
    /// The relation `field` of `owner`. Called by the derive.
    pub fn new(owner: Handle<O>, field: &'static str) -> Self {
        One { members: Many::new(owner, field) }
    }

    /// The object, if one refers to the owner: in a session, loaded on first use together with
    /// the same relation of every other object of the owner's entity the session holds (one
    /// `IN (...)` query), then answered from the identity map. Two objects of the session that
    /// refer to the owner (before a flush would refuse the second) are a
    /// [`ErrorKind::SeveralFound`] error.
    ///
    /// ```text
    /// SELECT "passport"."id", "passport"."number", "passport"."person" FROM "passport" "passport"
    ///     WHERE "passport"."person" IN (?, ?, ?)
    /// ```
    pub fn get<X: Executor>(&self, x: X) -> X::Out<Option<X::Obj<T>>> {
        x.map(self.members.load(x), one_member::<T, X::Obj<T>>)
    }

    /// The object without a query, as the session left it (see [`Many::loaded`]).
    pub fn loaded(&self) -> Result<Option<Handle<T>>> {
        one_member::<T, _>(self.members.loaded()?)
    }

    /// Makes `member` the object that refers to the owner, or none: sets `member`'s reference to
    /// the owner, and clears the reference of the object that had it (refused when that
    /// reference is required: delete that object instead). The next flush writes it.
    ///
    /// ```text
    /// UPDATE "passport" SET "person" = ? WHERE "id" = ?
    /// ```
    pub fn set<X: Executor>(&self, x: X, member: Option<&Handle<T>>) -> X::Out<()> {
        let change = CollectionChange::Replace(member.into_iter().cloned().collect());
        x.change_collection(self.members.owner().clone(), self.members.relation(), change)
    }
}

/// The one member of a one-to-one relation, if any.
fn one_member<T: Entity, M>(mut members: Vec<M>) -> Result<Option<M>> {
    match members.len() {
        0 | 1 => Ok(members.pop()),
        n => Err(Error::new(
            ErrorKind::SeveralFound,
            format!("{n} objects of {} refer to the same owner of a one-to-one relation", T::meta().name),
        )),
    }
}

/// A change to a collection (see [`Many::add`], [`Many::remove`], [`Many::clear`]).
pub enum CollectionChange<T: Entity> {
    /// Add these members.
    Add(Vec<Handle<T>>),
    /// Remove these members.
    Remove(Vec<Handle<T>>),
    /// Remove every member.
    Clear,
    /// Make these the only members: remove the others, add these.
    Replace(Vec<Handle<T>>),
}

/// A collection of an object of a session: `customer.orders()`, the `Order`s whose
/// `Single<Customer>` refers to the customer.
pub struct Many<O: Entity, T: Entity> {
    owner: Handle<O>,
    relation: &'static RelationMeta,
    _target: PhantomData<fn() -> T>,
}

impl<O: Entity, T: Entity> Many<O, T> {
    /// The collection of `owner` through its relation field `field`. Called by the derive.
    pub fn new(owner: Handle<O>, field: &'static str) -> Self {
        let relation =
            O::meta().relation(field).unwrap_or_else(|| unreachable!("the derive names a field of {}", O::meta().name));
        Many { owner, relation, _target: PhantomData }
    }

    /// The owner.
    pub fn owner(&self) -> &Handle<O> {
        &self.owner
    }

    /// The relation field.
    pub fn relation(&self) -> &'static RelationMeta {
        self.relation
    }

    /// Every member: in a session its objects, loaded on first use together with the same
    /// collection of every other object of the owner's entity the session holds (one
    /// `IN (...)` query for all of them), and afterwards answered from the identity map, so that
    /// a reference set or cleared in the session shows at once. On a database or transaction,
    /// the rows.
    ///
    /// ```text
    /// SELECT "order"."id", "order"."total", "order"."customer" FROM "order" "order"
    ///     WHERE "order"."customer" IN (?, ?, ?)
    /// ```
    pub fn load<X: Executor>(&self, x: X) -> X::Out<Vec<X::Obj<T>>> {
        x.collection::<O, T>(self.owner.clone(), self.relation)
    }

    /// The members without a query, as the session left them: after the session has ended, the
    /// collection it had loaded (by `prefetch`, or by [`Many::load`] in the session), with the
    /// changes made in it. A collection it did not load is a [`ErrorKind::Config`] error that
    /// says to prefetch it.
    ///
    /// ```text
    /// let customers = db.session(|s| select!(c for c in Customer).prefetch(|c| c.orders.items).fetch_all(s))?;
    /// for order in customers[0].orders().loaded()? { order.items().loaded()?; }
    /// ```
    pub fn loaded(&self) -> Result<Vec<Handle<T>>> {
        let what = || format!("{}.{}", O::meta().name, self.relation.field);
        // Following an edge locks nothing, so the owner stays locked while they are read.
        let state = self.owner.lock();
        let edges = state.links.get(self.relation.field).ok_or_else(|| not_loaded(format_args!("{}", what())))?;
        edges
            .iter()
            .map(|edge| {
                Handle::from_edge(edge).ok_or_else(|| {
                    Error::config(format!(
                        "a member of {} is no longer held: keep the objects the query returned while you use what they prefetched",
                        what()
                    ))
                })
            })
            .collect()
    }

    /// The number of members, loading them (see [`Many::load`]); [`Many::count`] counts in SQL.
    pub fn len<X: Executor>(&self, x: X) -> X::Out<usize> {
        x.map(self.load(x), |members| Ok(members.len()))
    }

    /// Whether the collection has no member, loading it (see [`Many::load`]).
    pub fn is_empty<X: Executor>(&self, x: X) -> X::Out<bool> {
        x.map(self.load(x), |members| Ok(members.is_empty()))
    }

    /// Adds `member` in the session `x` (Pony's `collection.add(item)`); both sides see it at
    /// once, and the next flush writes it. One-to-many: sets the member's reference to the
    /// owner (`UPDATE "order" SET "customer" = ?`). Many-to-many: a pair of the join table
    /// (`INSERT INTO "course_student" ...`).
    pub fn add<X: Executor>(&self, x: X, member: &Handle<T>) -> X::Out<()> {
        x.change_collection(self.owner.clone(), self.relation, CollectionChange::Add(vec![member.clone()]))
    }

    /// Removes `member` in the session `x`: clears its reference (one-to-many; refused for a
    /// required reference, where the member must be deleted or moved instead), or deletes the
    /// pair (many-to-many).
    pub fn remove<X: Executor>(&self, x: X, member: &Handle<T>) -> X::Out<()> {
        x.change_collection(self.owner.clone(), self.relation, CollectionChange::Remove(vec![member.clone()]))
    }

    /// Removes every member in the session `x` (loading the collection first).
    pub fn clear<X: Executor>(&self, x: X) -> X::Out<()> {
        x.change_collection(self.owner.clone(), self.relation, CollectionChange::<T>::Clear)
    }

    /// The members as a query, to filter, order and page in SQL (Pony's
    /// `c.orders.select(...)`): `c.orders().query().filter(|o| o.total.gt(100)).order_by(|o| o.id).page(1, 10)`.
    ///
    /// ```text
    /// SELECT "o"."id", ... FROM "order" "o" WHERE "o"."customer" = ? AND "o"."total" > ? ORDER BY "o"."id" LIMIT ? OFFSET ?
    /// ```
    pub fn query(&self) -> types::Query<T, T::Fields>
    where
        T: types::Source,
    {
        let key = self.owner.lock().value.key().key_values();
        let mut b = types::Builder::sub();
        let fields = b.members::<T>(O::meta(), self.relation, key, T::meta().table);
        b.finish(fields.clone(), fields)
    }

    /// The number of members, counted by the database without loading them (after a flush).
    ///
    /// ```text
    /// SELECT COUNT(*) FROM "order" WHERE "customer" = ?
    /// ```
    pub fn count<X: Executor>(&self, x: X) -> X::Out<i64> {
        match count_statement::<O>(&self.owner, self.relation, x.dialect()) {
            Ok(stmt) => x.fetch(stmt, |row, _| i64::from_sql(row, 0), |mut rows| Ok(rows.pop().unwrap_or(0))),
            Err(e) => x.fail(e),
        }
    }
}

fn count_statement<O: Entity>(
    owner: &Handle<O>,
    relation: &'static RelationMeta,
    dialect: crate::Dialect,
) -> Result<Stmt> {
    let key = owner.lock().value.key().key_values()?;
    let link = set_link(O::meta(), relation)?;
    let (from, tie, _) = link.pairs_from(link.target().table, key.into_iter().map(ast::Expr::Value).collect());
    Ok(crate::crud::select_statement(
        ast::Select { columns: vec![ast::Expr::CountStar], from, filter: Some(tie), ..ast::Select::default() },
        dialect,
    ))
}

/// The statement that loads the members of the collection `relation` of the owner whose key is
/// `owner_key`.
///
/// ```text
/// SELECT "order"."id", ... FROM "order" "order" WHERE "order"."customer" = ?
/// SELECT "course"."name", ... FROM "course_student" "course#"
///     JOIN "course" "course" ON "course#"."course_name" = "course"."name" AND ... WHERE "course#"."student_id" = ?
/// ```
pub fn members_statement(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
    owner_key: Vec<Value>,
    dialect: crate::Dialect,
) -> Result<Stmt> {
    let link = set_link(owner, relation)?;
    let target = link.target();
    let (from, tie) = link.members_from(target.table, owner_key.into_iter().map(ast::Expr::Value).collect());
    let columns = target.columns.iter().map(|c| ast::Expr::qualified(target.table, c.name)).collect();
    Ok(crate::crud::select_statement(
        ast::Select { columns, from, filter: Some(tie), ..ast::Select::default() },
        dialect,
    ))
}

/// The statement that loads the many-to-many collections of several owners at once: each
/// member's columns, then the key of the owner it pairs with (read by [`decode_pair`]).
///
/// ```text
/// SELECT "course"."name", ..., "course#"."student_id" FROM "course_student" "course#"
///     JOIN "course" "course" ON "course#"."course_name" = "course"."name" AND ...
///     WHERE "course#"."student_id" IN (?, ?, ?)
/// ```
pub fn pairs_statement(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
    owner_keys: Vec<Vec<Value>>,
    dialect: crate::Dialect,
) -> Result<Stmt> {
    let link = set_link(owner, relation)?;
    let Link::Table { target, table } = &link else {
        return Err(Error::config(format!("{}.{} is not many-to-many", owner.name, relation.field)));
    };
    let alias = target.table;
    let (from, _) = link.members_from(alias, Vec::new());
    let pair = join_alias(alias);
    let owner_columns: Vec<ast::Expr> =
        table.owner_columns.iter().map(|c| ast::Expr::qualified(pair.clone(), c.clone())).collect();
    let filter = match owner_columns.as_slice() {
        [column] => ast::Expr::InValues {
            expr: Box::new(column.clone()),
            kind: owner_keys.first().and_then(|k| k.first()).map_or(Kind::Int, Value::kind),
            values: owner_keys.into_iter().flatten().collect(),
            negated: false,
        },
        _ => owner_keys
            .into_iter()
            .map(|k| all_equal(owner_columns.iter().cloned(), k.into_iter().map(ast::Expr::Value)))
            .reduce(|a, b| ast::Expr::binary(ast::BinOp::Or, a, b))
            .unwrap_or(ast::Expr::Value(Value::Bool(false))),
    };
    let columns = target.columns.iter().map(|c| ast::Expr::qualified(alias, c.name)).chain(owner_columns).collect();
    Ok(crate::crud::select_statement(
        ast::Select { columns, from, filter: Some(filter), ..ast::Select::default() },
        dialect,
    ))
}

/// Decodes a row of [`pairs_statement`]: the member, and the key of its owner `O`.
pub fn decode_pair<T: Entity, O: Entity>(row: &dyn RowRead, _offset: usize) -> Result<(T, Vec<Value>)> {
    let member = T::from_row_at(row, 0)?;
    let width = T::meta().columns.len();
    let key = O::meta()
        .key_columns()
        .enumerate()
        .map(|(i, c)| crate::value::read_value(row, width + i, c.ty))
        .collect::<Result<Vec<Value>>>()?;
    Ok((member, key))
}

/// A `Single<T>` or `Option<Single<T>>` field, as the derive sees it.
pub trait ReferenceField: Sized {
    /// The address of the session object the reference follows, if any.
    fn object_addr(&self) -> Option<usize>;
    /// The reference following the object `link` leads to (what the getter returns once the
    /// session has ended; see [`Single::loaded`]).
    fn followed(self, link: Option<&crate::session::Edge>) -> Self;
}

impl<T: Entity> ReferenceField for Single<T> {
    fn object_addr(&self) -> Option<usize> {
        self.object.as_ref().map(Handle::addr)
    }

    fn followed(mut self, link: Option<&crate::session::Edge>) -> Self {
        if self.object.is_none() {
            self.object = link.and_then(Handle::from_edge);
        }
        self
    }
}

impl<T: Entity> ReferenceField for Option<Single<T>> {
    fn object_addr(&self) -> Option<usize> {
        self.as_ref().and_then(ReferenceField::object_addr)
    }

    fn followed(self, link: Option<&crate::session::Edge>) -> Self {
        self.map(|single| single.followed(link))
    }
}

/// A reference field's value with the object its session left linked: the getter of a `Single`
/// field. The owner's lock is released before the link is followed, so an object that refers
/// to itself does not wait on its own lock.
pub fn followed_reference<E: Entity, R: ReferenceField>(
    owner: &Handle<E>,
    column: usize,
    field: &'static str,
    read: impl FnOnce(&E) -> R,
) -> R {
    let (value, link) = {
        let state = owner.read_state(column);
        // A reference links one object: clone that edge alone, not a list.
        (read(&state.value), state.links.get(field).and_then(<[crate::session::Edge]>::first).cloned())
    };
    value.followed(link.as_ref())
}
