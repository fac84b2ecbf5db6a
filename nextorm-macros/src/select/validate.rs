//! Validate stage: lowers the parsed generators into the [`Query`] IR the expand stage renders,
//! checking everything that can be checked without a schema. Every problem is recorded in the
//! [`Ctxt`], spanned on the token that causes it; a `Query` is returned only when there was none.
//!
//! The one classification that matters: a sub-expression that mentions no loop variable, no
//! nested generator and none of the query functions (`count(...)`, `sum(...)`, ...) is a Rust
//! value, evaluated once and bound as a parameter. Everything else is translated to calls on the
//! typed query layer, or rejected with a message naming the construct.

use super::parse::{Clause, Generator, Nested, Parsed, is_punct, is_punct_spaced, placeholder_index};
use crate::diag::Ctxt;
use proc_macro2::{Ident, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;
use std::collections::HashSet;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    AngleBracketedGenericArguments, BinOp, Block, Expr, ExprCall, ExprClosure, ExprField, ExprIf, ExprIndex, ExprLit,
    ExprMethodCall, ExprUnary, Lit, LitStr, Pat, PathArguments, RangeLimits, Stmt, UnOp,
};

/// The functions `select!` translates, by name, when called with a bare identifier.
pub(crate) const SPECIAL_CALLS: [&str; 11] =
    ["count", "sum", "avg", "min", "max", "group_concat", "between", "coalesce", "exists", "raw_sql", "desc"];

/// The aggregates, which cannot be nested.
const AGGREGATES: [&str; 6] = ["count", "sum", "avg", "min", "max", "group_concat"];

/// Reported on a closure.
pub(crate) const CLOSURE: &str = "a closure cannot be used inside select!; write the condition directly";
/// Reported on `match`.
pub(crate) const MATCH: &str = "`match` is not supported in select!; use `if ... else ...`";
/// Reported on `for`, `while` and `loop`.
pub(crate) const LOOP: &str = "loops are not supported in select!";
/// Reported on `let` (`if let`, let chains).
pub(crate) const LET: &str = "`let` is not supported in select!";
/// Reported on `=` and the compound assignments.
pub(crate) const ASSIGNMENT: &str = "assignments are not supported in select!";
/// Reported on `as`.
pub(crate) const CAST: &str = "`as` casts are not supported in select!";
/// Reported on `&x` and `&raw const x`.
pub(crate) const REFERENCE: &str = "references are not supported in select!; write `p.x`, not `&p.x`";
/// Reported on `*x`.
pub(crate) const DEREF: &str = "dereferencing (`*`) is not supported in select!";
/// Reported on a macro call that mentions a loop variable.
pub(crate) const MACRO: &str = "a macro call cannot use loop variables inside select!";
/// Reported on `?`.
pub(crate) const TRY: &str = "the `?` operator is not supported in select!";
/// Reported on `.await`.
pub(crate) const AWAIT: &str = "`.await` is not supported in select!";
/// Reported on `async` blocks and closures.
pub(crate) const ASYNC: &str = "async blocks are not supported in select!";
/// Reported on struct literals.
pub(crate) const STRUCT: &str = "struct literals are not supported in select!";
/// Reported on a range that is not a slice index.
pub(crate) const RANGE: &str = "ranges are only supported as a slice index in select!, as in `p.name[0..3]`";
/// Reported on `return`, `break`, `continue`, `yield`.
pub(crate) const CONTROL_FLOW: &str =
    "control flow (`return`, `break`, `continue`, `yield`) is not supported in select!";
/// Reported on array literals.
pub(crate) const ARRAY: &str = "array literals are not supported in select!";
/// Reported on anything else.
pub(crate) const UNSUPPORTED: &str = "this expression is not supported in select!";
/// Reported on `&` between columns.
pub(crate) const BIT_AND: &str = "the `&` operator is not supported in select!; use `&&` for a logical and";
/// Reported on `|` between columns.
pub(crate) const BIT_OR: &str = "the `|` operator is not supported in select!; use `||` for a logical or";
/// Reported on `^`.
pub(crate) const BIT_XOR: &str = "the `^` operator is not supported in select!";
/// Reported on `<<` and `>>`.
pub(crate) const SHIFT: &str = "bit shifts are not supported in select!";
/// Reported on an `if` without `else`.
pub(crate) const IF_WITHOUT_ELSE: &str = "`if` without `else` is not supported in select!; add an `else` branch";
/// Reported on an `if` branch with statements.
pub(crate) const BRANCH: &str = "each branch of an `if` in select! must be a single expression";
/// Reported on an index that is not a range.
pub(crate) const INDEX: &str = "only a range index is supported in select!, as in `p.name[0..3]` or `p.name[2..]`";
/// Reported on `x[..]`.
pub(crate) const FULL_RANGE: &str = "`[..]` selects the whole value; write it without the index";
/// Reported on `x.y` where `x` is not a loop variable or a field of one.
pub(crate) const FIELD_OF_EXPR: &str = "a field can only be read from a loop variable inside select!, as in `p.name`";
/// Reported on a call to a Rust function with loop variables.
pub(crate) const RUST_CALL: &str = "a Rust function cannot take loop variables inside select!; \
     select! understands count, sum, avg, min, max, group_concat, between, coalesce, exists and raw_sql";
/// Reported on `desc(...)`.
pub(crate) const DESC: &str =
    "`desc(...)` orders a query; it cannot be used in a projection or a condition (use it in `.order_by(...)`)";
/// Reported on `exists(...)` without a generator.
pub(crate) const EXISTS: &str = "exists(...) takes a generator, as in `exists(c for c in Course if ...)`";
/// Reported on a generator in any other place.
pub(crate) const MISPLACED_GENERATOR: &str = "a generator can only be the argument of exists, count, sum, avg, \
     min, max, group_concat, .is_in or .not_in";
/// Reported on a `raw_sql` whose first argument is not a string literal.
pub(crate) const RAW_SQL_TEMPLATE: &str =
    "the first argument of raw_sql must be a string literal with a `{}` hole per operand";
