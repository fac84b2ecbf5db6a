//! The relations of a session object: [`Many`] (`customer.orders()`) and [`One`]
//! (`person.passport()`), which load through an executor, change the collection in the session,
//! or read what the session left linked.

use crate::entity::meta::RelationMeta;
use crate::entity::{Entity, Key};
use crate::error::{Error, ErrorKind, Result};
use crate::query::{Builder, Executor, Query, Source};
use crate::relation_sql::count_statement;
use crate::session::collection_change::CollectionChange;
use crate::session::not_loaded;
use crate::session::{Handle, SessionEntity};
use std::marker::PhantomData;

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
    pub fn get<X: Executor>(&self, x: X) -> X::Out<Option<X::Obj<T>>>
    where
        T: SessionEntity,
    {
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
    pub fn load<X: Executor>(&self, x: X) -> X::Out<Vec<X::Obj<T>>>
    where
        T: SessionEntity,
    {
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
        let mut members = Vec::with_capacity(edges.len());
        for edge in edges {
            members.push(Handle::from_edge(edge).ok_or_else(|| {
                Error::config(format!(
                    "a member of {} is no longer held: keep the objects the query returned while you use what they prefetched",
                    what()
                ))
            })?);
        }
        Ok(members)
    }

    /// The number of members, loading them (see [`Many::load`]); [`Many::count`] counts in SQL.
    pub fn len<X: Executor>(&self, x: X) -> X::Out<usize>
    where
        T: SessionEntity,
    {
        x.map(self.load(x), |members| Ok(members.len()))
    }

    /// Whether the collection has no member, loading it (see [`Many::load`]).
    pub fn is_empty<X: Executor>(&self, x: X) -> X::Out<bool>
    where
        T: SessionEntity,
    {
        x.map(self.load(x), |members| Ok(members.is_empty()))
    }

    /// Adds `member` in the session `x` (Pony's `collection.add(item)`); both sides see it at
    /// once, and the next flush writes it. One-to-many: sets the member's reference to the
    /// owner (`UPDATE "order" SET "customer" = ?`). Many-to-many: a pair of the join table
    /// (`INSERT INTO "course_student" ...`).
    pub fn add<X: Executor>(&self, x: X, member: &Handle<T>) -> X::Out<()> {
        x.change_collection(self.owner.clone(), self.relation, CollectionChange::Add(vec![member.clone()]))
    }

    /// Removes `member` in the session `x`: clears its reference (one-to-many), or deletes the
    /// pair (many-to-many). A member whose reference is required cannot stay without an owner,
    /// so it is deleted, as PonyORM's `Set.remove` does (its own delete rules apply at the
    /// flush); when that reference's delete is restricted (`cascade_delete = false`) the removal
    /// is refused with [`ErrorKind::Config`] (delete the member, or add it to another
    /// collection). [`Many::clear`] and [`Many::set`] remove members the same way.
    ///
    /// ```text
    /// UPDATE "order" SET "referrer" = NULL WHERE "id" = ?     -- an optional reference
    /// DELETE FROM "order" WHERE "id" = ?                      -- a required one
    /// ```
    pub fn remove<X: Executor>(&self, x: X, member: &Handle<T>) -> X::Out<()> {
        x.change_collection(self.owner.clone(), self.relation, CollectionChange::Remove(vec![member.clone()]))
    }

    /// Makes `members` the collection's members in the session `x` (PonyORM's
    /// `g.students = [...]`): loads the collection, removes the members not in `members` (as
    /// [`Many::remove`] does) and adds the others (as [`Many::add`]); members already in it
    /// are left alone, and the next flush sends only the differences. Every member is checked
    /// before anything changes, so a refused removal leaves the collection as it was.
    ///
    /// ```text
    /// -- many-to-many: the pairs that leave, then the pairs that come
    /// DELETE FROM "course_student" WHERE "course_id" = ? AND "student_id" = ?
    /// INSERT INTO "course_student" ("course_id", "student_id") VALUES (?, ?)
    /// -- one-to-many: each member's reference
    /// UPDATE "student" SET "group" = ? WHERE "id" = ?
    /// ```
    pub fn set<X: Executor>(&self, x: X, members: &[Handle<T>]) -> X::Out<()> {
        x.change_collection(self.owner.clone(), self.relation, CollectionChange::Replace(members.to_vec()))
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
    pub fn query(&self) -> Query<T, T::Fields>
    where
        T: Source,
    {
        let key = self.owner.lock().value.key().key_values();
        let mut b = Builder::sub();
        let fields = b.members::<T>(O::meta(), self.relation, key, T::meta().table);
        b.finish(fields.clone(), fields)
    }

    /// The number of members, counted without loading them. In a session (PonyORM's
    /// `collection.count()`, which caches): a loaded collection, or one of a new owner, is
    /// counted in the identity map without a statement; otherwise the database counts (after a
    /// flush), and the session keeps the number until the collection may have changed: a
    /// member added or removed, a reference set or a member deleted in the session, an object
    /// joining the session, a flush that wrote, raw SQL, or a rollback. Rows another
    /// transaction adds meanwhile are not seen, as with any object the session holds. On a
    /// database or transaction the statement always runs.
    ///
    /// ```text
    /// SELECT COUNT(*) FROM "order" WHERE "customer" = ?
    /// ```
    pub fn count<X: Executor>(&self, x: X) -> X::Out<i64> {
        let stmt = self
            .owner
            .lock()
            .value
            .key()
            .key_values()
            .and_then(|key| count_statement(O::meta(), self.relation, key, x.dialect()));
        match stmt {
            Ok(stmt) => x.count_collection::<O, T>(self.owner.clone(), self.relation, stmt),
            Err(e) => x.fail(e),
        }
    }
}
