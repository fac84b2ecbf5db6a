//! The typed query layer `select!` expands to: typed expressions over entity handles, the
//! operators and functions of Pony's query language, and [`Query`], which renders once per call
//! site and dialect and runs through any [`Executor`].
//!
//! ```text
//! select!(p.name for p in Product if p.price < limit)
//! // expands to, roughly:
//! let mut b = Builder::new(&SITE);
//! let p = b.source::<Product>("p");
//! b.filter(lt(p.price.clone(), val(&(limit))));
//! b.finish(p.clone(), p.name.clone())            // Query<String, ProductFields>
//! // SQLite: SELECT DISTINCT "p"."name" FROM "product" "p" WHERE "p"."price" < ?
//! ```

mod aliases;
mod builder;
mod executor;
mod expr;
mod loop_vars;
mod path_alias;
mod paths;
mod source;
pub(crate) mod statement;
pub(crate) mod types;

pub use builder::*;
pub use executor::{
    Executor, collection_change_needs_a_session, lazy_field, object_flush_needs_a_session, prefetch_needs_a_session,
};
pub use expr::*;
pub use paths::{Coll, Nav, PrefetchPaths};
pub use source::{Projection, Source};
pub use statement::Stmt;
pub use types::*;
