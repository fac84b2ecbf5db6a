//! Expand stage: renders a validated [`Query`] (or [`Cond`]) into calls on
//! `::nextorm::__private::q`. Nothing here can fail.
//!
//! Every call is spanned on the user's token it comes from (the operator, the method or function
//! name, the field, the entity path, the Rust value), so rustc reports a type error or an unknown
//! name there. The builders and the call-site static are `mixed_site` names, invisible to the
//! user's expressions.

use super::validate::{Cond, Node, Query, Source, Step};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;

/// `::nextorm::__private::q`, spanned on `span`.
fn q(span: Span) -> TokenStream {
    quote_spanned!(span=> ::nextorm::__private::q)
}

/// The builder of the generator at nesting depth `level`: `__b`, `__b1`, `__b2`...
fn builder(level: usize) -> Ident {
    let name = if level == 0 { "__b".to_owned() } else { format!("__b{level}") };
    Ident::new(&name, Span::mixed_site())
}

/// The block a `select!` expands to.
pub(crate) fn expand_select(query: &Query) -> TokenStream {
    let site = Ident::new("__NEXTORM_SITE", Span::mixed_site());
    let b = builder(0);
    let q = q(Span::call_site());
    let body = body(query);
    let query = Ident::new("__nextorm_query", Span::mixed_site());
    // Paths are `Copy` (`o.customer`); the `.clone()` every field gets is spanned on the user's
    // token, so clippy would report it there.
    quote! {{
        #[allow(clippy::clone_on_copy)]
        let #query = {
            static #site: #q::Site = #q::Site::new();
            let mut #b = #q::Builder::new(&#site);
            #body
        };
        #query
    }}
}

/// The closure a `cond!` expands to.
pub(crate) fn expand_cond(cond: &Cond) -> TokenStream {
    let param = &cond.param;
    let body = node(&cond.body);
    let condition = Ident::new("__nextorm_condition", Span::mixed_site());
    quote! {
        move |#param| {
            #[allow(clippy::clone_on_copy)]
            let #condition = #body;
            #condition
        }
    }
}

/// The statements binding the sources and adding the filters, then the `finish` call.
fn body(query: &Query) -> TokenStream {
    let b = builder(query.level);
    let steps = query.steps.iter().map(|step| match step {
        Step::Source { var, source, alias } => {
            let mut alias = Literal::string(alias);
            alias.set_span(var.span());
            match source {
                Source::Entity(entity) => quote_spanned!(entity.span()=> let #var = #b.source::<#entity>(#alias);),
                Source::Collection(field) => {
                    quote_spanned!(field.member.span()=> let #var = #b.source_in(#field.clone(), #alias);)
                }
            }
        }
        Step::Filter { if_span, condition } => {
            let condition = node(condition);
            quote_spanned!(*if_span=> #b.filter(#condition);)
        }
    });
    let vars = query.vars.iter().map(|v| quote_spanned!(v.span()=> #v.clone()));
    let vars = if query.vars.len() == 1 { quote!(#(#vars)*) } else { quote!((#(#vars),*)) };
    let projection = node(&query.projection);
    quote! {
        #(#steps)*
        #b.finish(#vars, #projection)
    }
}

/// One translated expression.
fn node(n: &Node) -> TokenStream {
    match n {
        Node::Var(v) => quote_spanned!(v.span()=> #v.clone()),
        Node::Field(f) => quote_spanned!(f.member.span()=> #f.clone()),
        Node::Int(lit) => {
            let q = q(lit.span());
            // The cast makes any integer literal an i64; the `let` carries the allow, since a
            // cast of an unsuffixed literal trips clippy in the user's crate.
            quote_spanned!(lit.span()=> #q::lit_int({
                #[allow(clippy::unnecessary_cast)]
                let v = #lit as i64;
                v
            }))
        }
        Node::Float(lit) => {
            let q = q(lit.span());
            quote_spanned!(lit.span()=> #q::lit_float({
                #[allow(clippy::unnecessary_cast)]
                let v = #lit as f64;
                v
            }))
        }
        Node::Lit(lit) => {
            let q = q(lit.span());
            quote_spanned!(lit.span()=> #q::val(&#lit))
        }
        Node::Value(e) => {
            let q = q(e.span());
            quote_spanned!(e.span()=> #q::val(&(#e)))
        }
        Node::Plain(e) => e.to_token_stream(),
        Node::Str(s) => s.to_token_stream(),
        Node::Call { func, span, turbofish, args } => {
            let q = q(*span);
            let func = Ident::new(func, *span);
            let args = args.iter().map(node);
            quote_spanned!(*span=> #q::#func #turbofish (#(#args),*))
        }
        Node::Method { receiver, method, turbofish, args } => {
            let receiver = node(receiver);
            let args = args.iter().map(node);
            quote_spanned!(method.span()=> #receiver.#method #turbofish (#(#args),*))
        }
        Node::Tuple { span, items } => {
            let single = items.len() == 1;
            let items = items.iter().map(node);
            if single { quote_spanned!(*span=> (#(#items)*,)) } else { quote_spanned!(*span=> (#(#items),*)) }
        }
        Node::Subquery(query) => {
            let b = builder(query.level);
            let q = q(Span::call_site());
            let body = body(query);
            quote_spanned!(query.projection_span=> {
                let mut #b = #q::Builder::sub();
                #body
            })
        }
    }
}
