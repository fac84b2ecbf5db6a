//! Parse stage: syn's `DeriveInput` into a borrowed IR that keeps every option with the token it
//! was written on, so the validate stage can point at it.
//!
//! Only syntax is checked here (the attribute grammar, literal kinds, duplicates); every problem
//! is recorded in the [`Ctxt`] and parsing goes on, so one compile reports all of them.

use crate::diag::Ctxt;
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Expr, ExprLit, Fields, Ident, Lit, LitBool, LitInt, LitStr, Token, Type};

/// The options accepted in a field's `#[orm(...)]`, in the order the error message lists them.
pub(crate) const FIELD_OPTIONS: &str = "pk, auto, column, max_len, unique, index, default, sql_default, precision, scale, sql_type, check, min, max, optimistic, lazy, volatile, reverse, cascade_delete, renamed_from";

/// The options accepted in the entity's `#[orm(...)]`.
pub(crate) const ENTITY_OPTIONS: &str = "table, unique, index, check, hooks, renamed_from";

/// The derive input, as far as it could be parsed.
pub(crate) struct Input<'a> {
    /// The struct's name.
    pub(crate) ident: &'a Ident,
    /// The struct's visibility, which its generated handles share.
    pub(crate) vis: &'a syn::Visibility,
    /// The struct-level `#[orm(...)]` options.
    pub(crate) attrs: EntityAttrs,
    /// The named fields that map to columns, in declaration order.
    pub(crate) fields: Vec<Field<'a>>,
    /// The `Set<T>` and `HasOne<T>` fields, which map to no column.
    pub(crate) sets: Vec<Field<'a>>,
}

/// An option value together with the span of the option's name.
pub(crate) struct Opt<T> {
    /// The span of the option keyword (`max_len` in `max_len = 64`).
    pub(crate) keyword: Span,
    /// The value.
    pub(crate) value: T,
}

/// The struct-level options.
#[derive(Default)]
pub(crate) struct EntityAttrs {
    /// `table = "..."`.
    pub(crate) table: Option<LitStr>,
    /// `crate = "some::path"`: where to find `__private` instead of `::nextorm`.
    pub(crate) krate: Option<Opt<syn::Path>>,
    /// `unique(...)` and `index(...)`, in declaration order.
    pub(crate) composites: Vec<Composite>,
    /// `hooks`: the entity implements `nextorm::Hooks` itself.
    pub(crate) hooks: Option<Span>,
    /// `renamed_from = "old_table"`: the table's previous name, a hint for migrations.
    pub(crate) renamed_from: Option<LitStr>,
    /// `check = "..."`, once or more: the table's own `CHECK`s, in declaration order.
    pub(crate) checks: Vec<LitStr>,
}

/// One struct-level `unique(...)` or `index(...)`.
pub(crate) struct Composite {
    /// The span of `unique` or `index`.
    pub(crate) keyword: Span,
    /// `unique(...)` rather than `index(...)`.
    pub(crate) unique: bool,
    /// `name = "..."`.
    pub(crate) name: Option<LitStr>,
    /// The fields named, in order.
    pub(crate) fields: Vec<Ident>,
}

