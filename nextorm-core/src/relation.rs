//! Relations between entities: [`Single`] on the foreign-key side, [`Set`] on the other, and the
//! metadata that pairs them.
//!
//! ```text
//! #[derive(Entity)] struct Customer { #[pk] id: i64, name: String, orders: Set<Order> }
//! #[derive(Entity)] struct Order    { #[pk] id: i64, total: f64, customer: Single<Customer> }
//!
//! CREATE TABLE "order" (..., "customer" BIGINT NOT NULL,
//!     FOREIGN KEY ("customer") REFERENCES "customer" ("id") ON DELETE CASCADE)
//! CREATE INDEX "idx_order__customer" ON "order" ("customer")
//! ```

use crate::entity::{Entity, EntityMeta, Key};
use crate::error::{Error, ErrorKind, Result};
use crate::query::{self as types, Executor, Stmt};
use crate::session::Handle;
use crate::value::{FromSql, RowRead, SqlField, ToValue, Value};
use std::marker::PhantomData;

/// What a relation field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    /// `Single<T>` or `Option<Single<T>>`: the foreign key, stored in column `column`.
    Single {
        /// The index of the foreign-key column in the entity's columns.
        column: usize,
    },
    /// `Set<T>`: the other side of a `Single<Self>` in `T` (one-to-many).
    Set,
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
    /// For a `Single`: what deleting the target does to this row. `None` is the default: cascade
    /// for a required reference, set null for an optional one.
    pub cascade_delete: Option<bool>,
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
    /// The foreign-key column, for a `Single`.
    pub fn fk_column(&self) -> Option<usize> {
        match self.kind {
            RelationKind::Single { column } => Some(column),
            RelationKind::Set => None,
        }
    }

    /// The delete rule of a `Single` of `owner`: cascade for a required reference, set null for an
    /// optional one, restrict with `cascade_delete = false`.
    pub fn on_delete(&self, owner: &EntityMeta) -> OnDelete {
        let nullable = self.fk_column().is_some_and(|c| owner.columns[c].nullable);
        match (self.cascade_delete, nullable) {
            (Some(false), _) => OnDelete::Restrict,
            (_, true) => OnDelete::SetNull,
            (_, false) => OnDelete::Cascade,
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
        .filter(|r| !(std::ptr::eq(target, owner) && r.field == relation.field))
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

/// The entity `T` of a `Set<T>` of `owner`, and the column of the `Single` in `T` that is the
/// set's other side.
pub fn set_reverse(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
) -> Result<(&'static EntityMeta, usize)> {
    match reverse_of(owner, relation)? {
        Some((t, r)) => match r.kind {
            RelationKind::Single { column } => Ok((t, column)),
            RelationKind::Set => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{}.{} and {}.{} are both Set: many-to-many relations are not supported yet",
                    owner.name, relation.field, t.name, r.field
                ),
            )),
        },
        None => {
            let target = (relation.target)().name;
            Err(Error::mapping(format!(
                "{}.{} is a Set<{target}>, but {target} has no Single<{}> field for its other side",
                owner.name, relation.field, owner.name
            )))
        }
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
    let mut values = key.key_values()?;
    match values.len() {
        1 => Ok(values.remove(0)),
        n => Err(Error::new(
            ErrorKind::Unsupported,
            format!("{} has a {n}-column key: a Single<{}> needs a one-column key", T::meta().name, T::meta().name),
        )),
    }
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

impl<T: Entity> types::SqlType for Single<T>
where
    T::Key: types::SqlType,
{
    const KIND: crate::value::Kind = <T::Key as types::SqlType>::KIND;
    type Class = types::class::Object<T>;
    type Null = types::null::No;
    type NotNull = Self;
}

impl<T: Entity> types::BindAs for Single<T>
where
    T::Key: types::SqlType + Clone,
{
    type Ty = Single<T>;
}

impl<T: Entity> ToValue for Handle<T> {
    /// The key of the object: a handle binds as its row's key.
    fn to_value(&self) -> Result<Value> {
        key_value::<T>(&self.lock().value.key())
    }
}

impl<T: Entity> types::BindAs for Handle<T>
where
    T::Key: types::SqlType,
{
    type Ty = Single<T>;
}

/// The other side of a `Single<Self>` in `T`: the `T`s that refer to this object (one-to-many).
/// In a plain struct it holds nothing; on an object of a session, the getter gives a [`Many`].
pub struct Set<T>(PhantomData<fn() -> T>);

impl<T> Set<T> {
    /// The empty marker.
    pub const fn new() -> Self {
        Set(PhantomData)
    }
}

impl<T> Default for Set<T> {
    fn default() -> Self {
        Set::new()
    }
}

impl<T> Clone for Set<T> {
    fn clone(&self) -> Self {
        Set::new()
    }
}

impl<T> PartialEq for Set<T> {
    /// The marker carries no data: every `Set` equals every other.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Set<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Set")
    }
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
    let (target, fk) = set_reverse(O::meta(), relation)?;
    let key = key_value::<O>(&owner.lock().value.key())?;
    Ok(crate::crud::count_where(target, fk, key, dialect))
}

/// The statement that loads the members of the collections of `owners`: the rows of the target
/// whose foreign key is one of the owners' keys.
pub fn members_statement(
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
    owner_keys: Vec<Value>,
    dialect: crate::Dialect,
) -> Result<Stmt> {
    let (target, fk) = set_reverse(owner, relation)?;
    Ok(crate::crud::select_where_in(target, fk, owner_keys, dialect))
}

/// A `Single<T>` or `Option<Single<T>>` field, as the derive sees it.
pub trait ReferenceField {
    /// The address of the session object the reference follows, if any.
    fn object_addr(&self) -> Option<usize>;
}

impl<T: Entity> ReferenceField for Single<T> {
    fn object_addr(&self) -> Option<usize> {
        self.object.as_ref().map(Handle::addr)
    }
}

impl<T: Entity> ReferenceField for Option<Single<T>> {
    fn object_addr(&self) -> Option<usize> {
        self.as_ref().and_then(ReferenceField::object_addr)
    }
}
