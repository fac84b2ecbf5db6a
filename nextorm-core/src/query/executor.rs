//! [`Executor`]: what runs statements (a blocking or an async database, a transaction, a
//! session), the one interface queries, relation fields and session views run through.

use super::statement::Stmt;
use crate::dialect::Dialect;
use crate::entity::{Entity, Key};
use crate::error::{Error, Result};
use crate::session::collection_change::CollectionChange;
use crate::session::prefetch::PrefetchPath;
use crate::session::{Attach, Handle, SessionEntity};
use crate::value::{FromSql, RowRead};

/// What runs statements: a blocking or an async database, or a transaction. `Out<T>` is
/// `Result<T>` for the blocking facade and a future of it for the async one.
pub trait Executor: Copy {
    /// The result of running something that yields `T`.
    type Out<T: Send + 'static>;
    /// The dialect statements must be rendered for.
    fn dialect(self) -> Dialect;
    /// Runs a query, decodes every row, then applies `finish` to the rows.
    fn fetch<Row: Send + 'static, T: Send + 'static>(
        self,
        stmt: Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<Row>,
        finish: fn(Vec<Row>) -> Result<T>,
    ) -> Self::Out<T>;
    /// What a query row becomes: the row itself for a database or transaction, the session's
    /// object ([`Attach::Attached`]) in a session.
    type Obj<Row: Attach>: Send + 'static;
    /// [`Executor::fetch`] for query rows: in a session each row joins the identity map first.
    fn fetch_objects<Row: Attach, T: Send + 'static>(
        self,
        stmt: Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<Row>,
        finish: fn(Vec<Self::Obj<Row>>) -> Result<T>,
    ) -> Self::Out<T>;
    /// The entity with this key; a session answers from its identity map when it holds it.
    fn object_by_pk<E: SessionEntity>(self, key: &E::Key) -> Self::Out<Self::Obj<E>>;
    /// A new entity: inserted now by a database or transaction (the generated key set on the
    /// returned value), registered for the next flush by a session (which returns its object).
    fn create_object<E: SessionEntity>(self, value: E) -> Self::Out<Self::Obj<E>>;
    /// Runs a statement; the rows it affected.
    fn execute(self, stmt: Stmt) -> Self::Out<u64>;
    /// What [`Executor::for_each`] returns: `Result<()>`, or a future of it borrowing `'f`.
    type Each<'f>
    where
        Self: 'f;
    /// Runs a query and hands each decoded row (in a session, its object) to `each` as it
    /// arrives, without collecting them.
    fn for_each<'f, Row: Attach, F: FnMut(Self::Obj<Row>) -> Result<()> + Send + 'f>(
        self,
        stmt: Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<Row>,
        each: F,
    ) -> Self::Each<'f>
    where
        Self: 'f;
    /// An `Out` that is already this error.
    fn fail<T: Send + 'static>(self, error: Error) -> Self::Out<T>;
    /// An `Out` that is already this value.
    fn ready<T: Send + 'static>(self, value: T) -> Self::Out<T>;

    /// Whether the entity rows this executor loads leave the `lazy` columns out: true for a
    /// session, which loads them when they are first read ([`Executor::lazy_column`]); a
    /// database or transaction returns plain values, which load every column.
    fn leaves_lazy_columns_out(self) -> bool {
        false
    }

    /// The value of the `lazy` column `column` of `object`, which has not loaded it, through
    /// `read`. A session loads the column for every object of `E` it holds that has not loaded
    /// it, a batch of keys per statement (PonyORM's lazy attribute and its N+1 batching), stores
    /// it in them and marks it read in `object`. Elsewhere, the value by key, not stored.
    ///
    /// ```text
    /// session:  SELECT "id", "body" FROM "article" WHERE "id" IN (?, ?, ?)
    /// database: SELECT "body" FROM "article" WHERE "id" = ?
    /// ```
    fn lazy_column<E: SessionEntity, T: FromSql + Send + 'static>(
        self,
        object: Handle<E>,
        column: usize,
        read: fn(&E) -> T,
    ) -> Self::Out<T> {
        let _ = read;
        let key = match object.lock().value.key().key_values() {
            Ok(k) => k,
            Err(e) => return self.fail(e),
        };
        let stmt = crate::crud::select_column_by_key(E::meta(), column, key, self.dialect());
        self.fetch(stmt, first_column::<T>, the_one_value::<E, T>)
    }
    /// `out`, then `f` on its value.
    fn map<A: Send + 'static, B: Send + 'static>(self, out: Self::Out<A>, f: fn(A) -> Result<B>) -> Self::Out<B>;

    /// [`Executor::fetch_objects`], then loads the relations `paths` of the objects (see
    /// [`Query::prefetch`](super::Query::prefetch)). Only a session can: a database or
    /// transaction answers [`prefetch_needs_a_session`].
    fn fetch_prefetched<Row: Attach, T: Send + 'static>(
        self,
        stmt: Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<Row>,
        paths: Vec<PrefetchPath>,
        finish: fn(Vec<Self::Obj<Row>>) -> Result<T>,
    ) -> Self::Out<T>;

    /// A [`Executor::for_each`] result that is already this error.
    fn fail_each<'f>(self, error: Error) -> Self::Each<'f>
    where
        Self: 'f;

    /// Adds (`add`) or removes `members` of the collection `relation` of `owner`; with no
    /// members and `add == false`, removes every member (`clear`). Only a session can: a
    /// database or transaction answers [`collection_change_needs_a_session`].
    fn change_collection<O: Entity, T: Entity>(
        self,
        owner: crate::session::Handle<O>,
        relation: &'static crate::entity::meta::RelationMeta,
        change: CollectionChange<T>,
    ) -> Self::Out<()>;

    /// Sends the pending change of one session object and what it needs first (see
    /// [`Handle::flush`](crate::session::Handle::flush)). Only a session can: a database or
    /// transaction answers [`object_flush_needs_a_session`].
    fn flush_object<E: Entity>(self, object: crate::session::Handle<E>) -> Self::Out<()>;

    /// The number of members of the collection `relation` of `owner`, counted by `stmt`
    /// (`SELECT COUNT(*) ...`). A session answers without a statement when it can (see
    /// [`Many::count`](crate::relation::Many::count)); elsewhere the statement runs.
    fn count_collection<O: Entity, T: Entity>(
        self,
        owner: crate::session::Handle<O>,
        relation: &'static crate::entity::meta::RelationMeta,
        stmt: Stmt,
    ) -> Self::Out<i64> {
        let _ = (owner, relation);
        self.fetch(
            stmt,
            |row, _| <i64 as crate::value::FromSql>::from_sql(row, 0),
            |mut rows| Ok(rows.pop().unwrap_or(0)),
        )
    }

    /// The object a `Single` refers to. A session batches: it loads every object of `E` its
    /// objects refer to and it does not hold yet, in one query. Elsewhere, the row by key.
    fn related_object<E: SessionEntity>(self, key: &E::Key) -> Self::Out<Self::Obj<E>> {
        self.object_by_pk::<E>(key)
    }

    /// The members of a `Set` of `owner`. A session loads the collection of every object of `O`
    /// it holds at once and answers from its identity map afterwards. Elsewhere, the rows.
    fn collection<O: Entity, T: SessionEntity>(
        self,
        owner: crate::session::Handle<O>,
        relation: &'static crate::entity::meta::RelationMeta,
    ) -> Self::Out<Vec<Self::Obj<T>>> {
        let key = match owner.lock().value.key().key_values() {
            Ok(k) => k,
            Err(e) => return self.fail(e),
        };
        match crate::relation_sql::members_statement(O::meta(), relation, key, self.dialect()) {
            Ok(stmt) => self.fetch_objects(stmt, T::from_row_at, all_rows),
            Err(e) => self.fail(e),
        }
    }
}

