//! # nextorm
//!
//! A PonyORM-style ORM for Rust: entities are plain structs with `#[derive(Entity)]`, one
//! implementation serves a blocking [`Database`] and a tokio `AsyncDatabase`, and every statement
//! is rendered for SQLite, PostgreSQL or MariaDB from one AST.
//!
//! ```
//! use nextorm::prelude::*;
//!
//! #[derive(Entity, Debug, Clone, PartialEq)]
//! pub struct Product {
//!     #[pk]
//!     pub id: i64,
//!     #[orm(max_len = 64)]
//!     pub name: String,
//!     pub price: f64,
//! }
//!
//! # fn main() -> nextorm::Result<()> {
//! let db = Database::open("sqlite::memory:")?;
//! db.generate_mapping(CreateTables::Yes)?;
//! let mut widget = Product { id: 0, name: "Widget".into(), price: 9.99 };
//! db.insert(&mut widget)?; // INSERT INTO "product" ("name", "price") VALUES (?, ?)
//! assert_eq!(db.by_pk::<Product>(&widget.id)?, widget);
//! # Ok(()) }
//! ```

pub use nextorm_core::{
    ColumnType, Dialect, Entity, EntityMeta, Error, ErrorKind, FromRow, FromSql, HasOne, Hooks, IntoParams, Key, Many,
    OnDelete, One, RelationKind, RelationMeta, Result, Set, Single, SqlField, ToValue, Value,
};
pub use nextorm_macros::{DbEnum, Entity, cond, migrations, select};

#[cfg(feature = "async")]
pub use nextorm_async::{AsyncDatabase, AsyncSession, AsyncTransaction, CurrentAsync, NavigateAsync, current_async};
pub use nextorm_core::session::{Attach, Handle, SessionEntity};
pub use nextorm_engine::{Conn, CreateTables, OpenOptions, PoolStatus, SessionOptions, SessionStats};
#[cfg(feature = "sync")]
pub use nextorm_sync::{Current, Database, Navigate, Session, Transaction, current};

pub use nextorm_core::{DictOptions, registered_entities, to_dict};

// The crates of the value types nextorm maps, at the versions it maps them: an entity can have a
// `nextorm::chrono::NaiveDateTime` or `nextorm::rust_decimal::Decimal` field without the app
// adding these crates itself (and if it does, at a version that might not match).
pub use chrono;
pub use rust_decimal;
pub use serde_json;
pub use uuid;

/// The typed query layer: expressions over entity handles, their operators and functions, and
/// [`query::Query`]. `select!` expands to these; they also work without the macro:
///
/// ```
/// # use nextorm::prelude::*;
/// # #[derive(Entity)] struct Gadget { #[pk] id: i64, price: f64 }
/// let cheap = Gadget::query().filter(|g| g.price.lt(20)).order_by(|g| desc(g.price));
/// assert_eq!(
///     cheap.sql(nextorm::Dialect::Postgres).text,
///     r#"SELECT "gadget"."id", "gadget"."price" FROM "gadget" "gadget" WHERE "gadget"."price" < $1 ORDER BY "gadget"."price" DESC"#
/// );
/// ```
pub mod query {
    pub use nextorm_core::query::*;
}

/// Migrations: the schema model of the entities, operations, the differ, the SQL plans per
/// dialect, the migration and snapshot files, and the progress events of
/// `Database::migrate_with` / `AsyncDatabase::migrate_with`.
pub mod migrate {
    pub use nextorm_core::migrate::*;
    pub use nextorm_engine::{MigrationEvent, MigrationProgress, TracingProgress};
}

/// The `nextorm` command for a crate's own binary, which links the crate's entities (feature
/// `cli`). The whole of `src/bin/nextorm.rs`:
///
/// ```text
/// use my_app as _; // when the entities live in the crate's library: link it
/// fn main() -> std::process::ExitCode { nextorm::cli::main() }
/// ```
///
/// Then `cargo run --bin nextorm -- makemigrations`, `migrate`, `showmigrations`, `sqlmigrate`;
/// `--help` lists the options and the exit codes.
#[cfg(feature = "cli")]
pub mod cli {
    pub use nextorm_cli::{main, run};
}

/// The SQL AST and renderer, for inspecting what nextorm sends.
pub mod sql {
    pub use nextorm_core::ast;
    pub use nextorm_core::{Sql, render};
}

/// The types most programs need: `use nextorm::prelude::*;` (PonyORM's `from pony.orm import *`).
/// It holds everything the README uses: the databases and sessions of both facades, `current()`
/// and `current_async()`, `Navigate` and `NavigateAsync` (relations followed through them),
/// `DictOptions`, `SessionOptions`, `Handle`, the relation fields, the derives and macros,
/// the query helpers, and the value types `Decimal`, `NaiveDate`, `NaiveDateTime`, `DateTime`,
/// `Utc`, `Uuid` and `JsonValue` (serde_json's `Value`).
pub mod prelude {
    pub use crate::query::{EntityQuery, desc};
    #[cfg(feature = "async")]
    pub use crate::{AsyncDatabase, AsyncSession, AsyncTransaction, NavigateAsync, current_async};
    pub use crate::{
        CreateTables, DbEnum, DictOptions, Entity, Error, ErrorKind, Handle, HasOne, Hooks, OpenOptions, Result,
        SessionOptions, Set, Single, cond, select,
    };
    #[cfg(feature = "sync")]
    pub use crate::{Database, Navigate, Session, Transaction, current};
    pub use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    pub use rust_decimal::Decimal;
    pub use serde_json::Value as JsonValue;
    pub use uuid::Uuid;
}

/// Used by the code the derives generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::__impl_serialize as impl_serialize;
    pub use nextorm_core::ast;
    pub use nextorm_core::inventory;
    pub use nextorm_core::query as q;
    pub use nextorm_core::relation::{ReferenceField, RowFns, followed_reference};
    #[cfg(feature = "serde")]
    pub use nextorm_core::serialize_entity;
    pub use nextorm_core::session::{Attach, Handle, IdentityMap, MapKey, attach_entity};
    pub use nextorm_core::{
        ColumnMeta, ColumnType, CompositeMeta, Entity, EntityMeta, EntityRegistration, Error, FromRow, FromSql, Hooks,
        Kind, Limit, Many, One, RelationKind, RelationMeta, Result, RowRead, Set, Single, SqlField, StatementCache,
        ToValue, Value, clone_field, column_value, convert_key, decode_field, decode_lazy_field,
    };
    #[cfg(feature = "serde")]
    pub use serde;
}

/// `serde::Serialize` for an entity, shaped as [`to_dict`] shapes it: what the derive emits for
/// every entity when the `serde` feature is on. Not a public API.
#[cfg(feature = "serde")]
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_serialize {
    ($entity:ty) => {
        #[automatically_derived]
        impl $crate::__private::serde::Serialize for $entity {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::__private::serialize_entity(self, serializer)
            }
        }
    };
}

/// Without the `serde` feature the derive's `impl_serialize!` expands to nothing, so an entity's
/// crate needs no serde. Not a public API.
#[cfg(not(feature = "serde"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __impl_serialize {
    ($entity:ty) => {};
}
