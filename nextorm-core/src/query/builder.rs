//! Queries: what `select!` builds, the per-call-site SQL cache, and the terminals that run a
//! query through any [`Executor`] (a blocking or an async database, a transaction).

use super::executor::{Executor, all_rows};
use super::expr::{Condition, Expr, OrderKeys, is_decimal};
use super::loop_vars::LoopVars;
use super::paths::{PrefetchPaths, link_paths};
use super::source::{Projection, Source};
use super::statement::Stmt;
use super::types::{Numeric, SqlType};
use crate::ast::{self, FromItem, Lock, Name};
use crate::dialect::Dialect;
use crate::entity::{Entity, Key};
use crate::error::{Error, ErrorKind, Result};
use crate::render::{ShapeHasher, render_select};
use crate::session::prefetch::PrefetchPath;
use crate::session::{Attach, SessionEntity};
use crate::value::{FromSql, RowRead, Value, decode_column};
use std::sync::{Arc, RwLock};

/// The SQL cache of one `select!` call site: the text rendered once per dialect and query shape.
pub struct Site {
    entries: RwLock<Vec<(Dialect, u64, Arc<str>)>>,
}

/// Shapes kept per site; a site whose shape keeps changing (lists of many lengths) stops caching.
const SITE_CAPACITY: usize = 32;

impl Site {
    /// An empty cache, for the `static` that `select!` emits.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Site {
        Site { entries: RwLock::new(Vec::new()) }
    }

    fn get(&self, dialect: Dialect, shape: u64) -> Option<Arc<str>> {
        let entries = self.entries.read().unwrap_or_else(|p| p.into_inner());
        entries.iter().find(|(d, s, _)| *d == dialect && *s == shape).map(|(_, _, t)| t.clone())
    }

    fn put(&self, dialect: Dialect, shape: u64, text: Arc<str>) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() < SITE_CAPACITY {
            entries.push((dialect, shape, text));
        }
    }

    /// Cached texts, for tests and diagnostics.
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Collects the generators and the condition of a `select!`, then fixes the projection.
pub struct Builder {
    site: Option<&'static Site>,
    from: Vec<FromItem>,
    conditions: Vec<ast::Expr>,
    vars: LoopVars,
}

impl Builder {
    /// A builder for a top-level `select!`, caching its SQL in `site`.
    pub fn new(site: &'static Site) -> Builder {
        Builder {
            site: Some(site),
            from: Vec::with_capacity(1),
            conditions: Vec::with_capacity(1),
            vars: LoopVars::default(),
        }
    }

    /// A builder for a nested generator (a subquery).
    pub fn sub() -> Builder {
        Builder { site: None, from: Vec::new(), conditions: Vec::new(), vars: LoopVars::default() }
    }

    /// Adds `for alias in E` and returns the handles of that occurrence. While a condition is
    /// added to a built query, an alias the query already uses is replaced by a free one
    /// (`s_2`; see `query/aliases.rs`).
    pub fn source<E: Source>(&mut self, alias: &'static str) -> E::Fields {
        let alias = super::aliases::claim(alias);
        let meta = E::meta();
        self.from.push(FromItem { table: meta.table.into(), alias: Some(alias.into()), query: None, join: None });
        self.vars.add(alias, meta);
        E::fields(alias)
    }

    /// Adds `for alias in <collection>` (`for o in c.orders`): the members of a `Set` of an
    /// earlier loop variable (joined to it) or of an enclosing query's (tied to it in `WHERE`).
    ///
    /// ```text
    /// select!(o.total for c in Customer for o in c.orders)
    /// SELECT DISTINCT "o"."total" FROM "customer" "c" JOIN "order" "o" ON "o"."customer" = "c"."id"
    /// ```
    pub fn source_in<T: Source>(&mut self, collection: super::Coll<T>, alias: &'static str) -> T::Fields {
        let alias = super::aliases::claim(alias);
        let joined = self.from.iter().any(|f| f.alias.as_deref() == Some(collection.parent()));
        self.add_members(collection.members(alias), joined);
        self.vars.add(alias, T::meta());
        T::fields(alias)
    }

    /// Adds `for alias in <the collection relation of the owner with this key>`: what
    /// `Many::query` ranges over.
    pub fn members<T: Source>(
        &mut self,
        owner: &'static crate::entity::EntityMeta,
        relation: &'static crate::entity::meta::RelationMeta,
        owner_key: Result<Vec<Value>>,
        alias: &'static str,
    ) -> T::Fields {
        let alias = super::aliases::claim(alias);
        let members = owner_key.and_then(|key| {
            let link = crate::entity::relation::set_link(owner, relation)?;
            Ok(link.members_from(alias, key.into_iter().map(ast::Expr::Value).collect()))
        });
        self.add_members(members, false);
        self.vars.add(alias, T::meta());
        T::fields(alias)
    }

