//! One statement, unique aliases. A condition added to a built query
//! (`.filter(cond!(|stud| exists(s for s in Student if stud.name < s.name)))`) builds its nested
//! generators after the query's own aliases were chosen, by another macro call that cannot know
//! them. While such a condition is built, the statement's aliases are in scope, and a loop
//! variable whose alias is taken gets the next free `alias_2`, `alias_3`...: its handles carry
//! the new alias, so every reference follows it, and the outer `"s"` stays the outer row.
//!
//! ```text
//! select!(s for s in Student).filter(cond!(|stud| exists(s for s in Student if stud.name < s.name)))
//! SELECT "s"."id", ... FROM "student" "s"
//!     WHERE EXISTS (SELECT 1 FROM "student" "s_2" WHERE "s"."name" < "s_2"."name")
//! ```
//!
//! Aliases derived from a path (`"g:students"`, `"s.group"`) follow their root's alias; two
//! correlated subqueries over the same path of the same row may each use its alias.

use crate::ast::{self, Select};
use std::cell::RefCell;
use std::collections::HashSet;

/// The aliases of the statement being extended, and how many [`within`] calls are open.
#[derive(Default)]
struct Scope {
    taken: HashSet<String>,
    depth: usize,
}

thread_local! {
    static SCOPE: RefCell<Scope> = RefCell::new(Scope::default());
}

/// Closes one [`within`] level, also when building the condition panics.
struct Level;

impl Drop for Level {
    fn drop(&mut self) {
        SCOPE.with(|s| {
            let mut s = s.borrow_mut();
            s.depth -= 1;
            if s.depth == 0 {
                s.taken.clear();
            }
        });
    }
}

/// Runs `build` with the aliases of `select` (and of every query nested in it) taken, added to
/// those of any enclosing statement being extended.
pub(crate) fn within<T>(select: &Select, build: impl FnOnce() -> T) -> T {
    SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        s.depth += 1;
        collect(select, &mut s.taken);
    });
    let _level = Level;
    build()
}

/// The alias a new loop variable gets: `alias` itself outside [`within`] or when free, else the
/// first free `alias_<n>`. The result is taken from then on.
pub(crate) fn claim(alias: &'static str) -> &'static str {
    SCOPE.with(|s| {
        let mut s = s.borrow_mut();
        if s.depth == 0 {
            return alias;
        }
        if s.taken.insert(alias.to_owned()) {
            return alias;
        }
        let free = (2..).map(|n| format!("{alias}_{n}")).find(|a| !s.taken.contains(a)).unwrap_or_default();
        s.taken.insert(free.clone());
        super::path_alias::intern(free)
    })
}

/// Adds every alias of `select`, its derived tables and its subqueries to `taken`.
fn collect(select: &Select, taken: &mut HashSet<String>) {
    for item in &select.from {
        if let Some(alias) = &item.alias {
            taken.insert(alias.to_string());
        }
        if let Some(query) = &item.query {
            collect(query, taken);
        }
        if let Some(join) = &item.join {
            collect_in(&join.on, taken);
        }
    }
    let exprs = select.columns.iter().chain(&select.filter).chain(&select.group_by).chain(&select.having);
    for e in exprs.chain(select.order_by.iter().map(|o| &o.expr)) {
        collect_in(e, taken);
    }
}

/// Adds the aliases of the subqueries in `e`.
fn collect_in(e: &ast::Expr, taken: &mut HashSet<String>) {
    e.visit(&mut |node| {
        if let ast::Expr::InQuery { query, .. } | ast::Expr::Exists { query, .. } | ast::Expr::Subquery(query) = node {
            collect(query, taken);
        }
    });
}
