//! nextorm's pure core: values, errors, entity metadata, the SQL AST and its renderer, and the
//! schema and statement builders. It does no IO; the drivers live in `nextorm-engine`.

/// Invokes `$m!` once per tuple arity from 1 to 8, with each element's type parameter and
/// index: the one list the row, parameter, projection and attach impls share, so their tuple
/// sizes always agree.
macro_rules! for_tuples_up_to_8 {
    ($m:ident) => {
        $m!(A 0);
        $m!(A 0, B 1);
        $m!(A 0, B 1, C 2);
        $m!(A 0, B 1, C 2, D 3);
        $m!(A 0, B 1, C 2, D 3, E 4);
        $m!(A 0, B 1, C 2, D 3, E 4, F 5);
        $m!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
        $m!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
    };
}

pub mod ast;
pub mod crud;
mod dialect;
pub mod dict;
pub mod entity;
mod error;
mod map_key;
pub mod migrate;
pub mod query;
pub mod rawsql;
pub mod relation;
mod relation_fields;
mod relation_sql;
mod render;
pub mod schema;
pub mod session;
pub mod sqlite_decimal;
mod value;

pub use dialect::Dialect;
#[cfg(feature = "serde")]
pub use dict::serialize_entity;
pub use dict::{DictOptions, to_dict};
pub use entity::{
    ColumnMeta, CompositeMeta, Entity, EntityMeta, EntityRegistration, Hooks, Key, Limit, StatementCache, column_value,
    convert_key, decode_field, decode_lazy_field, registered_entities,
};
pub use error::{Error, ErrorKind, Result};
pub use relation::{HasOne, Many, OnDelete, One, RelationKind, RelationMeta, Set, Single};
pub use render::{Sql, render, render_select};
pub use value::{
    ColumnType, DataType, FromRow, FromSql, IntoParams, Kind, RowRead, SqlField, ToValue, Value, clone_field,
    decode_column, kind_of, truncate_micros,
};

/// Re-exported for generated code.
#[doc(hidden)]
pub use inventory;