    fn add_members(&mut self, members: Result<(Vec<FromItem>, ast::Expr)>, joined: bool) {
        match members {
            Ok((mut items, tie)) => {
                if joined {
                    items[0].join = Some(ast::Join { left: false, on: tie });
                } else {
                    self.conditions.push(tie);
                }
                self.from.extend(items);
            }
            Err(e) => self.conditions.push(ast::Expr::Value(Value::Invalid(e.message().to_owned()))),
        }
    }

    /// Adds the `if` condition.
    pub fn filter<C: Condition>(&mut self, condition: C) {
        self.conditions.push(condition.into_node());
    }

    /// Fixes the projection: the query returns one `P::Output` per row. Aggregates group by the
    /// other projected expressions and move conditions on them to `HAVING`; `DISTINCT` is added
    /// where duplicates are possible (anything but one whole entity of one generator).
    pub fn finish<V, P: Projection>(self, vars: V, projection: P) -> Query<P::Output, V> {
        let mut columns = Vec::with_capacity(P::width());
        projection.push_columns(&mut columns);
        let mut lazy = Vec::new();
        P::lazy_columns(0, &mut lazy);
        let aggregated = columns.iter().any(ast::Expr::has_aggregate);
        let group_by =
            if aggregated { columns.iter().filter(|c| !c.has_aggregate()).cloned().collect() } else { Vec::new() };
        let mut query = Query {
            select: ast::Select {
                distinct: !aggregated && (!P::is_entity() || self.from.len() > 1),
                columns,
                from: self.from,
                group_by,
                ..ast::Select::default()
            },
            vars,
            loop_vars: self.vars,
            site: self.site,
            decode: P::decode,
            explicit_distinct: None,
            prefetch: Vec::new(),
            lazy,
        };
        for c in self.conditions {
            query.add_condition(c);
        }
        link_paths(&mut query.select, &query.loop_vars);
        query
    }
}

/// A query returning rows of `R`, ranging over the loop variables `V`. Lazy: nothing runs until a
/// terminal (`fetch_all`, `count`, ...) is given an executor.
pub struct Query<R, V = ()> {
    select: ast::Select,
    vars: V,
    /// The entity each loop variable ranges over, for resolving navigation and prefetch paths.
    loop_vars: LoopVars,
    site: Option<&'static Site>,
    decode: fn(&dyn RowRead, usize) -> Result<R>,
    explicit_distinct: Option<bool>,
    /// The relations to load with the rows (see [`Query::prefetch`]); a path that does not name
    /// relations is kept as its error, reported when the query runs.
    prefetch: Vec<std::result::Result<PrefetchPath, String>>,
    /// The positions in the projection of the entities' `lazy` columns, left out (`NULL`) when
    /// a session runs the query (see [`Executor::leaves_lazy_columns_out`]).
    lazy: Vec<usize>,
}

impl<R, V: Clone> Clone for Query<R, V> {
    fn clone(&self) -> Self {
        Query {
            select: self.select.clone(),
            vars: self.vars.clone(),
            loop_vars: self.loop_vars.clone(),
            site: self.site,
            decode: self.decode,
            explicit_distinct: self.explicit_distinct,
            prefetch: self.prefetch.clone(),
            lazy: self.lazy.clone(),
        }
    }
}

fn exactly_one<T>(mut rows: Vec<T>) -> Result<T> {
    match rows.len() {
        1 => Ok(rows.remove(0)),
        0 => Err(Error::new(ErrorKind::NotFound, "the query returned no row")),
        n => Err(Error::new(ErrorKind::SeveralFound, format!("the query returned {n} rows, expected one"))),
    }
}

fn at_most_one<T>(mut rows: Vec<T>) -> Result<Option<T>> {
    match rows.len() {
        0 => Ok(None),
        1 => Ok(Some(rows.remove(0))),
        n => Err(Error::new(ErrorKind::SeveralFound, format!("the query returned {n} rows, expected at most one"))),
    }
}

fn first_row<T>(mut rows: Vec<T>) -> Result<Option<T>> {
    Ok(if rows.is_empty() { None } else { Some(rows.swap_remove(0)) })
}

fn any_row(rows: Vec<i64>) -> Result<bool> {
    Ok(!rows.is_empty())
}

fn decode_first<T: FromSql>(row: &dyn RowRead, _offset: usize) -> Result<T> {
    decode_column(row, 0)
}

impl<R, V> Query<R, V> {
    fn add_condition(&mut self, c: ast::Expr) {
        fn and_into(slot: &mut Option<ast::Expr>, c: ast::Expr) {
            *slot = Some(match slot.take() {
                Some(prev) => prev.and(c),
                None => c,
            });
        }
        if !c.has_aggregate() {
            return and_into(&mut self.select.filter, c);
        }
        for conjunct in c.conjuncts() {
            let slot = if conjunct.has_aggregate() { &mut self.select.having } else { &mut self.select.filter };
            and_into(slot, conjunct);
        }
    }
}

