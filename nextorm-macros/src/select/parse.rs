//! Parse stage of `select!` and `cond!`: tokens into generators whose projection, sources and
//! conditions are `syn::Expr`s.
//!
//! A generator is `<projection> (for <var> in <source> | if <condition>)*`. Its clauses start at
//! the top-level `for` / `if` keywords that follow a complete expression: each piece between them
//! is parsed by syn, which stops at those keywords because they are not operators. That also
//! keeps an `if ... else ...` expression inside a projection or a condition intact.
//!
//! syn cannot parse a generator nested inside a call (`exists(c for c in Course if ...)`), so a
//! first pass pulls every such argument out: a comma-separated argument of a `(...)` group with a
//! top-level `for` that follows an expression is replaced by one placeholder identifier
//! (`__nextorm_generator_<n>`, spanned on the argument's first token), and its tokens are kept
//! in [`Parsed::nested`] at index `n` and parsed as a generator of their own. Blocks (`{...}`)
//! and macro arguments are left alone: they are Rust code.
//!
//! Syntax errors from syn end the parse of the generator they are in; the other problems (an
//! empty projection, a pattern that is not an identifier, a `for` without `in`, an `if` without a
//! condition) are recorded in the [`Ctxt`] and parsing goes on.

use crate::diag::Ctxt;
use proc_macro2::{Delimiter, Group, Ident, Spacing, Span, TokenStream, TokenTree};
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, ExprClosure, Pat, PatIdent, Token};

/// The prefix of the placeholder identifiers that stand for nested generators.
pub(crate) const GENERATOR_PREFIX: &str = "__nextorm_generator_";

/// Reported on the whole input when there is no `for` clause.
pub(crate) const MISSING_FOR: &str = "select! needs a generator: `select!(<projection> for <var> in <Entity> ...)`";
/// Reported on a `for` that comes first.
pub(crate) const EMPTY_PROJECTION: &str =
    "select! needs a projection before `for`, as in `select!(p for p in Product)`";
/// Reported on a loop variable that is not a single identifier.
pub(crate) const NOT_AN_IDENT: &str = "the loop variable must be a single identifier, such as `p`";
/// Reported on a `for` directly followed by `in`.
pub(crate) const MISSING_VAR: &str = "expected a loop variable after `for`: `for <var> in <Entity>`";
/// Reported where `in` should follow the loop variable.
pub(crate) const MISSING_IN: &str = "expected `in` after the loop variable: `for <var> in <Entity>`";
/// Reported on an `in` with nothing after it.
pub(crate) const MISSING_SOURCE: &str = "expected an entity type after `in`, such as `Product`";
/// Reported on an `if` with no condition after it.
pub(crate) const MISSING_CONDITION: &str = "`if` needs a condition after it";
/// Reported on a token that cannot start a clause.
pub(crate) const EXPECTED_CLAUSE: &str = "expected `for`, `if` or the end of the query";
/// Reported when the input of `cond!` is not a closure.
pub(crate) const COND_NEEDS_CLOSURE: &str = "cond! takes a closure: `cond!(|p| p.price > 10.0)`";

/// One generator: `<projection> for <var> in <source> ... if <condition> ...`.
pub(crate) struct Generator {
    /// The projection; `None` when it is missing (already reported).
    pub(crate) projection: Option<Expr>,
    /// The `for` and `if` clauses, in the order written.
    pub(crate) clauses: Vec<Clause>,
}

/// A clause of a generator.
pub(crate) enum Clause {
    /// `for <var> in <source>`.
    For {
        /// The loop variable; `None` when it is not an identifier (already reported).
        var: Option<Ident>,
        /// What it iterates; `None` when missing (already reported).
        source: Option<Expr>,
    },
    /// `if <condition>`.
    If {
        /// The `if` keyword.
        if_token: Token![if],
        /// The condition.
        condition: Expr,
    },
}

/// A generator pulled out of a call's arguments.
pub(crate) struct Nested {
    /// The argument's tokens as the user wrote them, for error spans.
    pub(crate) tokens: TokenStream,
    /// The generator; `None` when it has a syntax error (already reported).
    pub(crate) generator: Option<Generator>,
}