/// One named field and its options.
pub(crate) struct Field<'a> {
    /// The field's name, possibly raw (`r#group`).
    pub(crate) ident: &'a Ident,
    /// The field's type.
    pub(crate) ty: &'a Type,
    /// `#[pk]` or `#[orm(pk)]`: the span of `pk`.
    pub(crate) pk: Option<Span>,
    /// `auto = true|false` (a bare `auto` means `true`).
    pub(crate) auto: Option<Opt<bool>>,
    /// `optimistic = false`: leave the field out of the optimistic check.
    pub(crate) optimistic: Option<Opt<bool>>,
    /// `column = "..."`.
    pub(crate) column: Option<LitStr>,
    /// `max_len = N`.
    pub(crate) max_len: Option<Opt<LitInt>>,
    /// `unique`: the span of the keyword.
    pub(crate) unique: Option<Span>,
    /// `index` or `index = "name"`.
    pub(crate) index: Option<Opt<Option<LitStr>>>,
    /// `default = <expr>`.
    pub(crate) default: Option<Opt<Expr>>,
    /// `sql_default = "..."`.
    pub(crate) sql_default: Option<LitStr>,
    /// `precision = N`.
    pub(crate) precision: Option<Opt<LitInt>>,
    /// `scale = N`.
    pub(crate) scale: Option<Opt<LitInt>>,
    /// `reverse = "field"`: the field on the other side of a relation.
    pub(crate) reverse: Option<LitStr>,
    /// `cascade_delete = false`: deleting the referenced row is refused while this one refers
    /// to it; `true`: deleting it deletes this row, for an optional reference too. Unset: cascade
    /// for a required reference, set null for an optional one.
    pub(crate) cascade_delete: Option<Opt<bool>>,
    /// `renamed_from = "old_column"`: the column's previous name, a hint for migrations.
    pub(crate) renamed_from: Option<LitStr>,
    /// `sql_type = "..."`: the column's SQL type, as written.
    pub(crate) sql_type: Option<LitStr>,
    /// `check = "..."`: a raw SQL condition, the column's `CHECK`.
    pub(crate) check: Option<LitStr>,
    /// `min = N`: the smallest number accepted.
    pub(crate) min: Option<Opt<NumberLit>>,
    /// `max = N`: the largest number accepted.
    pub(crate) max: Option<Opt<NumberLit>>,
    /// `lazy`: left out of the `SELECT`s that load objects into a session, loaded on first read.
    pub(crate) lazy: Option<Span>,
    /// `volatile`: changed by the database, read again after a flush, never checked.
    pub(crate) volatile: Option<Span>,
}

/// A number literal with its sign: `min = -5`, `max = 99.5`.
pub(crate) struct NumberLit {
    /// The literal with its sign, spanned over both.
    pub(crate) value: NumberValue,
    /// The span of the literal (and its `-`).
    pub(crate) span: Span,
}

/// The value of a [`NumberLit`].
#[derive(Clone, Copy)]
pub(crate) enum NumberValue {
    /// An integer.
    Int(i64),
    /// A fractional number.
    Float(f64),
}

impl<'a> Field<'a> {
    fn new(ident: &'a Ident, ty: &'a Type) -> Self {
        Field {
            ident,
            ty,
            pk: None,
            auto: None,
            optimistic: None,
            column: None,
            max_len: None,
            unique: None,
            index: None,
            default: None,
            sql_default: None,
            precision: None,
            scale: None,
            reverse: None,
            cascade_delete: None,
            renamed_from: None,
            sql_type: None,
            check: None,
            min: None,
            max: None,
            lazy: None,
            volatile: None,
        }
    }
}

/// Parses the derive input. Returns `None` when the input is not something an entity can be
/// derived for (not a struct with named fields, or generic); the reasons are in `cx`.
pub(crate) fn parse<'a>(cx: &Ctxt, input: &'a DeriveInput) -> Option<Input<'a>> {
    let attrs = parse_entity_attrs(cx, &input.attrs);
    let mut usable = true;
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(&input.generics, "an entity cannot be generic");
        usable = false;
    }
    let named = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => Some(named),
            Fields::Unnamed(unnamed) => {
                cx.error_spanned_by(unnamed, "Entity can only be derived for a struct with named fields");
                None
            }
            Fields::Unit => {
                cx.error_spanned_by(&input.ident, "Entity can only be derived for a struct with named fields");
                None
            }
        },
        Data::Enum(e) => {
            cx.error_at(e.enum_token.span, "Entity can only be derived for a struct with named fields");
            None
        }
        Data::Union(u) => {
            cx.error_at(u.union_token.span, "Entity can only be derived for a struct with named fields");
            None
        }
    };
    let named = named?;
    let (sets, fields) = named
        .named
        .iter()
        .map(|f| {
            let ident = f.ident.as_ref().expect("named field");
            let mut field = Field::new(ident, &f.ty);
            parse_field_attrs(cx, &f.attrs, &mut field);
            field
        })
        .partition(|f| super::type_shape::relation_marker(f.ty).is_some());
    usable.then_some(Input { ident: &input.ident, vis: &input.vis, attrs, fields, sets })
}

/// Records "duplicate option" unless `slot` is empty, then fills it.
fn set_once<T>(cx: &Ctxt, slot: &mut Option<T>, value: T, name: &str, span: Span) {
    if slot.is_some() {
        cx.error_at(span, format_args!("duplicate option `{name}`"));
    } else {
        *slot = Some(value);
    }
}

/// The option's name as written, for messages (`r#foo` shown as `foo`).
fn option_name(meta: &ParseNestedMeta<'_>) -> String {
    match meta.path.get_ident() {
        Some(ident) => ident.unraw().to_string(),
        None => meta.path.segments.iter().map(|s| s.ident.unraw().to_string()).collect::<Vec<_>>().join("::"),
    }
}

