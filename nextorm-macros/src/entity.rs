//! `#[derive(Entity)]`: parse, then validate, then expand.
//!
//! The first two stages record every problem in a [`Ctxt`]; when there is any, the derive emits
//! only the `compile_error!`s, each spanned on the offending token. The expand stage cannot fail.

mod expand;
mod parse;
mod type_shape;
mod validate;

use crate::diag::{self, Ctxt};
use proc_macro2::TokenStream;
use syn::DeriveInput;

/// The derive on `proc_macro2` tokens, so unit tests can run it without the compiler.
pub(crate) fn derive_entity_inner(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input) {
        Ok(input) => diag::into_tokens(try_expand(&input)),
        Err(e) => e.into_compile_error(),
    }
}

fn try_expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let model = parse::parse(&cx, input).and_then(|parsed| validate::validate(&cx, &parsed));
    cx.check()?;
    let model = model.expect("validation returns a model when it recorded no error");
    Ok(expand::expand(&model))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    /// The expansion with all whitespace removed, for substring checks.
    fn expand(input: TokenStream) -> String {
        derive_entity_inner(input).to_string().split_whitespace().collect()
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect()
    }

    #[test]
    fn expands_the_documented_contract() {
        let out = expand(quote! {
            #[orm(table = "products", unique(name, sku), index(name = "idx_custom", stock, name), check = "stock >= 0")]
            pub struct Product {
                #[pk] pub id: i64,
                #[orm(max_len = 64)] pub name: String,
                #[orm(column = "product_sku", unique)] pub sku: String,
                pub summary: Option<String>,
                #[orm(default = 5, index)] pub stock: i32,
                #[orm(sql_default = "CURRENT_TIMESTAMP", index = "by_created")] pub created: chrono::NaiveDateTime,
                #[orm(precision = 12, scale = 2)] pub cost: rust_decimal::Decimal,
            }
        });
        for expected in [
            "const_:()={use::nextorm::__privateas__n;",
            "static META: __n::EntityMeta = __n::EntityMeta { name: \"Product\", table: \"products\",",
            "__n::ColumnMeta { field: \"id\", name: \"id\", ty: <i64 as __n::SqlField>::COLUMN_TYPE, \
             nullable: <i64 as __n::SqlField>::NULLABLE, primary_key: true, auto: true, optimistic: true, \
             max_len: ::core::option::Option::None,",
            "field: \"name\", name: \"name\", ty: <String as __n::SqlField>::COLUMN_TYPE",
            "max_len: ::core::option::Option::Some(64)",
            "field: \"sku\", name: \"product_sku\"",
            "unique: true",
            "index: ::core::option::Option::Some(::core::option::Option::None)",
            "index: ::core::option::Option::Some(::core::option::Option::Some(\"by_created\"))",
            "sql_default: ::core::option::Option::Some(\"CURRENT_TIMESTAMP\")",
            "decimal: ::core::option::Option::Some((12, 2))",
            "primary_key: &[0],",
            "__n::CompositeMeta { name: ::core::option::Option::None, columns: &[\"name\", \"product_sku\"], unique: true }",
            "__n::CompositeMeta { name: ::core::option::Option::Some(\"idx_custom\"), columns: &[\"stock\", \"name\"], unique: false }",
            "checks: &[\"stock >= 0\"],",
            "statements: __n::StatementCache::new(),",
            "__n::impl_serialize!(Product);",
            "#[automatically_derived] impl __n::Entity for Product { type Key = i64;",
            "fn meta() -> &'static __n::EntityMeta { &META }",
            "fn from_row_at(row: &dyn __n::RowRead, offset: usize) -> __n::Result<Self> { \
             let _ = <i64 as __n::SqlField>::NULLABLE; let _ = <String as __n::SqlField>::NULLABLE;",
            "id: __n::decode_field(&META, 0, row, offset)?, name: __n::decode_field(&META, 1, row, offset + 1)?",
            "::std::vec![__n::column_value(&META, 0, &self.id)?, __n::column_value(&META, 1, &self.name)?",
            "fn key(&self) -> Self::Key { ::core::clone::Clone::clone(&self.id) }",
            "fn key_is_unset(&self) -> bool { self.id == 0 }",
            "self.id = __n::convert_key(&META, key)?;",
            "impl __n::FromRow for Product { fn from_row(row: &dyn __n::RowRead) -> __n::Result<Self> \
             { <Self as __n::Entity>::from_row_at(row, 0) } }",
            "impl ::core::default::Default for Product { fn default() -> Self { Self { \
             id: <i64 as ::core::default::Default>::default(),",
            "stock: 5,",
            "__n::inventory::submit! { __n::EntityRegistration(<Product as __n::Entity>::meta) }",
        ] {
            assert!(out.contains(&squash(expected)), "missing `{expected}` in\n{out}");
        }
    }

    #[test]
    fn lazy_and_volatile_columns() {
        let out = expand(quote! {
            struct Article { id: i64, title: String, #[orm(lazy)] body: String, #[orm(volatile)] revision: i64 }
        });
        for expected in [
            "field: \"body\", name: \"body\"",
            "lazy: true, volatile: false",
            "lazy: false, volatile: true",
            "lazy_columns: &[2], volatile_columns: &[3],",
            // A session's NULL decodes as the default; the getter loads through an executor.
            "body: __n::decode_lazy_field(&META, 2, row, offset + 2)?",
            "fn lazy_columns(offset: usize, out: &mut ::std::vec::Vec<usize>) { let _ = (offset, &out); out.push(offset + 2); }",
            "fn body<X: ::nextorm::__private::q::Executor>(&self, x: X) -> <X as ::nextorm::__private::q::Executor>::Out<String>;",
            "__n::q::lazy_field(x, self, 2, |e: &Article| __n::clone_field(&e.body))",
            "fn revision(&self) -> i64;",
            "3 => { self.revision = __n::decode_field(&META, 3, row, idx)?; ::core::result::Result::Ok(()) }",
        ] {
            assert!(out.contains(&squash(expected)), "missing `{expected}` in\n{out}");
        }
    }

    #[test]
    fn composite_key_is_a_tuple_and_not_auto() {
        let out = expand(quote! {
            struct Line { #[pk] order: String, #[pk] line: i32, qty: i32 }
        });
        assert!(out.contains(&squash("type Key = (String, i32);")), "{out}");
        assert!(
            out.contains(&squash(
                "(::core::clone::Clone::clone(&self.order), ::core::clone::Clone::clone(&self.line))"
            ))
        );
        assert!(out.contains(&squash("fn key_is_unset(&self) -> bool { false }")));
        assert!(out.contains(&squash(
            "fn set_generated_key(&mut self, _key: i64) -> __n::Result<()> { ::core::result::Result::Ok(()) }"
        )));
        assert!(out.contains(&squash("primary_key: &[0, 1]")));
        assert!(out.contains(&squash("table: \"line\"")));
        assert!(!out.contains("Default"), "no impl Default without `default =`");
    }

    #[test]
    fn raw_identifiers_and_crate_escape_hatch() {
        let out = expand(quote! {
            #[orm(crate = "my::orm")]
            struct Order { id: i64, r#group: String }
        });
        assert!(out.contains(&squash("use my::orm::__private as __n;")), "{out}");
        assert!(out.contains(&squash("table: \"order\"")));
        assert!(out.contains(&squash("field: \"group\", name: \"group\"")));
        assert!(out.contains(&squash("r#group: __n::decode_field(&META, 1, row, offset + 1)?")));
    }

    #[test]
    fn string_literal_defaults_are_converted() {
        let out = expand(quote! {
            struct D { id: i64, #[orm(default = "x")] s: String, #[orm(default = "y")] o: Option<String>,
                       #[orm(default = vec![1])] b: Vec<u8> }
        });
        assert!(out.contains(&squash("s: ::core::convert::Into::into(\"x\")")), "{out}");
        assert!(out.contains(&squash("o: ::core::option::Option::Some(::core::convert::Into::into(\"y\"))")));
        assert!(out.contains(&squash("b: vec![1]")));
    }

    #[test]
    fn errors_expand_to_compile_errors_only() {
        let out = derive_entity_inner(quote! {
            #[orm(tabel = "x")]
            struct Thing { #[orm(max_len = 3)] n: i32 }
        })
        .to_string();
        assert_eq!(out.matches("compile_error").count(), 3, "{out}");
        assert!(!out.contains("impl"), "{out}");
        assert!(out.contains("unknown option `tabel`"));
        assert!(out.contains("max_len applies only to String fields"));
        assert!(out.contains("entity `Thing` has no primary key"));
    }
}
