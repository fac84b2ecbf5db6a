//! Navigation through relations in queries. A `Single` field of a loop variable (`s.group`) is a
//! [`Nav`]: its fields are those of the referenced entity under the alias `s.group`, and
//! [`link_paths`] adds the join that alias needs. A `Set` field (`s.courses`) is a [`Coll`]: its
//! fields are the members' under the alias `s:courses` (attribute lifting, Pony's
//! `s.courses.name`), and it counts, tests emptiness and membership, and is iterated by a nested
//! `for`.
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
//!
//! A collection is reached in the query that mentions it, as a correlated subquery: an
//! aggregate over lifted attributes (`sum(g.students.gpa)`) becomes one when it is built, so a
//! group without students sums to 0 rather than disappearing.
//!
//! ```text
//! select!((g.number, count(g.students), avg(g.students.gpa)) for g in Group)
//! SELECT "g"."number",
//!     (SELECT COUNT(DISTINCT "g:students"."id") FROM "student" "g:students" WHERE "g:students"."group_number" = "g"."number"),
//!     (SELECT AVG("g:students"."gpa") FROM "student" "g:students" WHERE "g:students"."group_number" = "g"."number")
//! FROM "student_group" "g"
//! ```

use super::expr::{Countable, Expr, InList, Operand};
use super::loop_vars::LoopVars;
use super::path_alias::{is_path, names_a_path, path_alias};
use super::source::{Projection, Source};
use super::types::{SqlType, class, null};
use crate::ast::{self, FromItem, Join, Select};
use crate::entity::EntityMeta;
use crate::entity::meta::{RelationKind, RelationMeta};
use crate::entity::relation::{Link, set_link};
use crate::relation_fields::Single;
use crate::relation_sql::all_equal;
use crate::value::Value;
use std::marker::PhantomData;
use std::sync::OnceLock;

/// A `Single<T>` field of a loop variable in a query: as an operand it is the foreign key
/// (`o.customer == c` compares keys); its fields (`o.customer.name`) are those of the referenced
/// entity, reached through a join. `N` is [`null::Yes`] for an `Option<Single<T>>`, whose join is
/// a `LEFT JOIN`.
///
/// A `HasOne<T>` field is a `Nav<T, null::Yes>` too: its fields are reached through
/// `LEFT JOIN "passport" "p.passport" ON "p.passport"."person" = "p"."id"`, and as an operand it
/// is the joined row's key, `NULL` when no row refers to the owner.
pub struct Nav<T: Source, N = null::No> {
    parent: &'static str,
    field: &'static str,
    /// The foreign-key column of the parent; `None` for a `HasOne`, whose key is the joined row's.
    fk: Option<&'static str>,
    _target: PhantomData<fn() -> (T, N)>,
}

impl<T: Source, N> Clone for Nav<T, N> {
    fn clone(&self) -> Self {
        *self
    }
}

/// `Copy`, so that a path reads as in Pony: `o.customer.name`, `.prefetch(|c| c.orders.items)`.
impl<T: Source, N> Copy for Nav<T, N> {}

impl<T: Source, N> Nav<T, N> {
    /// The relation `field` of the loop variable aliased `parent`, stored in column `fk`. Called
    /// by the derive.
    pub fn new(parent: &'static str, field: &'static str, fk: &'static str) -> Self {
        Nav { parent, field, fk: Some(fk), _target: PhantomData }
    }

    /// The `HasOne` field `field` of the loop variable aliased `parent`. Called by the derive.
    pub fn has_one(parent: &'static str, field: &'static str) -> Self {
        Nav { parent, field, fk: None, _target: PhantomData }
    }

    /// The foreign-key column, or for a `HasOne` the key of the row joined under `parent.field`.
    pub fn into_node(self) -> ast::Expr {
        match self.fk {
            Some(fk) => ast::Expr::qualified(self.parent, fk),
            None => match T::meta().primary_key {
                [key] => self.joined(T::meta().columns[*key].name),
                _ => failing(&crate::Error::new(
                    crate::ErrorKind::Unsupported,
                    format!("{} has a composite key: a HasOne compares by a one-column key", T::meta().name),
                )),
            },
        }
    }

