//! nextorm's derive macros, `select!`/`cond!`, and `migrations!`. They know no schema: they read
//! the item they are attached to and expand to impls of `nextorm_core`'s traits, reached through
//! `::nextorm::__private`.
//!
//! Each derive is staged like thiserror and serde_derive: parse into a borrowed IR, validate
//! (collecting every error, each spanned on the offending token), then expand (which cannot
//! fail). Use them through the `nextorm` crate, which re-exports them.

mod db_enum;
mod diag;
mod entity;
mod migrations;
mod select;

use proc_macro::TokenStream;

/// Maps a struct with named fields to a table.
///
/// Struct options (`#[orm(...)]` on the struct): `table = "name"` (default: the snake_case type
/// name), `unique(field, ...)`, `index(field, ...)`, each optionally with `name = "..."` first,
/// `crate = "path"` to reach nextorm through another path, and `renamed_from = "old"`: the
/// table's previous name, so that a migration renames the table instead of dropping it.
///
/// Field options: `#[pk]` / `#[orm(pk)]` (default: the field named `id`), `auto = false`,
/// `column = "name"`, `max_len = N`, `unique`, `index` / `index = "name"`, `default = expr`
/// (generates `impl Default`), `sql_default = "SQL"`, `precision = P, scale = S`, `lazy` and
/// `volatile` (below), and
/// `optimistic = false` to leave a column out of the session's optimistic check (PonyORM's
/// `optimistic=False`), for counters and timestamps that concurrent writers may change freely;
/// `renamed_from = "old"` gives the column's previous name, so that a migration renames it
/// instead of dropping it and adding a new one.
///
/// `lazy` (PonyORM's `lazy=True`, its `LongStr`): a large column left out of the `SELECT`s that
/// load objects into a session (queries, `by_pk`, `get`, relations, prefetch), as a `NULL` in its
/// place. Its getter on the session object takes the session and loads the column at the first
/// read, for every object of the entity the session holds without it, a batch of keys per
/// statement; once loaded, or written, it answers without a query. Writing it without reading it
/// works (the flush sends it), and a value never loaded is no part of the optimistic check.
/// Plain values (`fetch_all(&db)`, `db.find`) load it with the row: a plain struct has no way to
/// load it later. The field's type needs `Default` (its placeholder until loaded, which is also
/// what `after_load` and `Handle::snapshot` see); not on a key column or a relation. `to_dict` of
/// a session object leaves out a lazy field not loaded yet.
///
/// ```text
/// #[orm(lazy)] body: String
/// SELECT "a"."id", "a"."title", NULL FROM "article" "a"        -- the session's query
/// let body = article.body(s)?;                                 // `.await` in the async facade
/// SELECT "id", "body" FROM "article" WHERE "id" IN (?, ?, ?)    -- every article of the session
/// ```
///
/// `volatile` (PonyORM's `volatile=True`): a column the database changes (a trigger, another
/// writer): a flush that inserted or updated the object reads it again (one `SELECT` per entity
/// and batch of keys), so the object shows the database's value, and it is never part of the
/// optimistic check, so another writer's change to it is no conflict. The object's own value is
/// still written when it is set (and by an insert). Not on a key column.
///
/// ```text
/// #[orm(volatile)] revision: i64
/// UPDATE "article" SET "title" = ? WHERE "id" = ? AND "title" = ?   -- no "revision" check
/// SELECT "id", "revision" FROM "article" WHERE "id" IN (?)
/// ```
///
/// Both are runtime options only: the table's DDL, the schema comparison and migrations do not
/// change.
///
/// Column rules: `min = N` and `max = N` on number fields (integers take integer bounds) are
/// checked in Rust before a value is sent (an `InvalidValue` error naming the field) and declared
/// as a `CHECK`; `check = "SQL"` adds a raw SQL condition to that `CHECK`; `sql_type = "SQL"`
/// writes the column's type as given instead of the dialect's own. One `CHECK` per column:
///
/// ```text
/// #[orm(min = 0, max = 100, check = "percent % 5 = 0")] percent: i32
/// -- "percent" INTEGER NOT NULL CHECK ((percent % 5 = 0) AND "percent" >= 0 AND "percent" <= 100)
/// #[orm(sql_type = "CHAR(7)")] color: String
/// -- "color" CHAR(7) NOT NULL
/// ```
///
/// Strings are stored as given: unlike PonyORM, nextorm neither strips whitespace nor refuses
/// `""` for a required string (a Rust `String` field is a value, not a form input); say what a
/// column needs with `check = "length(name) > 0"` or `max_len`.
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

/// A PonyORM-style generator query: `select!(<projection> for <var> in <Entity> [for ...]* [if <condition>]*)`.
///
/// ```ignore
/// let cheap = select!(p.name for p in Product if p.price < max_price && p.name.starts_with("W"));
/// let per_customer = select!((c.name, count()) for c in Customer for o in Order if o.customer == c.id);
/// let enrolled = select!(s for s in Student if exists(e for e in Enrollment if e.student == s.id));
/// ```
///
/// The projection and the conditions are Rust expressions over the loop variables: fields
/// (`p.name`), comparisons, `&&` `||` `!`, arithmetic, methods of the column handles
/// (`p.name.starts_with(x)`), slices (`p.name[0..3]`), `if c { a } else { b }`, the aggregates
/// `count()`, `count(x)`, `sum`, `avg`, `min`, `max`, `group_concat(x[, "sep"])`, and
/// `between(x, a, b)`, `coalesce(a, b, ...)`, `exists(<generator>)`, `x.is_in(<generator>)`,
/// `raw_sql::<T>("f({})", x)`. A generator inside an aggregate or `exists` is a subquery, which
/// may refer to the outer loop variables. Any sub-expression that mentions no loop variable (and
/// any block `{ ... }`) is a Rust value, evaluated once and sent as a parameter.
///
/// Closures, `match`, loops, casts, references and macro calls over loop variables are compile
/// errors, all reported at once on the offending token; unknown fields and type mismatches are
/// reported by rustc on the user's token.
#[proc_macro]
pub fn select(input: TokenStream) -> TokenStream {
    select::select_inner(input.into()).into()
}

/// A condition over a query's loop variables, as a closure for `Query::filter`:
/// `cond!(|p| p.price > 10.0)`, or `cond!(|(p, c)| p.id == c.product)` for several. The body
/// follows the rules of [`select!`] conditions.
#[proc_macro]
pub fn cond(input: TokenStream) -> TokenStream {
    select::cond_inner(input.into()).into()
}

/// The migration files of a directory, included in the program at compile time, as an
/// `EmbeddedMigrations` to apply at startup:
///
/// ```ignore
/// static MIGRATIONS: nextorm::migrate::EmbeddedMigrations = nextorm::migrations!("migrations");
/// db.migrate(&MIGRATIONS)?;
/// ```
///
/// The directory is relative to the crate's `Cargo.toml`; every `*.toml` file in it but
/// `snapshot.toml` is included, in name order, with `include_str!`, so editing a file rebuilds
/// the program. A file added later is seen at the next build of the crate: a `build.rs` with
/// `println!("cargo:rerun-if-changed=migrations");` makes adding one trigger it. A directory
/// that cannot be read is a compile error on the literal.
#[proc_macro]
pub fn migrations(input: TokenStream) -> TokenStream {
    migrations::migrations_inner(input.into()).into()
}
