//! [`Handle::flush`]: one object's pending change sent through an executor (PonyORM's
//! `obj.flush()`).

use super::handle::Handle;
use crate::entity::Entity;
use crate::query::Executor;

impl<E: Entity> Handle<E> {
    /// Sends this object's pending change now, in the session `x` (PonyORM's `obj.flush()`):
    /// its insert, update or delete, and what that needs first: the new objects it refers to
    /// (inserted before it), or for a delete, the changes the delete rules made to the objects
    /// that refer to it. Other objects' changes and many-to-many pairs wait for the next
    /// flush. An object with nothing pending sends nothing. A new object has its generated key
    /// afterwards. Passing a database or transaction instead of a session is an
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) error.
    ///
    /// ```text
    /// let order = s.create(Purchase { client: Single::from(&new_client), .. })?;
    /// order.flush(s)?;
    /// -- INSERT INTO "client" ("name") VALUES (?) RETURNING "id"
    /// -- INSERT INTO "purchase" ("total", "client") VALUES (?, ?) RETURNING "id"
    /// ```
    pub fn flush<X: Executor>(&self, x: X) -> X::Out<()> {
        x.flush_object(self.clone())
    }
}
