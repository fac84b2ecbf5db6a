//! Navigation through `Single` relations in queries: `p.category.name` names the column `name`
//! of the alias `p.category`, and [`link_paths`] adds the join that alias needs.
//!
//! ```text
//! select!(s.name for s in Student if s.group.dept.name == "Physics")
//! SELECT DISTINCT "s"."name" FROM "student" "s"
//!     JOIN "student_group" "s.group" ON "s.group"."number" = "s"."group_number"
//!     JOIN "department" "s.group.dept" ON "s.group.dept"."number" = "s.group"."dept_number"
//!     WHERE "s.group.dept"."name" = ?
//! ```
//!
//! A path that only reads the key of the referenced entity needs no join: `s.group.number` is
//! the foreign-key column `"s"."group_number"`.

use super::builder::{Projection, Source};
use super::expr::{Expr, Operand};
use super::types::null;
use crate::ast::{self, FromItem, Join, Name, Select};
use crate::entity::EntityMeta;
use crate::relation::Single;
use std::marker::PhantomData;
use std::sync::OnceLock;

/// A `Single<T>` field of a loop variable in a query: as an operand it is the foreign key
/// (`o.customer == c` compares keys); its fields (`o.customer.name`) are those of the referenced
/// entity, reached through a join. `N` is [`null::Yes`] for an `Option<Single<T>>`, whose join is
/// a `LEFT JOIN`.
pub struct Nav<T: Source, N = null::No> {
    parent: &'static str,
    field: &'static str,
    fk: &'static str,
    fields: OnceLock<T::Fields>,
    _null: PhantomData<fn() -> N>,
}

impl<T: Source, N> Clone for Nav<T, N> {
    fn clone(&self) -> Self {
        Nav { parent: self.parent, field: self.field, fk: self.fk, fields: self.fields.clone(), _null: PhantomData }
    }
}

impl<T: Source, N> Nav<T, N> {
    /// The relation `field` of the loop variable aliased `parent`, stored in column `fk`. Called
    /// by the derive.
    pub fn new(parent: &'static str, field: &'static str, fk: &'static str) -> Self {
        Nav { parent, field, fk, fields: OnceLock::new(), _null: PhantomData }
    }

    /// The foreign-key column.
    pub fn into_node(self) -> ast::Expr {
        ast::Expr::qualified(self.parent, self.fk)
    }

    /// `self IS NULL`: the optional reference is unset.
    pub fn is_none(self) -> Expr<bool> {
        Expr::from_node(ast::Expr::IsNull { expr: Box::new(self.into_node()), negated: false })
    }

    /// `self IS NOT NULL`.
    pub fn is_some(self) -> Expr<bool> {
        Expr::from_node(ast::Expr::IsNull { expr: Box::new(self.into_node()), negated: true })
    }
}

impl<T: Source, N> std::ops::Deref for Nav<T, N> {
    type Target = T::Fields;

    /// The referenced entity's fields, under the alias `parent.field`.
    fn deref(&self) -> &T::Fields {
        self.fields.get_or_init(|| T::fields(path_alias(self.parent, self.field)))
    }
}

impl<T: Source> Operand for Nav<T, null::No>
where
    T::Key: super::types::SqlType,
{
    type Ty = Single<T>;
    fn into_node(self) -> ast::Expr {
        Nav::into_node(self)
    }
}

impl<T: Source> Operand for Nav<T, null::Yes>
where
    T::Key: super::types::SqlType,
{
    type Ty = Option<Single<T>>;
    fn into_node(self) -> ast::Expr {
        Nav::into_node(self)
    }
}

impl<T: Source, N> Projection for Nav<T, N> {
    type Output = T;

    fn push_columns(self, out: &mut Vec<ast::Expr>) {
        (*self).clone().push_columns(out)
    }

    fn decode(row: &dyn crate::RowRead, offset: usize) -> crate::Result<T> {
        <T::Fields as Projection>::decode(row, offset)
    }

    fn width() -> usize {
        <T::Fields as Projection>::width()
    }

    fn is_entity() -> bool {
        // Several rows may refer to one: not the whole entity of a generator.
        false
    }
}

/// A `&'static str` for a path alias. Aliases come from the program's queries, so there are
/// few distinct ones; each is stored once.
fn intern(alias: String) -> &'static str {
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

/// The alias `parent.field`, formatted once per distinct pair.
fn path_alias(parent: &'static str, field: &'static str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::RwLock;
    type Pairs = RwLock<HashMap<(&'static str, &'static str), &'static str>>;
    static PAIRS: OnceLock<Pairs> = OnceLock::new();
    let pairs = PAIRS.get_or_init(Default::default);
    if let Some(alias) = pairs.read().unwrap_or_else(|p| p.into_inner()).get(&(parent, field)) {
        return alias;
    }
    let alias = intern(format!("{parent}.{field}"));
    pairs.write().unwrap_or_else(|p| p.into_inner()).insert((parent, field), alias);
    alias
}

/// One hop of a path: the join from `parent` to the alias `alias`.
struct Hop {
    alias: String,
    parent: String,
    fk: &'static str,
    target: &'static EntityMeta,
    left: bool,
}