    /// `self IS NULL`: the optional reference is unset (for a `HasOne`, no row refers to the
    /// owner).
    pub fn is_none(self) -> Expr<bool> {
        Expr::from_node(ast::Expr::IsNull { expr: Box::new(self.presence_node()), negated: false })
    }

    /// `self IS NOT NULL`.
    pub fn is_some(self) -> Expr<bool> {
        Expr::from_node(ast::Expr::IsNull { expr: Box::new(self.presence_node()), negated: true })
    }

    /// A column that is `NULL` exactly when there is no referenced row.
    fn presence_node(self) -> ast::Expr {
        match (self.fk, T::meta().key_columns().next()) {
            (None, Some(key)) => self.joined(key.name),
            _ => self.into_node(),
        }
    }

    /// Column `column` of the row joined under `parent.field`.
    fn joined(self, column: &'static str) -> ast::Expr {
        ast::Expr::qualified(path_alias(self.parent, '.', self.field), column)
    }
}

impl<T: Source, N> std::ops::Deref for Nav<T, N> {
    type Target = T::Fields;

    /// The referenced entity's fields, under the alias `parent.field`.
    fn deref(&self) -> &T::Fields {
        fields_under::<T>(path_alias(self.parent, '.', self.field))
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
        T::Fields::clone(&self).push_columns(out)
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

    fn lazy_columns(offset: usize, out: &mut Vec<usize>) {
        <T::Fields as Projection>::lazy_columns(offset, out)
    }
}

/// What [`super::Query::prefetch`] takes: a relation of a loop variable (`o.customer`,
/// `c.orders`), several hops deep (`c.orders.items`), or a tuple of them.
pub trait PrefetchPaths {
    /// Adds the alias of each path (`c:orders:items`).
    fn push_paths(self, out: &mut Vec<&'static str>);
}

impl<T: Source, N> PrefetchPaths for Nav<T, N> {
    fn push_paths(self, out: &mut Vec<&'static str>) {
        out.push(path_alias(self.parent, '.', self.field));
    }
}

impl<T: Source> PrefetchPaths for Coll<T> {
    fn push_paths(self, out: &mut Vec<&'static str>) {
        out.push(self.alias());
    }
}

macro_rules! prefetch_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: PrefetchPaths),+> PrefetchPaths for ($($t,)+) {
            fn push_paths(self, out: &mut Vec<&'static str>) {
                $(self.$i.push_paths(out);)+
            }
        }
    };
}
for_tuples_up_to_8!(prefetch_tuple);