impl<R: Send + 'static, V: Clone> Query<R, V> {
    /// Adds a condition on the loop variables: `.filter(|p| p.price.lt(20))`, or with the macro
    /// form `.filter(cond!(|p| p.price < 20))`. Conditions on aggregates go to `HAVING`. The loop
    /// variables of generators in the condition get aliases the query does not use yet.
    pub fn filter<C: Condition>(mut self, f: impl FnOnce(V) -> C) -> Self {
        let c = super::aliases::within(&self.select, || f(self.vars.clone()).into_node());
        let navigates = super::path_alias::mentions_path(&c);
        self.add_condition(c);
        if navigates {
            link_paths(&mut self.select, &self.loop_vars);
        }
        self
    }

    /// Adds ordering keys: `.order_by(|p| (desc(p.price), p.id))`, also by aggregates
    /// (`desc(count())`). Keys of successive calls follow each other. NULLs sort first ascending
    /// on every dialect.
    ///
    /// Ordering by an expression outside the projection drops the automatic `DISTINCT` (an
    /// explicit `.distinct()` stays), since which duplicate's key would order the row is
    /// undefined; PostgreSQL refuses such a query outright.
    pub fn order_by<K: OrderKeys>(mut self, f: impl FnOnce(V) -> K) -> Self {
        let first_new = self.select.order_by.len();
        let keys = super::aliases::within(&self.select, || f(self.vars.clone()));
        keys.push_keys(&mut self.select.order_by);
        if self.select.order_by[first_new..].iter().any(|o| super::path_alias::mentions_path(&o.expr)) {
            link_paths(&mut self.select, &self.loop_vars);
        }
        self.settle_distinct();
        self
    }

    fn settle_distinct(&mut self) {
        let s = &mut self.select;
        // A decimal key is marked for SQLite's collation; it is projected when its value is.
        fn key(o: &ast::OrderItem) -> &ast::Expr {
            match &o.expr {
                ast::Expr::DecimalKey(inner) => inner,
                other => other,
            }
        }
        if s.distinct && self.explicit_distinct.is_none() && s.order_by.iter().any(|o| !s.columns.contains(key(o))) {
            s.distinct = false;
        }
    }

    /// At most `n` rows (a bound `LIMIT`).
    pub fn limit(mut self, n: u64) -> Self {
        self.select.limit = Some(ast::Expr::Value(Value::Int(i64::try_from(n).unwrap_or(i64::MAX))));
        self
    }

    /// Skips `n` rows (a bound `OFFSET`).
    pub fn offset(mut self, n: u64) -> Self {
        self.select.offset = Some(ast::Expr::Value(Value::Int(i64::try_from(n).unwrap_or(i64::MAX))));
        self
    }

    /// Page `n` (1-based) of `size` rows: Pony's `page(n, pagesize)`.
    pub fn page(self, n: u64, size: u64) -> Self {
        let n = n.max(1);
        self.limit(size).offset((n - 1).saturating_mul(size))
    }

    /// `SELECT DISTINCT`, whatever the projection.
    pub fn distinct(mut self) -> Self {
        self.select.distinct = true;
        self.explicit_distinct = Some(true);
        self
    }

    /// No `DISTINCT`, even where nextorm would add it: duplicates are kept.
    pub fn without_distinct(mut self) -> Self {
        self.select.distinct = false;
        self.explicit_distinct = Some(false);
        self
    }

    /// `FOR UPDATE`: lock the rows until the transaction ends. In a session it opens the
    /// session's transaction before the `SELECT`, so the lock lasts until the commit; SQLite
    /// renders no clause, and the session's `BEGIN IMMEDIATE` takes its database-wide write lock.
    pub fn for_update(mut self) -> Self {
        self.select.lock = Some(Lock::Wait);
        self
    }

    /// `FOR UPDATE NOWAIT`: fail at once on a locked row (in a session, opening its transaction
    /// first, as [`Query::for_update`] does).
    pub fn for_update_nowait(mut self) -> Self {
        self.select.lock = Some(Lock::NoWait);
        self
    }

    /// `FOR UPDATE SKIP LOCKED`: leave locked rows out (in a session, opening its transaction
    /// first, as [`Query::for_update`] does).
    pub fn for_update_skip_locked(mut self) -> Self {
        self.select.lock = Some(Lock::SkipLocked);
        self
    }

    /// `n` random rows (`ORDER BY RANDOM() LIMIT n`).
    pub fn random(mut self, n: u64) -> Self {
        self.select.order_by = vec![ast::OrderItem {
            expr: ast::Expr::Func { func: ast::Func::Random, args: Vec::new() },
            desc: false,
            nullable: false,
        }];
        self.settle_distinct();
        self.limit(n)
    }

    /// The SQL and binds for `dialect`, as they would be sent.
    ///
    /// ```text
    /// select!(p.name for p in Product if p.price < 20).sql(Dialect::Postgres)
    ///   SELECT DISTINCT "p"."name" FROM "product" "p" WHERE "p"."price" < $1   binds: [Int(20)]
    /// ```
    pub fn sql(&self, dialect: Dialect) -> crate::render::Sql {
        render_select(&self.select, dialect)
    }

    /// The statement for `dialect`: from the site's cache when this shape was rendered before,
    /// else rendered (and cached).
    pub fn statement(&self, dialect: Dialect) -> Stmt {
        statement(self.site, &self.select, dialect)
    }

    fn run_with<X: Executor, Row: Send + 'static, T: Send + 'static>(
        &self,
        x: X,
        select: &ast::Select,
        decode: fn(&dyn RowRead, usize) -> Result<Row>,
        finish: fn(Vec<Row>) -> Result<T>,
    ) -> X::Out<T> {
        x.fetch(statement(self.site, select, x.dialect()), decode, finish)
    }
}

