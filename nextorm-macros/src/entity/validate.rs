//! Validate stage: the semantic checks on the parsed [`Input`], producing the [`Model`] the
//! expand stage renders. Every problem is recorded in the [`Ctxt`], spanned on the token that
//! causes it; a `Model` is returned only when there were none.

use super::parse::{Composite, Field, Input, NumberLit, NumberValue, Opt};
use super::type_shape::{generic_arg, is_integer, is_named, option_inner, relation_marker};
use crate::diag::Ctxt;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use std::collections::HashMap;
use syn::ext::IdentExt;
use syn::{Expr, Ident, LitInt, LitStr, Type};

/// The most key fields [`nextorm_core::Key`] is implemented for (tuples of up to 4).
const MAX_KEY_FIELDS: usize = 4;

/// A checked entity, ready to expand.
pub(crate) struct Model<'a> {
    /// The struct's name, as written.
    pub(crate) ident: &'a Ident,
    /// The struct's visibility.
    pub(crate) vis: &'a syn::Visibility,
    /// The entity implements `Hooks` itself (`#[orm(hooks)]`).
    pub(crate) hooks: bool,
    /// The struct's name without `r#`.
    pub(crate) name: String,
    /// The table name.
    pub(crate) table: String,
    /// The table's previous name (`renamed_from`), a hint for migrations.
    pub(crate) renamed_from: Option<String>,
    /// The path of the `__private` module generated code goes through.
    pub(crate) private: TokenStream,
    /// The columns, in declaration order.
    pub(crate) columns: Vec<Column<'a>>,
    /// Indexes into `columns` of the primary key, in key order.
    pub(crate) primary_key: Vec<usize>,
    /// The composite unique keys and indexes.
    pub(crate) composites: Vec<CompositeModel>,
    /// The `Set<T>` and `HasOne<T>` fields.
    pub(crate) sets: Vec<SetModel<'a>>,
    /// The table's own `CHECK` conditions (`check = "..."` on the struct).
    pub(crate) checks: Vec<String>,
}

/// A `Single<T>` column's relation options.
pub(crate) struct Reference<'a> {
    /// `T`.
    pub(crate) target: &'a Type,
    /// `reverse = "..."`.
    pub(crate) reverse: Option<String>,
    /// `cascade_delete = ...`: `false` restricts, `true` cascades (see `RelationMeta::on_delete`).
    pub(crate) cascade_delete: Option<bool>,
}

/// A checked `Set<T>` or `HasOne<T>` field.
pub(crate) struct SetModel<'a> {
    /// `HasOne<T>` (one-to-one) rather than `Set<T>`.
    pub(crate) has_one: bool,
    /// The field's name, as written.
    pub(crate) ident: &'a Ident,
    /// The field's name without `r#`.
    pub(crate) field: String,
    /// `T`.
    pub(crate) target: &'a Type,
    /// `reverse = "..."`.
    pub(crate) reverse: Option<String>,
}

/// A checked column.
pub(crate) struct Column<'a> {
    /// The field's name, as written (maybe `r#group`).
    pub(crate) ident: &'a Ident,
    /// The field's type.
    pub(crate) ty: &'a Type,
    /// The field's name without `r#`.
    pub(crate) field: String,
    /// The column name.
    pub(crate) name: String,
    /// Part of the primary key.
    pub(crate) primary_key: bool,
    /// The auto-increment key.
    pub(crate) auto: bool,
    /// Part of the optimistic check (`optimistic = false` leaves it out).
    pub(crate) optimistic: bool,
    /// `max_len`.
    pub(crate) max_len: Option<u32>,
    /// `(precision, scale)`.
    pub(crate) decimal: Option<(u32, u32)>,
    /// A single-column unique key.
    pub(crate) unique: bool,
    /// A single-column index and its name.
    pub(crate) index: Option<Option<String>>,
    /// The raw SQL `DEFAULT`.
    pub(crate) sql_default: Option<String>,
    /// The column's previous name (`renamed_from`), a hint for migrations.
    pub(crate) renamed_from: Option<String>,
    /// `sql_type`: the column's SQL type, as written.
    pub(crate) sql_type: Option<String>,
    /// `check`: the raw SQL condition.
    pub(crate) check: Option<String>,
    /// `min`.
    pub(crate) min: Option<NumberValue>,
    /// `max`.
    pub(crate) max: Option<NumberValue>,
    /// `lazy`: left out of a session's `SELECT`s, loaded on first read.
    pub(crate) lazy: bool,
    /// `volatile`: read again after a flush, never in the optimistic check.
    pub(crate) volatile: bool,
    /// The Rust-side default for `impl Default`.
    pub(crate) default: Option<Expr>,
    /// The type is syntactically `Option<..>`.
    pub(crate) optional: bool,
    /// A `Single<T>` or `Option<Single<T>>` field.
    pub(crate) reference: Option<Reference<'a>>,
}

