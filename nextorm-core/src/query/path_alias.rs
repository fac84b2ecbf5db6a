//! Path aliases (`s.group`, `c:orders`): made once per distinct path and kept for the
//! program's life, and recognised in expressions, so that a query knows which joins and
//! correlated subqueries it needs.

use crate::ast::{self, Name, Select};
use std::sync::OnceLock;

/// A `&'static str` for a path alias. Aliases come from the program's queries, so there are
/// few distinct ones; each is stored once.
pub(super) fn intern(alias: String) -> &'static str {
    use std::collections::HashSet;
    use std::sync::RwLock;
    static ALIASES: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let aliases = ALIASES.get_or_init(Default::default);
    if let Some(a) = aliases.read().unwrap_or_else(|p| p.into_inner()).get(alias.as_str()) {
        return a;
    }
    let mut set = aliases.write().unwrap_or_else(|p| p.into_inner());
    if let Some(a) = set.get(alias.as_str()) {
        return a;
    }
    let leaked: &'static str = Box::leak(alias.into_boxed_str());
    set.insert(leaked);
    leaked
}

/// The alias `parent.field` (a `Single`) or `parent:field` (a `Set`), formatted once per
/// distinct triple.
pub(super) fn path_alias(parent: &'static str, separator: char, field: &'static str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::RwLock;
    type Triples = RwLock<HashMap<(&'static str, char, &'static str), &'static str>>;
    static TRIPLES: OnceLock<Triples> = OnceLock::new();
    let triples = TRIPLES.get_or_init(Default::default);
    if let Some(alias) = triples.read().unwrap_or_else(|p| p.into_inner()).get(&(parent, separator, field)) {
        return alias;
    }
    let alias = intern(format!("{parent}{separator}{field}"));
    triples.write().unwrap_or_else(|p| p.into_inner()).insert((parent, separator, field), alias);
    alias
}

/// The path alias a column is qualified by, if it is one (the alias of a join table is not).
pub(super) fn is_path(table: &Option<Name>) -> Option<&str> {
    table.as_deref().filter(|t| t.contains(['.', ':']) && !t.ends_with('#'))
}

/// Whether `e` (not counting subqueries) reads the members of a collection by a path.
pub(crate) fn mentions_collection(e: &ast::Expr) -> bool {
    let mut found = false;
    e.visit(&mut |node| {
        if let ast::Expr::Column { table, .. } = node {
            found |= is_path(table).is_some_and(|t| t.contains(':'));
        }
    });
    found
}

/// Whether `e` or a subquery in it names a path alias.
pub(crate) fn mentions_path(e: &ast::Expr) -> bool {
    let mut found = false;
    e.visit(&mut |node| match node {
        ast::Expr::Column { table, .. } => found |= is_path(table).is_some(),
        ast::Expr::InQuery { query, .. } | ast::Expr::Exists { query, .. } | ast::Expr::Subquery(query) => {
            found |= names_a_path(query)
        }
        _ => {}
    });
    found
}

/// Whether any expression of `select` or its subqueries names a path alias: most queries do not,
/// and pay only this walk.
pub(super) fn names_a_path(select: &Select) -> bool {
    let exprs = select.columns.iter().chain(&select.filter).chain(&select.group_by).chain(&select.having);
    exprs.chain(select.order_by.iter().map(|o| &o.expr)).any(mentions_path)
}