impl<R: Attach, V: Clone> Query<R, V> {
    fn objects_with<X: Executor, T: Send + 'static>(
        &self,
        x: X,
        select: &ast::Select,
        finish: fn(Vec<X::Obj<R>>) -> Result<T>,
    ) -> X::Out<T> {
        let leaving_lazy;
        let select = match self.leaving_lazy(x, select) {
            Some(s) => {
                leaving_lazy = s;
                &leaving_lazy
            }
            None => select,
        };
        let stmt = statement(self.site, select, x.dialect());
        if self.prefetch.is_empty() {
            return x.fetch_objects(stmt, self.decode, finish);
        }
        match self.prefetch.iter().cloned().collect::<std::result::Result<Vec<_>, String>>() {
            Ok(paths) => x.fetch_prefetched(stmt, self.decode, paths, finish),
            Err(why) => x.fail(Error::config(why)),
        }
    }

    /// Loads these relations of the rows' objects too, a query per relation and level, so that
    /// reading them costs no query, in the session and after it ([`crate::Single::loaded`],
    /// [`crate::Many::loaded`]); PonyORM's `prefetch`. Several levels: `|c| c.orders.items`;
    /// several paths: a tuple, or another call. A session only.
    ///
    /// ```text
    /// select!(c for c in Customer).prefetch(|c| c.orders.items)
    /// SELECT "c"."id", "c"."name" FROM "customer" "c"
    /// SELECT "order"."id", ... FROM "order" WHERE "customer" IN (?, ?, ?)
    /// SELECT "item"."id", ... FROM "item" WHERE "order" IN (?, ?, ?, ?)
    /// ```
    pub fn prefetch<P: PrefetchPaths>(mut self, paths: impl FnOnce(V) -> P) -> Self {
        let mut aliases = Vec::new();
        paths(self.vars.clone()).push_paths(&mut aliases);
        for alias in aliases {
            let root = alias.split(['.', ':']).next().unwrap_or_default();
            let path = match self.loop_vars.entity(root) {
                Some(entity) => PrefetchPath::parse(entity, alias).map_err(|e| e.message().to_owned()),
                None => Err(format!("prefetch: `{root}` is not a loop variable of this query")),
            };
            self.prefetch.push(path);
        }
        self
    }

    /// Every row. In a session an entity row is the session's object (`Handle<E>`).
    pub fn fetch_all<X: Executor>(&self, x: X) -> X::Out<Vec<X::Obj<R>>> {
        self.objects_with(x, &self.select, all_rows)
    }

    /// A row stream: hands each row to `each` as the database delivers it, without collecting the
    /// result; an error from `each` stops the query.
    ///
    /// ```text
    /// select!(p for p in Product).for_each(&db, |p| { total += p.price; Ok(()) })?;
    /// ```
    pub fn for_each<'f, X: Executor + 'f, F: FnMut(X::Obj<R>) -> Result<()> + Send + 'f>(
        &self,
        x: X,
        each: F,
    ) -> X::Each<'f> {
        if !self.prefetch.is_empty() {
            return x.fail_each(Error::config(
                "for_each hands out each row as it arrives, before anything could be prefetched: use fetch_all",
            ));
        }
        let select = self.leaving_lazy(x, &self.select);
        x.for_each(statement(self.site, select.as_ref().unwrap_or(&self.select), x.dialect()), self.decode, each)
    }

    /// `select` with the entities' `lazy` columns as `NULL`, when `x` is a session and the
    /// projection has any: a session loads them when they are first read.
    ///
    /// ```text
    /// SELECT "a"."id", "a"."title", NULL FROM "article" "a"
    /// ```
    fn leaving_lazy<X: Executor>(&self, x: X, select: &ast::Select) -> Option<ast::Select> {
        // `SELECT DISTINCT` must show what it is ordered by (PostgreSQL): such a query reads the
        // columns, and the session still treats them as not loaded.
        if self.lazy.is_empty() || !x.leaves_lazy_columns_out() || (select.distinct && !select.order_by.is_empty()) {
            return None;
        }
        let mut select = select.clone();
        for &i in &self.lazy {
            if let Some(column) = select.columns.get_mut(i) {
                *column = ast::Expr::Raw { parts: vec![ast::Name::from("NULL")], args: Vec::new() };
            }
        }
        Some(select)
    }

    /// Exactly one row: [`ErrorKind::NotFound`] for none, [`ErrorKind::SeveralFound`] for more.
    pub fn fetch_one<X: Executor>(&self, x: X) -> X::Out<X::Obj<R>> {
        self.objects_with(x, &self.select, exactly_one)
    }

    /// At most one row: `None` for none, [`ErrorKind::SeveralFound`] for more (Pony's `get`).
    pub fn fetch_optional<X: Executor>(&self, x: X) -> X::Out<Option<X::Obj<R>>> {
        self.objects_with(x, &self.select, at_most_one)
    }

    /// The first row in the query's order, if any (`LIMIT 1`).
    pub fn first<X: Executor>(&self, x: X) -> X::Out<Option<X::Obj<R>>> {
        let mut select = self.select.clone();
        select.limit = Some(ast::Expr::Value(Value::Int(1)));
        self.objects_with(x, &select, first_row)
    }
}