/// A checked composite unique key or index, with field names turned into column names.
pub(crate) struct CompositeModel {
    /// The given name.
    pub(crate) name: Option<String>,
    /// The column names.
    pub(crate) columns: Vec<String>,
    /// A unique key rather than an index.
    pub(crate) unique: bool,
}

/// The snake_case form of a Rust type name: `OrderItem` -> `order_item`, `HTTPRequest` ->
/// `http_request`, `Order2Item` -> `order2_item`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                None | Some('_') => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                Some(_) => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Checks the parsed input.
pub(crate) fn validate<'a>(cx: &Ctxt, input: &Input<'a>) -> Option<Model<'a>> {
    let name = input.ident.unraw().to_string();
    let table = match &input.attrs.table {
        Some(lit) => {
            let value = lit.value();
            if value.is_empty() {
                cx.error_at(lit.span(), "the table name cannot be empty");
            }
            value
        }
        None => snake_case(&name),
    };
    let renamed_from = input.attrs.renamed_from.as_ref().and_then(|lit| previous_name(cx, lit, &table, "table"));
    let private = match &input.attrs.krate {
        Some(krate) => {
            let path = &krate.value;
            quote!(#path::__private)
        }
        None => quote!(::nextorm::__private),
    };

    let mut columns: Vec<Column<'a>> = input.fields.iter().map(|f| check_field(cx, f)).collect();
    check_column_clash(cx, input, &columns);
    let primary_key = check_primary_key(cx, input, &mut columns);
    let composites = input.attrs.composites.iter().map(|c| check_composite(cx, input, &columns, c)).collect();
    let sets = input.sets.iter().filter_map(|f| check_set(cx, f)).collect();
    check_index_names(cx, input);
    let checks = input.attrs.checks.iter().filter_map(|lit| not_empty(cx, lit, "check")).collect();

    if cx.has_errors() {
        return None;
    }
    Some(Model {
        ident: input.ident,
        vis: input.vis,
        hooks: input.attrs.hooks.is_some(),
        name,
        table,
        renamed_from,
        private,
        columns,
        primary_key,
        composites,
        sets,
        checks,
    })
}

/// A positive `u32` literal, or an error on it.
fn positive(cx: &Ctxt, lit: &LitInt, what: &str) -> Option<u32> {
    match lit.base10_parse::<u32>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            cx.error_at(lit.span(), format_args!("{what} must be a positive integer"));
            None
        }
    }
}