/// Consumes whatever follows an option's name (`= expr` or `(...)`), so parsing can go on after
/// an unknown option.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}

/// Parses `= <expr>`.
fn expr_value(meta: &ParseNestedMeta<'_>) -> syn::Result<Expr> {
    meta.value()?.parse::<Expr>()
}

/// Parses `= "..."`, recording an error on any other expression.
fn str_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<Option<LitStr>> {
    Ok(match expr_value(meta)? {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s),
        other => {
            cx.error_spanned_by(other, format_args!("expected a string literal: {name} = \"...\""));
            None
        }
    })
}

/// Parses `= N`, recording an error on anything but an integer literal.
fn int_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<Option<LitInt>> {
    Ok(match expr_value(meta)? {
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => Some(i),
        other => {
            cx.error_spanned_by(other, format_args!("expected an integer literal: {name} = N"));
            None
        }
    })
}

/// Parses `= N`, `= -N` or `= N.M`, recording an error on anything but a finite number literal.
fn number_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<Option<NumberLit>> {
    let expr = expr_value(meta)?;
    let (negative, lit) = match &expr {
        Expr::Unary(syn::ExprUnary { op: syn::UnOp::Neg(_), expr: inner, .. }) => (true, &**inner),
        other => (false, other),
    };
    let value = match lit {
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => {
            let digits = format!("{}{}", if negative { "-" } else { "" }, i.base10_digits());
            digits.parse::<i64>().ok().map(NumberValue::Int)
        }
        Expr::Lit(ExprLit { lit: Lit::Float(f), .. }) => f
            .base10_parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(|x| NumberValue::Float(if negative { -x } else { x })),
        _ => None,
    };
    if value.is_none() {
        cx.error_spanned_by(&expr, format_args!("expected a number literal that fits i64 or f64: {name} = 0"));
    }
    Ok(value.map(|value| NumberLit { value, span: expr.span() }))
}

/// Parses an optional `= true|false`; a bare flag is `true`.
fn bool_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<Option<bool>> {
    if !meta.input.peek(Token![=]) {
        return Ok(Some(true));
    }
    Ok(match expr_value(meta)? {
        Expr::Lit(ExprLit { lit: Lit::Bool(LitBool { value, .. }), .. }) => Some(value),
        other => {
            cx.error_spanned_by(other, format_args!("expected `true` or `false`: {name} = false"));
            None
        }
    })
}

/// Records an error when a flag option is given a value, and skips the value.
fn no_value(cx: &Ctxt, meta: &ParseNestedMeta<'_>, name: &str) -> syn::Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren) {
        cx.error_spanned_by(&meta.path, format_args!("`{name}` takes no value"));
        skip_value(meta)?;
    }
    Ok(())
}