impl<R: Send + 'static, V: Clone> Query<R, V> {
    /// The number of rows the query returns.
    ///
    /// ```text
    /// SELECT COUNT(*) FROM "product" "p" WHERE ...                      -- plain
    /// SELECT COUNT(*) FROM (SELECT DISTINCT ... ) "q"                   -- distinct, grouped or paged
    /// ```
    pub fn count<X: Executor>(&self, x: X) -> X::Out<i64> {
        let s = &self.select;
        let select = if s.distinct || !s.group_by.is_empty() || s.limit.is_some() || s.offset.is_some() {
            let mut inner = s.clone();
            inner.order_by.clear();
            ast::Select {
                columns: vec![ast::Expr::CountStar],
                from: vec![FromItem {
                    table: "".into(),
                    alias: Some("q".into()),
                    query: Some(Box::new(inner)),
                    join: None,
                }],
                ..ast::Select::default()
            }
        } else {
            ast::Select {
                columns: vec![ast::Expr::CountStar],
                order_by: Vec::new(),
                lock: None,
                distinct: false,
                ..s.clone()
            }
        };
        self.run_with(x, &select, decode_first::<i64>, exactly_one)
    }

    /// Whether the query returns any row (`SELECT 1 ... LIMIT 1`).
    pub fn exists<X: Executor>(&self, x: X) -> X::Out<bool> {
        let mut select = self.select.clone();
        select.columns = vec![ast::Expr::Raw { parts: vec!["1".into()], args: Vec::new() }];
        select.distinct = false;
        select.order_by.clear();
        select.limit = Some(ast::Expr::Value(Value::Int(1)));
        self.run_with(x, &select, decode_first::<i64>, any_row)
    }

    /// The query with its one projected expression wrapped in an aggregate. The automatic
    /// `DISTINCT` of an attribute projection does not apply (Pony's `sum(x for x in ...)` sums
    /// every row); an explicit `.distinct()` does.
    fn aggregate_select(&self, wrap: impl FnOnce(ast::Expr, bool) -> ast::Expr) -> Result<ast::Select> {
        let s = &self.select;
        if s.columns.len() != 1 || !s.group_by.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "sum/avg/min/max need a query projecting one ungrouped expression",
            ));
        }
        let mut select = s.clone();
        let column = select.columns.remove(0);
        let distinct = self.explicit_distinct == Some(true);
        select.columns = vec![wrap(column, distinct)];
        select.distinct = false;
        select.order_by.clear();
        Ok(select)
    }

    fn aggregate<X: Executor, T: FromSql + Send + 'static>(&self, x: X, func: ast::AggFunc) -> X::Out<T>
    where
        R: SqlType,
    {
        let decimal = is_decimal::<R>();
        match self.aggregate_select(|c, distinct| {
            ast::Expr::Agg { func, arg: Some(Box::new(c)), distinct }.decimal_if(decimal)
        }) {
            Ok(select) => self.run_with(x, &select, decode_first::<T>, exactly_one),
            Err(e) => x.fail(e),
        }
    }

    /// The sum of the projected values; 0 over no rows.
    pub fn sum<X: Executor>(&self, x: X) -> X::Out<super::expr::SumOf<R>>
    where
        R: Numeric,
        super::expr::SumOf<R>: FromSql + Send,
    {
        self.aggregate(x, ast::AggFunc::Sum)
    }

    /// The average of the projected values; `None` over no rows.
    pub fn avg<X: Executor>(&self, x: X) -> X::Out<super::expr::AvgOf<R>>
    where
        R: Numeric,
        super::expr::AvgOf<R>: FromSql + Send,
    {
        self.aggregate(x, ast::AggFunc::Avg)
    }

    /// The smallest projected value; `None` over no rows.
    pub fn min<X: Executor>(&self, x: X) -> X::Out<Option<R::NotNull>>
    where
        R: SqlType,
        Option<R::NotNull>: FromSql + Send,
    {
        self.aggregate(x, ast::AggFunc::Min)
    }

    /// The largest projected value; `None` over no rows.
    pub fn max<X: Executor>(&self, x: X) -> X::Out<Option<R::NotNull>>
    where
        R: SqlType,
        Option<R::NotNull>: FromSql + Send,
    {
        self.aggregate(x, ast::AggFunc::Max)
    }

    /// The single table this query ranges over, for bulk statements.
    fn single_table(&self) -> Result<(Name, Option<Name>)> {
        let s = &self.select;
        match s.from.as_slice() {
            [f] if f.query.is_none()
                && s.group_by.is_empty()
                && s.having.is_none()
                && s.limit.is_none()
                && s.offset.is_none() =>
            {
                Ok((f.table.clone(), f.alias.clone()))
            }
            _ => Err(Error::new(
                ErrorKind::Unsupported,
                "bulk delete and update need a query over one entity without grouping, limit or offset",
            )),
        }
    }

    /// Deletes every row the query selects, in one statement (no hooks, no objects loaded);
    /// the number deleted.
    ///
    /// ```text
    /// DELETE FROM "product" AS "p" WHERE "p"."price" < ?          -- SQLite, PostgreSQL
    /// DELETE `p` FROM `product` `p` WHERE `p`.`price` < ?          -- MariaDB
    /// ```
    pub fn delete<X: Executor>(&self, x: X) -> X::Out<u64> {
        match self.single_table() {
            Ok((table, alias)) => {
                let stmt = ast::Statement::Delete(ast::Delete { table, alias, filter: self.select.filter.clone() });
                x.execute(Stmt::render(&stmt, x.dialect()))
            }
            Err(e) => x.fail(e),
        }
    }

    /// Updates every row the query selects, in one statement:
    /// `.update(&db, |p| set(&p.price, mul(p.price.clone(), 2)))`; the number of rows matched.
    ///
    /// ```text
    /// UPDATE "product" AS "p" SET "price" = "p"."price" * ? WHERE ...
    /// ```
    pub fn update<X: Executor, A: Assignments>(&self, x: X, f: impl FnOnce(V) -> A) -> X::Out<u64> {
        let (table, alias) = match self.single_table() {
            Ok(t) => t,
            Err(e) => return x.fail(e),
        };
        let mut set = Vec::new();
        super::aliases::within(&self.select, || f(self.vars.clone())).push_assignments(&mut set);
        if set.is_empty() {
            return x.fail(Error::new(ErrorKind::Config, "update needs at least one assignment"));
        }
        let stmt = ast::Statement::Update(ast::Update { table, alias, set, filter: self.select.filter.clone() });
        x.execute(Stmt::render(&stmt, x.dialect()))
    }

    /// The underlying `SELECT`, for nesting this query in another one.
    pub fn into_select(self) -> ast::Select {
        self.select
    }

    /// The loop variables' handles.
    pub fn vars(&self) -> &V {
        &self.vars
    }
}

