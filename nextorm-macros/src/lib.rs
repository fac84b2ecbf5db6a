//! nextorm's derive macros. They know no schema: they read the item they are attached to and
//! expand to impls of `nextorm_core`'s traits, reached through `::nextorm::__private`.
//!
//! Each derive is staged like thiserror and serde_derive: parse into a borrowed IR, validate
//! (collecting every error, each spanned on the offending token), then expand (which cannot
//! fail). Use them through the `nextorm` crate, which re-exports them.

mod db_enum;
mod diag;
mod entity;

use proc_macro::TokenStream;

/// Maps a struct with named fields to a table.
///
/// Struct options (`#[orm(...)]` on the struct): `table = "name"` (default: the snake_case type
/// name), `unique(field, ...)`, `index(field, ...)`, each optionally with `name = "..."` first,
/// and `crate = "path"` to reach nextorm through another path.
///
/// Field options: `#[pk]` / `#[orm(pk)]` (default: the field named `id`), `auto = false`,
/// `column = "name"`, `max_len = N`, `unique`, `index` / `index = "name"`, `default = expr`
/// (generates `impl Default`), `sql_default = "SQL"`, `precision = P, scale = S`.
#[proc_macro_derive(Entity, attributes(pk, orm))]
pub fn derive_entity(input: TokenStream) -> TokenStream {
    entity::derive_entity_inner(input.into()).into()
}

/// Maps a fieldless enum to a column: stored as text (the variant name, or
/// `#[orm(rename = "...")]`), or as its discriminant with `#[orm(int)]` on the enum.
#[proc_macro_derive(DbEnum, attributes(orm))]
pub fn derive_db_enum(input: TokenStream) -> TokenStream {
    db_enum::derive_db_enum_inner(input.into()).into()
}