/// The value of a `lazy` field of a session object, read through `x`: the generated getter of
/// a `lazy` field (`article.body(s)?`, `.await` in the async facade). A loaded value (or one written in the
/// session) is answered at once, marked read; one not loaded yet is loaded through
/// [`Executor::lazy_column`]. A strict session that has ended makes it an error.
pub fn lazy_field<X: Executor, E: SessionEntity, T: FromSql + Send + 'static>(
    x: X,
    object: &Handle<E>,
    column: usize,
    read: fn(&E) -> T,
) -> X::Out<T> {
    match object.read_loaded(column, read) {
        Ok(Some(value)) => x.ready(value),
        Ok(None) => x.lazy_column(object.clone(), column, read),
        Err(e) => x.fail(e),
    }
}

fn first_column<T: FromSql>(row: &dyn RowRead, _offset: usize) -> Result<T> {
    crate::value::decode_column(row, 0)
}

fn the_one_value<E: Entity, T>(mut rows: Vec<T>) -> Result<T> {
    match rows.len() {
        1 => rows.pop().ok_or_else(|| Error::internal("a row went missing")),
        _ => Err(Error::new(crate::ErrorKind::NotFound, format!("the row of this {} was not found", E::meta().name))),
    }
}

/// The rows as they are: the `finish` of a query that returns every row.
pub(super) fn all_rows<T>(rows: Vec<T>) -> Result<Vec<T>> {
    Ok(rows)
}

/// The [`ErrorKind::Config`](crate::ErrorKind::Config) error of [`Executor::fetch_prefetched`]
/// outside a session: prefetched relations live in a session's objects.
pub fn prefetch_needs_a_session(paths: &[PrefetchPath]) -> Error {
    Error::config(format!(
        "prefetch loads {} into the objects of a session: run the query with the session, not the database",
        paths.first().map(PrefetchPath::describe).unwrap_or_default()
    ))
}

/// The [`ErrorKind::Config`](crate::ErrorKind::Config) error of [`Executor::flush_object`]
/// outside a session: an object's pending changes live in its session.
pub fn object_flush_needs_a_session(meta: &crate::entity::EntityMeta) -> Error {
    Error::config(format!("a {} object flushes through its session: pass the session, not the database", meta.name))
}

/// The [`ErrorKind::Config`](crate::ErrorKind::Config) error of [`Executor::change_collection`]
/// outside a session: a collection changes in the session's identity map.
pub fn collection_change_needs_a_session(relation: &crate::entity::meta::RelationMeta) -> Error {
    Error::config(format!(
        "the collection {} changes inside a session: pass the session, not the database",
        relation.field
    ))
}