/// One `SET column = value` of a bulk update.
pub struct Assignment(Name, ast::Expr);

/// `SET column = value`: the column must be a field handle (`&p.price`).
pub fn set<T: SqlType, O: super::expr::Operand>(column: &Expr<T>, value: O) -> Assignment
where
    O::Ty: SqlType<Class = T::Class>,
{
    let name = match column.node() {
        ast::Expr::Column { name, .. } => name.clone(),
        _ => Name::from(""),
    };
    Assignment(name, value.into_node())
}

/// The assignments of a bulk update: one [`Assignment`] or a tuple of them.
pub trait Assignments {
    /// Appends the `SET` items.
    fn push_assignments(self, out: &mut Vec<(Name, ast::Expr)>);
}

impl Assignments for Assignment {
    fn push_assignments(self, out: &mut Vec<(Name, ast::Expr)>) {
        out.push((self.0, self.1));
    }
}

macro_rules! assignment_tuple {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Assignments),+> Assignments for ($($t,)+) {
            fn push_assignments(self, out: &mut Vec<(Name, ast::Expr)>) {
                $(self.$i.push_assignments(out);)+
            }
        }
    };
}
for_tuples_up_to_8!(assignment_tuple);

fn statement(site: Option<&'static Site>, select: &ast::Select, dialect: Dialect) -> Stmt {
    let locks = select.lock.is_some();
    let Some(site) = site else {
        let sql = render_select(select, dialect);
        return Stmt { text: sql.text.into(), binds: sql.binds, locks };
    };
    // One walk in hashing mode yields the shape (the hash of the text it would write) and the
    // binds; the text itself is rendered only the first time.
    let mut hasher = ShapeHasher::default();
    let binds = crate::render::binds_and_shape(select, dialect, &mut hasher);
    let shape = hasher.finish();
    match site.get(dialect, shape) {
        Some(text) => Stmt { text, binds, locks },
        None => {
            let sql = render_select(select, dialect);
            let text: Arc<str> = sql.text.into();
            site.put(dialect, shape, text.clone());
            Stmt { text, binds: sql.binds, locks }
        }
    }
}