fn check_field<'a>(cx: &Ctxt, f: &Field<'a>) -> Column<'a> {
    let field = f.ident.unraw().to_string();
    let name = match &f.column {
        Some(lit) => {
            let value = lit.value();
            if value.is_empty() {
                cx.error_at(lit.span(), "the column name cannot be empty");
            }
            value
        }
        None => field.clone(),
    };

    let max_len = f.max_len.as_ref().and_then(|opt| {
        if !is_named(f.ty, "String") {
            cx.error_at(opt.keyword, "max_len applies only to String fields");
            return None;
        }
        positive(cx, &opt.value, "max_len")
    });

    let decimal = match (&f.precision, &f.scale) {
        (None, None) => None,
        (Some(p), None) => {
            cx.error_at(p.keyword, "precision requires scale: give both, e.g. precision = 12, scale = 2");
            None
        }
        (None, Some(s)) => {
            cx.error_at(s.keyword, "scale requires precision: give both, e.g. precision = 12, scale = 2");
            None
        }
        (Some(p), Some(s)) => {
            if !is_named(f.ty, "Decimal") {
                cx.error_at(p.keyword, "precision and scale apply only to Decimal fields");
                None
            } else {
                let precision = match p.value.base10_parse::<u32>() {
                    Ok(n) if (1..=65).contains(&n) => Some(n),
                    _ => {
                        cx.error_at(p.value.span(), "precision must be between 1 and 65");
                        None
                    }
                };
                let scale = match s.value.base10_parse::<u32>() {
                    Ok(n) => Some(n),
                    Err(_) => {
                        cx.error_at(s.value.span(), "scale must be a non-negative integer");
                        None
                    }
                };
                match (precision, scale) {
                    (Some(p), Some(sc)) if sc > p => {
                        cx.error_at(s.value.span(), format_args!("scale ({sc}) cannot exceed precision ({p})"));
                        None
                    }
                    (Some(p), Some(sc)) => Some((p, sc)),
                    _ => None,
                }
            }
        }
    };

    let index = f.index.as_ref().map(|opt| {
        opt.value.as_ref().map(|lit| {
            let value = lit.value();
            if value.is_empty() {
                cx.error_at(lit.span(), "the index name cannot be empty");
            }
            value
        })
    });

    let sql_default = f.sql_default.as_ref().map(|lit| {
        let value = lit.value();
        if value.trim().is_empty() {
            cx.error_at(lit.span(), "sql_default cannot be empty");
        }
        value
    });

    let renamed_from = f.renamed_from.as_ref().and_then(|lit| previous_name(cx, lit, &name, "column"));
    let sql_type = f.sql_type.as_ref().and_then(|lit| not_empty(cx, lit, "sql_type"));
    let check = f.check.as_ref().and_then(|lit| not_empty(cx, lit, "check"));
    let (min, max) = limits(cx, f);
    Column {
        ident: f.ident,
        ty: f.ty,
        field,
        name,
        primary_key: false,
        auto: false,
        optimistic: f.optimistic.as_ref().is_none_or(|o| o.value),
        max_len,
        decimal,
        unique: f.unique.is_some(),
        index,
        sql_default,
        renamed_from,
        sql_type,
        check,
        min,
        max,
        lazy: f.lazy.is_some(),
        volatile: f.volatile.is_some(),
        default: f.default.as_ref().map(|d| d.value.clone()),
        optional: option_inner(f.ty).is_some(),
        reference: reference(cx, f),
    }
}

/// The text of a string option that must say something.
fn not_empty(cx: &Ctxt, lit: &LitStr, option: &str) -> Option<String> {
    let value = lit.value();
    if value.trim().is_empty() {
        cx.error_at(lit.span(), format_args!("{option} cannot be empty"));
        return None;
    }
    Some(value)
}

/// `min` and `max`: on number fields only, an integer bound for an integer field, `min <= max`.
fn limits(cx: &Ctxt, f: &Field<'_>) -> (Option<NumberValue>, Option<NumberValue>) {
    let inner = option_inner(f.ty).unwrap_or(f.ty);
    let integer = is_integer(inner);
    let number = integer || ["f32", "f64", "Decimal"].iter().any(|n| is_named(inner, n));
    let bound = |opt: &Option<Opt<NumberLit>>, option: &str| {
        let opt = opt.as_ref()?;
        if !number {
            cx.error_at(
                opt.keyword,
                format_args!("{option} applies only to number fields (integers, f32, f64, Decimal); a String takes max_len or check"),
            );
            return None;
        }
        if integer && matches!(opt.value.value, NumberValue::Float(_)) {
            cx.error_at(opt.value.span, format_args!("an integer field takes an integer {option}"));
            return None;
        }
        Some(opt.value.value)
    };
    let (min, max) = (bound(&f.min, "min"), bound(&f.max, "max"));
    if let (Some(lo), Some(hi), Some(opt)) = (min, max, &f.max)
        && match (lo, hi) {
            (NumberValue::Int(a), NumberValue::Int(b)) => a > b,
            _ => as_f64(lo) > as_f64(hi),
        }
    {
        cx.error_at(opt.value.span, "max is below min");
        return (None, None);
    }
    (min, max)
}

