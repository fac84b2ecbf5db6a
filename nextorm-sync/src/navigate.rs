//! [`Navigate`]: following a relation of a session object through the session running on this
//! thread, without passing it (PonyORM's `o.customer.name`, `for o in c.orders:`).

use crate::database::current;
use nextorm_core::session::{Handle, SessionEntity};
use nextorm_core::{Entity, Many, One, Result, Single};

/// A relation followed through the session running on this thread ([`current()`]):
/// `o.customer().fetch()?.name()` is `o.customer().get(current())?.name()`, and
/// `for o in c.orders().fetch()? { .. }` is `c.orders().load(current())?`. It loads what the
/// session does not hold yet, batched as `get`/`load` do. A reference made from an object (a new
/// one included, before its flush), or linked by its ended session, is that object, with no
/// query. Anything else outside a session is an [`nextorm_core::ErrorKind::Config`] error ("no
/// session is running on this thread"); after the session, `loaded()` reads what it left.
///
/// ```text
/// use nextorm::prelude::*; // or nextorm::Navigate
/// db.session(|s| {
///     let o = s.by_pk::<Order>(&1)?;
///     println!("{}", o.customer().fetch()?.name()); // SELECT ... FROM "customer" WHERE "id" IN (?)
///     for item in o.items().fetch()? { /* .. */ }
///     Ok(())
/// })?;
/// ```
pub trait Navigate {
    /// What the relation leads to: a `Handle` for a `Single`, an `Option` of one for an
    /// optional `Single` or a `HasOne`, a `Vec` of them for a `Set`.
    type Output;

    /// Follows the relation in the current session (see [`Navigate`]).
    fn fetch(&self) -> Result<Self::Output>;
}

impl<T: SessionEntity> Navigate for Single<T>
where
    T::Key: Clone,
{
    type Output = Handle<T>;

    /// The referenced object: the object the reference was made from, if it was (a new one
    /// included, before any flush), else `Single::get(current())`.
    fn fetch(&self) -> Result<Handle<T>> {
        match self.object() {
            Some(object) => Ok(object.clone()),
            None => self.get(current()),
        }
    }
}

impl<T: SessionEntity> Navigate for Option<Single<T>>
where
    T::Key: Clone,
{
    type Output = Option<Handle<T>>;

    /// The referenced object, if the reference is set.
    fn fetch(&self) -> Result<Option<Handle<T>>> {
        self.as_ref().map(Navigate::fetch).transpose()
    }
}

impl<O: Entity, T: SessionEntity> Navigate for One<O, T> {
    type Output = Option<Handle<T>>;

    /// The object on the other side of a one-to-one: `One::get(current())`.
    fn fetch(&self) -> Result<Option<Handle<T>>> {
        self.get(current())
    }
}

impl<O: Entity, T: SessionEntity> Navigate for Many<O, T> {
    type Output = Vec<Handle<T>>;

    /// The members: `Many::load(current())`.
    fn fetch(&self) -> Result<Vec<Handle<T>>> {
        self.load(current())
    }
}