/// A membership test over a subquery. NULL values are left out of the subquery: a NULL is equal
/// to nothing, so `x NOT IN` keeps the rows whose `x` no non-NULL value equals (Pony's result and
/// Rust's `!contains`), where SQL's `x NOT IN (..., NULL)` would be NULL.
///
/// ```text
/// x NOT IN (SELECT "s"."scholarship" FROM "student" "s" WHERE "s"."scholarship" IS NOT NULL)
/// ```
impl<R, V> super::expr::InList<<R as SqlType>::Class> for Query<R, V>
where
    R: SqlType,
{
    fn membership(self, expr: ast::Expr, negated: bool) -> ast::Expr {
        let mut query = self;
        query.select.order_by.clear();
        if super::expr::nullable::<R>()
            && let [column] = query.select.columns.as_slice()
        {
            let present = ast::Expr::IsNull { expr: Box::new(column.clone()), negated: true };
            query.add_condition(present);
        }
        ast::Expr::InQuery { expr: Box::new(expr), query: Box::new(query.select), negated }
    }
}

/// `EXISTS (subquery)`.
pub fn exists<R, V>(query: Query<R, V>) -> Expr<bool> {
    let mut select = query.select;
    select.columns = vec![ast::Expr::Raw { parts: vec!["1".into()], args: Vec::new() }];
    select.distinct = false;
    select.order_by.clear();
    Expr::from_node(ast::Expr::Exists { query: Box::new(select), negated: false })
}

/// What a generator inside `exists(...)` may project besides its loop variable: a condition,
/// tested per row (Pony tests the projected value's truth).
#[diagnostic::on_unimplemented(
    message = "exists(...) over a generator projecting `{Self}`: only a loop variable or a condition can be projected",
    label = "the generator projects `{Self}`, not a condition",
    note = "to test something per row, write it as the generator's condition: `exists(x for x in ... if <test>)`"
)]
pub trait ExistsTest: SqlType {}

impl ExistsTest for bool {}
impl ExistsTest for Option<bool> {}

/// `exists(<test> for x in ...)`: whether a row of the generator passes the projected test, the
/// same as `exists(x for x in ... if <test>)`.
///
/// ```text
/// exists(c.elective for c in s.courses)
/// EXISTS (SELECT 1 FROM ... WHERE <tie> AND "s:courses"."elective")
/// ```
pub fn exists_where<R: ExistsTest, V>(query: Query<R, V>) -> Expr<bool> {
    let mut query = query;
    let test = std::mem::take(&mut query.select.columns);
    for t in test {
        query.add_condition(t);
    }
    exists(query)
}

/// `(SELECT func(x) FROM ...)`; `decimal` when `x` is a decimal.
fn scalar_aggregate<T, R, V>(query: Query<R, V>, func: ast::AggFunc, decimal: bool) -> Expr<T> {
    let mut select = query.select;
    let column = if select.columns.len() == 1 { select.columns.remove(0) } else { ast::Expr::CountStar };
    select.columns = vec![ast::Expr::Agg { func, arg: Some(Box::new(column)), distinct: false }.decimal_if(decimal)];
    select.distinct = false;
    select.order_by.clear();
    Expr::from_node(ast::Expr::Subquery(Box::new(select)))
}

/// `(SELECT COALESCE(SUM(x), 0) FROM ...)`: the sum over a nested generator.
pub fn sum_of<R: Numeric, V>(query: Query<R, V>) -> Expr<super::expr::SumOf<R>> {
    scalar_aggregate(query, ast::AggFunc::Sum, is_decimal::<R>())
}

/// `(SELECT AVG(x) FROM ...)`.
pub fn avg_of<R: Numeric, V>(query: Query<R, V>) -> Expr<super::expr::AvgOf<R>> {
    scalar_aggregate(query, ast::AggFunc::Avg, is_decimal::<R>())
}

