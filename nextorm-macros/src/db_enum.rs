//! `#[derive(DbEnum)]`: a fieldless enum stored as text (the variant name, or
//! `#[orm(rename = "...")]`) or, with `#[orm(int)]` on the enum, as its discriminant.
//!
//! Same staging as the entity derive: parse, validate (errors collected in a [`Ctxt`]), expand.

use crate::diag::{self, Ctxt};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Expr, ExprLit, Fields, Ident, Lit, LitStr, Token};

/// The derive on `proc_macro2` tokens, so unit tests can run it without the compiler.
pub(crate) fn derive_db_enum_inner(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input) {
        Ok(input) => diag::into_tokens(try_expand(&input)),
        Err(e) => e.into_compile_error(),
    }
}

fn try_expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let model = parse(&cx, input).and_then(|parsed| validate(&cx, &parsed));
    cx.check()?;
    Ok(expand(&model.expect("validation returns a model when it recorded no error")))
}

/// The parsed enum.
struct EnumInput<'a> {
    ident: &'a Ident,
    /// `#[orm(int)]`: the span of `int`.
    int: Option<Span>,
    /// `#[orm(crate = "some::path")]`.
    krate: Option<syn::Path>,
    variants: Vec<VariantInput<'a>>,
}

/// One parsed unit variant.
struct VariantInput<'a> {
    ident: &'a Ident,
    /// `#[orm(rename = "...")]`.
    rename: Option<LitStr>,
}

/// A checked enum.
struct EnumModel<'a> {
    ident: &'a Ident,
    name: String,
    private: TokenStream,
    /// `Some(stored text)` per variant for a text enum; `None` for an int enum.
    texts: Option<Vec<String>>,
    variants: Vec<&'a Ident>,
}

const MESSAGE_SHAPE: &str = "DbEnum can only be derived for an enum with unit variants";

fn parse<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<EnumInput<'a>> {
    let (int, krate) = parse_enum_attrs(cx, &input.attrs);
    let mut usable = true;
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "a DbEnum cannot be generic");
        usable = false;
    }
    let data = match &input.data {
        Data::Enum(data) => data,
        Data::Struct(s) => {
            cx.error_at(s.struct_token.span, MESSAGE_SHAPE);
            return None;
        }
        Data::Union(u) => {
            cx.error_at(u.union_token.span, MESSAGE_SHAPE);
            return None;
        }
    };
    let mut variants = Vec::with_capacity(data.variants.len());
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            cx.error_spanned_by(
                &v.fields,
                format_args!("DbEnum variants cannot carry data: make `{}` a unit variant", v.ident.unraw()),
            );
            usable = false;
        }
        variants.push(VariantInput { ident: &v.ident, rename: parse_variant_attrs(cx, &v.attrs) });
    }
    usable.then_some(EnumInput { ident: &input.ident, int, krate, variants })
}

fn unknown(cx: &Ctxt, meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Result<()> {
    let name = meta.path.get_ident().map_or_else(|| "?".to_owned(), |i| i.unraw().to_string());
    cx.error_spanned_by(&meta.path, format_args!("unknown option `{name}`; expected {expected}"));
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

fn str_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<Option<LitStr>> {
    Ok(match meta.value()?.parse::<Expr>()? {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s),
        other => {
            cx.error_spanned_by(other, format_args!("expected a string literal: {name} = \"...\""));
            None
        }
    })
}

fn parse_enum_attrs(cx: &Ctxt, attrs: &[Attribute]) -> (Option<Span>, Option<syn::Path>) {
    let mut int = None;
    let mut krate = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("orm")) {
        let result = attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("int") {
                if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
                    return unknown(cx, &meta, "`int` without a value");
                }
                if int.replace(span).is_some() {
                    cx.error_at(span, "duplicate option `int`");
                }
            } else if meta.path.is_ident("crate") {
                if let Some(lit) = str_value(cx, &meta, "crate")? {
                    match lit.parse::<syn::Path>() {
                        Ok(path) if krate.is_none() => krate = Some(path),
                        Ok(_) => cx.error_at(span, "duplicate option `crate`"),
                        Err(_) => cx.error_spanned_by(&lit, "expected a path: crate = \"some::path\""),
                    }
                }
            } else {
                unknown(cx, &meta, "`int`")?;
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    (int, krate)
}

fn parse_variant_attrs(cx: &Ctxt, attrs: &[Attribute]) -> Option<LitStr> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("orm")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let span = meta.path.span();
                if let Some(lit) = str_value(cx, &meta, "rename")? {
                    if rename.is_some() {
                        cx.error_at(span, "duplicate option `rename`");
                    } else {
                        rename = Some(lit);
                    }
                }
            } else {
                unknown(cx, &meta, "`rename`")?;
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.syn_error(e);
        }
    }
    rename
}

