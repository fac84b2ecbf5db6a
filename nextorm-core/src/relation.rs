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
//!
//! This module is the public path of everything about relations; each piece lives with its job:
//! the metadata beside the entities' (`entity/meta.rs`, `entity/relation.rs`, `entity/row_fns.rs`),
//! its statements (`relation_sql.rs`),
//! the field types (`relation_fields.rs`), and the session views and prefetch beside the session
//! (`session/relation_views.rs`, `session/prefetch.rs`).

pub use crate::ast::OnDelete;
pub use crate::entity::meta::{RelationKind, RelationMeta};
pub use crate::entity::relation::{JoinTable, Link, join_table, reverse_of, set_link};
pub use crate::entity::row_fns::{LoadedPair, LoadedRow, RowFns};
pub use crate::relation_fields::{HasOne, ReferenceField, Set, Single, followed_reference};
pub use crate::relation_sql::{all_equal, decode_pair, members_statement, pairs_statement};
pub use crate::session::collection_change::CollectionChange;
pub use crate::session::prefetch::PrefetchPath;
pub use crate::session::relation_views::{Many, One};
