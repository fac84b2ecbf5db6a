//! Expand stage: renders a validated [`Model`] into the `Entity`, `FromRow` (and, when a field
//! has `default = ...`, `Default`) impls. Nothing here can fail.
//!
//! Generated code reaches the library only through the `__private` module (imported as `__n`)
//! and is wrapped in `const _: () = { ... };` so it adds no names to the user's module.

use super::parse::NumberValue;
use super::type_shape::is_primitive_value;
use super::validate::{Column, CompositeModel, Model};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Type};

/// `::core::option::Option::Some(x)` or `::core::option::Option::None`.
fn option<T>(value: Option<T>, f: impl FnOnce(T) -> TokenStream) -> TokenStream {
    match value {
        Some(v) => {
            let inner = f(v);
            quote!(::core::option::Option::Some(#inner))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// The `ColumnMeta { ... }` literal of one column.
fn column_meta(c: &Column<'_>) -> TokenStream {
    let ty = c.ty;
    let field = &c.field;
    let name = &c.name;
    // Spanned on the user's type, so an unsupported type is reported there by the `SqlField`
    // bound (whose `on_unimplemented` note lists the supported types).
    let column_type = quote_spanned!(ty.span()=> <#ty as __n::SqlField>::COLUMN_TYPE);
    let nullable = quote_spanned!(ty.span()=> <#ty as __n::SqlField>::NULLABLE);
    let primary_key = c.primary_key;
    let auto = c.auto;
    let optimistic = c.optimistic;
    let unique = c.unique;
    let max_len = option(c.max_len, |n| {
        let n = Literal::u32_unsuffixed(n);
        quote!(#n)
    });
    let decimal = option(c.decimal, |(p, s)| {
        let (p, s) = (Literal::u32_unsuffixed(p), Literal::u32_unsuffixed(s));
        quote!((#p, #s))
    });
    let index = option(c.index.as_ref(), |name| option(name.as_ref(), |n| quote!(#n)));
    let sql_default = option(c.sql_default.as_ref(), |d| quote!(#d));
    let renamed_from = option(c.renamed_from.as_ref(), |d| quote!(#d));
    let sql_type = option(c.sql_type.as_ref(), |t| quote!(#t));
    let check = option(c.check.as_ref(), |t| quote!(#t));
    let limit = |n: Option<NumberValue>| {
        option(n, |n| match n {
            NumberValue::Int(i) => quote!(__n::Limit::Int(#i)),
            NumberValue::Float(x) => quote!(__n::Limit::Float(#x)),
        })
    };
    let (min, max) = (limit(c.min), limit(c.max));
    let (lazy, volatile) = (c.lazy, c.volatile);
    quote! {
        __n::ColumnMeta {
            field: #field,
            name: #name,
            ty: #column_type,
            nullable: #nullable,
            primary_key: #primary_key,
            auto: #auto,
            optimistic: #optimistic,
            max_len: #max_len,
            decimal: #decimal,
            unique: #unique,
            index: #index,
            sql_default: #sql_default,
            renamed_from: #renamed_from,
            sql_type: #sql_type,
            check: #check,
            min: #min,
            max: #max,
            lazy: #lazy,
            volatile: #volatile,
        }
    }
}

/// The spans of the first and the last token of the user's type.
fn type_bounds(ty: &Type) -> (Span, Span) {
    let mut tokens = ty.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    (first, last)
}

/// `__n::<function>(<args>)`, spanned over the user's type: the callee path and the call start at
/// the type's first token and end at its last (only the outer tokens of a span pair count).
///
/// rustc reports an unsatisfied bound of a called function at the call, callee or argument span,
/// and drops an error that another error at the same span implies. Each body that calls
/// `decode_field` / `column_value` also names `<#ty as SqlField>` (see [`sql_field_check`]),
/// whose error is reported at the type's span; since `SqlField: FromSql + ToValue`, an
/// unsupported type then gets errors worded by `SqlField`'s `on_unimplemented`, pointing at the
/// type, instead of extra `FromSql`/`ToValue` errors on `#[derive(Entity)]`.
fn call_over_type(ty: &Type, function: &str, args: TokenStream) -> TokenStream {
    let (first, last) = type_bounds(ty);
    let function = Ident::new(function, last);
    let mut group = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, args);
    group.set_span(last);
    quote_spanned!(first=> __n:: #function #group)
}

/// `__n::<function>(<leading>, <prefix><field>)` spanned over the field's type, as
/// [`call_over_type`] does: the argument spans the type too, with and without its `&` (`prefix`
/// is `&self.` or `&state.value.`), since rustc may point at either.
fn call_over_field(ty: &Type, prefix: TokenStream, field: &Ident, function: &str, leading: TokenStream) -> TokenStream {
    let (first, last) = type_bounds(ty);
    let prefix: TokenStream = prefix
        .into_iter()
        .map(|mut token| {
            token.set_span(first);
            token
        })
        .collect();
    let mut field = field.clone();
    field.set_span(last);
    call_over_type(ty, function, quote!(#leading #prefix #field))
}

/// `let _ = <#ty as __n::SqlField>::NULLABLE;`: an explicit `SqlField` bound on the field type
/// inside a method body (see [`call_over_type`]).
fn sql_field_check(ty: &Type) -> TokenStream {
    quote_spanned!(ty.span()=> let _ = <#ty as __n::SqlField>::NULLABLE;)
}

/// The `CompositeMeta { ... }` literal of one composite key or index.
fn composite_meta(c: &CompositeModel) -> TokenStream {
    let name = option(c.name.as_ref(), |n| quote!(#n));
    let columns = &c.columns;
    let unique = c.unique;
    quote! {
        __n::CompositeMeta { name: #name, columns: &[#(#columns),*], unique: #unique }
    }
}

/// The parameter type of a field's setter: `impl Into<T>`, so `p.set_name("Anne")` works, or `T`
/// itself for numbers, `bool` and `char` (see [`is_primitive_value`]). Spanned on the user's type.
fn setter_value_type(ty: &Type) -> TokenStream {
    if is_primitive_value(ty) { quote!(#ty) } else { quote_spanned!(ty.span()=> impl ::core::convert::Into<#ty>) }
}

/// The value of one field in the generated `impl Default`.
fn default_value(c: &Column<'_>) -> TokenStream {
    let ty = c.ty;
    match &c.default {
        // Spanned on the field's type: a type without `Default` is reported there.
        None => quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default()),
        // A string literal becomes the field's `String` (or `Some(String)`).
        Some(lit @ Expr::Lit(ExprLit { lit: Lit::Str(_), .. })) => {
            let converted = quote_spanned!(lit.span()=> ::core::convert::Into::into(#lit));
            if c.optional { quote_spanned!(lit.span()=> ::core::option::Option::Some(#converted)) } else { converted }
        }
        Some(expr) => quote!(#expr),
    }
}

/// The type of a column's handle in the entity's `...Fields`: an `Expr` of the field's type, or a
/// `Nav` for a `Single`.
fn handle_type(c: &Column<'_>) -> TokenStream {
    match &c.reference {
        Some(r) if c.optional => {
            let target = r.target;
            quote!(__n::q::Nav<#target, __n::q::null::Yes>)
        }
        Some(r) => {
            let target = r.target;
            quote!(__n::q::Nav<#target>)
        }
        None => {
            let ty = c.ty;
            quote!(__n::q::Expr<#ty>)
        }
    }
}

/// The handle of a column under `alias`.
fn handle_value(c: &Column<'_>) -> TokenStream {
    let name = &c.name;
    match &c.reference {
        Some(_) => {
            let field = &c.field;
            quote!(__n::q::Nav::new(alias, #field, #name))
        }
        None => quote!(__n::q::Expr::column(alias, #name)),
    }
}

/// The `RelationMeta { ... }` literals of the entity's `Single` columns and `Set` fields.
fn relation_metas(model: &Model<'_>) -> Vec<TokenStream> {
    let owner = model.ident;
    let singles = model.columns.iter().enumerate().filter_map(|(i, c)| {
        let r = c.reference.as_ref()?;
        let (field, target) = (&c.field, r.target);
        let column = Literal::usize_unsuffixed(i);
        let reverse = option(r.reverse.as_ref(), |n| quote!(#n));
        let cascade = option(r.cascade_delete, |b| quote!(#b));
        Some(quote! {
            __n::RelationMeta {
                field: #field,
                kind: __n::RelationKind::Single { column: #column },
                target: <#target as __n::Entity>::meta,
                reverse: #reverse,
                cascade_delete: #cascade,
                rows: __n::RowFns::of::<#target, #owner>(),
            }
        })
    });
    let sets = model.sets.iter().map(|s| {
        let (field, target) = (&s.field, s.target);
        let reverse = option(s.reverse.as_ref(), |n| quote!(#n));
        let kind = if s.has_one { quote!(HasOne) } else { quote!(Set) };
        quote! {
            __n::RelationMeta {
                field: #field,
                kind: __n::RelationKind::#kind,
                target: <#target as __n::Entity>::meta,
                reverse: #reverse,
                cascade_delete: ::core::option::Option::None,
                rows: __n::RowFns::of::<#target, #owner>(),
            }
        }
    });
    singles.chain(sets).collect()
}

/// Renders the impls of a validated entity.
pub(crate) fn expand(model: &Model<'_>) -> TokenStream {
    let private = &model.private;
    let ident = model.ident;
    let name = &model.name;
    let table = &model.table;
    let table_renamed_from = option(model.renamed_from.as_ref(), |t| quote!(#t));
    let columns = model.columns.iter().map(column_meta);
    let primary_key = model.primary_key.iter().map(|&i| Literal::usize_unsuffixed(i));
    let composites = model.composites.iter().map(composite_meta);
    let table_checks = &model.checks;

    let fields: Vec<_> = model.columns.iter().map(|c| c.ident).collect();
    let set_fields: Vec<&Ident> = model.sets.iter().map(|s| s.ident).collect();
    // A `Set` is a `Coll` in queries; a `HasOne` a `Nav` reached by a `LEFT JOIN`.
    let set_handle_types: Vec<TokenStream> = model
        .sets
        .iter()
        .map(|s| {
            let target = s.target;
            if s.has_one { quote!(__n::q::Nav<#target, __n::q::null::Yes>) } else { quote!(__n::q::Coll<#target>) }
        })
        .collect();
    let set_handle_values: Vec<TokenStream> = model
        .sets
        .iter()
        .map(|s| {
            let name = &s.field;
            if s.has_one {
                quote!(__n::q::Nav::has_one(alias, #name))
            } else {
                quote!(__n::q::Coll::new(alias, <#ident as __n::Entity>::meta, #name))
            }
        })
        .collect();
    let checks: Vec<TokenStream> = model.columns.iter().map(|c| sql_field_check(c.ty)).collect();
    let decodes = model.columns.iter().enumerate().map(|(i, c)| {
        let index = Literal::usize_unsuffixed(i);
        let offset = if i == 0 { quote!(offset) } else { quote!(offset + #index) };
        // A lazy field decodes a session's `NULL` as its default (which the type must have).
        let function = if c.lazy { "decode_lazy_field" } else { "decode_field" };
        call_over_type(c.ty, function, quote!(&META, #index, row, #offset))
    });
    let decode_column_arms = model.columns.iter().enumerate().map(|(i, c)| {
        let index = Literal::usize_unsuffixed(i);
        let field = c.ident;
        let call = call_over_type(c.ty, "decode_field", quote!(&META, #index, row, idx));
        quote!(#index => {
            self.#field = #call?;
            ::core::result::Result::Ok(())
        })
    });
    let lazy_indexes: Vec<Literal> =
        model.columns.iter().enumerate().filter(|(_, c)| c.lazy).map(|(i, _)| Literal::usize_unsuffixed(i)).collect();
    let volatile_indexes: Vec<Literal> = model
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.volatile)
        .map(|(i, _)| Literal::usize_unsuffixed(i))
        .collect();
    let encodes = model.columns.iter().enumerate().map(|(i, c)| {
        let index = Literal::usize_unsuffixed(i);
        call_over_field(c.ty, quote!(&self.), c.ident, "column_value", quote!(&META, #index,))
    });
    let key_columns: Vec<&Column<'_>> = model.primary_key.iter().map(|&i| &model.columns[i]).collect();
    let (key_type, key_value) = match key_columns.as_slice() {
        [single] => {
            let (ty, field) = (single.ty, single.ident);
            (quote!(#ty), quote!(::core::clone::Clone::clone(&self.#field)))
        }
        many => {
            let tys = many.iter().map(|c| c.ty);
            let fields = many.iter().map(|c| c.ident);
            (quote!((#(#tys),*)), quote!((#(::core::clone::Clone::clone(&self.#fields)),*)))
        }
    };

    let (key_is_unset, set_generated_key) = match model.columns.iter().find(|c| c.auto) {
        Some(auto) => {
            let field = auto.ident;
            (
                quote!(self.#field == 0),
                quote! {
                    fn set_generated_key(&mut self, key: i64) -> __n::Result<()> {
                        self.#field = __n::convert_key(&META, key)?;
                        ::core::result::Result::Ok(())
                    }
                },
            )
        }
        None => (
            quote!(false),
            quote! {
                fn set_generated_key(&mut self, _key: i64) -> __n::Result<()> {
                    ::core::result::Result::Ok(())
                }
            },
        ),
    };

    let default_impl = model.columns.iter().any(|c| c.default.is_some()).then(|| {
        let values = model.columns.iter().map(default_value);
        quote! {
            #[automatically_derived]
            impl ::core::default::Default for #ident {
                fn default() -> Self {
                    Self { #(#fields: #values,)* #(#set_fields: ::core::default::Default::default(),)* }
                }
            }
        }
    });

    // Named after the entity, so rustc's messages read "no field `nmae` on type `ProductFields`";
    // it lives inside `const _`, so it adds no name to the user's module.
    let fields_ident = quote::format_ident!("{}Fields", model.name);
    let relations = relation_metas(model);
    let handle_types: Vec<TokenStream> = model.columns.iter().map(handle_type).collect();
    let handle_values: Vec<TokenStream> = model.columns.iter().map(handle_value).collect();
    // Spanned like `column_values`, so an unsupported type gets only the `SqlField` error.
    let value_at = model.columns.iter().enumerate().map(|(i, c)| {
        let index = Literal::usize_unsuffixed(i);
        let call = call_over_field(c.ty, quote!(&self.), c.ident, "column_value", quote!(&META, #index,));
        quote!(#index => #call)
    });
    let (reference_indexes, reference_fields): (Vec<Literal>, Vec<&Ident>) = model
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.reference.is_some())
        .map(|(i, c)| (Literal::usize_unsuffixed(i), c.ident))
        .unzip();
    let clear_arms =
        model.columns.iter().enumerate().filter(|(_, c)| c.reference.is_some() && c.optional).map(|(i, c)| {
            let index = Literal::usize_unsuffixed(i);
            let field = c.ident;
            quote!(#index => {
                self.#field = ::core::option::Option::None;
                ::core::result::Result::Ok(())
            })
        });
    // A loop variable stands for its key: `o.customer == c`, `s.courses.contains(c)`.
    let key_fields: Vec<&Ident> = key_columns.iter().map(|c| c.ident).collect();
    let key_node = match key_fields.as_slice() {
        [single] => quote!(self.#single.into_node()),
        several => quote!(__n::ast::Expr::Row(::std::vec![#(self.#several.into_node()),*])),
    };
    let set_reference_arms = model.columns.iter().enumerate().filter_map(|(i, c)| {
        let r = c.reference.as_ref()?;
        let (index, field, target) = (Literal::usize_unsuffixed(i), c.ident, r.target);
        let single = quote!(::core::clone::Clone::clone(single));
        let value = if c.optional { quote!(::core::option::Option::Some(#single)) } else { single };
        Some(quote!(#index => match target.downcast_ref::<__n::Single<#target>>() {
            ::core::option::Option::Some(single) => {
                self.#field = #value;
                ::core::result::Result::Ok(())
            }
            ::core::option::Option::None => ::core::result::Result::Err(__n::Error::internal(
                ::std::format!("the reference `{}` takes a {}", #name, <#target as __n::Entity>::meta().name),
            )),
        }))
    });
    let object_operand = quote! {
        #[automatically_derived]
        impl __n::q::Operand for #fields_ident {
            type Ty = __n::Single<#ident>;
            fn into_node(self) -> __n::ast::Expr {
                #key_node
            }
        }
    };
    let accessor_type = |set: &super::validate::SetModel<'_>| if set.has_one { quote!(One) } else { quote!(Many) };
    let set_accessors: Vec<TokenStream> = model
        .sets
        .iter()
        .map(|set| {
            let (field, target, accessor) = (set.ident, set.target, accessor_type(set));
            let doc = if set.has_one {
                format!("`{name}.{}`: the object on the other side, loaded when used (see `nextorm::One`).", set.field)
            } else {
                format!("`{name}.{}`: the collection, loaded when used (see `nextorm::Many`).", set.field)
            };
            quote! {
                #[doc = #doc]
                fn #field(&self) -> #private::#accessor<#ident, #target>;
            }
        })
        .collect();
    let set_accessor_impls: Vec<TokenStream> = model
        .sets
        .iter()
        .map(|set| {
            let (field, target, name, accessor) = (set.ident, set.target, &set.field, accessor_type(set));
            quote! {
                fn #field(&self) -> __n::#accessor<#ident, #target> {
                    __n::#accessor::new(::core::clone::Clone::clone(self), #name)
                }
            }
        })
        .collect();
    let width = Literal::usize_unsuffixed(model.columns.len());
    let vis = model.vis;
    let fields_doc = format!("The typed column handles of `{name}` in a query.");

    // Without `#[orm(hooks)]` the entity gets the empty hooks; with it, the user implements them.
    let custom_hooks = model.hooks;
    let hooks_impl = (!model.hooks).then(|| {
        quote! {
            #[automatically_derived]
            impl __n::Hooks for #ident {}
        }
    });
    let obj_trait = quote::format_ident!("{}Obj", model.name);
    let obj_doc = format!(
        "Field accessors of a `{name}` object in a session (`nextorm::Handle<{name}>`): reading a field marks it read, so the optimistic check of a later update covers it; a setter marks the field changed, and the next flush updates only changed fields."
    );
    let accessors: Vec<TokenStream> = model
        .columns
        .iter()
        .map(|c| {
            let (field, ty) = (c.ident, c.ty);
            let setter = quote::format_ident!("set_{}", syn::ext::IdentExt::unraw(field));
            let get_doc = format!("`{name}.{}`, marked read.", c.field);
            let set_doc = format!(
                "Sets `{name}.{}` to anything that converts into its type (`&str` for a `String`, `&handle` for a `Single`); refused once the object is deleted or its session has ended.",
                c.field
            );
            let value_type = setter_value_type(ty);
            let getter = if c.lazy {
                let lazy_doc = format!(
                    "`{name}.{}`, a lazy field, marked read: loaded through `x` (the session, `.await` in the async facade) at its first read, together with the same field of every other `{name}` the session holds without it (`SELECT \"<key>\", \"{}\" FROM ... WHERE <key> IN (...)`); answered without a query once loaded or written.",
                    c.field, c.name
                );
                quote! {
                    #[doc = #lazy_doc]
                    fn #field<X: #private::q::Executor>(&self, x: X) -> <X as #private::q::Executor>::Out<#ty>;
                }
            } else {
                quote! {
                    #[doc = #get_doc]
                    fn #field(&self) -> #ty;
                }
            };
            quote! {
                #getter
                #[doc = #set_doc]
                fn #setter(&self, value: #value_type) -> #private::Result<()>;
            }
        })
        .collect();
    let accessor_impls: Vec<TokenStream> = model
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (field, ty) = (c.ident, c.ty);
            let index = Literal::usize_unsuffixed(i);
            let setter = quote::format_ident!("set_{}", syn::ext::IdentExt::unraw(field));
            // `clone_field` needs only `SqlField` (which implies `Clone`), and every token of the
            // call spans the user's type (as in `column_values`): an unsupported type gets the one
            // `SqlField` error, at its span.
            let clone = call_over_field(ty, quote!(&state.value.), field, "clone_field", quote!());
            let check = &checks[i];
            let value_type = setter_value_type(ty);
            let convert =
                (!is_primitive_value(ty)).then(|| quote!(let value: #ty = ::core::convert::Into::into(value);));
            if c.lazy {
                let clone = call_over_field(ty, quote!(&e.), field, "clone_field", quote!());
                return quote! {
                    fn #field<X: __n::q::Executor>(&self, x: X) -> <X as __n::q::Executor>::Out<#ty> {
                        #check
                        __n::q::lazy_field(x, self, #index, |e: &#ident| #clone)
                    }
                    fn #setter(&self, value: #value_type) -> __n::Result<()> {
                        #convert
                        self.write(#index, move |e| e.#field = value)
                    }
                };
            }
            // A reference returns the object its session left linked, too.
            let read = match &c.reference {
                Some(_) => {
                    let name = &c.field;
                    quote!(__n::followed_reference(self, #index, #name, |e| ::core::clone::Clone::clone(&e.#field)))
                }
                None => quote! {
                    let state = self.read_state(#index);
                    #clone
                },
            };
            quote! {
                #[track_caller]
                fn #field(&self) -> #ty {
                    #check
                    #read
                }
                fn #setter(&self, value: #value_type) -> __n::Result<()> {
                    #convert
                    self.write(#index, move |e| e.#field = value)
                }
            }
        })
        .collect();

    quote! {
        #[doc = #obj_doc]
        #vis trait #obj_trait {
            #(#accessors)*
            #(#set_accessors)*
        }

        const _: () = {
            use #private as __n;

            #[automatically_derived]
            impl #obj_trait for __n::Handle<#ident> {
                #(#accessor_impls)*
                #(#set_accessor_impls)*
            }

            #[doc = #fields_doc]
            #[derive(::core::clone::Clone)]
            #[allow(missing_docs, non_camel_case_types)]
            #vis struct #fields_ident {
                #(#vis #fields: #handle_types,)*
                #(#vis #set_fields: #set_handle_types,)*
            }

            #[automatically_derived]
            impl __n::q::Projection for #fields_ident {
                type Output = #ident;

                fn push_columns(self, out: &mut ::std::vec::Vec<__n::ast::Expr>) {
                    #(out.push(self.#fields.into_node());)*
                }

                fn decode(row: &dyn __n::RowRead, offset: usize) -> __n::Result<#ident> {
                    <#ident as __n::Entity>::from_row_at(row, offset)
                }

                fn width() -> usize {
                    #width
                }

                fn is_entity() -> bool {
                    true
                }

                fn lazy_columns(offset: usize, out: &mut ::std::vec::Vec<usize>) {
                    let _ = (offset, &out);
                    #(out.push(offset + #lazy_indexes);)*
                }
            }

            #object_operand

            #[automatically_derived]
            impl __n::q::Source for #ident {
                type Fields = #fields_ident;

                fn fields(alias: &'static str) -> #fields_ident {
                    #fields_ident {
                        #(#fields: #handle_values,)*
                        #(#set_fields: #set_handle_values,)*
                    }
                }
            }

            static META: __n::EntityMeta = __n::EntityMeta {
                name: #name,
                table: #table,
                renamed_from: #table_renamed_from,
                columns: &[#(#columns),*],
                primary_key: &[#(#primary_key),*],
                composites: &[#(#composites),*],
                relations: &[#(#relations),*],
                checks: &[#(#table_checks),*],
                lazy_columns: &[#(#lazy_indexes),*],
                volatile_columns: &[#(#volatile_indexes),*],
                statements: __n::StatementCache::new(),
            };

            #[automatically_derived]
            impl __n::Attach for #ident {
                type Attached = __n::Handle<#ident>;

                fn attach(self, map: &mut __n::IdentityMap) -> __n::Result<__n::Handle<#ident>> {
                    __n::attach_entity(self, map)
                }
            }

            #[automatically_derived]
            impl __n::Entity for #ident {
                type Key = #key_type;

                const CUSTOM_HOOKS: bool = #custom_hooks;

                fn meta() -> &'static __n::EntityMeta {
                    &META
                }

                fn from_row_at(row: &dyn __n::RowRead, offset: usize) -> __n::Result<Self> {
                    #(#checks)*
                    ::core::result::Result::Ok(Self {
                        #(#fields: #decodes?,)*
                        #(#set_fields: ::core::default::Default::default(),)*
                    })
                }

                fn column_values(&self) -> __n::Result<::std::vec::Vec<__n::Value>> {
                    #(#checks)*
                    ::core::result::Result::Ok(::std::vec![
                        #(#encodes?),*
                    ])
                }

                fn column_value_at(&self, index: usize) -> __n::Result<__n::Value> {
                    #(#checks)*
                    match index {
                        #(#value_at,)*
                        _ => ::core::result::Result::Err(__n::Error::internal("no such column")),
                    }
                }

                fn column_map_key_at(&self, index: usize) -> ::core::option::Option<__n::MapKey> {
                    match index {
                        #(#reference_indexes => __n::ReferenceField::reference_key(&self.#reference_fields),)*
                        _ => self.column_value_at(index).ok().filter(|v| !v.is_null())
                            .map(|v| __n::MapKey::of_one(&v)),
                    }
                }

                fn decode_column(&mut self, index: usize, row: &dyn __n::RowRead, idx: usize) -> __n::Result<()> {
                    #(#checks)*
                    match index {
                        #(#decode_column_arms,)*
                        _ => ::core::result::Result::Err(__n::Error::internal("no such column")),
                    }
                }

                fn referenced_objects(&self, out: &mut ::std::vec::Vec<(usize, usize)>) {
                    let _ = &out;
                    // A `Set` or `HasOne` marker holds nothing; reading it keeps it from counting as unused.
                    #(let _ = &self.#set_fields;)*
                    #(out.extend(__n::ReferenceField::object_addr(&self.#reference_fields).map(|a| (#reference_indexes, a)));)*
                }

                fn clear_reference(&mut self, index: usize) -> __n::Result<()> {
                    match index {
                        #(#clear_arms,)*
                        _ => ::core::result::Result::Err(__n::Error::internal("not an optional reference")),
                    }
                }

                fn set_reference(&mut self, index: usize, target: &dyn ::core::any::Any) -> __n::Result<()> {
                    let _ = &target;
                    match index {
                        #(#set_reference_arms,)*
                        _ => ::core::result::Result::Err(__n::Error::internal("not a reference")),
                    }
                }

                fn key(&self) -> Self::Key {
                    #key_value
                }

                fn key_is_unset(&self) -> bool {
                    #key_is_unset
                }

                #set_generated_key
            }

            #hooks_impl

            #[automatically_derived]
            impl __n::FromRow for #ident {
                fn from_row(row: &dyn __n::RowRead) -> __n::Result<Self> {
                    <Self as __n::Entity>::from_row_at(row, 0)
                }
            }

            #default_impl

            __n::inventory::submit! {
                __n::EntityRegistration(<#ident as __n::Entity>::meta)
            }

            // `serde::Serialize` when nextorm's `serde` feature is on; nothing otherwise, so the
            // user's crate never needs serde for the derive.
            __n::impl_serialize!(#ident);
        };
    }
}
