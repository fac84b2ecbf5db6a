//! `migrations!("dir")`: the migration files of a directory (relative to the crate's
//! `CARGO_MANIFEST_DIR`) included in the program at compile time:
//!
//! ```text
//! migrations!("migrations")
//! // expands to
//! ::nextorm::migrate::EmbeddedMigrations::new(&[
//!     ("0001_initial.toml", include_str!("/path/to/crate/migrations/0001_initial.toml")),
//!     ("0002_add_post_rating.toml", include_str!("/path/to/crate/migrations/0002_add_post_rating.toml")),
//! ])
//! ```
//!
//! Every `*.toml` file but `snapshot.toml` is taken, sorted by name. `include_str!` makes cargo
//! rebuild when an included file changes; a file added later needs a rebuild (a `build.rs` with
//! `cargo:rerun-if-changed=migrations` does it).

use proc_macro2::TokenStream;
use quote::quote;
use std::path::Path;

/// The snapshot, which the migrations do not need at run time.
const SNAPSHOT_FILE: &str = "snapshot.toml";

/// `migrations!` on `proc_macro2` tokens.
pub(crate) fn migrations_inner(input: TokenStream) -> TokenStream {
    let expanded = syn::parse2::<syn::LitStr>(input).and_then(|dir| {
        let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")
            .map_err(|_| syn::Error::new(dir.span(), "CARGO_MANIFEST_DIR is not set: build the crate with cargo"))?;
        expand(&dir, Path::new(&manifest_dir))
    });
    expanded.unwrap_or_else(syn::Error::into_compile_error)
}

/// The expansion for the directory `dir` of the crate at `manifest_dir`. A directory that cannot
/// be read, or a file name that is not UTF-8, is an error on the literal.
fn expand(dir: &syn::LitStr, manifest_dir: &Path) -> syn::Result<TokenStream> {
    let relative = dir.value();
    let path = manifest_dir.join(&relative);
    let error = |message: String| syn::Error::new(dir.span(), message);
    let entries = std::fs::read_dir(&path).map_err(|e| {
        error(format!("cannot read the migrations directory `{relative}` (relative to the crate's Cargo.toml): {e}"))
    })?;
    let mut files: Vec<(String, String)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| error(format!("cannot read the migrations directory `{relative}`: {e}")))?;
        let file = entry.path();
        if file.extension().is_none_or(|ext| ext != "toml") || !file.is_file() {
            continue;
        }
        let name = entry
            .file_name()
            .into_string()
            .map_err(|name| error(format!("`{relative}` holds a file whose name is not UTF-8: {name:?}")))?;
        if name == SNAPSHOT_FILE {
            continue;
        }
        let absolute =
            file.to_str().ok_or_else(|| error(format!("the path of `{relative}/{name}` is not UTF-8")))?.to_owned();
        files.push((name, absolute));
    }
    files.sort();
    let pairs = files.iter().map(|(name, absolute)| quote!((#name, ::core::include_str!(#absolute))));
    Ok(quote!(::nextorm::migrate::EmbeddedMigrations::new(&[#(#pairs),*])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn literal(text: &str) -> syn::LitStr {
        syn::LitStr::new(text, proc_macro2::Span::call_site())
    }

    #[test]
    fn lists_the_migration_files_sorted_without_the_snapshot() {
        let root = std::env::temp_dir().join(format!("nextorm_macros_migrations_{}", std::process::id()));
        let dir = root.join("migrations");
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["0002_b.toml", "0001_a.toml", "snapshot.toml", "README.md"] {
            std::fs::write(dir.join(file), "").unwrap();
        }
        let expanded = expand(&literal("migrations"), &root).unwrap().to_string();
        std::fs::remove_dir_all(&root).unwrap();
        let a = dir.join("0001_a.toml").display().to_string();
        let b = dir.join("0002_b.toml").display().to_string();
        let expected = quote!(::nextorm::migrate::EmbeddedMigrations::new(&[
            ("0001_a.toml", ::core::include_str!(#a)),
            ("0002_b.toml", ::core::include_str!(#b))
        ]))
        .to_string();
        assert_eq!(expanded, expected);
    }

    #[test]
    fn a_missing_directory_is_an_error_on_the_literal() {
        let e = expand(&literal("no_such_dir"), Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_err();
        assert!(e.to_string().starts_with("cannot read the migrations directory `no_such_dir`"), "{e}");
    }
}