/// A parsed macro input: the root (a generator for `select!`, a closure for `cond!`) and every
/// nested generator, indexed by the number in its placeholder.
pub(crate) struct Parsed<T> {
    /// The root; `None` when it has a syntax error (already reported).
    pub(crate) root: Option<T>,
    /// The nested generators.
    pub(crate) nested: Vec<Nested>,
}

/// Parses the input of `select!`.
pub(crate) fn parse_select(cx: &Ctxt, input: TokenStream) -> Parsed<Generator> {
    let mut pulled = Vec::new();
    let root_tokens = extract(input.clone(), &mut pulled);
    let root = parse_generator(cx, root_tokens);
    if let Some(root) = &root
        && !root.clauses.iter().any(|c| matches!(c, Clause::For { .. }))
    {
        if input.is_empty() {
            cx.error_at(Span::call_site(), MISSING_FOR);
        } else {
            cx.error_spanned_by(&input, MISSING_FOR);
        }
    }
    Parsed { root, nested: parse_nested(cx, pulled) }
}

/// Parses the input of `cond!`: a closure whose body is a condition.
pub(crate) fn parse_cond(cx: &Ctxt, input: TokenStream) -> Parsed<ExprClosure> {
    let mut pulled = Vec::new();
    let tokens = extract(input.clone(), &mut pulled);
    let root = match syn::parse2::<Expr>(tokens) {
        Ok(Expr::Closure(closure)) => Some(closure),
        Ok(_) => {
            cx.error_spanned_by(&input, COND_NEEDS_CLOSURE);
            None
        }
        Err(e) => {
            cx.syn_error(e);
            None
        }
    };
    Parsed { root, nested: parse_nested(cx, pulled) }
}

/// A nested generator's original tokens and its tokens with its own nested generators pulled out.
struct Pulled {
    original: TokenStream,
    extracted: TokenStream,
}

/// Parses each pulled-out generator.
fn parse_nested(cx: &Ctxt, pulled: Vec<Pulled>) -> Vec<Nested> {
    pulled.into_iter().map(|p| Nested { generator: parse_generator(cx, p.extracted), tokens: p.original }).collect()
}

/// Parses one generator, recording a syntax error and returning `None` on failure.
fn parse_generator(cx: &Ctxt, tokens: TokenStream) -> Option<Generator> {
    let parser = |input: ParseStream<'_>| generator(cx, input);
    match parser.parse2(tokens) {
        Ok(generator) => Some(generator),
        Err(e) => {
            cx.syn_error(e);
            None
        }
    }
}

/// `<projection> (for ... | if ...)*`, up to the end of `input`.
fn generator(cx: &Ctxt, input: ParseStream<'_>) -> syn::Result<Generator> {
    let projection = if input.peek(Token![for]) {
        cx.error_at(input.span(), EMPTY_PROJECTION);
        None
    } else if input.is_empty() {
        None
    } else {
        Some(input.parse::<Expr>()?)
    };
    let mut clauses = Vec::new();
    while !input.is_empty() {
        if input.peek(Token![for]) {
            clauses.push(for_clause(cx, input)?);
        } else if input.peek(Token![if]) {
            let if_token: Token![if] = input.parse()?;
            match condition(input)? {
                Some(condition) => clauses.push(Clause::If { if_token, condition }),
                None => cx.error_spanned_by(if_token, MISSING_CONDITION),
            }
        } else {
            cx.error_at(input.span(), EXPECTED_CLAUSE);
            skip_to_clause(input)?;
        }
    }
    Ok(Generator { projection, clauses })
}

/// The condition after an `if`, or `None` when another clause or the end follows directly. A
/// `for` or `if` right after `if` starts a condition only if it is a whole `for` loop (which
/// validation then rejects) or `if` expression.
fn condition(input: ParseStream<'_>) -> syn::Result<Option<Expr>> {
    if input.is_empty() {
        return Ok(None);
    }
    if input.peek(Token![for]) || input.peek(Token![if]) {
        let fork = input.fork();
        return Ok(match fork.parse::<Expr>() {
            Ok(e @ (Expr::ForLoop(_) | Expr::If(_))) => {
                input.advance_to(&fork);
                Some(e)
            }
            _ => None,
        });
    }
    input.parse().map(Some)
}