fn as_f64(n: NumberValue) -> f64 {
    match n {
        NumberValue::Int(i) => i as f64,
        NumberValue::Float(x) => x,
    }
}

/// The previous name given by `renamed_from`: not empty, and not the current name (`what` is
/// "table" or "column").
fn previous_name(cx: &Ctxt, lit: &LitStr, current: &str, what: &str) -> Option<String> {
    let value = lit.value();
    if value.is_empty() {
        cx.error_at(lit.span(), format_args!("renamed_from cannot be empty: give the {what}'s previous name"));
        return None;
    }
    if value == current {
        cx.error_at(
            lit.span(),
            format_args!("renamed_from names the current {what} `{current}`: give the {what}'s previous name"),
        );
        return None;
    }
    Some(value)
}

/// The relation options of a `Single<T>` / `Option<Single<T>>` field; an error for relation
/// options on any other field.
fn reference<'a>(cx: &Ctxt, f: &Field<'a>) -> Option<Reference<'a>> {
    let target = generic_arg(option_inner(f.ty).unwrap_or(f.ty), "Single");
    if let (Some(span), Some(_)) = (f.lazy, target) {
        cx.error_at(
            span,
            "lazy applies to a plain column, not to a Single: a reference is loaded when it is used already",
        );
    }
    if let (Some(span), Some(_)) = (f.volatile, target) {
        cx.error_at(
            span,
            "volatile applies to a plain column, not to a Single: a reference the database moves would leave the collections it belongs to unaware",
        );
    }
    let Some(target) = target else {
        if let Some(lit) = &f.reverse {
            cx.error_at(lit.span(), "reverse applies only to Single, Set and HasOne fields");
        }
        if let Some(opt) = &f.cascade_delete {
            cx.error_at(opt.keyword, "cascade_delete applies only to Single fields");
        }
        return None;
    };
    Some(Reference {
        target,
        reverse: f.reverse.as_ref().map(LitStr::value),
        cascade_delete: f.cascade_delete.as_ref().map(|o| o.value),
    })
}

/// Checks a `Set<T>` or `HasOne<T>` field (as `parse` sorted it): it takes only `reverse`.
fn check_set<'a>(cx: &Ctxt, f: &Field<'a>) -> Option<SetModel<'a>> {
    let (marker, target) = relation_marker(f.ty)?;
    let misplaced = [
        f.pk,
        f.auto.as_ref().map(|o| o.keyword),
        f.optimistic.as_ref().map(|o| o.keyword),
        f.column.as_ref().map(LitStr::span),
        f.max_len.as_ref().map(|o| o.keyword),
        f.unique,
        f.index.as_ref().map(|o| o.keyword),
        f.default.as_ref().map(|o| o.keyword),
        f.sql_default.as_ref().map(LitStr::span),
        f.precision.as_ref().map(|o| o.keyword),
        f.scale.as_ref().map(|o| o.keyword),
        f.cascade_delete.as_ref().map(|o| o.keyword),
        f.renamed_from.as_ref().map(LitStr::span),
        f.sql_type.as_ref().map(LitStr::span),
        f.check.as_ref().map(LitStr::span),
        f.min.as_ref().map(|o| o.keyword),
        f.max.as_ref().map(|o| o.keyword),
        f.lazy,
        f.volatile,
    ];
    for span in misplaced.into_iter().flatten() {
        cx.error_at(span, format_args!("a {marker} field maps to no column: it takes only `reverse`"));
    }
    Some(SetModel {
        has_one: marker == "HasOne",
        ident: f.ident,
        field: f.ident.unraw().to_string(),
        target,
        reverse: f.reverse.as_ref().map(LitStr::value),
    })
}

