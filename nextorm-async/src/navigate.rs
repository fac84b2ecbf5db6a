//! [`NavigateAsync`]: following a relation of a session object through the session the task
//! runs in, without passing it (PonyORM's `o.customer.name`, `for o in c.orders:`).

use crate::database::current_async;
use nextorm_core::session::{Handle, SessionEntity};
use nextorm_core::{Entity, Many, One, Single};
use nextorm_engine::BoxFuture;

/// A relation followed through the session the current task runs in ([`current_async()`]):
/// `o.customer().fetch_async().await?.name()` is `o.customer().get(current_async()).await?`,
/// and `for o in c.orders().fetch_async().await? { .. }` is `c.orders().load(current_async())`.
/// Named apart from the blocking `Navigate::fetch` so both can be in scope (the prelude with
/// both facades). A reference made from an object (a new one included), or linked by its ended
/// session, is that object, with no query. Anything else outside a session is an
/// [`nextorm_core::ErrorKind::Config`] error ("no session is running in this task").
///
/// ```text
/// db.session(async |s| {
///     let o = s.by_pk::<Order>(&1).await?;
///     println!("{}", o.customer().fetch_async().await?.name());
///     for item in o.items().fetch_async().await? { .. }
///     Ok(())
/// }).await?;
/// ```
pub trait NavigateAsync {
    /// What the relation leads to: a `Handle` for a `Single`, an `Option` of one for an
    /// optional `Single` or a `HasOne`, a `Vec` of them for a `Set`.
    type Output;

    /// Follows the relation in the current task's session (see [`NavigateAsync`]). The session
    /// is looked up when the future runs.
    fn fetch_async(&self) -> BoxFuture<'static, Self::Output>;
}

impl<T: SessionEntity> NavigateAsync for Single<T>
where
    T::Key: Clone,
{
    type Output = Handle<T>;

    /// The referenced object: the object the reference was made from, if it was (a new one
    /// included, before any flush), else `Single::get(current_async())`.
    fn fetch_async(&self) -> BoxFuture<'static, Handle<T>> {
        match self.object() {
            Some(object) => {
                let object = object.clone();
                Box::pin(async move { Ok(object) })
            }
            None => self.get(current_async()),
        }
    }
}

impl<T: SessionEntity> NavigateAsync for Option<Single<T>>
where
    T::Key: Clone,
{
    type Output = Option<Handle<T>>;

    /// The referenced object, if the reference is set.
    fn fetch_async(&self) -> BoxFuture<'static, Option<Handle<T>>> {
        let found = self.as_ref().map(NavigateAsync::fetch_async);
        Box::pin(async move {
            match found {
                Some(found) => found.await.map(Some),
                None => Ok(None),
            }
        })
    }
}

impl<O: Entity, T: SessionEntity> NavigateAsync for One<O, T> {
    type Output = Option<Handle<T>>;

    /// The object on the other side of a one-to-one: `One::get(current_async())`.
    fn fetch_async(&self) -> BoxFuture<'static, Option<Handle<T>>> {
        self.get(current_async())
    }
}

impl<O: Entity, T: SessionEntity> NavigateAsync for Many<O, T> {
    type Output = Vec<Handle<T>>;

    /// The members: `Many::load(current_async())`.
    fn fetch_async(&self) -> BoxFuture<'static, Vec<Handle<T>>> {
        self.load(current_async())
    }
}