/// The fields of `T` under a path alias, built once per entity and alias: a path's handles are
/// plain `Copy` data, and the aliases come from the program's queries, so there are few.
fn fields_under<T: Source>(alias: &'static str) -> &'static T::Fields {
    use std::any::{Any, TypeId};
    use std::collections::HashMap;
    use std::sync::RwLock;
    type Built = RwLock<HashMap<(TypeId, &'static str), &'static (dyn Any + Send + Sync)>>;
    static BUILT: OnceLock<Built> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let key = (TypeId::of::<T>(), alias);
    let found = built.read().unwrap_or_else(|p| p.into_inner()).get(&key).copied();
    let fields = match found {
        Some(fields) => fields,
        None => {
            // Built outside the lock: an entity's fields may build another entity's.
            let fresh: &'static T::Fields = Box::leak(Box::new(T::fields(alias)));
            *built.write().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(fresh)
        }
    };
    match (fields as &dyn Any).downcast_ref::<T::Fields>() {
        Some(fields) => fields,
        None => unreachable!("the cache is keyed by the entity's type"),
    }
}

/// A `Set<T>` field of a loop variable in a query. Its fields are the members' (`c.orders.total`,
/// attribute lifting), meant for aggregates (`sum(c.orders.total)`) and membership
/// (`"x".is_in(s.courses.name)`); it counts (`count(c.orders)`, `c.orders.len()`), tests
/// emptiness and membership, and a nested `for o in c.orders` iterates it.
pub struct Coll<T: Source> {
    parent: &'static str,
    owner: fn() -> &'static EntityMeta,
    field: &'static str,
    _target: PhantomData<fn() -> T>,
}

impl<T: Source> Clone for Coll<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Source> Copy for Coll<T> {}

impl<T: Source> std::ops::Deref for Coll<T> {
    type Target = T::Fields;

    /// The members' fields, under the alias `parent:field`.
    fn deref(&self) -> &T::Fields {
        fields_under::<T>(self.alias())
    }
}

/// A node that fails when the statement runs, for a query built over a relation that cannot be
/// mapped (the mapping check reports it first when the database is opened).
fn failing(e: &crate::Error) -> ast::Expr {
    ast::Expr::Value(Value::Invalid(e.message().to_owned()))
}

impl<T: Source> Coll<T> {
    /// The collection `field` of the loop variable (or path) aliased `parent`, whose entity's
    /// metadata is `owner`. Called by the derive.
    pub fn new(parent: &'static str, owner: fn() -> &'static EntityMeta, field: &'static str) -> Self {
        Coll { parent, owner, field, _target: PhantomData }
    }

    /// The alias of the members when the collection is reached by a path: `parent:field`.
    pub fn alias(&self) -> &'static str {
        path_alias(self.parent, ':', self.field)
    }

    /// The alias of the owner.
    pub fn parent(&self) -> &'static str {
        self.parent
    }

    fn link(&self) -> crate::Result<Link> {
        let owner = (self.owner)();
        let relation = owner
            .relation(self.field)
            .ok_or_else(|| crate::Error::mapping(format!("{} has no relation field `{}`", owner.name, self.field)))?;
        set_link(owner, relation)
    }

    /// The owner's key columns.
    fn owner_key(&self) -> Vec<ast::Expr> {
        (self.owner)().key_columns().map(|k| ast::Expr::qualified(self.parent, k.name)).collect()
    }

    /// The members under `alias`: the `FROM` items and the condition tying them to the owner.
    pub fn members(&self, alias: &str) -> crate::Result<(Vec<FromItem>, ast::Expr)> {
        Ok(self.link()?.members_from(alias, self.owner_key()))
    }

    /// A correlated `SELECT <columns> FROM <members> WHERE <tie>`.
    fn subquery(&self, columns: impl FnOnce(&'static EntityMeta, &str) -> Vec<ast::Expr>) -> crate::Result<Select> {
        let link = self.link()?;
        let alias = self.alias();
        let (from, tie) = link.members_from(alias, self.owner_key());
        Ok(Select { columns: columns(link.target(), alias), from, filter: Some(tie), ..Select::default() })
    }

    /// The correlated `EXISTS` over the pairs of the collection, with `extra` on the members'
    /// key columns.
    fn exists_pair(&self, negated: bool, extra: impl FnOnce(Vec<ast::Expr>) -> Option<ast::Expr>) -> ast::Expr {
        let link = match self.link() {
            Ok(l) => l,
            Err(e) => return failing(&e),
        };
        let (from, tie, keys) = link.pairs_from(self.alias(), self.owner_key());
        let filter = Some(match extra(keys) {
            Some(e) => tie.and(e),
            None => tie,
        });
        let one = ast::Expr::Raw { parts: vec!["1".into()], args: Vec::new() };
        let query = Select { columns: vec![one], from, filter, ..Select::default() };
        ast::Expr::Exists { query: Box::new(query), negated }
    }

    /// The number of members: `count(c.orders)` or `c.orders.len()`, 0 for none.
    ///
    /// ```text
    /// (SELECT COUNT(DISTINCT "c:orders"."id") FROM "order" "c:orders" WHERE "c:orders"."customer" = "c"."id")
    /// ```
    pub fn count(self) -> Expr<i64> {
        Expr::from_node(self.count_node())
    }

    /// The number of members, as [`Coll::count`].
    pub fn len(self) -> Expr<i64> {
        self.count()
    }

    /// Whether the collection has no member: `c.orders.is_empty()` (Pony's `not c.orders`).
    ///
    /// ```text
    /// NOT EXISTS (SELECT 1 FROM "course_student" "c:students#" WHERE "c:students#"."course_name" = "c"."name" AND ...)
    /// ```
    pub fn is_empty(self) -> Expr<bool> {
        Expr::from_node(self.exists_pair(true, |_| None))
    }

    /// Whether `object` (a loop variable, a reference, a bound object) is a member:
    /// `s.courses.contains(c)`, Pony's `c in s.courses`.
    ///
    /// ```text
    /// EXISTS (SELECT 1 FROM "course_student" "s:courses#" WHERE "s:courses#"."student_id" = "s"."id"
    ///     AND "s:courses#"."course_name" = ? AND "s:courses#"."course_semester" = ?)
    /// ```
    pub fn contains<O: Operand>(self, object: O) -> Expr<bool>
    where
        O::Ty: SqlType<Class = class::Object<T>>,
    {
        Expr::from_node(self.membership_of(object.into_node(), false))
    }

    fn membership_of(&self, object: ast::Expr, negated: bool) -> ast::Expr {
        self.exists_pair(negated, |keys| Some(all_equal(keys, key_parts(object))))
    }
}

/// The parts of an object's key: the items of a row (a composite key), or the one expression.
pub(crate) fn key_parts(e: ast::Expr) -> Vec<ast::Expr> {
    match e {
        ast::Expr::Row(items) => items,
        other => vec![other],
    }
}

impl<T: Source> Countable for Coll<T> {
    fn count_node(self) -> ast::Expr {
        let counted = self.subquery(|target, alias| {
            vec![match target.primary_key {
                // A member reached along several paths counts once.
                [key] => ast::Expr::Agg {
                    func: ast::AggFunc::Count,
                    arg: Some(Box::new(ast::Expr::qualified(alias.to_owned(), target.columns[*key].name))),
                    distinct: true,
                },
                _ => ast::Expr::CountStar,
            }]
        });
        match counted {
            Ok(select) => ast::Expr::Subquery(Box::new(select)),
            Err(e) => failing(&e),
        }
    }
}

/// `x.is_in(c.orders)`: whether the object `x` is a member.
impl<T: Source> InList<class::Object<T>> for Coll<T> {
    fn membership(self, expr: ast::Expr, negated: bool) -> ast::Expr {
        self.membership_of(expr, negated)
    }
}

/// One hop of a path: from the alias `parent` through `relation` to the alias `alias`.
struct Hop {
    alias: String,
    parent: String,
    owner: &'static EntityMeta,
    relation: &'static RelationMeta,
    target: &'static EntityMeta,
    /// Whether a `Single` hop or one before it is optional (a `LEFT JOIN`).
    left: bool,
}

impl Hop {
    fn is_collection(&self) -> bool {
        self.relation.kind == RelationKind::Set
    }

    /// For a `Single` hop, the foreign-key column of the parent.
    fn fk(&self) -> Option<&'static str> {
        self.relation.fk_column().map(|c| self.owner.columns[c].name)
    }
}