/// The hops of `path` (`s.group.dept`), resolved from the entity its root alias ranges over.
/// `None` when the root is not in `scope` or a hop is not a `Single` relation.
fn hops(path: &str, scope: &[(String, &'static EntityMeta)]) -> Option<Vec<Hop>> {
    let mut parts = path.split('.');
    let root = parts.next()?;
    let mut meta = scope.iter().rev().find(|(a, _)| a == root)?.1;
    let mut alias = root.to_owned();
    let mut left = false;
    let mut out = Vec::new();
    for field in parts {
        let relation = meta.relation(field)?;
        let fk = relation.fk_column()?;
        left |= meta.columns[fk].nullable;
        let target = (relation.target)();
        let next = format!("{alias}.{field}");
        out.push(Hop { alias: next.clone(), parent: alias, fk: meta.columns[fk].name, target, left });
        alias = next;
        meta = target;
    }
    Some(out)
}

fn is_path(table: &Option<Name>) -> Option<&str> {
    table.as_deref().filter(|t| t.contains('.'))
}

/// Rewrites a read of the referenced key (`"s.group"."number"`) into the foreign key
/// (`"s"."group_number"`), then records every path alias `e` still names.
fn visit_paths(e: &mut ast::Expr, scope: &[(String, &'static EntityMeta)], found: &mut Vec<String>) {
    e.visit_mut(&mut |node| {
        if let ast::Expr::Column { table, name } = node
            && let Some(path) = is_path(table)
            && let Some(hop) = hops(path, scope).and_then(|mut h| h.pop())
            && let [key] = hop.target.primary_key
            && hop.target.columns[*key].name == name.as_ref()
        {
            *node = ast::Expr::qualified(hop.parent, hop.fk);
        }
        match node {
            ast::Expr::Column { table, .. } => {
                if let Some(path) = is_path(table)
                    && !found.iter().any(|f| f == path)
                {
                    found.push(path.to_owned());
                }
            }
            ast::Expr::InQuery { query, .. } | ast::Expr::Exists { query, .. } | ast::Expr::Subquery(query) => {
                found.extend(link_in_scope(query, scope));
            }
            _ => {}
        }
    });
}

/// Adds the joins the path aliases of `select` need; returns the paths rooted in an enclosing
/// query, for it to join.
fn link_in_scope(select: &mut Select, outer: &[(String, &'static EntityMeta)]) -> Vec<String> {
    let mut scope = outer.to_vec();
    for item in &select.from {
        if let (Some(alias), None) = (&item.alias, &item.query)
            && let Some(meta) = EntityMeta::by_table(&item.table)
        {
            scope.push((alias.to_string(), meta));
        }
    }
    let mut found = Vec::new();
    // Join conditions are left alone: they name the referenced key on purpose.
    let Select { columns, filter, group_by, having, order_by, .. } = select;
    for e in columns.iter_mut().chain(filter.iter_mut()).chain(group_by.iter_mut()).chain(having.iter_mut()) {
        visit_paths(e, &scope, &mut found);
    }
    for o in order_by.iter_mut() {
        visit_paths(&mut o.expr, &scope, &mut found);
    }
    let own: Vec<String> = select.from.iter().filter_map(|f| f.alias.as_deref().map(str::to_owned)).collect();
    let mut outer_paths = Vec::new();
    for path in found {
        let root = path.split('.').next().unwrap_or_default();
        if !own.iter().any(|a| a == root) {
            outer_paths.push(path);
            continue;
        }
        for hop in hops(&path, &scope).unwrap_or_default() {
            add_join(select, hop);
        }
    }
    outer_paths
}

/// Joins `hop.alias` after its parent (and the joins already made from it), unless present.
fn add_join(select: &mut Select, hop: Hop) {
    if select.from.iter().any(|f| f.alias.as_deref() == Some(hop.alias.as_str())) {
        return;
    }
    let Some(parent) = select.from.iter().position(|f| f.alias.as_deref() == Some(hop.parent.as_str())) else {
        return;
    };
    let mut at = parent + 1;
    while at < select.from.len() && select.from[at].join.is_some() {
        at += 1;
    }
    let [key] = hop.target.primary_key else { return };
    let key = hop.target.columns[*key].name;
    let alias: &'static str = intern(hop.alias);
    let on = ast::Expr::qualified(alias, key).eq(ast::Expr::qualified(intern(hop.parent), hop.fk));
    select.from.insert(
        at,
        FromItem {
            table: hop.target.table.into(),
            alias: Some(alias.into()),
            query: None,
            join: Some(Join { left: hop.left, on }),
        },
    );
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
fn names_a_path(select: &Select) -> bool {
    let exprs = select.columns.iter().chain(&select.filter).chain(&select.group_by).chain(&select.having);
    exprs.chain(select.order_by.iter().map(|o| &o.expr)).any(mentions_path)
}

/// Adds the joins that the navigation paths of `select` need (see the module docs). Safe to run
/// again after more conditions or ordering keys are added.
pub fn link_paths(select: &mut Select) {
    if !names_a_path(select) {
        return;
    }
    // Paths rooted outside a top-level query cannot be joined anywhere: left as they are, the
    // database reports the unknown alias.
    let _ = link_in_scope(select, &[]);
}