/// Reported on the separator of `group_concat`.
pub(crate) const SEPARATOR: &str = "the separator of group_concat must be a string literal, as in `\";\"`";
/// Reported on a type argument to another query function than `raw_sql`.
pub(crate) const TYPE_ARGS: &str = "only raw_sql takes a type argument (`raw_sql::<T>(...)`)";
/// Reported on an `if` clause before the first `for`.
pub(crate) const IF_BEFORE_FOR: &str = "the `if` clause must follow a `for` clause";
/// Reported on any other source that is not a path.
pub(crate) const NOT_AN_ENTITY: &str = "expected an entity type after `in`, such as `Product` or `crate::m::Product`";
/// Reported on a closure passed to `cond!` that is not plain.
pub(crate) const PLAIN_CLOSURE: &str = "cond! takes a plain closure with one parameter: `cond!(|p| <condition>)`";
/// Reported on a `cond!` parameter that is not an identifier or a tuple of them.
pub(crate) const COND_PARAM: &str =
    "the parameter of cond! must be an identifier or a tuple of identifiers, such as `|p|` or `|(p, c)|`";

/// A checked generator, ready to expand.
pub(crate) struct Query {
    /// The nesting depth: 0 for the query of `select!`, 1 for a subquery in it, ...
    pub(crate) level: usize,
    /// The sources and filters, in the order written.
    pub(crate) steps: Vec<Step>,
    /// The loop variables, in order.
    pub(crate) vars: Vec<Ident>,
    /// The projection.
    pub(crate) projection: Node,
    /// The span of the projection as written: a nested generator's value is spanned there, so a
    /// type error about what it projects points at it.
    pub(crate) projection_span: Span,
}

/// A step of a [`Query`].
pub(crate) enum Step {
    /// `for <var> in <entity>` or `for <var> in <collection>`.
    Source {
        /// The loop variable.
        var: Ident,
        /// What it iterates.
        source: Source,
        /// The SQL alias, unique within the macro call.
        alias: String,
    },
    /// `if <condition>`.
    Filter {
        /// The span of `if`.
        if_span: Span,
        /// The condition.
        condition: Node,
    },
}

/// What a loop variable iterates.
pub(crate) enum Source {
    /// An entity type: `for p in Product`.
    Entity(syn::Path),
    /// A `Set` field of an earlier loop variable, or of a field of one: `for o in c.orders`.
    Collection(ExprField),
}

/// A translated expression.
pub(crate) enum Node {
    /// A loop variable: `p` -> `p.clone()`.
    Var(Ident),
    /// A field of a loop variable (or of a field of one): `p.name` -> `p.name.clone()`.
    Field(ExprField),
    /// An integer literal, maybe negated: `q::lit_int(<lit> as i64)`.
    Int(TokenStream),
    /// A float literal, maybe negated: `q::lit_float(<lit> as f64)`.
    Float(TokenStream),
    /// Another literal: `q::val(&<lit>)`.
    Lit(Lit),
    /// A Rust value: `q::val(&(<expr>))`.
    Value(Expr),
    /// A Rust value passed as is: the list of `.is_in(list)` / `.not_in(list)`.
    Plain(Expr),
    /// A string literal passed as is (a separator, a raw SQL template).
    Str(LitStr),
    /// `q::<func>(<args>)`, spanned on `span`.
    Call {
        /// The function in `q`.
        func: &'static str,
        /// The user's token the call is spanned on.
        span: Span,
        /// `::<T>` (for `raw_sql`).
        turbofish: Option<AngleBracketedGenericArguments>,
        /// The arguments.
        args: Vec<Node>,
    },
    /// `<receiver>.<method>(<args>)`.
    Method {
        /// The receiver.
        receiver: Box<Node>,
        /// The method, with the user's span.
        method: Ident,
        /// `::<T>`.
        turbofish: Option<AngleBracketedGenericArguments>,
        /// The arguments.
        args: Vec<Node>,
    },
    /// `(<items>,)`.
    Tuple {
        /// The span of the parentheses.
        span: Span,
        /// The items.
        items: Vec<Node>,
    },
    /// A nested generator.
    Subquery(Box<Query>),
}

impl Node {
    /// `q::<func>(<args>)` spanned on `span`.
    fn call(func: &'static str, span: Span, args: Vec<Node>) -> Node {
        Node::Call { func, span, turbofish: None, args }
    }
}

/// A checked `cond!` closure.
pub(crate) struct Cond {
    /// The closure's parameter, as written.
    pub(crate) param: Pat,
    /// The translated condition.
    pub(crate) body: Node,
}

/// Lowers the parsed `select!` input.
pub(crate) fn validate_select(cx: &Ctxt, parsed: &Parsed<Generator>) -> Option<Query> {
    let root = parsed.root.as_ref()?;
    let mut v = Validator { cx, nested: &parsed.nested, aliases: HashSet::new() };
    v.query(root, &Scope::default(), 0)
}

/// Lowers the parsed `cond!` input.
pub(crate) fn validate_cond(cx: &Ctxt, parsed: &Parsed<ExprClosure>) -> Option<Cond> {
    let closure = parsed.root.as_ref()?;
    let mut v = Validator { cx, nested: &parsed.nested, aliases: HashSet::new() };
    if closure.asyncness.is_some() {
        cx.error_spanned_by(closure.asyncness, ASYNC);
        return None;
    }
    if closure.lifetimes.is_some()
        || closure.constness.is_some()
        || closure.movability.is_some()
        || !matches!(closure.output, syn::ReturnType::Default)
        || closure.inputs.len() != 1
    {
        cx.error_spanned_by(closure, PLAIN_CLOSURE);
        return None;
    }
    let param = &closure.inputs[0];
    let mut vars = Vec::new();
    if !pattern_vars(param, &mut vars) {
        cx.error_spanned_by(param, COND_PARAM);
        return None;
    }
    let mut scope = Scope::default();
    for var in vars {
        let name = var.unraw().to_string();
        v.aliases.insert(name.clone());
        scope.vars.push(name);
    }
    let body = v.node(&closure.body, &scope)?;
    Some(Cond { param: param.clone(), body })
}