/// The hops of `path` (`s.group.dept`, `d:groups:students`), resolved from the entity its root
/// alias ranges over. `None` when the root is not in `scope` or a field is not a relation.
fn hops(path: &str, scope: &LoopVars) -> Option<Vec<Hop>> {
    let ends: Vec<usize> = path.match_indices(['.', ':']).map(|(i, _)| i).chain([path.len()]).collect();
    let root = &path[..ends[0]];
    let mut meta = scope.entity(root)?;
    let mut left = false;
    let mut out = Vec::new();
    for pair in ends.windows(2) {
        let (start, end) = (pair[0], pair[1]);
        let relation = meta.relation(&path[start + 1..end])?;
        let target = match relation.kind {
            RelationKind::Single { column } => {
                left |= meta.columns[column].nullable;
                (relation.target)()
            }
            RelationKind::HasOne => {
                // The other side may have no row.
                left = true;
                (relation.target)()
            }
            RelationKind::Set => set_link(meta, relation).ok()?.target(),
        };
        out.push(Hop {
            alias: path[..end].to_owned(),
            parent: path[..start].to_owned(),
            owner: meta,
            relation,
            target,
            left,
        });
        meta = target;
    }
    Some(out)
}

/// Rewrites a read of the referenced key (`"s.group"."number"`) into the foreign key
/// (`"s"."group_number"`), then records every path alias `e` still names.
fn visit_paths(e: &mut ast::Expr, scope: &LoopVars, found: &mut Vec<String>) {
    e.visit_mut(&mut |node| {
        if let ast::Expr::Column { table, name } = node
            && let Some(path) = is_path(table)
            && let Some(hop) = hops(path, scope).and_then(|mut h| h.pop())
            && let Some(fk) = hop.fk()
            && let [key] = hop.target.primary_key
            && hop.target.columns[*key].name == name.as_ref()
        {
            *node = ast::Expr::qualified(hop.parent, fk);
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
                // A nested query's own aliases name its rows: its builder linked the paths rooted
                // in them, and resolving them through the enclosing query's loop variables of the
                // same name would be wrong.
                let outer = scope.without(|alias| query.from.iter().any(|f| f.alias.as_deref() == Some(alias)));
                found.extend(link_in_scope(query, &outer));
            }
            _ => {}
        }
    });
}