/// `(SELECT MIN(x) FROM ...)`.
pub fn min_of<R: SqlType, V>(query: Query<R, V>) -> Expr<Option<R::NotNull>> {
    scalar_aggregate(query, ast::AggFunc::Min, is_decimal::<R>())
}

/// `(SELECT MAX(x) FROM ...)`.
pub fn max_of<R: SqlType, V>(query: Query<R, V>) -> Expr<Option<R::NotNull>> {
    scalar_aggregate(query, ast::AggFunc::Max, is_decimal::<R>())
}

/// `(SELECT COUNT(*) FROM ...)`: the rows of a nested generator.
pub fn count_rows<R, V>(query: Query<R, V>) -> Expr<i64> {
    let mut select = query.select;
    select.columns = vec![ast::Expr::CountStar];
    select.distinct = false;
    select.order_by.clear();
    Expr::from_node(ast::Expr::Subquery(Box::new(select)))
}

/// `(SELECT GROUP_CONCAT(x) FROM ...)`.
pub fn group_concat_of<R, V>(query: Query<R, V>, separator: &'static str) -> Expr<Option<String>> {
    scalar_aggregate(query, ast::AggFunc::GroupConcat(separator.into()), false)
}

/// Queries and lookups on an entity, without the macro.
pub trait EntityQuery: Source {
    /// Every row of the entity, as a query to refine: `Product::query().filter(|p| p.price.lt(20))`.
    fn query() -> Query<Self, Self::Fields> {
        let mut b = Builder::sub();
        let fields = b.source::<Self>(Self::meta().table);
        b.finish(fields.clone(), fields)
    }

    /// The one entity matching the condition, or `None`; [`ErrorKind::SeveralFound`] when
    /// several match: `Product::get(&db, |p| p.name.eq("Widget"))`. In a session, the session's
    /// object.
    fn get<X: Executor, C: Condition>(x: X, f: impl FnOnce(Self::Fields) -> C) -> X::Out<Option<X::Obj<Self>>> {
        Self::query().filter(f).fetch_optional(x)
    }

    /// [`EntityQuery::get`] that locks the row until the transaction ends (PonyORM's
    /// `Product.get_for_update(...)`); in a session it opens the session's transaction first
    /// (`BEGIN IMMEDIATE` on SQLite, whose write lock covers the whole database).
    ///
    /// ```text
    /// SELECT "p"."id", "p"."name" FROM "product" "p" WHERE "p"."name" = $1 FOR UPDATE
    /// ```
    fn get_for_update<X: Executor, C: Condition>(
        x: X,
        f: impl FnOnce(Self::Fields) -> C,
    ) -> X::Out<Option<X::Obj<Self>>> {
        Self::query().filter(f).for_update().fetch_optional(x)
    }

    /// A new entity (PonyORM's `Product(name=...)`): in a session, registered and inserted at the
    /// next flush, returning the session's object; on a database or transaction, inserted now,
    /// returning the value with its generated key. `Product::create(s, Product { .. })`.
    ///
    /// ```text
    /// INSERT INTO "product" ("name", "price") VALUES (?, ?)   -- RETURNING "id" on PostgreSQL
    /// ```
    fn create<X: Executor>(x: X, value: Self) -> X::Out<X::Obj<Self>> {
        x.create_object(value)
    }

    /// Whether any entity matches the condition.
    fn exists<X: Executor, C: Condition>(x: X, f: impl FnOnce(Self::Fields) -> C) -> X::Out<bool> {
        Self::query().filter(f).exists(x)
    }

    /// The entity with this key (Pony's `Product[key]`); [`ErrorKind::NotFound`] when none. A
    /// session answers from its identity map without a query when it holds the object.
    fn by_pk<X: Executor>(x: X, key: &Self::Key) -> X::Out<X::Obj<Self>> {
        x.object_by_pk::<Self>(key)
    }
}

/// [`Executor::object_by_pk`] for executors outside a session: `SELECT ... WHERE <key> = ?`.
pub fn load_by_pk<X: Executor, E: SessionEntity>(x: X, key: &E::Key) -> X::Out<X::Obj<E>> {
    let binds = match key.key_values() {
        Ok(b) => b,
        Err(e) => return x.fail(e),
    };
    let text = crate::crud::select_by_key(E::meta(), x.dialect());
    x.fetch_objects(Stmt { text: text.into(), binds, locks: false }, E::from_row_at, exactly_one_of::<E, X::Obj<E>>)
}

/// Exactly one row of entity `E`, whatever form the rows take; NotFound names the entity.
pub fn exactly_one_of<E: Entity, T>(rows: Vec<T>) -> Result<T> {
    exactly_one(rows).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            Error::new(ErrorKind::NotFound, format!("{} was not found", E::meta().name))
        } else {
            e
        }
    })
}

impl<E: Source> EntityQuery for E {}