/// Runs `parse_nested_meta`, recording a syntax error instead of returning it.
fn nested(cx: &Ctxt, attr: &Attribute, logic: impl FnMut(ParseNestedMeta<'_>) -> syn::Result<()>) {
    if let Err(e) = attr.parse_nested_meta(logic) {
        cx.syn_error(e);
    }
}

fn parse_entity_attrs(cx: &Ctxt, attrs: &[Attribute]) -> EntityAttrs {
    let mut out = EntityAttrs::default();
    for attr in attrs {
        if attr.path().is_ident("pk") {
            cx.error_spanned_by(attr, "#[pk] goes on a field, not on the struct");
            continue;
        }
        if !attr.path().is_ident("orm") {
            continue;
        }
        nested(cx, attr, |meta| {
            let name = option_name(&meta);
            let span = meta.path.span();
            match name.as_str() {
                "table" => {
                    if let Some(lit) = str_value(cx, &meta, "table")? {
                        set_once(cx, &mut out.table, lit, "table", span);
                    }
                }
                "renamed_from" => {
                    if let Some(lit) = str_value(cx, &meta, "renamed_from")? {
                        set_once(cx, &mut out.renamed_from, lit, "renamed_from", span);
                    }
                }
                "check" => {
                    if let Some(lit) = str_value(cx, &meta, "check")? {
                        out.checks.push(lit);
                    }
                }
                "hooks" => {
                    no_value(cx, &meta, "hooks")?;
                    set_once(cx, &mut out.hooks, span, "hooks", span);
                }
                "crate" => {
                    if let Some(lit) = str_value(cx, &meta, "crate")? {
                        match lit.parse::<syn::Path>() {
                            Ok(path) => set_once(cx, &mut out.krate, Opt { keyword: span, value: path }, "crate", span),
                            Err(_) => cx.error_spanned_by(&lit, "expected a path: crate = \"some::path\""),
                        }
                    }
                }
                "unique" | "index" if meta.path.get_ident().is_some() => {
                    let unique = name == "unique";
                    if !meta.input.peek(syn::token::Paren) {
                        cx.error_at(span, format_args!("expected `{name}(field, ...)` on the struct"));
                        skip_value(&meta)?;
                        return Ok(());
                    }
                    let mut composite = Composite { keyword: span, unique, name: None, fields: Vec::new() };
                    let content = match meta.input.parse::<proc_macro2::TokenTree>()? {
                        proc_macro2::TokenTree::Group(group) => group.stream(),
                        _ => unreachable!("peeked a parenthesis"),
                    };
                    let parser = syn::meta::parser(|inner| {
                        if inner.path.is_ident("name") && inner.input.peek(Token![=]) {
                            if let Some(lit) = str_value(cx, &inner, "name")? {
                                set_once(cx, &mut composite.name, lit, "name", inner.path.span());
                            }
                        } else if let Some(ident) = inner.path.get_ident() {
                            composite.fields.push(ident.clone());
                            no_value(cx, &inner, &ident.unraw().to_string())?;
                        } else {
                            cx.error_spanned_by(&inner.path, "expected a field name or `name = \"...\"`");
                            skip_value(&inner)?;
                        }
                        Ok(())
                    });
                    // An empty list is left to the validate stage, which names the problem.
                    if content.is_empty() {
                        drop(parser);
                    } else {
                        syn::parse::Parser::parse2(parser, content)?;
                    }
                    out.composites.push(composite);
                }
                _ => {
                    cx.error_spanned_by(
                        &meta.path,
                        format_args!("unknown option `{name}`; expected one of: {ENTITY_OPTIONS}"),
                    );
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
    }
    out
}

fn parse_field_attrs(cx: &Ctxt, attrs: &[Attribute], field: &mut Field<'_>) {
    for attr in attrs {
        if attr.path().is_ident("pk") {
            let span = attr.path().span();
            set_once(cx, &mut field.pk, span, "pk", span);
            match &attr.meta {
                syn::Meta::Path(_) => {}
                syn::Meta::List(_) => nested(cx, attr, |meta| {
                    let name = option_name(&meta);
                    if name == "auto" {
                        let span = meta.path.span();
                        if let Some(value) = bool_value(cx, &meta, "auto")? {
                            set_once(cx, &mut field.auto, Opt { keyword: span, value }, "auto", span);
                        }
                    } else {
                        cx.error_spanned_by(&meta.path, format_args!("unknown option `{name}`; expected `auto`"));
                        skip_value(&meta)?;
                    }
                    Ok(())
                }),
                syn::Meta::NameValue(nv) => {
                    cx.error_spanned_by(nv, "expected #[pk] or #[pk(auto = false)]");
                }
            }
            continue;
        }
        if !attr.path().is_ident("orm") {
            continue;
        }
        nested(cx, attr, |meta| {
            let name = option_name(&meta);
            let span = meta.path.span();
            match name.as_str() {
                "pk" => {
                    no_value(cx, &meta, "pk")?;
                    set_once(cx, &mut field.pk, span, "pk", span);
                }
                "auto" => {
                    if let Some(value) = bool_value(cx, &meta, "auto")? {
                        set_once(cx, &mut field.auto, Opt { keyword: span, value }, "auto", span);
                    }
                }
                "optimistic" => {
                    if let Some(value) = bool_value(cx, &meta, "optimistic")? {
                        set_once(cx, &mut field.optimistic, Opt { keyword: span, value }, "optimistic", span);
                    }
                }
                "column" => {
                    if let Some(lit) = str_value(cx, &meta, "column")? {
                        set_once(cx, &mut field.column, lit, "column", span);
                    }
                }
                "max_len" => {
                    if let Some(lit) = int_value(cx, &meta, "max_len")? {
                        set_once(cx, &mut field.max_len, Opt { keyword: span, value: lit }, "max_len", span);
                    }
                }
                "unique" => {
                    no_value(cx, &meta, "unique")?;
                    set_once(cx, &mut field.unique, span, "unique", span);
                }
                "lazy" => {
                    no_value(cx, &meta, "lazy")?;
                    set_once(cx, &mut field.lazy, span, "lazy", span);
                }
                "volatile" => {
                    no_value(cx, &meta, "volatile")?;
                    set_once(cx, &mut field.volatile, span, "volatile", span);
                }
                "index" => {
                    let value = if meta.input.peek(Token![=]) {
                        match str_value(cx, &meta, "index")? {
                            Some(lit) => Some(lit),
                            None => return Ok(()),
                        }
                    } else {
                        no_value(cx, &meta, "index")?;
                        None
                    };
                    set_once(cx, &mut field.index, Opt { keyword: span, value }, "index", span);
                }
                "default" => {
                    let value = expr_value(&meta)?;
                    set_once(cx, &mut field.default, Opt { keyword: span, value }, "default", span);
                }
                "sql_default" => {
                    if let Some(lit) = str_value(cx, &meta, "sql_default")? {
                        set_once(cx, &mut field.sql_default, lit, "sql_default", span);
                    }
                }
                "precision" => {
                    if let Some(lit) = int_value(cx, &meta, "precision")? {
                        set_once(cx, &mut field.precision, Opt { keyword: span, value: lit }, "precision", span);
                    }
                }
                "scale" => {
                    if let Some(lit) = int_value(cx, &meta, "scale")? {
                        set_once(cx, &mut field.scale, Opt { keyword: span, value: lit }, "scale", span);
                    }
                }
                "sql_type" => {
                    if let Some(lit) = str_value(cx, &meta, "sql_type")? {
                        set_once(cx, &mut field.sql_type, lit, "sql_type", span);
                    }
                }
                "check" => {
                    if let Some(lit) = str_value(cx, &meta, "check")? {
                        set_once(cx, &mut field.check, lit, "check", span);
                    }
                }
                "min" | "max" => {
                    if let Some(value) = number_value(cx, &meta, &name)? {
                        let slot = if name == "min" { &mut field.min } else { &mut field.max };
                        set_once(cx, slot, Opt { keyword: span, value }, &name, span);
                    }
                }
                "renamed_from" => {
                    if let Some(lit) = str_value(cx, &meta, "renamed_from")? {
                        set_once(cx, &mut field.renamed_from, lit, "renamed_from", span);
                    }
                }
                "reverse" => {
                    if let Some(lit) = str_value(cx, &meta, "reverse")? {
                        set_once(cx, &mut field.reverse, lit, "reverse", span);
                    }
                }
                "cascade_delete" => {
                    if let Some(value) = bool_value(cx, &meta, "cascade_delete")? {
                        set_once(cx, &mut field.cascade_delete, Opt { keyword: span, value }, "cascade_delete", span);
                    }
                }
                _ => {
                    cx.error_spanned_by(
                        &meta.path,
                        format_args!("unknown option `{name}`; expected one of: {FIELD_OPTIONS}"),
                    );
                    skip_value(&meta)?;
                }
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(input: DeriveInput) -> Vec<String> {
        let cx = Ctxt::new();
        let _ = parse(&cx, &input);
        match cx.check() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn reads_every_field_option() {
        let input: DeriveInput = syn::parse_quote! {
            #[orm(table = "products", unique(name, sku), index(name = "idx", stock, price))]
            struct Product {
                #[pk(auto = false)] id: i64,
                #[orm(max_len = 64, unique, index = "by_name")] name: String,
                #[orm(column = "product_sku", index)] sku: String,
                #[orm(default = 5, sql_default = "5")] stock: i32,
                #[orm(precision = 12, scale = 2)] cost: Decimal,
            }
        };
        let cx = Ctxt::new();
        let parsed = parse(&cx, &input).unwrap();
        cx.check().unwrap();
        assert_eq!(parsed.attrs.table.as_ref().unwrap().value(), "products");
        assert_eq!(parsed.attrs.composites.len(), 2);
        assert!(parsed.attrs.composites[0].unique);
        assert_eq!(parsed.attrs.composites[0].fields, ["name", "sku"]);
        assert_eq!(parsed.attrs.composites[1].name.as_ref().unwrap().value(), "idx");
        assert_eq!(parsed.attrs.composites[1].fields, ["stock", "price"]);
        let f = &parsed.fields;
        assert!(f[0].pk.is_some());
        assert!(!f[0].auto.as_ref().unwrap().value);
        assert_eq!(f[1].max_len.as_ref().unwrap().value.base10_digits(), "64");
        assert!(f[1].unique.is_some());
        assert_eq!(f[1].index.as_ref().unwrap().value.as_ref().unwrap().value(), "by_name");
        assert_eq!(f[2].column.as_ref().unwrap().value(), "product_sku");
        assert!(f[2].index.as_ref().unwrap().value.is_none());
        assert!(f[3].default.is_some());
        assert_eq!(f[3].sql_default.as_ref().unwrap().value(), "5");
        assert_eq!(f[4].precision.as_ref().unwrap().value.base10_digits(), "12");
        assert_eq!(f[4].scale.as_ref().unwrap().value.base10_digits(), "2");
    }

    #[test]
    fn pk_by_either_spelling() {
        let input: DeriveInput = syn::parse_quote! {
            struct K { #[pk] a: i64, #[orm(pk, auto = false)] b: i64, c: i64 }
        };
        let cx = Ctxt::new();
        let parsed = parse(&cx, &input).unwrap();
        cx.check().unwrap();
        assert!(parsed.fields[0].pk.is_some());
        assert!(parsed.fields[1].pk.is_some());
        assert!(parsed.fields[2].pk.is_none());
    }

    #[test]
    fn unknown_options_are_all_reported_and_parsing_goes_on() {
        let input: DeriveInput = syn::parse_quote! {
            #[orm(tabel = "x", table = "t")]
            struct P {
                #[orm(foo, bar = 1, baz(x), max_len = 3)] id: i64,
                #[pk(autoo = true)] k: i64,
            }
        };
        assert_eq!(
            errors(input),
            [
                "unknown option `tabel`; expected one of: table, unique, index, check, hooks, renamed_from",
                "unknown option `foo`; expected one of: pk, auto, column, max_len, unique, index, default, sql_default, precision, scale, sql_type, check, min, max, optimistic, lazy, volatile, reverse, cascade_delete, renamed_from",
                "unknown option `bar`; expected one of: pk, auto, column, max_len, unique, index, default, sql_default, precision, scale, sql_type, check, min, max, optimistic, lazy, volatile, reverse, cascade_delete, renamed_from",
                "unknown option `baz`; expected one of: pk, auto, column, max_len, unique, index, default, sql_default, precision, scale, sql_type, check, min, max, optimistic, lazy, volatile, reverse, cascade_delete, renamed_from",
                "unknown option `autoo`; expected `auto`",
            ]
        );
    }

    #[test]
    fn duplicates_are_reported() {
        let input: DeriveInput = syn::parse_quote! {
            #[orm(table = "a", table = "b")]
            struct P {
                #[pk] #[orm(pk)] id: i64,
                #[orm(max_len = 1, max_len = 2)] name: String,
            }
        };
        assert_eq!(errors(input), ["duplicate option `table`", "duplicate option `pk`", "duplicate option `max_len`"]);
    }

    #[test]
    fn wrong_literal_kinds_are_reported() {
        let input: DeriveInput = syn::parse_quote! {
            #[orm(table = products)]
            struct P {
                #[orm(max_len = "64", column = 3, auto = 1)] id: i64,
            }
        };
        assert_eq!(
            errors(input),
            [
                "expected a string literal: table = \"...\"",
                "expected an integer literal: max_len = N",
                "expected a string literal: column = \"...\"",
                "expected `true` or `false`: auto = false",
            ]
        );
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            errors(syn::parse_quote! { struct T(i64, String); }),
            ["Entity can only be derived for a struct with named fields"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct U; }),
            ["Entity can only be derived for a struct with named fields"]
        );
        assert_eq!(
            errors(syn::parse_quote! { enum E { A } }),
            ["Entity can only be derived for a struct with named fields"]
        );
        assert_eq!(errors(syn::parse_quote! { struct G<T> { id: T } }), ["an entity cannot be generic"]);
    }

    #[test]
    fn composite_syntax_errors() {
        let input: DeriveInput = syn::parse_quote! {
            #[orm(unique, index(name = "a", name = "b", x), unique(a::b))]
            struct P { id: i64 }
        };
        assert_eq!(
            errors(input),
            [
                "expected `unique(field, ...)` on the struct",
                "duplicate option `name`",
                "expected a field name or `name = \"...\"`",
            ]
        );
    }
}