/// Two fields on one column: an error on the second.
fn check_column_clash(cx: &Ctxt, input: &Input<'_>, columns: &[Column<'_>]) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for (f, col) in input.fields.iter().zip(columns) {
        if let Some(first) = seen.get(col.name.as_str()) {
            let span = f.column.as_ref().map_or_else(|| f.ident.span(), |lit| lit.span());
            cx.error_at(span, format_args!("fields `{first}` and `{}` both map to column `{}`", col.field, col.name));
        } else {
            seen.insert(&col.name, &col.field);
        }
    }
}

/// Finds the key, marks it and the auto-increment column in `columns`, and returns its indexes.
fn check_primary_key(cx: &Ctxt, input: &Input<'_>, columns: &mut [Column<'_>]) -> Vec<usize> {
    let mut key: Vec<usize> = input.fields.iter().enumerate().filter(|(_, f)| f.pk.is_some()).map(|(i, _)| i).collect();
    if key.is_empty() {
        if let Some(i) = columns.iter().position(|c| c.field == "id") {
            key.push(i);
        } else {
            cx.error_at(
                input.ident.span(),
                format_args!(
                    "entity `{}` has no primary key: mark a field with #[pk] or name it `id`",
                    input.ident.unraw()
                ),
            );
        }
    }
    if key.len() > MAX_KEY_FIELDS {
        let span = input.fields[key[MAX_KEY_FIELDS]].pk.unwrap_or_else(Span::call_site);
        cx.error_at(span, format_args!("a composite primary key has at most {MAX_KEY_FIELDS} fields"));
    }
    for &i in &key {
        let f = &input.fields[i];
        if option_inner(f.ty).is_some() {
            cx.error_spanned_by(f.ty, "a primary-key field cannot be Option");
        }
        if let Some(span) = f.lazy {
            cx.error_at(span, "lazy cannot be used on a primary-key field: the key is what loads the object");
        }
        if let Some(span) = f.volatile {
            cx.error_at(span, "volatile cannot be used on a primary-key field: the key is what finds the row again");
        }
        columns[i].primary_key = true;
    }
    for (i, f) in input.fields.iter().enumerate() {
        let Some(auto) = &f.auto else { continue };
        if !key.contains(&i) {
            cx.error_at(auto.keyword, "auto applies only to a primary-key field");
        } else if auto.value && key.len() > 1 {
            cx.error_at(auto.keyword, "auto cannot be used on a composite primary key");
        } else if auto.value && !is_integer(f.ty) {
            cx.error_at(auto.keyword, "auto applies only to an integer primary key (i8 to i64, u8 to u64)");
        }
    }
    if let [only] = key[..] {
        let f = &input.fields[only];
        let disabled = f.auto.as_ref().is_some_and(|a| !a.value);
        columns[only].auto = is_integer(f.ty) && !disabled;
    }
    key
}

/// Translates a composite's fields into columns.
fn check_composite(cx: &Ctxt, input: &Input<'_>, columns: &[Column<'_>], c: &Composite) -> CompositeModel {
    let what = if c.unique { "unique" } else { "index" };
    if c.fields.is_empty() {
        cx.error_at(c.keyword, format_args!("{what}(...) needs at least one field"));
    }
    let mut out = Vec::with_capacity(c.fields.len());
    let mut seen: Vec<String> = Vec::new();
    for ident in &c.fields {
        let field = ident.unraw().to_string();
        match columns.iter().find(|col| col.field == field) {
            Some(col) => {
                if seen.contains(&field) {
                    cx.error_at(ident.span(), format_args!("field `{field}` is listed twice in {what}(...)"));
                }
                out.push(col.name.clone());
            }
            None => {
                cx.error_at(ident.span(), format_args!("entity `{}` has no field `{field}`", input.ident.unraw()));
            }
        }
        seen.push(field);
    }
    let name = c.name.as_ref().map(|lit| {
        let value = lit.value();
        if value.is_empty() {
            cx.error_at(lit.span(), "the index name cannot be empty");
        }
        value
    });
    CompositeModel { name, columns: out, unique: c.unique }
}

