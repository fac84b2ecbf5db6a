//! The change a session makes to a collection when asked through an executor.

use super::handle::Handle;
use crate::entity::Entity;

/// A change to a collection (see [`Many::add`](crate::relation::Many::add),
/// [`Many::remove`](crate::relation::Many::remove), [`Many::clear`](crate::relation::Many::clear)).
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
