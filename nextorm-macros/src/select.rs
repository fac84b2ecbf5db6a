//! `select!` and `cond!`: PonyORM's generator queries, translated at compile time into calls on
//! nextorm's typed query layer (`::nextorm::__private::q`). The macros know no schema: rustc checks
//! field names and types against the handles `#[derive(Entity)]` generates.
//!
//! Staged like the derives: [`parse`] (tokens into generators of `syn::Expr`s), [`validate`]
//! (into a small IR, recording every error, each spanned), [`expand`] (cannot fail). When any
//! error was recorded, the macro expands to the `compile_error!`s only.
//!
//! # The expansion contract
//!
//! `select!(<proj> for p in Product for c in Course if <cond>)` expands to
//!
//! ```text
//! {
//!     static __NEXTORM_SITE: q::Site = q::Site::new();
//!     let mut __b = q::Builder::new(&__NEXTORM_SITE);
//!     let p = __b.source::<Product>("p");
//!     let c = __b.source::<Course>("c");
//!     __b.filter(<cond'>);                       // one per `if`, where it was written
//!     __b.finish((p.clone(), c.clone()), <proj'>) // a single variable is not a tuple
//! }
//! ```
//!
//! and a nested generator (a subquery) to
//! `{ let mut __b1 = q::Builder::sub(); let x = __b1.source::<E>("x_2"); ...; __b1.finish(x.clone(), <proj'>) }`
//! (`__b2` one level deeper). SQL aliases are unique in the whole macro call: the first use of a
//! name keeps it, the next ones get `_2`, `_3`...
//!
//! `cond!(|p| <cond>)` expands to `move |p| <cond'>`; every identifier of the parameter pattern
//! (`|p|`, `|(p, c)|`, `|p: &T|`) is a loop variable.
//!
//! Inside `<proj'>` and `<cond'>`, where `q` is `::nextorm::__private::q`:
//!
//! | written | expands to |
//! |---|---|
//! | loop variable `p` | `p.clone()` |
//! | field `p.name`, `p.a.b` | `p.name.clone()`, `p.a.b.clone()` |
//! | integer / float literal | `q::lit_int(<lit> as i64)` / `q::lit_float(<lit> as f64)` (also negated) |
//! | other literal | `q::val(&<lit>)` |
//! | any other Rust value (mentions no loop variable, a block) | `q::val(&(<expr>))` |
//! | `== != < <= > >=` | `q::eq/ne/lt/le/gt/ge(l, r)` |
//! | `&& \|\|` / `+ - * / %` | `q::and/or(l, r)` / `q::add/sub/mul/div/rem(l, r)` |
//! | `!x` / `-x` | `q::not(x)` / `q::neg(x)` |
//! | `x.m::<T>(args)` | `x'.m::<T>(args')` |
//! | `x.is_in(<gen>)`, `x.not_in(<gen>)` | `x'.is_in(<subquery>)`, `x'.not_in(<subquery>)` |
//! | `x.is_in(list)`, `x.not_in(list)` (a Rust value) | `x'.is_in(list)`: the list as written (`&vec`, `[1, 2]`) |
//! | `x[a..b]` / `x[a..]` / `x[..b]` / `x[a..=b]` | `q::substr(x, a, b)` / `q::substr_from(x, a)` / `q::substr(x, q::lit_int(0 as i64), b)` / `q::substr(x, a, q::add(b, q::lit_int(1 as i64)))` |
//! | `if c { a } else { b }` | `q::case(c, a, b)` (`else if` nests) |
//! | `count()` / `count(x)` / `count(<gen>)` | `q::count()` / `q::count_of(x)` / `q::count_rows(<subquery>)` |
//! | `sum avg min max (x)` / `(<gen>)` | `q::sum(x)`... / `q::sum_of(<subquery>)`... |
//! | `group_concat(x)` / `group_concat(x, ";")` | `q::group_concat(x, ",")` / `q::group_concat(x, ";")` (`group_concat_of` for a generator) |
//! | `between(x, a, b)` / `coalesce(a, b, c)` | `q::between(x, a, b)` / `q::coalesce(a, q::coalesce(b, c))` |
//! | `exists(<gen>)` | `q::exists(<subquery>)` |
//! | `raw_sql::<T>("f({}, {})", a, b)` | `q::raw_sql::<T>("f({}, {})", (a', b'))`; a one-operand tuple is `(a',)` |
//! | a tuple | a tuple of the translations |

mod expand;
mod parse;
mod validate;

#[cfg(test)]
mod tests;

use crate::diag::Ctxt;
use proc_macro2::TokenStream;
use quote::quote;

/// `select!` on `proc_macro2` tokens, so unit tests can run it without the compiler.
pub(crate) fn select_inner(input: TokenStream) -> TokenStream {
    into_expression(try_select(input))
}

/// `cond!` on `proc_macro2` tokens.
pub(crate) fn cond_inner(input: TokenStream) -> TokenStream {
    into_expression(try_cond(input))
}

fn try_select(input: TokenStream) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let parsed = parse::parse_select(&cx, input);
    let query = validate::validate_select(&cx, &parsed);
    cx.check()?;
    let query = query.expect("validation returns a query when it recorded no error");
    Ok(expand::expand_select(&query))
}

fn try_cond(input: TokenStream) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let parsed = parse::parse_cond(&cx, input);
    let cond = validate::validate_cond(&cx, &parsed);
    cx.check()?;
    let cond = cond.expect("validation returns a condition when it recorded no error");
    Ok(expand::expand_cond(&cond))
}

/// The expansion, or every `compile_error!` in one block: an expression either way, whose type
/// is an error type when it failed, so no secondary errors follow.
fn into_expression(result: syn::Result<TokenStream>) -> TokenStream {
    match result {
        Ok(tokens) => tokens,
        Err(e) => {
            let errors = e.into_compile_error();
            quote!({ #errors })
        }
    }
}