/// A given index name used twice.
fn check_index_names(cx: &Ctxt, input: &Input<'_>) {
    let field_names = input.fields.iter().filter_map(|f| f.index.as_ref()?.value.as_ref());
    let composite_names = input.attrs.composites.iter().filter_map(|c| c.name.as_ref());
    let mut seen: Vec<String> = Vec::new();
    for lit in field_names.chain(composite_names) {
        let value = lit.value();
        if seen.contains(&value) {
            cx.error_at(lit.span(), format_args!("index name `{value}` is used twice"));
        }
        seen.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::parse::parse;
    use syn::DeriveInput;

    /// The table, each column's (name, primary_key, auto), and the key indexes.
    type Summary = (String, Vec<(String, bool, bool)>, Vec<usize>);

    /// Runs parse and validate; the model's summary or the error messages.
    fn run(input: DeriveInput) -> Result<Summary, Vec<String>> {
        let cx = Ctxt::new();
        let model = parse(&cx, &input).and_then(|i| validate(&cx, &i)).map(|m| {
            let cols = m.columns.iter().map(|c| (c.name.clone(), c.primary_key, c.auto)).collect();
            (m.table, cols, m.primary_key)
        });
        match cx.check() {
            Ok(()) => Ok(model.unwrap()),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    fn errors(input: DeriveInput) -> Vec<String> {
        run(input).err().unwrap_or_default()
    }

    #[test]
    fn snake_case_of_type_names() {
        assert_eq!(snake_case("OrderItem"), "order_item");
        assert_eq!(snake_case("Order"), "order");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Order2Item"), "order2_item");
        assert_eq!(snake_case("already_snake"), "already_snake");
        assert_eq!(snake_case("ABC"), "abc");
        assert_eq!(snake_case("Item_Line"), "item_line");
    }

    #[test]
    fn table_and_columns_default_to_the_rust_names() {
        let (table, cols, key) = run(syn::parse_quote! {
            struct OrderItem { id: i64, r#group: String, #[orm(column = "qty")] quantity: i32 }
        })
        .unwrap();
        assert_eq!(table, "order_item");
        let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["id", "group", "qty"]);
        assert_eq!(key, [0]);
        assert!(cols[0].1 && cols[0].2, "an i64 `id` is an auto key");
    }

    #[test]
    fn explicit_table_name() {
        let (table, ..) = run(syn::parse_quote! { #[orm(table = "products")] struct Product { id: i64 } }).unwrap();
        assert_eq!(table, "products");
    }

    #[test]
    fn marked_key_wins_over_id() {
        let (_, cols, key) = run(syn::parse_quote! { struct T { id: i64, #[pk] code: String } }).unwrap();
        assert_eq!(key, [1]);
        assert!(!cols[0].1);
        assert!(cols[1].1 && !cols[1].2, "a String key is not auto");
    }

    #[test]
    fn composite_key_in_declaration_order_is_not_auto() {
        let (_, cols, key) =
            run(syn::parse_quote! { struct T { #[pk] a: i64, x: String, #[orm(pk)] b: i32 } }).unwrap();
        assert_eq!(key, [0, 2]);
        assert!(cols.iter().all(|c| !c.2));
    }

    #[test]
    fn auto_false_turns_auto_off() {
        let (_, cols, _) = run(syn::parse_quote! { struct T { #[pk(auto = false)] code: i32 } }).unwrap();
        assert!(cols[0].1 && !cols[0].2);
        let (_, cols, _) = run(syn::parse_quote! { struct T { #[orm(auto = false)] id: u64 } }).unwrap();
        assert!(cols[0].1 && !cols[0].2);
    }

    #[test]
    fn optimistic_false_leaves_a_column_out_of_the_check() {
        let input: DeriveInput =
            syn::parse_quote! { struct T { id: i64, #[orm(optimistic = false)] hits: i64, name: String } };
        let cx = Ctxt::new();
        let flags: Vec<bool> = parse(&cx, &input)
            .and_then(|i| validate(&cx, &i))
            .map(|m| m.columns.iter().map(|c| c.optimistic).collect())
            .unwrap();
        cx.check().unwrap();
        assert_eq!(flags, [true, false, true]);
    }

    #[test]
    fn lazy_and_volatile_are_read() {
        let input: DeriveInput = syn::parse_quote! {
            struct T { id: i64, #[orm(lazy)] body: String, #[orm(volatile)] n: i64, #[orm(lazy, volatile)] x: String }
        };
        let cx = Ctxt::new();
        let flags: Vec<(bool, bool)> = parse(&cx, &input)
            .and_then(|i| validate(&cx, &i))
            .map(|m| m.columns.iter().map(|c| (c.lazy, c.volatile)).collect())
            .unwrap();
        cx.check().unwrap();
        assert_eq!(flags, [(false, false), (true, false), (false, true), (true, true)]);
    }

    #[test]
    fn lazy_and_volatile_errors() {
        assert_eq!(
            errors(syn::parse_quote! {
                struct T { #[orm(lazy, volatile)] id: i64, #[orm(lazy)] o: Single<U>, #[orm(volatile)] s: Set<U>, #[orm(volatile)] m: Option<Single<U>> }
            }),
            [
                "lazy applies to a plain column, not to a Single: a reference is loaded when it is used already",
                "volatile applies to a plain column, not to a Single: a reference the database moves would leave the collections it belongs to unaware",
                "lazy cannot be used on a primary-key field: the key is what loads the object",
                "volatile cannot be used on a primary-key field: the key is what finds the row again",
                "a Set field maps to no column: it takes only `reverse`",
            ]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, #[orm(lazy = true, volatile)] s: String } }),
            ["`lazy` takes no value"]
        );
    }

    #[test]
    fn no_primary_key() {
        assert_eq!(
            errors(syn::parse_quote! { struct Thing { name: String } }),
            ["entity `Thing` has no primary key: mark a field with #[pk] or name it `id`"]
        );
    }

    #[test]
    fn key_errors() {
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: Option<i64> } }),
            ["a primary-key field cannot be Option"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { #[pk(auto = true)] code: String } }),
            ["auto applies only to an integer primary key (i8 to i64, u8 to u64)"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { #[pk(auto = true)] a: i64, #[pk] b: i64 } }),
            ["auto cannot be used on a composite primary key"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, #[orm(auto = false)] n: i64 } }),
            ["auto applies only to a primary-key field"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { #[pk] a: i8, #[pk] b: i8, #[pk] c: i8, #[pk] d: i8, #[pk] e: i8 } }),
            ["a composite primary key has at most 4 fields"]
        );
    }

    #[test]
    fn max_len_errors() {
        let (_, _, _) = run(syn::parse_quote! {
            struct T { id: i64, #[orm(max_len = 3)] a: String, #[orm(max_len = 3)] b: Option<String>,
                       #[orm(max_len = 3)] c: std::string::String }
        })
        .unwrap();
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, #[orm(max_len = 3)] n: i32 } }),
            ["max_len applies only to String fields"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, #[orm(max_len = 0)] n: String } }),
            ["max_len must be a positive integer"]
        );
    }

    #[test]
    fn decimal_errors() {
        run(syn::parse_quote! {
            struct T { id: i64, #[orm(precision = 12, scale = 2)] a: rust_decimal::Decimal,
                       #[orm(precision = 65, scale = 65)] b: Option<Decimal> }
        })
        .unwrap();
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, #[orm(precision = 12)] n: Decimal } }),
            ["precision requires scale: give both, e.g. precision = 12, scale = 2"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, #[orm(scale = 2)] n: Decimal } }),
            ["scale requires precision: give both, e.g. precision = 12, scale = 2"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, #[orm(precision = 12, scale = 2)] n: f64 } }),
            ["precision and scale apply only to Decimal fields"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, #[orm(precision = 66, scale = 2)] n: Decimal } }),
            ["precision must be between 1 and 65"]
        );
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, #[orm(precision = 2, scale = 3)] n: Decimal } }),
            ["scale (3) cannot exceed precision (2)"]
        );
    }

    #[test]
    fn column_clash_names_both_fields() {
        assert_eq!(
            errors(syn::parse_quote! { struct T { id: i64, a: i32, #[orm(column = "a")] b: i32 } }),
            ["fields `a` and `b` both map to column `a`"]
        );
    }

    #[test]
    fn composites_name_fields() {
        let input: DeriveInput = syn::parse_quote! {
            #[orm(unique(name, sku), index(name = "idx", r#group, name))]
            struct P { id: i64, name: String, #[orm(column = "product_sku")] sku: String, r#group: i32 }
        };
        let cx = Ctxt::new();
        let parsed = parse(&cx, &input).unwrap();
        let model = validate(&cx, &parsed).unwrap();
        cx.check().unwrap();
        assert_eq!(model.composites[0].columns, ["name", "product_sku"]);
        assert!(model.composites[0].unique);
        assert_eq!(model.composites[1].columns, ["group", "name"]);
        assert_eq!(model.composites[1].name.as_deref(), Some("idx"));
        assert!(!model.composites[1].unique);
    }

    #[test]
    fn composite_errors() {
        assert_eq!(
            errors(syn::parse_quote! { #[orm(index(nmae), unique(id, id), index())] struct P { id: i64 } }),
            [
                "entity `P` has no field `nmae`",
                "field `id` is listed twice in unique(...)",
                "index(...) needs at least one field",
            ]
        );
        assert_eq!(
            errors(syn::parse_quote! {
                #[orm(index(name = "ix", id))] struct P { id: i64, #[orm(index = "ix")] a: i32 }
            }),
            ["index name `ix` is used twice"]
        );
    }

    #[test]
    fn all_errors_are_reported_together() {
        let errs = errors(syn::parse_quote! {
            #[orm(unknown)]
            struct P { #[orm(max_len = 1)] n: i32, #[orm(bogus)] m: i32 }
        });
        assert_eq!(errs.len(), 4, "{errs:?}");
    }

    #[test]
    fn renamed_from_keeps_the_previous_names() {
        let input: DeriveInput = syn::parse_quote! {
            #[orm(renamed_from = "article")]
            struct Post { id: i64, #[orm(column = "headline", renamed_from = "title")] heading: String }
        };
        let cx = Ctxt::new();
        let names = parse(&cx, &input)
            .and_then(|i| validate(&cx, &i))
            .map(|m| (m.renamed_from, m.columns.iter().map(|c| c.renamed_from.clone()).collect::<Vec<_>>()))
            .unwrap();
        cx.check().unwrap();
        assert_eq!(names, (Some("article".to_owned()), vec![None, Some("title".to_owned())]));
    }

    #[test]
    fn renamed_from_errors() {
        assert_eq!(
            errors(syn::parse_quote! {
                #[orm(renamed_from = "post")]
                struct Post { id: i64, #[orm(renamed_from = "")] a: i32, #[orm(renamed_from = "b")] b: i32 }
            }),
            [
                "renamed_from names the current table `post`: give the table's previous name",
                "renamed_from cannot be empty: give the column's previous name",
                "renamed_from names the current column `b`: give the column's previous name",
            ]
        );
    }
}