/// Collects the identifiers of a `cond!` parameter: `p`, `(p, c)`, `p: &T`. `false` on any other
/// pattern.
fn pattern_vars(pat: &Pat, vars: &mut Vec<Ident>) -> bool {
    match pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.mutability.is_none() && p.subpat.is_none() => {
            vars.push(p.ident.clone());
            true
        }
        Pat::Tuple(t) => t.elems.iter().all(|p| pattern_vars(p, vars)),
        Pat::Type(t) => pattern_vars(&t.pat, vars),
        Pat::Paren(p) => pattern_vars(&p.pat, vars),
        _ => false,
    }
}

/// What is visible while translating an expression.
#[derive(Clone, Default)]
struct Scope {
    /// The loop variables in scope (without `r#`), outer ones first.
    vars: Vec<String>,
    /// The nesting depth of the generator being translated.
    level: usize,
    /// The aggregate whose argument is being translated.
    aggregate: Option<&'static str>,
}

impl Scope {
    /// Whether `ident` names a loop variable in scope.
    fn is_var(&self, ident: &Ident) -> bool {
        let name = ident.unraw().to_string();
        self.vars.contains(&name)
    }
}

/// What an expression's tokens mention.
#[derive(Default, Debug, PartialEq)]
struct Mentions {
    /// A loop variable.
    loop_var: bool,
    /// A call to one of [`SPECIAL_CALLS`].
    special: bool,
    /// A nested generator.
    generator: bool,
}

impl Mentions {
    /// Whether the expression is a plain Rust value.
    fn is_pure(&self) -> bool {
        !(self.loop_var || self.special || self.generator)
    }
}

/// Scans tokens for mentions of loop variables, query functions and nested generators.
///
/// An identifier counts as a variable unless it is a field or method name (after `.`), a path
/// segment (next to `::`), a macro name (before `!`), a struct field name (before a single `:`)
/// or a lifetime. Closure parameters that shadow a loop variable still count: such a closure is
/// rejected anyway.
fn mentions(tokens: TokenStream, vars: &[String], found: &mut Mentions) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tt) in trees.iter().enumerate() {
        match tt {
            TokenTree::Group(g) => mentions(g.stream(), vars, found),
            TokenTree::Ident(ident) => {
                let prev = i.checked_sub(1).map(|j| &trees[j]);
                let prev2 = i.checked_sub(2).map(|j| &trees[j]);
                let next = trees.get(i + 1);
                let next2 = trees.get(i + 2);
                let member = prev.is_some_and(|p| is_punct(p, '.')) && !is_punct_spaced(prev2, '.', Spacing::Joint);
                let after_path_sep =
                    prev.is_some_and(|p| is_punct(p, ':')) && is_punct_spaced(prev2, ':', Spacing::Joint);
                let lifetime = prev.is_some_and(|p| is_punct(p, '\''));
                if member || after_path_sep || lifetime {
                    continue;
                }
                let name = ident.unraw().to_string();
                if placeholder_index(ident).is_some() {
                    found.generator = true;
                    continue;
                }
                let before_path_sep =
                    is_punct_spaced(next, ':', Spacing::Joint) && next2.is_some_and(|t| is_punct(t, ':'));
                let call =
                    matches!(next, Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis);
                if SPECIAL_CALLS.contains(&name.as_str()) && (call || (name == "raw_sql" && before_path_sep)) {
                    found.special = true;
                    continue;
                }
                let macro_name = is_punct_spaced(next, '!', Spacing::Alone);
                let field_name = is_punct_spaced(next, ':', Spacing::Alone);
                if !(before_path_sep || macro_name || field_name) && vars.contains(&name) {
                    found.loop_var = true;
                }
            }
            _ => {}
        }
    }
}

/// A Rust value: literals become `lit_int` / `lit_float` / `val(&lit)`, the rest `val(&(expr))`.
fn value(e: &Expr) -> Node {
    match e {
        Expr::Lit(ExprLit { lit: Lit::Int(_), .. }) => Node::Int(e.to_token_stream()),
        Expr::Lit(ExprLit { lit: Lit::Float(_), .. }) => Node::Float(e.to_token_stream()),
        Expr::Lit(ExprLit { lit, .. }) => Node::Lit(lit.clone()),
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => match &**expr {
            Expr::Lit(ExprLit { lit: Lit::Int(_), .. }) => Node::Int(e.to_token_stream()),
            Expr::Lit(ExprLit { lit: Lit::Float(_), .. }) => Node::Float(e.to_token_stream()),
            _ => Node::Value(e.clone()),
        },
        _ => Node::Value(e.clone()),
    }
}

/// The number of `{}` holes in a raw SQL template (there is no escape: `q::raw_sql` splits the
/// template on every `{}`).
fn holes(template: &str) -> usize {
    template.matches("{}").count()
}

/// The state of one validation: the nested generators and the aliases handed out.
struct Validator<'a> {
    cx: &'a Ctxt,
    nested: &'a [Nested],
    /// The SQL aliases handed out so far.
    aliases: HashSet<String>,
}

impl<'a> Validator<'a> {
    /// Checks one generator.
    fn query(&mut self, g: &Generator, outer: &Scope, level: usize) -> Option<Query> {
        if !g.clauses.iter().any(|c| matches!(c, Clause::For { .. })) {
            // Reported by the parser as a missing generator.
            return None;
        }
        // The loop variables, their aliases reserved first so that they keep their names.
        let mut bound: Vec<(String, String)> = Vec::new();
        for clause in &g.clauses {
            if let Clause::For { var: Some(var), .. } = clause {
                let name = var.unraw().to_string();
                if !bound.iter().any(|(n, _)| *n == name) {
                    let alias = self.alias(var);
                    bound.push((name, alias));
                }
            }
        }
        // The projection sees every loop variable. It comes first in the source, so its errors
        // are reported first.
        let mut all = Scope { vars: outer.vars.clone(), level, aggregate: None };
        all.vars.extend(bound.iter().map(|(n, _)| n.clone()));
        let projection = g.projection.as_ref().and_then(|p| self.node(p, &all));
        // A condition sees the variables bound before it.
        let mut scope = Scope { vars: outer.vars.clone(), level, aggregate: None };
        let mut steps = Vec::new();
        let mut vars: Vec<Ident> = Vec::new();
        let mut ok = true;
        let mut saw_for = false;
        for clause in &g.clauses {
            match clause {
                Clause::For { var, source } => {
                    saw_for = true;
                    let entity = source.as_ref().and_then(|s| self.source(s, &scope));
                    ok &= entity.is_some() && var.is_some();
                    let Some(var) = var else { continue };
                    let name = var.unraw().to_string();
                    if vars.iter().any(|v| v.unraw() == name) {
                        self.cx.error_spanned_by(
                            var,
                            format_args!("the loop variable `{name}` is already bound by an earlier `for`"),
                        );
                        ok = false;
                        continue;
                    }
                    vars.push(var.clone());
                    if let Some(source) = entity {
                        let alias = bound.iter().find(|(n, _)| *n == name).map(|(_, a)| a.clone());
                        let alias = alias.expect("every loop variable has a reserved alias");
                        steps.push(Step::Source { var: var.clone(), source, alias });
                    }
                    scope.vars.push(name);
                }
                Clause::If { if_token, condition } => {
                    if !saw_for {
                        self.cx.error_spanned_by(if_token, IF_BEFORE_FOR);
                        ok = false;
                    }
                    match self.node(condition, &scope) {
                        Some(condition) => steps.push(Step::Filter { if_span: if_token.span, condition }),
                        None => ok = false,
                    }
                }
            }
        }
        if !ok || vars.is_empty() {
            return None;
        }
        let projection_span = g.projection.as_ref().map_or_else(Span::call_site, |p| p.span());
        Some(Query { level, steps, vars, projection: projection?, projection_span })
    }

