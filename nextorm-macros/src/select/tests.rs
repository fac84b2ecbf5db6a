//! End-to-end tests of `select!` and `cond!` on token text: pretty-printed expansions
//! (snapshots in `select/snapshots/`), spans, and the error output.

use super::{cond_inner, select_inner};
use proc_macro2::{Span, TokenStream, TokenTree};
use std::str::FromStr;

/// The expansion as formatted Rust, inside a function so prettyplease accepts it.
fn pretty(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse_quote!(fn expansion() { let _ = #tokens; });
    prettyplease::unparse(&file)
}

/// The pretty-printed expansion of `select!(<input>)`.
fn select(input: &str) -> String {
    pretty(select_inner(TokenStream::from_str(input).unwrap()))
}

/// The pretty-printed expansion of `cond!(<input>)`.
fn cond(input: &str) -> String {
    pretty(cond_inner(TokenStream::from_str(input).unwrap()))
}

/// Every identifier of the expansion named `name`, depth first.
fn idents(tokens: TokenStream, name: &str, out: &mut Vec<Span>) {
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) if i == name => out.push(i.span()),
            TokenTree::Group(g) => idents(g.stream(), name, out),
            _ => {}
        }
    }
}

/// (line, column) of the start of every `name` in the expansion of `input`.
fn positions(input: &str, name: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    idents(select_inner(TokenStream::from_str(input).unwrap()), name, &mut spans);
    spans.into_iter().map(|s| (s.start().line, s.start().column)).collect()
}

#[test]
fn simple_filter() {
    insta::assert_snapshot!(select("p for p in Product if p.price > 10.0 && p.name.starts_with(prefix)"));
}

#[test]
fn joins_tuples_and_aggregates() {
    insta::assert_snapshot!(select(
        "(c.name, count(), sum(o.total * 2), group_concat(o.code), group_concat(o.code, \"; \"))
            for c in crate::shop::Customer for o in Order
            if o.customer == c.id && o.total >= -5 && !o.cancelled
            if count() > min_orders"
    ));
}

#[test]
fn subqueries() {
    insta::assert_snapshot!(select(
        "s.name for s in Student
            if exists(c for c in Course if c.student == s.id && c.credits > min_credits)
            && s.gpa > avg(x.gpa for x in Student if x.group == s.group)
            && s.id.is_in(e.student for e in Enrollment if exists(s for s in Student))
            && count(c for c in Course) >= 2"
    ));
}

#[test]
fn exists_over_a_projected_test() {
    // A projection other than a loop variable is a test per row: `exists_where`.
    let out = select("g for g in Group if exists(s.gpa > 3.5 for s in g.students) && exists(s for s in g.students)");
    assert_eq!(out.matches("q::exists_where(").count(), 1, "{out}");
    assert_eq!(out.matches("q::exists(").count(), 1, "{out}");
}