fn validate<'a>(cx: &Ctxt, input: &EnumInput<'a>) -> Option<EnumModel<'a>> {
    let name = input.ident.unraw().to_string();
    if input.variants.is_empty() {
        cx.error_at(input.ident.span(), format_args!("DbEnum `{name}` needs at least one variant"));
    }
    let texts = if input.int.is_some() {
        for v in &input.variants {
            if let Some(lit) = &v.rename {
                cx.error_at(lit.span(), "rename applies only to text enums; remove #[orm(int)] to store names");
            }
        }
        None
    } else {
        let mut texts: Vec<String> = Vec::with_capacity(input.variants.len());
        for v in &input.variants {
            let (text, span) = match &v.rename {
                Some(lit) => (lit.value(), lit.span()),
                None => (v.ident.unraw().to_string(), v.ident.span()),
            };
            if text.is_empty() {
                cx.error_at(span, "the stored value cannot be empty");
            }
            if let Some(first) = texts.iter().position(|t| *t == text) {
                cx.error_at(
                    span,
                    format_args!(
                        "variants `{}` and `{}` both store the value {text:?}",
                        input.variants[first].ident.unraw(),
                        v.ident.unraw(),
                    ),
                );
            }
            texts.push(text);
        }
        Some(texts)
    };
    let private = match &input.krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::nextorm::__private),
    };
    if cx.has_errors() {
        return None;
    }
    Some(EnumModel {
        ident: input.ident,
        name,
        private,
        texts,
        variants: input.variants.iter().map(|v| v.ident).collect(),
    })
}