    /// What a `for` iterates: an entity type, or a collection of a loop variable in scope.
    fn source(&mut self, e: &Expr, scope: &Scope) -> Option<Source> {
        match e {
            Expr::Path(p) if p.qself.is_none() && !p.path.get_ident().is_some_and(|i| scope.is_var(i)) => {
                Some(Source::Entity(p.path.clone()))
            }
            Expr::Group(g) => self.source(&g.expr, scope),
            Expr::Paren(p) => self.source(&p.expr, scope),
            Expr::Field(f) if Self::is_var_chain(&f.base, scope) => Some(Source::Collection(f.clone())),
            _ => {
                self.cx.error_spanned_by(e, NOT_AN_ENTITY);
                None
            }
        }
    }

    /// A SQL alias for `var`: its name, or with `_2`, `_3`... when already taken.
    fn alias(&mut self, var: &Ident) -> String {
        let base = var.unraw().to_string();
        let mut alias = base.clone();
        let mut n = 2;
        while !self.aliases.insert(alias.clone()) {
            alias = format!("{base}_{n}");
            n += 1;
        }
        alias
    }

    /// Whether `e` is a loop variable or a chain of fields on one.
    fn is_var_chain(e: &Expr, scope: &Scope) -> bool {
        match e {
            Expr::Path(p) => p.qself.is_none() && p.path.get_ident().is_some_and(|i| scope.is_var(i)),
            Expr::Field(f) => Self::is_var_chain(&f.base, scope),
            _ => false,
        }
    }

    /// The nested generator `e` stands for.
    fn generator_arg(&self, e: &Expr) -> Option<usize> {
        match e {
            Expr::Path(p) if p.qself.is_none() => {
                p.path.get_ident().and_then(placeholder_index).filter(|i| *i < self.nested.len())
            }
            _ => None,
        }
    }

    /// Checks nested generator `index` as a subquery of the generator `scope` belongs to.
    fn subquery(&mut self, index: usize, scope: &Scope) -> Option<Node> {
        let nested: &'a [Nested] = self.nested;
        let generator = nested[index].generator.as_ref()?;
        let query = self.query(generator, scope, scope.level + 1)?;
        Some(Node::Subquery(Box::new(query)))
    }