/// Adds the joins the path aliases of `select` need, resolving their roots through `scope`;
/// returns the paths rooted in an enclosing query, for it to join. A path through a collection
/// is reached here, whatever its root: the collection's rows belong to this query.
fn link_in_scope(select: &mut Select, scope: &LoopVars) -> Vec<String> {
    let mut found = Vec::new();
    // Join conditions are left alone: they name the referenced key on purpose.
    let Select { columns, filter, group_by, having, order_by, .. } = select;
    for e in columns.iter_mut().chain(filter.iter_mut()).chain(group_by.iter_mut()).chain(having.iter_mut()) {
        visit_paths(e, scope, &mut found);
    }
    for o in order_by.iter_mut() {
        visit_paths(&mut o.expr, scope, &mut found);
    }
    let own: Vec<String> = select.from.iter().filter_map(|f| f.alias.as_deref().map(str::to_owned)).collect();
    let mut outer_paths = Vec::new();
    for path in found {
        let root = path.split(['.', ':']).next().unwrap_or_default();
        let is_own = own.iter().any(|a| a == root);
        let Some(hops) = hops(&path, scope) else {
            if !is_own {
                outer_paths.push(path);
            }
            continue;
        };
        if !is_own && !hops.iter().any(Hop::is_collection) {
            outer_paths.push(path);
            continue;
        }
        for hop in hops {
            add_hop(select, hop);
        }
    }
    outer_paths
}

/// Brings `hop.alias` into `select`: joined after its parent (and the joins already made from
/// it) when the parent is there, otherwise (the parent belongs to an enclosing query) as plain
/// items tied to the parent in `WHERE`. Nothing when present.
fn add_hop(select: &mut Select, hop: Hop) {
    if select.from.iter().any(|f| f.alias.as_deref() == Some(hop.alias.as_str())) {
        return;
    }
    let (mut items, tie) = match hop.fk() {
        Some(fk) => {
            let [key] = hop.target.primary_key else { return };
            let key = ast::Expr::qualified(hop.alias.clone(), hop.target.columns[*key].name);
            let item = FromItem {
                table: hop.target.table.into(),
                alias: Some(hop.alias.clone().into()),
                query: None,
                join: None,
            };
            (vec![item], key.eq(ast::Expr::qualified(hop.parent.clone(), fk)))
        }
        None => {
            let Ok(link) = set_link(hop.owner, hop.relation) else { return };
            let owner_key = hop.owner.key_columns().map(|k| ast::Expr::qualified(hop.parent.clone(), k.name)).collect();
            link.members_from(&hop.alias, owner_key)
        }
    };
    match select.from.iter().position(|f| f.alias.as_deref() == Some(hop.parent.as_str())) {
        Some(parent) => {
            if hop.is_collection() && select.group_by.is_empty() && !select.columns.iter().any(ast::Expr::has_aggregate)
            {
                // Each member is a row: the parent's row repeats.
                select.distinct = true;
            }
            items[0].join = Some(Join { left: hop.left && !hop.is_collection(), on: tie });
            let mut at = parent + 1;
            while at < select.from.len() && select.from[at].join.is_some() {
                at += 1;
            }
            for (i, item) in items.into_iter().enumerate() {
                select.from.insert(at + i, item);
            }
        }
        None => {
            select.from.extend(items);
            select.filter = Some(match select.filter.take() {
                Some(f) => f.and(tie),
                None => tie,
            });
        }
    }
}

/// Adds the joins that the navigation paths of `select` need (see the module docs), resolving
/// them from `vars`, the loop variables of the query that built `select`. Safe to run again
/// after more conditions or ordering keys are added.
pub(crate) fn link_paths(select: &mut Select, vars: &LoopVars) {
    if !names_a_path(select) {
        return;
    }
    // Paths rooted outside a top-level query cannot be joined anywhere: left as they are, the
    // database reports the unknown alias.
    let _ = link_in_scope(select, vars);
}