fn expand(model: &EnumModel<'_>) -> TokenStream {
    let private = &model.private;
    let ident = model.ident;
    let variants = &model.variants;
    let unknown = format!("unknown value {{v:?}} for enum `{}`", model.name);
    let kind = if model.texts.is_some() { quote!(__n::Kind::Text) } else { quote!(__n::Kind::Int) };
    let (to_value, from_sql, column_type) = match &model.texts {
        Some(texts) => (
            quote! {
                __n::Value::Text(::std::string::String::from(match self { #(Self::#variants => #texts),* }))
            },
            quote! {
                let v = row.get_string(idx)?;
                match v.as_str() {
                    #(#texts => ::core::result::Result::Ok(Self::#variants),)*
                    _ => ::core::result::Result::Err(__n::Error::decode(::std::format!(#unknown))),
                }
            },
            quote!(__n::ColumnType::TextEnum(&[#(#texts),*])),
        ),
        None => (
            quote! {
                __n::Value::Int(match self { #(Self::#variants => Self::#variants as i64),* })
            },
            quote! {
                let v = row.get_i64(idx)?;
                #(
                    if v == Self::#variants as i64 {
                        return ::core::result::Result::Ok(Self::#variants);
                    }
                )*
                ::core::result::Result::Err(__n::Error::decode(::std::format!(#unknown)))
            },
            quote!(__n::ColumnType::IntEnum(&[#(Self::#variants as i64),*])),
        ),
    };
    quote! {
        const _: () = {
            use #private as __n;

            #[automatically_derived]
            impl __n::ToValue for #ident {
                fn to_value(&self) -> __n::Result<__n::Value> {
                    ::core::result::Result::Ok(#to_value)
                }
            }

            #[automatically_derived]
            impl __n::FromSql for #ident {
                fn from_sql(row: &dyn __n::RowRead, idx: usize) -> __n::Result<Self> {
                    #from_sql
                }
            }

            #[automatically_derived]
            impl __n::SqlField for #ident {
                const COLUMN_TYPE: __n::ColumnType = #column_type;
            }

            #[automatically_derived]
            impl __n::q::SqlType for #ident {
                const KIND: __n::Kind = #kind;
                type Class = __n::q::class::Enum<#ident>;
                type Null = __n::q::null::No;
                type NotNull = #ident;
            }

            #[automatically_derived]
            impl __n::q::BindAs for #ident {
                type Ty = #ident;
            }

            #[automatically_derived]
            impl __n::q::Operand for #ident {
                type Ty = #ident;
                fn into_node(self) -> __n::ast::Expr {
                    __n::ast::Expr::Value(#to_value)
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(input: TokenStream) -> String {
        derive_db_enum_inner(input).to_string().split_whitespace().collect()
    }

    fn squash(s: &str) -> String {
        s.split_whitespace().collect()
    }

    fn errors(input: TokenStream) -> Vec<String> {
        let input: DeriveInput = syn::parse2(input).unwrap();
        match try_expand(&input) {
            Ok(_) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn text_enum() {
        let out = expand(quote! {
            enum Status { Active, #[orm(rename = "gone")] Deleted, r#Type }
        });
        for expected in [
            "use ::nextorm::__private as __n;",
            "match self { Self::Active => \"Active\", Self::Deleted => \"gone\", Self::r#Type => \"Type\" }",
            "let v = row.get_string(idx)?;",
            "\"gone\" => ::core::result::Result::Ok(Self::Deleted),",
            "::std::format!(\"unknown value {v:?} for enum `Status`\")",
            "const COLUMN_TYPE: __n::ColumnType = __n::ColumnType::TextEnum(&[\"Active\", \"gone\", \"Type\"]);",
        ] {
            assert!(out.contains(&squash(expected)), "missing `{expected}` in\n{out}");
        }
    }

    #[test]
    fn int_enum() {
        let out = expand(quote! {
            #[orm(int, crate = "x::y")]
            enum Level { Low = 1, High = 5 }
        });
        for expected in [
            "use x::y::__private as __n;",
            "__n::Value::Int(match self { Self::Low => Self::Low as i64, Self::High => Self::High as i64 })",
            "let v = row.get_i64(idx)?;",
            "if v == Self::High as i64 { return ::core::result::Result::Ok(Self::High); }",
            "__n::ColumnType::IntEnum(&[Self::Low as i64, Self::High as i64])",
        ] {
            assert!(out.contains(&squash(expected)), "missing `{expected}` in\n{out}");
        }
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            errors(quote! { enum E { A, B(i32), C { x: i32 } } }),
            [
                "DbEnum variants cannot carry data: make `B` a unit variant",
                "DbEnum variants cannot carry data: make `C` a unit variant"
            ]
        );
        assert_eq!(errors(quote! { struct S; }), [MESSAGE_SHAPE]);
        assert_eq!(errors(quote! { enum E<T> { A } }), ["a DbEnum cannot be generic"]);
        assert_eq!(errors(quote! { enum E {} }), ["DbEnum `E` needs at least one variant"]);
    }

    #[test]
    fn option_errors() {
        assert_eq!(
            errors(quote! {
                #[orm(text, int, int)]
                enum E { #[orm(rename = "a", name = "b")] A, #[orm(rename = "a")] B }
            }),
            [
                "unknown option `text`; expected `int`",
                "duplicate option `int`",
                "unknown option `name`; expected `rename`",
                "rename applies only to text enums; remove #[orm(int)] to store names",
                "rename applies only to text enums; remove #[orm(int)] to store names",
            ]
        );
        assert_eq!(
            errors(quote! { enum E { A, #[orm(rename = "A")] B } }),
            ["variants `A` and `B` both store the value \"A\""]
        );
    }
}