/// `for <var> in <source>`, recording what is missing and going on.
fn for_clause(cx: &Ctxt, input: ParseStream<'_>) -> syn::Result<Clause> {
    let for_token: Token![for] = input.parse()?;
    let var = if input.peek(Token![in]) {
        cx.error_spanned_by(for_token, MISSING_VAR);
        None
    } else if input.is_empty() {
        cx.error_spanned_by(for_token, MISSING_VAR);
        return Ok(Clause::For { var: None, source: None });
    } else {
        match Pat::parse_single(input)? {
            Pat::Ident(PatIdent { attrs, by_ref: None, mutability: None, ident, subpat: None }) if attrs.is_empty() => {
                Some(ident)
            }
            other => {
                cx.error_spanned_by(other, NOT_AN_IDENT);
                None
            }
        }
    };
    if !input.peek(Token![in]) {
        if input.is_empty() {
            cx.error_spanned_by(for_token, MISSING_IN);
        } else {
            cx.error_at(input.span(), MISSING_IN);
            skip_to_clause(input)?;
        }
        return Ok(Clause::For { var, source: None });
    }
    let in_token: Token![in] = input.parse()?;
    if input.is_empty() || input.peek(Token![for]) || input.peek(Token![if]) {
        cx.error_spanned_by(in_token, MISSING_SOURCE);
        return Ok(Clause::For { var, source: None });
    }
    let source = Expr::parse_without_eager_brace(input)?;
    Ok(Clause::For { var, source: Some(source) })
}

/// Skips tokens up to the next top-level `for` or `if`, or the end.
fn skip_to_clause(input: ParseStream<'_>) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            if matches!(&tt, TokenTree::Ident(i) if i == "for" || i == "if") {
                break;
            }
            rest = next;
        }
        Ok(((), rest))
    })
}

/// Replaces every nested generator in `tokens` (inner ones first) by its placeholder and pushes
/// its tokens to `pulled`.
fn extract(tokens: TokenStream, pulled: &mut Vec<Pulled>) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(trees.len());
    for (i, tt) in trees.iter().enumerate() {
        match tt {
            TokenTree::Group(g) if g.delimiter() != Delimiter::Brace && !(i > 0 && is_punct(&trees[i - 1], '!')) => {
                let inner = if g.delimiter() == Delimiter::Parenthesis {
                    extract_args(g.stream(), pulled)
                } else {
                    extract(g.stream(), pulled)
                };
                let mut group = Group::new(g.delimiter(), inner);
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            other => out.push(other.clone()),
        }
    }
    out.into_iter().collect()
}

/// [`extract`] for the content of a `(...)` group: each comma-separated argument that is a
/// generator becomes a placeholder.
fn extract_args(tokens: TokenStream, pulled: &mut Vec<Pulled>) -> TokenStream {
    let mut out = TokenStream::new();
    let mut arg: Vec<TokenTree> = Vec::new();
    let flush = |arg: &mut Vec<TokenTree>, out: &mut TokenStream, pulled: &mut Vec<Pulled>| {
        if is_generator(arg) {
            let original: TokenStream = arg.iter().cloned().collect();
            let extracted = extract(original.clone(), pulled);
            let placeholder = Ident::new(&format!("{GENERATOR_PREFIX}{}", pulled.len()), arg[0].span());
            pulled.push(Pulled { original, extracted });
            out.extend([TokenTree::Ident(placeholder)]);
        } else {
            out.extend(extract(arg.iter().cloned().collect(), pulled));
        }
        arg.clear();
    };
    for tt in tokens {
        if is_punct(&tt, ',') {
            flush(&mut arg, &mut out, pulled);
            out.extend([tt]);
        } else {
            arg.push(tt);
        }
    }
    flush(&mut arg, &mut out, pulled);
    out
}

/// Whether an argument is a generator: it has a top-level `for` that follows an expression (a
/// `for` first, or after an operator, starts a `for` loop instead).
fn is_generator(arg: &[TokenTree]) -> bool {
    arg.iter()
        .enumerate()
        .skip(1)
        .any(|(i, tt)| matches!(tt, TokenTree::Ident(id) if id == "for") && !matches!(arg[i - 1], TokenTree::Punct(_)))
}