    /// Translates every expression, recording the errors of all of them.
    fn nodes<'e>(&mut self, exprs: impl IntoIterator<Item = &'e Expr>, scope: &Scope) -> Option<Vec<Node>> {
        let nodes: Vec<Option<Node>> = exprs.into_iter().map(|e| self.node(e, scope)).collect();
        nodes.into_iter().collect()
    }

    /// Whether `e` is a plain Rust value.
    fn is_pure(&self, e: &Expr, scope: &Scope) -> bool {
        let mut found = Mentions::default();
        mentions(e.to_token_stream(), &scope.vars, &mut found);
        found.is_pure() && !matches!(e, Expr::Closure(_))
    }

    /// Translates one expression.
    fn node(&mut self, e: &Expr, scope: &Scope) -> Option<Node> {
        let mut found = Mentions::default();
        mentions(e.to_token_stream(), &scope.vars, &mut found);
        if found.is_pure() {
            // A closure is never a useful value: it is a misplaced condition.
            if let Expr::Closure(_) = e {
                self.unsupported(e);
                return None;
            }
            return Some(value(e));
        }
        match e {
            Expr::Paren(p) => self.node(&p.expr, scope),
            Expr::Group(g) => self.node(&g.expr, scope),
            Expr::Path(p) => {
                if let Some(ident) = p.path.get_ident().filter(|_| p.qself.is_none()) {
                    if scope.is_var(ident) {
                        return Some(Node::Var(ident.clone()));
                    }
                    if let Some(index) = self.generator_arg(e) {
                        self.cx.error_spanned_by(&self.nested[index].tokens, MISPLACED_GENERATOR);
                        return None;
                    }
                }
                Some(value(e))
            }
            Expr::Field(f) => {
                if Self::is_var_chain(&f.base, scope) {
                    Some(Node::Field(f.clone()))
                } else {
                    // Report what is wrong inside the base first.
                    self.node(&f.base, scope)?;
                    self.cx.error_spanned_by(&f.member, FIELD_OF_EXPR);
                    None
                }
            }
            Expr::Binary(b) => {
                let func = match b.op {
                    BinOp::Eq(_) => Ok("eq"),
                    BinOp::Ne(_) => Ok("ne"),
                    BinOp::Lt(_) => Ok("lt"),
                    BinOp::Le(_) => Ok("le"),
                    BinOp::Gt(_) => Ok("gt"),
                    BinOp::Ge(_) => Ok("ge"),
                    BinOp::And(_) => Ok("and"),
                    BinOp::Or(_) => Ok("or"),
                    BinOp::Add(_) => Ok("add"),
                    BinOp::Sub(_) => Ok("sub"),
                    BinOp::Mul(_) => Ok("mul"),
                    BinOp::Div(_) => Ok("div"),
                    BinOp::Rem(_) => Ok("rem"),
                    BinOp::BitAnd(_) => Err(BIT_AND),
                    BinOp::BitOr(_) => Err(BIT_OR),
                    BinOp::BitXor(_) => Err(BIT_XOR),
                    BinOp::Shl(_) | BinOp::Shr(_) => Err(SHIFT),
                    _ => Err(ASSIGNMENT),
                };
                let func = func.map_err(|message| self.cx.error_spanned_by(b.op, message));
                let operands = self.nodes([&*b.left, &*b.right], scope);
                Some(Node::call(func.ok()?, b.op.span(), operands?))
            }
            Expr::Unary(u) => {
                let (func, span) = match u.op {
                    UnOp::Not(t) => ("not", t.span),
                    UnOp::Neg(t) => ("neg", t.span),
                    UnOp::Deref(t) => {
                        self.cx.error_spanned_by(t, DEREF);
                        return None;
                    }
                    _ => {
                        self.cx.error_spanned_by(e, UNSUPPORTED);
                        return None;
                    }
                };
                let operand = self.node(&u.expr, scope)?;
                Some(Node::call(func, span, vec![operand]))
            }
            Expr::MethodCall(m) => self.method(m, scope),
            Expr::Call(c) => self.call(c, scope),
            Expr::Index(i) => self.index(i, scope),
            Expr::If(i) => self.case(i, scope),
            Expr::Tuple(t) => {
                let items = self.nodes(&t.elems, scope)?;
                Some(Node::Tuple { span: t.paren_token.span.join(), items })
            }
            // A block is Rust code, evaluated as a value even when it names a loop variable.
            Expr::Block(_) | Expr::Unsafe(_) | Expr::Const(_) | Expr::TryBlock(_) | Expr::Lit(_) => Some(value(e)),
            _ => {
                self.unsupported(e);
                None
            }
        }
    }

    /// Records the error for a construct `select!` does not translate.
    fn unsupported(&self, e: &Expr) {
        let message = match e {
            Expr::Closure(c) if c.asyncness.is_some() => ASYNC,
            Expr::Closure(_) => CLOSURE,
            Expr::Match(_) => MATCH,
            Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => LOOP,
            Expr::Let(_) => LET,
            Expr::Assign(_) => ASSIGNMENT,
            Expr::Cast(_) => CAST,
            Expr::Reference(_) | Expr::RawAddr(_) => REFERENCE,
            Expr::Macro(_) => MACRO,
            Expr::Try(_) => TRY,
            Expr::Await(_) => AWAIT,
            Expr::Async(_) => ASYNC,
            Expr::Struct(_) => STRUCT,
            Expr::Range(_) => RANGE,
            Expr::Return(_) | Expr::Break(_) | Expr::Continue(_) | Expr::Yield(_) => CONTROL_FLOW,
            Expr::Array(_) | Expr::Repeat(_) => ARRAY,
            _ => UNSUPPORTED,
        };
        self.cx.error_spanned_by(e, message);
    }

    /// `recv.method(args)`; `.is_in(<generator>)` and `.not_in(<generator>)` take a subquery.
    fn method(&mut self, m: &ExprMethodCall, scope: &Scope) -> Option<Node> {
        let receiver = self.node(&m.receiver, scope);
        let name = m.method.unraw().to_string();
        let takes_subquery = (name == "is_in" || name == "not_in") && m.args.len() == 1;
        let args: Vec<Option<Node>> = m
            .args
            .iter()
            .map(|a| match self.generator_arg(a) {
                Some(index) if takes_subquery => self.subquery(index, scope),
                // A list of values (a `Vec`, an array, a slice) is not one bound value.
                None if takes_subquery && self.is_pure(a, scope) => Some(Node::Plain(a.clone())),
                _ => self.node(a, scope),
            })
            .collect();
        let args: Option<Vec<Node>> = args.into_iter().collect();
        Some(Node::Method {
            receiver: Box::new(receiver?),
            method: m.method.clone(),
            turbofish: m.turbofish.clone(),
            args: args?,
        })
    }

    /// `x[a..b]`, `x[a..]`, `x[..b]`, `x[a..=b]`.
    fn index(&mut self, i: &ExprIndex, scope: &Scope) -> Option<Node> {
        let span = i.bracket_token.span.join();
        let target = self.node(&i.expr, scope);
        let Expr::Range(range) = &*i.index else {
            self.cx.error_spanned_by(&i.index, INDEX);
            return None;
        };
        let start = range.start.as_deref().map(|s| self.node(s, scope));
        let end = range.end.as_deref().map(|e| self.node(e, scope));
        let target = target?;
        let zero = || Node::Int(quote::quote_spanned!(span=> 0));
        match (start, end, range.limits) {
            (None, None, _) => {
                self.cx.error_spanned_by(range, FULL_RANGE);
                None
            }
            (Some(start), None, _) => Some(Node::call("substr_from", span, vec![target, start?])),
            (start, Some(end), RangeLimits::HalfOpen(_)) => {
                let start = start.unwrap_or_else(|| Some(zero()));
                Some(Node::call("substr", span, vec![target, start?, end?]))
            }
            (start, Some(end), RangeLimits::Closed(t)) => {
                let start = start.unwrap_or_else(|| Some(zero()));
                let one = Node::Int(quote::quote_spanned!(span=> 1));
                let end = Node::call("add", t.span(), vec![end?, one]);
                Some(Node::call("substr", span, vec![target, start?, end]))
            }
        }
    }

    /// `if c { a } else { b }` -> `q::case(c, a, b)`; `else if` nests.
    fn case(&mut self, i: &ExprIf, scope: &Scope) -> Option<Node> {
        if let Expr::Let(l) = &*i.cond {
            self.cx.error_spanned_by(l.let_token, LET);
            return None;
        }
        let cond = self.node(&i.cond, scope);
        let then = self.branch(&i.then_branch, scope);
        let otherwise = match &i.else_branch {
            None => {
                self.cx.error_spanned_by(i.if_token, IF_WITHOUT_ELSE);
                None
            }
            Some((_, e)) => match &**e {
                Expr::Block(b) => self.branch(&b.block, scope),
                Expr::If(nested) => self.case(nested, scope),
                other => self.node(other, scope),
            },
        };
        Some(Node::call("case", i.if_token.span, vec![cond?, then?, otherwise?]))
    }

    /// A branch of an `if`: a block holding one expression.
    fn branch(&mut self, block: &Block, scope: &Scope) -> Option<Node> {
        match block.stmts.as_slice() {
            [Stmt::Expr(e, None)] => self.node(e, scope),
            _ => {
                self.cx.error_spanned_by(block, BRANCH);
                None
            }
        }
    }

    /// A call: one of [`SPECIAL_CALLS`], or an error.
    fn call(&mut self, call: &ExprCall, scope: &Scope) -> Option<Node> {
        let special = match &*call.func {
            Expr::Path(p) if p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() == 1 => {
                let segment = &p.path.segments[0];
                let name = segment.ident.unraw().to_string();
                SPECIAL_CALLS.iter().find(|s| **s == name).map(|s| (*s, segment))
            }
            _ => None,
        };
        let Some((name, segment)) = special else {
            match call.args.iter().find_map(|a| self.generator_arg(a)) {
                Some(index) => self.cx.error_spanned_by(&self.nested[index].tokens, MISPLACED_GENERATOR),
                None => self.cx.error_spanned_by(&call.func, RUST_CALL),
            }
            return None;
        };
        let span = segment.ident.span();
        let turbofish = match &segment.arguments {
            PathArguments::None => None,
            PathArguments::AngleBracketed(a) if name == "raw_sql" => Some(a.clone()),
            other => {
                self.cx.error_spanned_by(other, TYPE_ARGS);
                return None;
            }
        };
        let args: Vec<&Expr> = call.args.iter().collect();
        let arity = |cx: &Ctxt, expected: &str| {
            cx.error_spanned_by(call, format_args!("`{name}` takes {expected}"));
            None
        };
        match (name, args.as_slice()) {
            ("desc", _) => {
                self.cx.error_spanned_by(call, DESC);
                None
            }
            ("count", []) => self.aggregate(name, "count", span, call, &[], scope),
            ("count", [arg]) => match self.generator_arg(arg) {
                Some(index) => Some(Node::call("count_rows", span, vec![self.subquery(index, scope)?])),
                None => self.aggregate(name, "count_of", span, call, &[arg], scope),
            },
            ("count", _) => arity(self.cx, "no argument or one"),
            ("sum" | "avg" | "min" | "max", [arg]) => match self.generator_arg(arg) {
                Some(index) => {
                    let func = match name {
                        "sum" => "sum_of",
                        "avg" => "avg_of",
                        "min" => "min_of",
                        _ => "max_of",
                    };
                    Some(Node::call(func, span, vec![self.subquery(index, scope)?]))
                }
                None => self.aggregate(name, name, span, call, &[arg], scope),
            },
            ("sum" | "avg" | "min" | "max", _) => arity(self.cx, "one argument"),
            ("group_concat", [arg]) | ("group_concat", [arg, _]) => {
                let separator = match args.get(1) {
                    None => Some(LitStr::new(",", span)),
                    Some(Expr::Lit(ExprLit { lit: Lit::Str(s), .. })) => Some(s.clone()),
                    Some(other) => {
                        self.cx.error_spanned_by(other, SEPARATOR);
                        None
                    }
                };
                let node = match self.generator_arg(arg) {
                    Some(index) => {
                        self.subquery(index, scope).map(|sub| Node::call("group_concat_of", span, vec![sub]))
                    }
                    None => self.aggregate(name, "group_concat", span, call, &[arg], scope),
                };
                let (separator, mut node) = (separator?, node?);
                if let Node::Call { args, .. } = &mut node {
                    args.push(Node::Str(separator));
                }
                Some(node)
            }
            ("group_concat", _) => arity(self.cx, "one or two arguments"),
            ("between", [_, _, _]) => Some(Node::call("between", span, self.nodes(args.iter().copied(), scope)?)),
            ("between", _) => arity(self.cx, "three arguments: `between(x, low, high)`"),
            ("coalesce", [_, _, ..]) => {
                let mut nodes = self.nodes(args.iter().copied(), scope)?;
                let last = nodes.pop().expect("two or more");
                Some(nodes.into_iter().rev().fold(last, |acc, n| Node::call("coalesce", span, vec![n, acc])))
            }
            ("coalesce", _) => arity(self.cx, "two or more arguments"),
            ("exists", [arg]) => match self.generator_arg(arg) {
                Some(index) => {
                    let sub = self.subquery(index, scope)?;
                    // A projection other than a loop variable is a test per row (Pony tests its truth).
                    let projects_var = matches!(&sub, Node::Subquery(q) if matches!(q.projection, Node::Var(_)));
                    Some(Node::call(if projects_var { "exists" } else { "exists_where" }, span, vec![sub]))
                }
                None => {
                    self.cx.error_spanned_by(call, EXISTS);
                    None
                }
            },
            ("exists", _) => {
                self.cx.error_spanned_by(call, EXISTS);
                None
            }
            ("raw_sql", [Expr::Lit(ExprLit { lit: Lit::Str(template), .. }), operands @ ..]) => {
                let nodes = self.nodes(operands.iter().copied(), scope);
                let expected = holes(&template.value());
                if expected != operands.len() {
                    self.cx.error_spanned_by(
                        template,
                        format_args!(
                            "the raw_sql template has {expected} `{{}}` hole(s) but {} operand(s) follow it",
                            operands.len()
                        ),
                    );
                    return None;
                }
                let tuple = Node::Tuple { span: call.paren_token.span.join(), items: nodes? };
                Some(Node::Call { func: "raw_sql", span, turbofish, args: vec![Node::Str(template.clone()), tuple] })
            }
            ("raw_sql", [other, ..]) => {
                self.cx.error_spanned_by(other, RAW_SQL_TEMPLATE);
                None
            }
            _ => {
                // raw_sql()
                self.cx.error_spanned_by(call, RAW_SQL_TEMPLATE);
                None
            }
        }
    }

    /// An aggregate over the rows of the current query; its argument may not hold another one.
    fn aggregate(
        &mut self,
        name: &'static str,
        func: &'static str,
        span: Span,
        call: &ExprCall,
        args: &[&Expr],
        scope: &Scope,
    ) -> Option<Node> {
        if let Some(outer) = scope.aggregate {
            self.cx.error_spanned_by(
                call,
                format_args!("aggregates cannot be nested: `{name}(...)` inside `{outer}(...)`"),
            );
            return None;
        }
        debug_assert!(AGGREGATES.contains(&name));
        let inner = Scope { aggregate: Some(name), ..scope.clone() };
        let args = self.nodes(args.iter().copied(), &inner)?;
        Some(Node::call(func, span, args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select::parse::parse_select;
    use quote::quote;

    fn scan(tokens: TokenStream, vars: &[&str]) -> Mentions {
        let vars: Vec<String> = vars.iter().map(|v| v.to_string()).collect();
        let mut found = Mentions::default();
        mentions(tokens, &vars, &mut found);
        found
    }

    /// The error messages of a select! input (parse and validate).
    fn errors(input: TokenStream) -> Vec<String> {
        let cx = Ctxt::new();
        let parsed = parse_select(&cx, input);
        let query = validate_select(&cx, &parsed);
        match cx.check() {
            Ok(()) => panic!("expected errors, got a query with {} steps", query.unwrap().steps.len()),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn aliases(input: TokenStream) -> Vec<String> {
        fn walk(q: &Query, out: &mut Vec<String>) {
            for step in &q.steps {
                match step {
                    Step::Source { alias, .. } => out.push(alias.clone()),
                    Step::Filter { condition, .. } => walk_node(condition, out),
                }
            }
            walk_node(&q.projection, out);
        }
        fn walk_node(n: &Node, out: &mut Vec<String>) {
            match n {
                Node::Subquery(q) => walk(q, out),
                Node::Call { args, .. } | Node::Tuple { items: args, .. } => {
                    args.iter().for_each(|a| walk_node(a, out));
                }
                Node::Method { receiver, args, .. } => {
                    walk_node(receiver, out);
                    args.iter().for_each(|a| walk_node(a, out));
                }
                _ => {}
            }
        }
        let cx = Ctxt::new();
        let parsed = parse_select(&cx, input);
        let query = validate_select(&cx, &parsed);
        cx.check().unwrap();
        let mut out = Vec::new();
        walk(&query.unwrap(), &mut out);
        out
    }

    #[test]
    fn mentions_loop_variables_only_as_values() {
        let yes = Mentions { loop_var: true, ..Mentions::default() };
        let no = Mentions::default();
        assert_eq!(scan(quote!(p.name), &["p"]), yes);
        assert_eq!(scan(quote!(f(x, (p))), &["p"]), yes);
        assert_eq!(scan(quote!({ p }), &["p"]), yes);
        assert_eq!(scan(quote!(S { p }), &["p"]), yes);
        assert_eq!(scan(quote!(a..p), &["p"]), yes);
        assert_eq!(scan(quote!(a != p), &["p"]), yes);
        assert_eq!(scan(quote!(r#p), &["p"]), yes);
        assert_eq!(scan(quote!(x.p), &["p"]), no);
        assert_eq!(scan(quote!(x.p()), &["p"]), no);
        assert_eq!(scan(quote!(m::p), &["p"]), no);
        assert_eq!(scan(quote!(p::X), &["p"]), no);
        assert_eq!(scan(quote!(p!(y)), &["p"]), no);
        assert_eq!(scan(quote!(S { p: 1 }), &["p"]), no);
        assert_eq!(scan(quote!('p: loop {}), &["p"]), no);
        assert_eq!(scan(quote!(q.name), &["p"]), no);
    }

    #[test]
    fn mentions_query_functions_and_generators() {
        assert!(scan(quote!(count() > 1), &[]).special);
        assert!(scan(quote!(1 + sum(x)), &[]).special);
        assert!(scan(quote!(raw_sql::<i64>("1", ())), &[]).special);
        assert!(!scan(quote!(a.min(b)), &[]).special);
        assert!(!scan(quote!(std::cmp::max(a, b)), &[]).special);
        assert!(!scan(quote!(count), &[]).special);
        assert!(scan(quote!(exists(__nextorm_generator_0)), &[]).generator);
    }

    #[test]
    fn raw_sql_holes() {
        assert_eq!(holes("abs({}) > {}"), 2);
        assert_eq!(holes("{{}} {}"), 2);
        assert_eq!(holes("none"), 0);
    }

    #[test]
    fn aliases_are_unique_in_the_whole_query() {
        assert_eq!(
            aliases(quote!(
                (p, c) for p in P for c in C
                    if exists(p for p in P if p.x == c.y && exists(p for p in P)) && count(c for c in D) > 1
                    if exists(c_2 for c_2 in E) && exists(p for p in P)
            )),
            ["p", "c", "p_2", "p_3", "c_2", "c_2_2", "p_4"]
        );
        assert_eq!(aliases(quote!(r#type for r#type in T)), ["type"]);
    }

    #[test]
    fn construct_errors() {
        let cases: &[(TokenStream, &str)] = &[
            (quote!(p for p in P if p.tags.iter().any(|t| t == x)), CLOSURE),
            (quote!(p for p in P if p.tags.iter().any(|t| t == p.x)), CLOSURE),
            (quote!(p for p in P if |x| p.a == x), CLOSURE),
            (quote!(p for p in P if match p.a { _ => true }), MATCH),
            (quote!(p for p in P if for t in p.tags {}), LOOP),
            (quote!(p for p in P if while p.a {}), LOOP),
            (quote!(p for p in P if loop { p.a }), LOOP),
            (quote!(p for p in P if if let Some(x) = p.a { x } else { y }), LET),
            (quote!(p for p in P if p.a && let Some(x) = p.b), LET),
            (quote!(p for p in P if p.a = 1), ASSIGNMENT),
            (quote!(p for p in P if p.a += 1), ASSIGNMENT),
            (quote!(p for p in P if p.a as i64 > 1), CAST),
            (quote!(p for p in P if &p.a == x), REFERENCE),
            (quote!(p for p in P if *p.a == x), DEREF),
            (quote!(p for p in P if format!("{}", p.a) == x), MACRO),
            (quote!(p for p in P if p.a? == x), TRY),
            (quote!(p for p in P if p.a.await == x), AWAIT),
            (quote!(p for p in P if async { p.a }), ASYNC),
            (quote!(p for p in P if S { a: p.a } == x), STRUCT),
            (quote!(p for p in P if p.a.is_in(0..p.b)), RANGE),
            (quote!(p for p in P if return p.a), CONTROL_FLOW),
            (quote!(p for p in P if p.a.is_in([p.b, 1])), ARRAY),
            (quote!(p for p in P if p.a & p.b), BIT_AND),
            (quote!(p for p in P if p.a | p.b), BIT_OR),
            (quote!(p for p in P if p.a ^ p.b), BIT_XOR),
            (quote!(p for p in P if p.a << 1), SHIFT),
            (quote!(if p.a { 1 } for p in P), IF_WITHOUT_ELSE),
            (quote!(if p.a { let x = 1; x } else { 2 } for p in P), BRANCH),
            (quote!(p.name[1] for p in P), INDEX),
            (quote!(p.name[..] for p in P), FULL_RANGE),
            (quote!(p.name.len().x for p in P), FIELD_OF_EXPR),
            (quote!(p for p in P if foo(p.a)), RUST_CALL),
            (quote!(p for p in P if m::count(p.a) > 1), RUST_CALL),
            (quote!(p for p in P if desc(p.a)), DESC),
            (quote!(desc(p.a) for p in P), DESC),
            (quote!(p for p in P if exists(p.a)), EXISTS),
            (quote!(p for p in P if f(c for c in C)), MISPLACED_GENERATOR),
            (quote!((c for c in C) for p in P), MISPLACED_GENERATOR),
            (quote!(p for p in P if p.a.contains(c for c in C)), MISPLACED_GENERATOR),
            (quote!(raw_sql(p.a) for p in P), RAW_SQL_TEMPLATE),
            (quote!(raw_sql() for p in P), RAW_SQL_TEMPLATE),
            (quote!(group_concat(p.a, sep) for p in P), SEPARATOR),
            (quote!(sum::<i64>(p.a) for p in P), TYPE_ARGS),
            (quote!(p if p.a for p in P), IF_BEFORE_FOR),
            (quote!(o for c in C for o in c), NOT_AN_ENTITY),
            (quote!(o for o in f()), NOT_AN_ENTITY),
            (quote!(o for o in <T as X>::E), NOT_AN_ENTITY),
        ];
        for (input, expected) in cases {
            assert_eq!(errors(input.clone()), [*expected], "for `{input}`");
        }
    }

    #[test]
    fn arity_and_nesting_errors() {
        assert_eq!(errors(quote!(count(p, p) for p in P)), ["`count` takes no argument or one"]);
        assert_eq!(errors(quote!(sum() for p in P)), ["`sum` takes one argument"]);
        assert_eq!(errors(quote!(group_concat() for p in P)), ["`group_concat` takes one or two arguments"]);
        assert_eq!(
            errors(quote!(p for p in P if between(p.a, 1))),
            ["`between` takes three arguments: `between(x, low, high)`"]
        );
        assert_eq!(errors(quote!(coalesce(p.a) for p in P)), ["`coalesce` takes two or more arguments"]);
        assert_eq!(
            errors(quote!(sum(count()) for p in P)),
            ["aggregates cannot be nested: `count(...)` inside `sum(...)`"]
        );
        assert_eq!(
            errors(quote!(max(p.a + avg(p.b)) for p in P)),
            ["aggregates cannot be nested: `avg(...)` inside `max(...)`"]
        );
        assert_eq!(
            errors(quote!(raw_sql("f({}, {})", p.a) for p in P)),
            ["the raw_sql template has 2 `{}` hole(s) but 1 operand(s) follow it"]
        );
        assert_eq!(
            errors(quote!(p for p for p in P)),
            [crate::select::parse::MISSING_IN, "the loop variable `p` is already bound by an earlier `for`"]
        );
    }

    #[test]
    fn duplicate_loop_variables() {
        assert_eq!(
            errors(quote!(p for p in P for c in C for p in Q)),
            ["the loop variable `p` is already bound by an earlier `for`"]
        );
        // A nested generator may shadow an outer variable.
        assert!(aliases(quote!(p for p in P if exists(p for p in P))).len() == 2);
    }

    #[test]
    fn all_errors_are_reported_together() {
        assert_eq!(
            errors(quote!(
                (p.a as i64, |x| p.a) for p in P for p in Q
                    if match p.a {} && exists(c for c in C if c.x == &p.a) && sum(count()) > 1
            )),
            [
                CAST,
                CLOSURE,
                "the loop variable `p` is already bound by an earlier `for`",
                MATCH,
                REFERENCE,
                "aggregates cannot be nested: `count(...)` inside `sum(...)`",
            ]
        );
    }

    #[test]
    fn aggregates_of_subqueries_are_not_nested() {
        assert_eq!(aliases(quote!(sum(count(c for c in C)) for p in P)), ["p", "c"]);
    }

    #[test]
    fn cond_errors() {
        use crate::select::parse::parse_cond;
        let run = |input: TokenStream| {
            let cx = Ctxt::new();
            let parsed = parse_cond(&cx, input);
            let _ = validate_cond(&cx, &parsed);
            cx.check().err().map(|e| e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(run(quote!(|p| p.a > 1)), None);
        assert_eq!(run(quote!(|(p, c): (A, B)| p.a == c.b)), None);
        assert_eq!(run(quote!(|p, c| p.a > 1)), Some(vec![PLAIN_CLOSURE.to_string()]));
        assert_eq!(run(quote!(|p| -> bool { p.a > 1 })), Some(vec![PLAIN_CLOSURE.to_string()]));
        assert_eq!(run(quote!(async |p| p.a > 1)), Some(vec![ASYNC.to_string()]));
        assert_eq!(run(quote!(|&p| p.a > 1)), Some(vec![COND_PARAM.to_string()]));
        assert_eq!(run(quote!(|Some(p)| p.a > 1)), Some(vec![COND_PARAM.to_string()]));
        assert_eq!(run(quote!(|p| match p.a {})), Some(vec![MATCH.to_string()]));
    }
}
