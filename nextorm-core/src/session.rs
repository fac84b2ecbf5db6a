//! The pure part of a session: object handles that track what was read and written, the
//! identity map (one object per row), and the planning of a flush into statements with Pony's
//! optimistic checks. The facades run the statements; nothing here does IO.
//!
//! ```text
//! handle.read(price)          marks `price` read: an UPDATE or DELETE of this row will check it
//! handle.write(price, 9.5)    marks it written (dirty); the UPDATE sets only written columns
//! plan()                      UPDATE "product" SET "price" = ? WHERE "id" = ? AND "name" = ?
//!                             -- "name" was read, so a concurrent change to it is a conflict;
//!                             -- floats are never checked (they compare inexactly)
//! ```

mod attach;
mod changes;
pub(crate) mod collection_change;
mod delete_rules;
mod fast_map;
mod flush;
mod flush_order;
mod handle;
mod identity;
mod links;
mod member_index;
mod object_flush;
mod object_keys;
pub(crate) mod own_reference;
mod pairs;
mod plan;
pub(crate) mod prefetch;
pub(crate) mod relation_views;

pub use crate::map_key::{MapKey, key_bytes};
pub use attach::{Attach, SessionEntity, attach_entity};
pub use changes::Tracked;
pub use flush::{Expect, FlushPlan, Outcome, Step};
pub use flush_order::flush_order;
pub(crate) use handle::not_loaded;
pub use handle::{
    Bits, ColumnSet, ColumnSets, Edge, FieldName, Handle, LinkedEdges, LinkedObject, Links, ObjState, Status,
    WeakHandle, hook_cannot_use_the_session, in_hook, write_epoch,
};
pub use identity::IdentityMap;
pub use plan::{Change, change_sql, insert_batch_len, insert_batch_sql};