/// Whether `tt` is the punctuation `c`.
pub(crate) fn is_punct(tt: &TokenTree, c: char) -> bool {
    matches!(tt, TokenTree::Punct(p) if p.as_char() == c)
}

/// Whether `tt` is the punctuation `c` with the given spacing.
pub(crate) fn is_punct_spaced(tt: Option<&TokenTree>, c: char, spacing: Spacing) -> bool {
    matches!(tt, Some(TokenTree::Punct(p)) if p.as_char() == c && p.spacing() == spacing)
}

/// The index of the nested generator a placeholder identifier stands for.
pub(crate) fn placeholder_index(ident: &Ident) -> Option<usize> {
    ident.to_string().strip_prefix(GENERATOR_PREFIX)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens, quote};

    /// Parses a select! input; the rendered pieces, or the error messages.
    fn run(input: TokenStream) -> Result<(Generator, Vec<Nested>), Vec<String>> {
        let cx = Ctxt::new();
        let parsed = parse_select(&cx, input);
        match cx.check() {
            Ok(()) => Ok((parsed.root.unwrap(), parsed.nested)),
            Err(e) => Err(e.into_iter().map(|e| e.to_string()).collect()),
        }
    }

    fn errors(input: TokenStream) -> Vec<String> {
        run(input).err().expect("expected errors")
    }

    /// `proj | for p in S | if c | ...`, as token text.
    fn shape(g: &Generator) -> Vec<String> {
        let mut out = vec![g.projection.to_token_stream().to_string()];
        for c in &g.clauses {
            out.push(match c {
                Clause::For { var, source, .. } => {
                    format!("for {} in {}", var.to_token_stream(), source.to_token_stream())
                }
                Clause::If { condition, .. } => format!("if {}", condition.to_token_stream()),
            });
        }
        out
    }

    #[test]
    fn splits_on_top_level_for_and_if() {
        let (g, nested) =
            run(quote!(p.name for p in Product for c in crate::m::Course if p.price > 10 && c.x)).unwrap();
        assert_eq!(
            shape(&g),
            ["p . name", "for p in Product", "for c in crate :: m :: Course", "if p . price > 10 && c . x"]
        );
        assert!(nested.is_empty());
    }

    #[test]
    fn keeps_if_else_and_tuples_intact() {
        let (g, _) = run(quote!(
            (p.name, if p.price > 10 { "high" } else { "low" }) for p in Product
                if p.x == if a { 1 } else { 2 } if p.y
        ))
        .unwrap();
        assert_eq!(
            shape(&g),
            [
                "(p . name , if p . price > 10 { \"high\" } else { \"low\" })",
                "for p in Product",
                "if p . x == if a { 1 } else { 2 }",
                "if p . y",
            ]
        );
        let (g, _) = run(quote!(if p.a { 1 } else { 2 } for p in Product)).unwrap();
        assert_eq!(shape(&g)[0], "if p . a { 1 } else { 2 }");
    }

    #[test]
    fn pulls_nested_generators_out_of_calls() {
        let (g, nested) = run(quote!(
            p for p in Product if exists(c for c in Course if c.p == p.id && p.x.is_in(x.y for x in X))
                && sum(c.credits for c in Course) > f(1, 2) && group_concat(q.n for q in Q, ";") != ""
        ))
        .unwrap();
        assert_eq!(
            shape(&g)[2],
            "if exists (__nextorm_generator_1) && sum (__nextorm_generator_2) > f (1 , 2) \
             && group_concat (__nextorm_generator_3 , \";\") != \"\""
        );
        let texts: Vec<String> = nested.iter().map(|n| n.tokens.to_string()).collect();
        assert_eq!(
            texts,
            [
                "x . y for x in X",
                "c for c in Course if c . p == p . id && p . x . is_in (x . y for x in X)",
                "c . credits for c in Course",
                "q . n for q in Q",
            ]
        );
        let inner = nested[1].generator.as_ref().unwrap();
        assert_eq!(shape(inner)[2], "if c . p == p . id && p . x . is_in (__nextorm_generator_0)");
        assert_eq!(shape(nested[0].generator.as_ref().unwrap()), ["x . y", "for x in X"]);
    }

    #[test]
    fn leaves_loops_blocks_and_macros_alone() {
        let mut pulled = Vec::new();
        let out = extract(
            quote!(f(for x in v {}) && { g(a for b in c) } && m!(a for b in c) && h(|x| for y in z {}, y = for a in b {})),
            &mut pulled,
        );
        assert!(pulled.is_empty());
        assert_eq!(
            out.to_string(),
            "f (for x in v { }) && { g (a for b in c) } && m ! (a for b in c) \
             && h (| x | for y in z { } , y = for a in b { })"
        );
    }

    #[test]
    fn if_expression_as_a_condition() {
        let (g, _) = run(quote!(p for p in P if if p.a { p.b } else { p.c } if p.d)).unwrap();
        assert_eq!(shape(&g)[2..], ["if if p . a { p . b } else { p . c }", "if p . d"]);
        assert_eq!(errors(quote!(p for p in P if if p.a)), [MISSING_CONDITION]);
    }

    #[test]
    fn placeholder_keeps_the_first_token_span_and_index() {
        let (g, _) = run(quote!(p for p in P if exists(c for c in C))).unwrap();
        let Clause::If { condition: Expr::Call(call), .. } = &g.clauses[1] else { panic!() };
        let Expr::Path(path) = &call.args[0] else { panic!() };
        assert_eq!(placeholder_index(path.path.get_ident().unwrap()), Some(0));
    }

    #[test]
    fn for_loop_as_a_condition_is_kept_for_validation() {
        let (g, _) = run(quote!(p for p in P if for t in p.tags {})).unwrap();
        assert!(matches!(&g.clauses[1], Clause::If { condition: Expr::ForLoop(_), .. }));
    }

    #[test]
    fn reports_each_problem() {
        assert_eq!(errors(quote!(p.name)), [MISSING_FOR]);
        assert_eq!(errors(quote!()), [MISSING_FOR]);
        assert_eq!(errors(quote!(p if p.x)), [MISSING_FOR]);
        assert_eq!(errors(quote!(for p in Product)), [EMPTY_PROJECTION]);
        assert_eq!(errors(quote!(p for (a, b) in Product)), [NOT_AN_IDENT]);
        assert_eq!(errors(quote!(p for mut p in Product)), [NOT_AN_IDENT]);
        assert_eq!(errors(quote!(p for _ in Product)), [NOT_AN_IDENT]);
        assert_eq!(errors(quote!(p for in Product)), [MISSING_VAR]);
        assert_eq!(errors(quote!(p for)), [MISSING_VAR]);
        assert_eq!(errors(quote!(p for p Product if p.x)), [MISSING_IN]);
        assert_eq!(errors(quote!(p for p)), [MISSING_IN]);
        assert_eq!(errors(quote!(p for p in)), [MISSING_SOURCE]);
        assert_eq!(errors(quote!(p for p in if p.x)), [MISSING_SOURCE]);
        assert_eq!(errors(quote!(p for p in Product if)), [MISSING_CONDITION]);
        assert_eq!(errors(quote!(p for p in Product if for c in C)), [MISSING_CONDITION]);
        assert_eq!(errors(quote!(p for p in Product, 3)), [EXPECTED_CLAUSE]);
        // Every problem at once, nested ones too.
        assert_eq!(
            errors(quote!(for (a, b) in P if exists(x for in C) && count(c for c D) if)),
            [EMPTY_PROJECTION, NOT_AN_IDENT, MISSING_CONDITION, MISSING_VAR, MISSING_IN]
        );
    }

    #[test]
    fn syntax_errors_come_from_syn() {
        assert_eq!(errors(quote!(p for p in Product if p.x ==)), ["unexpected end of input, expected an expression"]);
    }

    #[test]
    fn cond_takes_a_closure() {
        let cx = Ctxt::new();
        let parsed = parse_cond(&cx, quote!(|p| p.x > 1 && exists(c for c in C if c.p == p.id)));
        cx.check().unwrap();
        assert_eq!(
            parsed.root.unwrap().to_token_stream().to_string(),
            "| p | p . x > 1 && exists (__nextorm_generator_0)"
        );
        let cx = Ctxt::new();
        let _ = parse_cond(&cx, quote!(p.x > 1));
        let e = cx.check().unwrap_err();
        assert_eq!(e.to_string(), COND_NEEDS_CLOSURE);
    }
}