#[test]
fn values_literals_and_functions() {
    insta::assert_snapshot!(select(
        "(p.name[1..3], p.name[2..], p.name[..4], p.name[0..=n],
          if p.price > 100.0 { \"high\" } else if p.price > 10.0 { \"mid\" } else { \"low\" },
          coalesce(p.nickname, p.name, \"?\"), raw_sql::<i64>(\"abs({}) + {}\", p.stock, 1),
          raw_sql(\"random()\"), between(p.price, lo, hi + 1.0), p.price * -1.5,
          prefix.starts_with(p.name), { p.name }, config.limit + offset(), 'x', true)
        for p in Product if p.name != \"\" && p.id % 2 == 0 && p.id.is_in(&ids) && p.id.not_in([1, 2])"
    ));
}

#[test]
fn cond_closures() {
    insta::assert_snapshot!(cond("|p| p.price > 10.0 && exists(c for c in Course if c.product == p.id)"));
    insta::assert_snapshot!("cond_tuple", cond("|(p, c)| p.id == c.product"));
}

#[test]
fn single_variable_is_not_a_tuple() {
    let out = select("p.name for p in Product");
    assert!(out.contains("__b.finish(p.clone(), p.name.clone())"), "{out}");
    let out = select("(p, c) for p in P for c in C");
    assert!(out.contains("__b.finish((p.clone(), c.clone()), (p.clone(), c.clone()))"), "{out}");
    let out = select("(p.name,) for p in P");
    assert!(out.contains("(p.name.clone(),)"), "{out}");
}

/// (1, column) of the `n`th occurrence (0-based) of `needle` in `input`.
fn at(input: &str, needle: &str, n: usize) -> (usize, usize) {
    (1, input.match_indices(needle).nth(n).expect("needle").0)
}

#[test]
fn spans_point_at_the_users_tokens() {
    let input = "p.nmae for p in Product if p.price == x && p.name.frobnicate(y)";
    // `p.nmae.clone()`: the field and `.clone()` on `nmae`.
    assert_eq!(positions(input, "nmae"), [at(input, "nmae", 0)]);
    assert_eq!(positions(input, "clone").last(), Some(&at(input, "nmae", 0)));
    // The entity path, used as the type argument of `source`, and `source` itself.
    assert_eq!(positions(input, "Product"), [at(input, "Product", 0)]);
    assert_eq!(positions(input, "source"), [at(input, "Product", 0)]);
    // The operators.
    assert_eq!(positions(input, "eq"), [at(input, "==", 0)]);
    assert_eq!(positions(input, "and"), [at(input, "&&", 0)]);
    // The Rust values and the `val`s wrapping them.
    assert_eq!(positions(input, "x"), [at(input, "x", 0)]);
    assert_eq!(positions(input, "val"), [at(input, "x", 0), at(input, "y", 0)]);
    // The method.
    assert_eq!(positions(input, "frobnicate"), [at(input, "frobnicate", 0)]);
    // `filter` on the `if`.
    assert_eq!(positions(input, "filter"), [at(input, "if", 0)]);
}

#[test]
fn builders_are_hygienic() {
    let mut spans = Vec::new();
    idents(select_inner(TokenStream::from_str("p for p in P if exists(c for c in C)").unwrap()), "__b1", &mut spans);
    assert_eq!(spans.len(), 3, "let, source, finish");
    // Not a user's span (mixed_site spans have no location in the fallback implementation).
    assert!(spans.iter().all(|s| s.start() == Span::mixed_site().start()));
}

/// The messages and (line, column) of each `compile_error!` of an expansion.
fn compile_errors(input: &str) -> Vec<(String, (usize, usize))> {
    let out = select_inner(TokenStream::from_str(input).unwrap());
    let Some(TokenTree::Group(block)) = out.into_iter().next() else { panic!("expected a block") };
    let trees: Vec<TokenTree> = block.stream().into_iter().collect();
    let mut errors = Vec::new();
    for (i, tt) in trees.iter().enumerate() {
        if let TokenTree::Ident(id) = tt
            && id == "compile_error"
        {
            let start = id.span().start();
            let Some(TokenTree::Group(args)) = trees.get(i + 2) else { panic!() };
            let message = args.stream().to_string();
            errors.push((message, (start.line, start.column)));
        }
    }
    errors
}

#[test]
fn errors_are_all_reported_in_one_block() {
    let input = "(p.a as i64) for p in P for p in Q if match p.a { _ => 1 } == 1 && desc(p.b)";
    let errors = compile_errors(input);
    let message = |m: &str| format!("{m:?}");
    assert_eq!(
        errors,
        [
            (message(super::validate::CAST), at(input, "p.a as", 0)),
            (message("the loop variable `p` is already bound by an earlier `for`"), at(input, "p in Q", 0)),
            (message(super::validate::MATCH), at(input, "match", 0)),
            (message(super::validate::DESC), at(input, "desc", 0)),
        ]
    );
    let out = select_inner(TokenStream::from_str(input).unwrap()).to_string();
    assert!(!out.contains("Builder"), "{out}");
}

#[test]
fn missing_for_spans_the_whole_input() {
    let errors = compile_errors("p.name if p.x");
    assert_eq!(errors, [(format!("{:?}", super::parse::MISSING_FOR), (1, 0))]);
}
