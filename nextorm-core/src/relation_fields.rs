//! The relation field types of an entity: [`Single`] (a reference, the foreign-key side),
//! [`Set`] (a collection) and [`HasOne`] (the column-less side of a one-to-one), with what the
//! derive and the queries need of them (binding, decoding, following the object a session left).

use crate::ast;
use crate::entity::{Entity, Key};
use crate::error::{Error, ErrorKind, Result};
use crate::map_key::MapKey;
use crate::query::Executor;
use crate::query::types;
use crate::session::not_loaded;
use crate::session::{Handle, SessionEntity};
use crate::value::{FromSql, RowRead, SqlField, ToValue, Value};
use std::marker::PhantomData;

/// A reference to one `T`: the foreign-key side of a relation. Outside a session it is the key
/// of the row; given an object of a session (`Single::from(&handle)`), it follows the object, so
/// a reference to a new object takes the key the database generates when the session flushes
/// (which inserts the referenced object first).
///
/// [`Single::get`] loads the referenced object. In a session, the first `get` of an object the
/// session does not hold loads every object of `T` the session's objects refer to and it does
/// not hold yet, with one `IN (...)` query (PonyORM's N+1 batching).
///
/// `Single::default()` is a reference not set yet, so an entity with a `Single` field can have
/// `Default` (the derive's `#[orm(default = ..)]` included) and be built PonyORM's way,
/// `Order(customer=ann)` with the other fields defaulted:
/// `Order { customer: (&ann).into(), ..Default::default() }`. Inserting an object whose required
/// reference is still unset is an [`ErrorKind::InvalidValue`] error naming the field
/// (`Order.customer: the reference to a Customer is not set`), as Pony's "Attribute
/// Order.customer is required".
pub struct Single<T: Entity> {
    key: T::Key,
    object: Option<Handle<T>>,
    /// Made by `Default`: refers to nothing yet.
    unset: bool,
}

impl<T: Entity> Single<T> {
    /// A reference to the row with this key.
    pub fn new(key: T::Key) -> Self {
        Single { key, object: None, unset: false }
    }

    /// Whether the reference was made by `Default` and not set since.
    pub fn is_unset(&self) -> bool {
        self.unset
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
    pub fn get<X: Executor>(&self, x: X) -> X::Out<X::Obj<T>>
    where
        T: SessionEntity,
    {
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

impl<T: Entity> Clone for Single<T>
where
    T::Key: Clone,
{
    fn clone(&self) -> Self {
        Single { key: self.key.clone(), object: self.object.clone(), unset: self.unset }
    }
}

impl<T: Entity> Default for Single<T>
where
    T::Key: Default,
{
    /// A reference not set yet (see [`Single`]).
    fn default() -> Self {
        Single { key: T::Key::default(), object: None, unset: true }
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
        Single { key, object: Some(h.clone()), unset: false }
    }
}

impl<T: Entity> From<Handle<T>> for Single<T> {
    fn from(h: Handle<T>) -> Self {
        Single::from(&h)
    }
}

/// An optional reference set to an object: `o.set_coupon(&coupon)` as well as `o.set_coupon(None)`.
impl<T: Entity> From<&Handle<T>> for Option<Single<T>> {
    fn from(h: &Handle<T>) -> Self {
        Some(Single::from(h))
    }
}

impl<T: Entity> From<Handle<T>> for Option<Single<T>> {
    fn from(h: Handle<T>) -> Self {
        Some(Single::from(&h))
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
        if self.unset {
            return Err(Error::invalid_value(format!("the reference to a {} is not set", T::meta().name)));
        }
        match &self.object {
            Some(h) => followed_key_value(h),
            None => key_value::<T>(&self.key),
        }
    }
}

/// The key value of the object a `Single` follows, read now: its key may have changed since the
/// reference was made, or be generated at the next flush.
fn followed_key_value<T: Entity>(h: &Handle<T>) -> Result<Value> {
    // An object that refers to itself is locked by whoever reads it: its key comes from that
    // read, not from locking it again.
    if let Some(own) = crate::session::own_reference::own_key(h.addr()) {
        return Ok(own);
    }
    let s = h.lock();
    if s.value.key_is_unset() {
        // Not an error yet: a flush inserts the object first and reads the value again. Sent as
        // it is, the driver refuses it with this message.
        return Ok(Value::Invalid(format!("the reference is to a new {} that has not been saved", T::meta().name)));
    }
    key_value::<T>(&s.value.key())
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
    const COLUMN_TYPE: crate::value::ColumnType = <T::Key as SqlField>::COLUMN_TYPE;
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
/// In a plain struct it holds nothing; on an object of a session, the getter gives a [`Many`](crate::relation::Many).
pub struct Set<T>(PhantomData<fn() -> T>);

relation_marker!(Set);

/// The other side of a one-to-one relation: the `T` whose `Single<Self>` (or
/// `Option<Single<Self>>`) refers to this object, if there is one. That `Single` holds the
/// column, which is unique. In a plain struct it holds nothing; on an object of a session, the
/// getter gives a [`One`](crate::relation::One).
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

/// A `Single<T>` or `Option<Single<T>>` field, as the derive sees it.
pub trait ReferenceField: Sized {
    /// The address of the session object the reference follows, if any.
    fn object_addr(&self) -> Option<usize>;
    /// The reference following the object `link` leads to (what the getter returns once the
    /// session has ended; see [`Single::loaded`]).
    fn followed(self, link: Option<&crate::session::Edge>) -> Self;
    /// The key the reference holds, as the identity map keys its target; `None` for `NULL`,
    /// an unset reference or a value it cannot send. A reference loaded from a row reads its
    /// key without the column's checks (the members' index reads one per member).
    fn reference_key(&self) -> Option<MapKey>;
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

    fn reference_key(&self) -> Option<MapKey> {
        // A composite key cannot be referred to (see `key_value`).
        if self.unset || T::meta().primary_key.len() != 1 {
            return None;
        }
        match &self.object {
            None => self.key.map_key().ok(),
            // As `to_value` reads it; a new object's key not generated yet is no key.
            Some(h) => followed_key_value(h)
                .ok()
                .filter(|v| !matches!(v, Value::Null(_) | Value::Invalid(_)))
                .map(|v| MapKey::of_one(&v)),
        }
    }
}

impl<T: Entity> ReferenceField for Option<Single<T>> {
    fn object_addr(&self) -> Option<usize> {
        self.as_ref().and_then(ReferenceField::object_addr)
    }

    fn followed(self, link: Option<&crate::session::Edge>) -> Self {
        self.map(|single| single.followed(link))
    }

    fn reference_key(&self) -> Option<MapKey> {
        self.as_ref().and_then(ReferenceField::reference_key)
    }
}

impl<E: Entity> Handle<E> {
    /// Points the `Single` in column `index` at `target`, as a write.
    pub fn set_reference<O: Entity>(&self, index: usize, target: &Handle<O>) -> Result<()> {
        let mut result = Ok(());
        // Made before this object is locked: making it reads the target's key, and the target
        // may be this object (an employee added to its own reports).
        let single = Single::from(target);
        self.write(index, |e| result = e.set_reference(index, &single))?;
        result
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
        (read(&state.value), state.links.get(field).and_then(|mut edges| edges.next().cloned()))
    };
    value.followed(link.as_ref())
}
