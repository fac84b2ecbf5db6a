//! nextorm's pure core: values, errors, entity metadata, the SQL AST and its renderer, and the
//! schema and statement builders. It does no IO; the drivers live in `nextorm-async`.

pub mod ast;
pub mod crud;
mod dialect;
pub mod entity;
mod error;
pub mod query;
pub mod rawsql;
mod render;
pub mod schema;
pub mod session;
mod value;

pub use dialect::Dialect;
pub use entity::{
    ColumnMeta, CompositeMeta, Entity, EntityMeta, EntityRegistration, Hooks, Key, StatementCache, column_value,
    convert_key, decode_field, registered_entities, to_dict,
};
pub use error::{Error, ErrorKind, Result};
pub use render::{Sql, render, render_select};
pub use value::{
    FromRow, FromSql, IntoParams, Kind, RowRead, SqlField, SqlType, ToValue, Value, clone_field, decode_column,
    kind_of, truncate_micros,
};

/// Re-exported for generated code.
#[doc(hidden)]
pub use inventory;
