//! Running a session: the one implementation both facades drive. It holds one connection for
//! its whole life. As PonyORM does, it reads in autocommit and opens the transaction at the
//! first flush that writes (`BEGIN IMMEDIATE` on SQLite); a serializable session opens it before
//! its first read instead, and a commit whose flush is one statement, with nothing to run after
//! it, sends that statement alone.

use crate::driver::Conn;
use nextorm_core::dict::{Dict, DictOptions, key_json, values_to_dict};
use nextorm_core::query::Stmt;
use nextorm_core::relation::{CollectionChange, Link, PrefetchPath, RelationKind, RelationMeta, set_link};
use nextorm_core::session::Status;
use nextorm_core::session::{Attach, Expect, FlushPlan, Handle, IdentityMap, Outcome};
use nextorm_core::{
    Dialect, Entity, Error, ErrorKind, FromRow, FromSql, IntoParams, Key, Result, RowRead, Sql, Value, crud, rawsql,
};

/// Counters of what a session sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Statements sent, `BEGIN`/`COMMIT`/`ROLLBACK` included.
    pub statements: u64,
    /// Objects inserted, updated or deleted by flushes.
    pub writes: u64,
    /// Time spent waiting for the database.
    pub time: std::time::Duration,
}

/// The state of one session over its connection.
pub struct SessionCore {
    conn: Conn,
    map: IdentityMap,
    /// Where the map goes when the session ends, for the database's next session.
    maps: SessionMaps,
    /// Reads run inside a `SERIALIZABLE` transaction too (see [`SessionOptions::serializable`]).
    serializable: bool,
    /// Objects become unusable when the session ends (see [`SessionOptions::strict`]).
    strict: bool,
    /// Set by a database error: the session must roll back before anything else.
    failed: Option<Failure>,
    stats: SessionStats,
    /// The last statement sent; empty before the first. Reused, so recording it allocates only
    /// when a longer statement comes.
    last_sql: String,
    /// Counts of collections the database gave (see [`SessionCore::count_collection`]), by
    /// (owner address, relation address).
    counts: std::collections::HashMap<(usize, usize), CachedCount>,
    /// Bumped by every change the identity map's views cannot show: collection changes,
    /// objects created, raw SQL.
    changes: u64,
}

/// A collection's count as the database gave it, and what the session looked like then: it
/// answers again while nothing that could change the count has happened.
struct CachedCount {
    count: i64,
    /// [`SessionStats::writes`] then: a flush that wrote may have changed the count.
    writes: u64,
    /// [`SessionCore::changes`] then.
    changes: u64,
    /// The number of objects in the identity map then: an object that joined since may be a
    /// member moved away before the count was asked again.
    objects: usize,
    /// The addresses of the objects of the session that were members then.
    view: Vec<usize>,
}

impl SessionCore {
    /// A session on `conn`, held by the calling thread or task: while it holds the pool's last
    /// connection, another checkout by the same caller fails at once rather than waiting for
    /// itself (call it where the session body runs). Its identity map is one an ended session
    /// of the same database left in `maps`, if there is one.
    pub fn new<E>(mut conn: Conn, options: &SessionOptions<E>, maps: &SessionMaps) -> SessionCore {
        conn.hold_for_session();
        SessionCore {
            conn,
            map: maps.take(),
            maps: maps.clone(),
            serializable: options.serializable,
            strict: options.strict,
            failed: None,
            stats: SessionStats::default(),
            last_sql: String::new(),
            counts: std::collections::HashMap::new(),
            changes: 0,
        }
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.conn.dialect()
    }

    /// What the session has sent so far.
    pub fn stats(&self) -> SessionStats {
        self.stats
    }

    /// The last statement sent.
    pub fn last_sql(&self) -> Option<&str> {
        Some(self.last_sql.as_str()).filter(|s| !s.is_empty())
    }

    /// Whether the session runs in one `SERIALIZABLE` transaction.
    pub fn serializable(&self) -> bool {
        self.serializable
    }

    /// The number of objects in the identity map.
    pub fn objects(&self) -> usize {
        self.map.len()
    }

    fn usable(&self) -> Result<()> {
        match &self.failed {
            Some(why) => Err(Error::new(
                ErrorKind::Config,
                format!("the session must roll back after an earlier error: {}", why.message),
            )),
            None => Ok(()),
        }
    }

    /// Records a database error: the session is rollback-only from now on.
    fn poisoned<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && !matches!(e.kind(), ErrorKind::NotFound | ErrorKind::SeveralFound)
        {
            self.failed = Some(Failure {
                message: e.to_string(),
                may_rerun: e.may_rerun_session(),
                outcome_unknown: e.is_outcome_unknown(),
            });
        }
        r
    }

    /// Sends one statement through `f`: counted, recorded as the last SQL, timed, and a
    /// database error makes the session rollback-only.
    async fn send<T>(&mut self, sql: &str, f: impl AsyncFnOnce(&mut Conn, &mut IdentityMap) -> Result<T>) -> Result<T> {
        self.sent(sql);
        let started = std::time::Instant::now();
        let r = f(&mut self.conn, &mut self.map).await;
        self.stats.time += started.elapsed();
        self.poisoned(r)
    }

    fn sent(&mut self, sql: &str) {
        self.stats.statements += 1;
        self.last_sql.clear();
        self.last_sql.push_str(sql);
    }

    /// Opens the session's transaction unless one is open.
    /// The connection's own flag is the one record of an open transaction, so a BEGIN or COMMIT
    /// that fails halfway cannot leave the session and the connection disagreeing.
    async fn open_transaction(&mut self) -> Result<()> {
        if self.conn.in_transaction() {
            return Ok(());
        }
        for sql in self.dialect().begin_statements(self.serializable) {
            self.sent(sql);
        }
        let r = self.conn.begin_with(self.serializable).await;
        self.poisoned(r)
    }

    /// What every query does first: refuse if rollback-only, flush pending changes, and in a
    /// serializable session, or before a query that locks rows (`FOR UPDATE`), open the
    /// transaction so the read belongs to it and its locks last until the commit.
    async fn before_query(&mut self, locks: bool) -> Result<()> {
        self.usable()?;
        self.flush().await?;
        if self.serializable || locks {
            self.open_transaction().await?;
        }
        Ok(())
    }

    /// Registers a new object; it is inserted at the next flush.
    pub fn create<E: Entity>(&mut self, value: E) -> Result<Handle<E>> {
        self.usable()?;
        self.changes += 1;
        self.map.add_new(value)
    }

    /// [`SessionCore::create`] with the shape of [`Conn::create_object`], for the executors.
    pub async fn create_object<E: Entity>(&mut self, value: E) -> Result<Handle<E>> {
        self.create(value)
    }

    /// Sends every pending change: inserts, updates of the changed columns and deletes, in the
    /// order the objects joined the session, each update and delete guarded by the optimistic
    /// check. Consecutive new objects of one entity share one multi-row INSERT (generated keys
    /// come back with `RETURNING`).
    /// An update or delete that matches no row is an [`ErrorKind::OptimisticConflict`].
    pub async fn flush(&mut self) -> Result<()> {
        self.flush_timed(false).await
    }

    async fn flush_timed(&mut self, committing: bool) -> Result<()> {
        self.usable()?;
        self.run_timed(|map, dialect| FlushPlan::new(map, dialect, committing)).await
    }

    /// Plans a flush through `plan` and sends it: timed into the session's stats, and a
    /// database error makes the session rollback-only.
    async fn run_timed(&mut self, plan: impl FnOnce(&mut IdentityMap, Dialect) -> Result<FlushPlan>) -> Result<()> {
        let started = std::time::Instant::now();
        let r = match plan(&mut self.map, self.conn.dialect()) {
            Ok(plan) => self.run_plan(plan).await,
            Err(e) => Err(e),
        };
        self.stats.time += started.elapsed();
        self.poisoned(r)
    }

    /// Sends the pending change of one object (PonyORM's `obj.flush()`), and what it needs
    /// first: the new objects it refers to, or, for a delete, the changes the delete rules made
    /// to the objects that refer to it. Other objects' changes and many-to-many pairs wait for
    /// the next flush (see [`FlushPlan::for_object`]). The write opens the session's transaction,
    /// as any flush that writes does. An object with nothing pending sends nothing; an object of
    /// another session (or none) is an [`ErrorKind::Config`] error.
    ///
    /// ```text
    /// INSERT INTO "client" ("name") VALUES (?) RETURNING "id"        -- the new client it refers to
    /// INSERT INTO "purchase" ("total", "client") VALUES (?, ?) RETURNING "id"
    /// ```
    pub async fn flush_object<E: Entity>(&mut self, obj: &Handle<E>) -> Result<()> {
        self.usable()?;
        let Some(index) = self.map.index_of_handle(obj) else {
            return Err(Error::config(format!(
                "this {} belongs to no running session of this database",
                E::meta().name
            )));
        };
        self.run_timed(|map, dialect| FlushPlan::for_object(map, dialect, index)).await
    }

    /// Runs a flush plan (see [`FlushPlan`]): sends each step, opening the transaction first
    /// when the step needs it, and feeds the outcome back.
    async fn run_plan(&mut self, mut plan: FlushPlan) -> Result<()> {
        while let Some(step) = plan.next_step(&mut self.map)? {
            if step.in_transaction {
                self.open_transaction().await?;
            }
            let Sql { text, binds, .. } = &step.sql;
            self.sent(text);
            let sent = match step.expect {
                Expect::GeneratedKey => self.conn.insert_sql(text, binds).await.map(Outcome::GeneratedKey),
                Expect::GeneratedKeys => self.conn.insert_returning(text, binds).await.map(Outcome::GeneratedKeys),
                Expect::OneRow | Expect::AnyCount => self.conn.execute_sql(text, binds).await.map(Outcome::Rows),
            };
            let outcome = match sent {
                // A write sent alone outside a transaction commits itself: losing the connection
                // then is losing a COMMIT.
                Err(e) if e.kind() == ErrorKind::ConnectionLost && !self.conn.in_transaction() => {
                    return Err(e.with_outcome_unknown());
                }
                r => r.map_err(|e| plan.name_failed_step(e))?,
            };
            plan.outcome(&mut self.map, outcome)?;
            self.stats.writes += step.writes;
        }
        // The database may have changed the volatile columns of what it just wrote (a trigger,
        // another writer): the objects show its values.
        for (meta, objects) in plan.take_volatile(&self.map) {
            self.load_columns(meta, meta.volatile_columns, &objects).await?;
        }
        Ok(())
    }

    /// Reads `columns` of the objects at `objects` (all of `meta`) from the database and stores
    /// them as loaded: a batch of keys per statement (see [`crud::select_columns_of_keys`]). No
    /// flush first: the flush itself reads volatile columns back with it.
    async fn load_columns(
        &mut self,
        meta: &'static nextorm_core::EntityMeta,
        columns: &[usize],
        objects: &[usize],
    ) -> Result<()> {
        for batch in objects.chunks(LOAD_BATCH) {
            let keys = batch.iter().map(|&i| self.map.key_values(i)).collect::<Result<Vec<_>>>()?;
            let stmt = crud::select_columns_of_keys(meta, columns, keys, self.dialect());
            self.send(&stmt.text, async |c, map| {
                c.fetch_sql(&stmt.text, &stmt.binds, &mut |row| map.load_columns(meta, columns, row)).await
            })
            .await?;
        }
        Ok(())
    }

    /// The `lazy` column `column` of `object`, loaded first (after a flush) for it and every
    /// other object of `E` the session holds that has not loaded it, 1,000 keys a
    /// statement, then read through `read` (marked read). An object of no running session
    /// (read after its session, or in another) loads only its own value.
    pub async fn lazy_column<E: Entity, T>(
        &mut self,
        object: Handle<E>,
        column: usize,
        read: fn(&E) -> T,
    ) -> Result<T> {
        self.before_query(false).await?;
        if object.is_unloaded(column) {
            let meta = E::meta();
            let key = object.lock().value.key().key_values()?;
            match self.map.index_of_handle(&object) {
                Some(i) => {
                    let batch = self.map.needing_column(meta, column, Some(i), LOAD_BATCH);
                    self.load_columns(meta, &[column], &batch).await?;
                }
                None => {
                    let stmt = crud::select_columns_of_keys(meta, &[column], vec![key], self.dialect());
                    let tracked = object.tracked();
                    self.send(&stmt.text, async |c, _| {
                        c.fetch_sql(&stmt.text, &stmt.binds, &mut |row| {
                            tracked.load_columns(&[column], row, meta.primary_key.len())
                        })
                        .await
                    })
                    .await?;
                }
            }
        }
        match object.read_loaded(column, read)? {
            Some(value) => Ok(value),
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("{} was not found", E::meta().describe_key(&object.lock().value.key().key_values()?)),
            )),
        }
    }

    /// Flushes, then commits; the session goes on (a later write opens a new transaction).
    pub async fn commit(&mut self) -> Result<()> {
        self.flush_timed(true).await?;
        if self.conn.in_transaction() {
            return self.send("COMMIT", async |c, _| c.commit().await).await;
        }
        Ok(())
    }

    /// Rolls back and forgets every object (they stay readable, and refuse writes).
    pub async fn rollback(&mut self) -> Result<()> {
        self.map.clear(false);
        self.counts.clear();
        self.failed = None;
        if self.conn.in_transaction() {
            self.sent("ROLLBACK");
            self.conn.rollback().await?;
        }
        Ok(())
    }

    /// Begins a nested transaction: flushes pending changes (so that rolling back to the
    /// savepoint undoes exactly what came after it), opens the session's transaction if none is
    /// open, and sends `SAVEPOINT nextorm_sp_<n>`. Returns `n` for
    /// [`SessionCore::release_savepoint`] or [`SessionCore::rollback_to_savepoint`].
    pub async fn savepoint(&mut self) -> Result<u32> {
        self.flush().await?;
        self.open_transaction().await?;
        self.sent("SAVEPOINT");
        let r = self.conn.savepoint().await;
        self.poisoned(r)
    }

    /// Ends a nested transaction that succeeded: flushes its changes, then
    /// `RELEASE SAVEPOINT nextorm_sp_<n>`; they commit or roll back with the session.
    pub async fn release_savepoint(&mut self, n: u32) -> Result<()> {
        self.flush().await?;
        self.send("RELEASE SAVEPOINT", async |c, _| c.release_savepoint(n).await).await
    }

    /// Ends a nested transaction that failed: `ROLLBACK TO SAVEPOINT nextorm_sp_<n>`. The
    /// session is usable again (an error inside the savepoint no longer makes it
    /// rollback-only), and it forgets every object, as [`SessionCore::rollback`] does: the rows
    /// the savepoint changed are back as they were, so no object may keep values from inside
    /// it; the objects stay readable and refuse writes, and the next `by_pk` or query loads the
    /// rows afresh.
    pub async fn rollback_to_savepoint(&mut self, n: u32) -> Result<()> {
        self.map.clear(false);
        self.counts.clear();
        self.sent("ROLLBACK TO SAVEPOINT");
        let r = self.conn.rollback_to_savepoint(n).await;
        if r.is_ok() {
            self.failed = None;
        }
        self.poisoned(r)
    }

    /// Ends the session: the objects stay readable and refuse writes, or, in a strict session,
    /// become unusable.
    pub fn end(&mut self) {
        self.map.end(self.strict);
        self.maps.keep(std::mem::take(&mut self.map));
    }

    /// The object with this key: from the identity map without a query when the session holds
    /// it, else loaded. [`ErrorKind::NotFound`] when there is none (Pony's `Product[key]`).
    pub async fn by_pk<E: Entity>(&mut self, key: &E::Key) -> Result<Handle<E>> {
        self.by_key_values(key.key_values()?).await
    }

    /// [`SessionCore::by_pk`] with the key as column values.
    pub async fn by_key_values<E: Entity>(&mut self, key: Vec<Value>) -> Result<Handle<E>> {
        match self.find_by_values::<E>(&key).await? {
            Some(h) => Ok(h),
            None => Err(Error::new(ErrorKind::NotFound, format!("{} was not found", E::meta().describe_key(&key)))),
        }
    }

    /// The object with this key, if there is one.
    pub async fn find<E: Entity>(&mut self, key: &E::Key) -> Result<Option<Handle<E>>> {
        self.find_by_values(&key.key_values()?).await
    }

    async fn find_by_values<E: Entity>(&mut self, key: &[Value]) -> Result<Option<Handle<E>>> {
        self.usable()?;
        if let Some(h) = self.map.get::<E>(key) {
            return Ok(Some(h));
        }
        let stmt = Stmt {
            text: crud::select_by_key_leaving_lazy(E::meta(), self.dialect()).into(),
            binds: key.to_vec(),
            locks: false,
        };
        Ok(self.fetch_entities::<E>(&stmt).await?.pop())
    }

    /// The object a `Single` refers to: from the identity map, or loaded together with every
    /// other object of `E` the session's objects refer to and it does not hold yet, in one
    /// `IN (...)` query (PonyORM's N+1 batching).
    pub async fn related<E: Entity>(&mut self, key: Result<Vec<Value>>) -> Result<Handle<E>> {
        self.usable()?;
        let key = key?;
        if let Some(h) = self.map.get::<E>(&key) {
            return Ok(h);
        }
        let meta = E::meta();
        let [column] = meta.primary_key else {
            return self.by_key_values(key).await;
        };
        self.map.link_references_to(meta);
        let mut keys = key.clone();
        keys.extend(self.map.unloaded_references(meta, LOAD_BATCH)?.into_iter().filter(|k| k != &key[0]));
        let stmt = crud::select_where_in(meta, *column, keys, self.dialect());
        self.fetch_entities::<E>(&stmt).await?;
        self.map
            .get::<E>(&key)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("{} was not found", meta.describe_key(&key))))
    }

    /// The members of the collection `relation` of `owner`. The first use loads the collection
    /// of every object of `O` the session holds and has not loaded it for, with one `IN (...)`
    /// query; afterwards the identity map answers, so references set, cleared or deleted, and
    /// pairs added or removed, in the session show at once.
    pub async fn collection<O: Entity, T: Entity>(
        &mut self,
        owner: Handle<O>,
        relation: &'static RelationMeta,
    ) -> Result<Vec<Handle<T>>> {
        self.usable()?;
        let link = set_link(O::meta(), relation)?;
        let key = {
            let state = owner.lock();
            let persistent = state.status == Status::Persistent && !state.value.key_is_unset();
            if persistent { Some(state.value.key().key_values()?) } else { None }
        };
        if let Some(key) = &key
            && !self.map.is_loaded(owner.addr(), relation)
        {
            // This owner first, then every other of its entity the session holds.
            let first = self.map.index_of(O::meta(), key);
            let candidates = first.into_iter().chain(self.map.of_entity(O::meta()).iter().copied());
            let owners = self.map.unloaded_owners(relation, candidates, LOAD_BATCH);
            self.load_collections(O::meta(), relation, &owners).await?;
        }
        match link {
            Link::Reverse { fk, .. } => {
                let key = key.and_then(|k| k.into_iter().next());
                Ok(self.map.members::<T>(fk, key.as_ref(), owner.addr()))
            }
            Link::Table { .. } => self.map.pair_members::<T>(O::meta(), relation, owner.addr()),
        }
    }

    /// The number of members of the collection `relation` of `owner` (see
    /// [`Many::count`](nextorm_core::relation::Many::count)): from the identity map when the
    /// collection is loaded or the owner is new; otherwise `stmt` counts in the database (after
    /// a flush) and the number is kept until something that could change it happens.
    pub async fn count_collection<O: Entity, T: Entity>(
        &mut self,
        owner: Handle<O>,
        relation: &'static RelationMeta,
        stmt: &Stmt,
    ) -> Result<i64> {
        self.usable()?;
        let persistent = {
            let state = owner.lock();
            state.status == Status::Persistent && !state.value.key_is_unset()
        };
        if !persistent || self.map.is_loaded(owner.addr(), relation) {
            let members = self.collection::<O, T>(owner, relation).await?;
            return Ok(i64::try_from(members.len()).unwrap_or(i64::MAX));
        }
        if T::CUSTOM_HOOKS {
            // A member's pending change may be one whose `before_update` hook moves it in or out:
            // the hook runs at the flush, which a count kept from before would skip. A flush
            // that writes makes the kept count stale (`writes` below).
            self.flush().await?;
        }
        let id = (owner.addr(), relation as *const RelationMeta as usize);
        let kept = self.counts.get(&id).and_then(|c| {
            (c.writes == self.stats.writes && c.changes == self.changes && c.objects == self.map.len())
                .then(|| (c.count, c.view.clone()))
        });
        if let Some((count, view)) = kept
            && self.member_view::<O, T>(&owner, relation)? == view
        {
            return Ok(count);
        }
        let count =
            self.fetch_stmt(stmt, |row, _| i64::from_sql(row, 0), |mut rows| Ok(rows.pop().unwrap_or(0))).await?;
        let view = self.member_view::<O, T>(&owner, relation)?;
        let cached =
            CachedCount { count, writes: self.stats.writes, changes: self.changes, objects: self.map.len(), view };
        self.counts.insert(id, cached);
        Ok(count)
    }

    /// The addresses of the session's objects that are members of the collection `relation`
    /// of the persistent `owner`, as the identity map sees them now.
    fn member_view<O: Entity, T: Entity>(
        &mut self,
        owner: &Handle<O>,
        relation: &'static RelationMeta,
    ) -> Result<Vec<usize>> {
        let members = match set_link(O::meta(), relation)? {
            Link::Reverse { fk, .. } => {
                let key = owner.lock().value.key().key_values()?.into_iter().next();
                self.map.members::<T>(fk, key.as_ref(), owner.addr())
            }
            Link::Table { .. } => self.map.pair_members::<T>(O::meta(), relation, owner.addr())?,
        };
        Ok(members.iter().map(Handle::addr).collect())
    }

    /// Loads the collection `relation` of the objects at `owners` (of `owner_meta`, as
    /// [`IdentityMap::unloaded_owners`] gives them): the members of up to [`LOAD_BATCH`] owners
    /// a query, with an `IN (...)` over the owners' keys.
    async fn load_collections(
        &mut self,
        owner_meta: &'static nextorm_core::EntityMeta,
        relation: &'static RelationMeta,
        owners: &[usize],
    ) -> Result<()> {
        let link = set_link(owner_meta, relation)?;
        // The auto-flush first: its hooks may move a member, and the index is fed after them.
        if !owners.is_empty() {
            self.before_query(false).await?;
        }
        if let Link::Reverse { target, fk } = &link {
            self.map.feed_member_index(target, *fk);
        }
        let loaded = self.load_owners(owner_meta, relation, &link, owners).await;
        self.map.stop_feeding();
        loaded?;
        if let Link::Reverse { target, fk } = link
            && let Some(back) = target.relations.iter().find(|r| r.kind == RelationKind::Single { column: fk })
        {
            // A member's reference to its owner answers after the session too.
            self.map.link_relation(back);
        }
        Ok(())
    }

    /// The batches of [`SessionCore::load_collections`].
    async fn load_owners(
        &mut self,
        owner_meta: &'static nextorm_core::EntityMeta,
        relation: &'static RelationMeta,
        link: &Link,
        owners: &[usize],
    ) -> Result<()> {
        for batch in owners.chunks(LOAD_BATCH) {
            let keys = batch.iter().map(|&i| self.map.key_values(i)).collect::<Result<Vec<_>>>()?;
            match link {
                Link::Reverse { target, fk } => {
                    let stmt = crud::select_where_in(target, *fk, keys.into_iter().flatten().collect(), self.dialect());
                    self.load_rows(&stmt, relation.rows.load).await?;
                }
                Link::Table { .. } => {
                    let stmt = nextorm_core::relation::pairs_statement(owner_meta, relation, keys, self.dialect())?;
                    let rows = self.fetch_stmt(&stmt, relation.rows.decode_pair, Ok).await?;
                    let mut pairs = Vec::with_capacity(rows.len());
                    for (member, owner_key) in rows {
                        self.map.record();
                        let attached = member.attach_to(&mut self.map);
                        let member = self.map.take_recorded();
                        attached?;
                        if let (Some(&m), Some(o)) = (member.first(), self.map.index_of(owner_meta, &owner_key)) {
                            pairs.push((self.map.object(o).addr(), self.map.object(m).addr()));
                        }
                    }
                    self.map.load_pairs(owner_meta, relation, pairs)?;
                }
            }
            for &i in batch {
                let addr = self.map.object(i).addr();
                self.map.set_loaded(addr, relation);
            }
        }
        Ok(())
    }

    /// Runs `stmt` and puts its rows into the identity map as they arrive, through a relation's
    /// row function (`RowFns::load`, which takes the map type-erased).
    async fn load_rows(
        &mut self,
        stmt: &Stmt,
        load: fn(&dyn RowRead, usize, &mut dyn std::any::Any) -> Result<()>,
    ) -> Result<()> {
        self.before_query(false).await?;
        self.send(&stmt.text, async |c, map| c.fetch_sql(&stmt.text, &stmt.binds, &mut |row| load(row, 0, map)).await)
            .await
    }

    /// [`SessionCore::fetch_objects`], then loads the relations `paths` of the objects, one
    /// query per relation and level (PonyORM's `prefetch`).
    pub async fn fetch_prefetched<R: Attach, T>(
        &mut self,
        stmt: &Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<R>,
        paths: &[PrefetchPath],
        finish: fn(Vec<R::Attached>) -> Result<T>,
    ) -> Result<T> {
        self.map.record();
        let objects = self.attached_rows(stmt, decode).await;
        let roots = self.map.take_recorded();
        let objects = objects?;
        for path in paths {
            let mut level: Vec<usize> =
                roots.iter().copied().filter(|&i| std::ptr::eq(self.map.object(i).meta(), path.root)).collect();
            let mut owner = path.root;
            for &relation in &path.hops {
                level.sort_unstable();
                level.dedup();
                level = self.prefetch_relation(owner, relation, &level).await?;
                owner = relation.target();
            }
        }
        finish(objects)
    }

    /// Loads the relation `relation` of the objects at `level` (of `owner`) that have not loaded
    /// it: the indexes of the objects it leads to, the next level of a prefetch.
    async fn prefetch_relation(
        &mut self,
        owner: &'static nextorm_core::EntityMeta,
        relation: &'static RelationMeta,
        level: &[usize],
    ) -> Result<Vec<usize>> {
        let target = relation.target();
        match relation.kind {
            RelationKind::Single { column } => {
                self.map.link_relation(relation);
                let keys = self.map.references_of(level, column)?;
                let missing: Vec<Value> = keys
                    .iter()
                    .filter(|k| self.map.index_of(target, std::slice::from_ref(*k)).is_none())
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    let [key_column] = target.primary_key else {
                        return Err(Error::new(
                            ErrorKind::Unsupported,
                            format!("{} has a composite key: a Single needs a one-column key", target.name),
                        ));
                    };
                    for batch in missing.chunks(LOAD_BATCH) {
                        let stmt = crud::select_where_in(target, *key_column, batch.to_vec(), self.dialect());
                        self.load_rows(&stmt, relation.rows.load).await?;
                    }
                }
                Ok(keys.iter().filter_map(|k| self.map.index_of(target, std::slice::from_ref(k))).collect())
            }
            RelationKind::Set | RelationKind::HasOne => {
                let owners = self.map.unloaded_owners(relation, level.iter().copied(), usize::MAX);
                self.load_collections(owner, relation, &owners).await?;
                match set_link(owner, relation)? {
                    Link::Reverse { target, fk } => {
                        let keys = level.iter().map(|&i| self.map.key_values(i)).collect::<Result<Vec<_>>>()?;
                        Ok(self.map.reverse_member_indexes(target, fk, keys.iter().flatten(), &[]))
                    }
                    Link::Table { .. } => {
                        let addrs: Vec<usize> = level.iter().map(|&i| self.map.object(i).addr()).collect();
                        self.map.pair_member_indexes(owner, relation, &addrs)
                    }
                }
            }
        }
    }

    /// The object's fields as JSON with its relations, as `options` says (PonyORM's
    /// `to_dict(with_collections=..., related_objects=...)`; the values' shape is
    /// `nextorm_core::dict`'s). Pending changes are flushed first. Columns come from the object;
    /// a reference is its key, or with `related_objects` the referenced object (loaded as
    /// `Single::get` loads it); a `HasOne` the other side's key or object, or `null`; with
    /// `with_collections`, each `Set` a list of its members' keys or objects (loaded as
    /// `Many::load` loads it, in the session's order). A nested object has its columns only.
    ///
    /// ```text
    /// SELECT "order"."id", "order"."total", "order"."customer" FROM "order" "order"
    ///     WHERE "order"."customer" IN (?)     -- a collection not loaded yet
    /// ```
    pub async fn to_dict<E: Entity>(&mut self, obj: &Handle<E>, options: &DictOptions) -> Result<Dict> {
        let meta = E::meta();
        options.check_fields(meta)?;
        self.before_query(false).await?;
        let at = self.map.index_of_handle(obj).ok_or_else(|| {
            let key = obj.lock().value.key().key_values().unwrap_or_default();
            Error::config(format!("{} is not an object of this session", meta.describe_key(&key)))
        })?;
        let object = self.map.object(at);
        let unloaded = unloaded_lazy_fields(object);
        let mut out =
            values_to_dict(meta, object.current_values()?, |f| options.includes(f) && !unloaded.contains(&f))?;
        for relation in meta.relations.iter().filter(|r| options.includes(r.field)) {
            let many = match relation.kind {
                RelationKind::Single { .. } if !options.related_objects => continue,
                RelationKind::Set if !options.with_collections => continue,
                RelationKind::Set => true,
                RelationKind::Single { .. } | RelationKind::HasOne => false,
            };
            let targets = self.prefetch_relation(meta, relation, &[at]).await?;
            let mut items = Vec::with_capacity(targets.len());
            for i in targets {
                items.push(if options.related_objects {
                    let target = self.map.object(i);
                    let unloaded = unloaded_lazy_fields(target);
                    let values = target.current_values()?;
                    serde_json::Value::Object(values_to_dict(target.meta(), values, |f| !unloaded.contains(&f))?)
                } else {
                    key_json(self.map.key_values(i)?)?
                });
            }
            let value = if many { serde_json::Value::Array(items) } else { items.pop().unwrap_or_default() };
            out.insert(relation.field.to_owned(), value);
        }
        Ok(out)
    }

    /// Adds or removes members of the collection `relation` of `owner`, keeping both sides
    /// consistent at once; the next flush writes the change. One-to-many: `add` sets the
    /// member's reference to the owner, `remove` clears it; when the reference is required,
    /// the member is deleted instead, as PonyORM does (refused when its delete is restricted,
    /// `cascade_delete = false`, and for a one-to-one's object). Many-to-many: the pair is
    /// added to or removed from the join table.
    pub async fn change_collection<O: Entity, T: Entity>(
        &mut self,
        owner: Handle<O>,
        relation: &'static RelationMeta,
        change: CollectionChange<T>,
    ) -> Result<()> {
        self.usable()?;
        self.changes += 1;
        let (removed, added) = match change {
            CollectionChange::Add(members) => (Vec::new(), members),
            CollectionChange::Remove(members) => (members, Vec::new()),
            CollectionChange::Clear => (self.collection::<O, T>(owner.clone(), relation).await?, Vec::new()),
            CollectionChange::Replace(members) => {
                let current = self.collection::<O, T>(owner.clone(), relation).await?;
                (current.into_iter().filter(|c| !members.iter().any(|m| m.same(c))).collect(), members)
            }
        };
        let owner = &owner;
        // Every member is checked before any changes, so a refused change leaves nothing half
        // done; removals go first, so a one-to-one's old object lets go before the new one takes
        // its place (the flush orders the statements the same way).
        match set_link(O::meta(), relation)? {
            Link::Reverse { target, fk } => {
                let column = &target.columns[fk];
                // A required reference cannot be cleared: a collection's member leaves by being
                // deleted (PonyORM's `Set.remove`), unless its delete is restricted
                // (`cascade_delete = false`); a one-to-one's object is refused (delete it).
                let restricted = !column.nullable
                    && (relation.kind == RelationKind::HasOne
                        || target
                            .relations
                            .iter()
                            .find(|r| r.kind == RelationKind::Single { column: fk })
                            .is_some_and(|r| r.on_delete(target) == nextorm_core::OnDelete::Restrict));
                let mut leaving = Vec::new();
                for m in &removed {
                    if m.refers_to(fk, owner)? {
                        if restricted {
                            let elsewhere = match relation.kind {
                                RelationKind::HasOne => format!("give it to another {}", O::meta().name),
                                _ => "add it to another collection".to_owned(),
                            };
                            return Err(Error::new(
                                ErrorKind::Config,
                                format!(
                                    "{}.{} is required{}, so a {} cannot leave {}.{}: delete it, or {elsewhere}",
                                    target.name,
                                    column.field,
                                    if relation.kind == RelationKind::HasOne {
                                        ""
                                    } else {
                                        " and its delete is restricted (cascade_delete = false)"
                                    },
                                    target.name,
                                    O::meta().name,
                                    relation.field
                                ),
                            ));
                        }
                        m.writable()?;
                        leaving.push(m);
                    }
                }
                added.iter().try_for_each(Handle::writable)?;
                for m in leaving {
                    if column.nullable { m.set_reference_null(fk)? } else { m.delete()? }
                }
                for m in &added {
                    m.set_reference(fk, owner)?;
                }
            }
            Link::Table { .. } => {
                if removed.iter().chain(&added).any(|m| !m.is_usable()) {
                    return Err(Error::config(format!("this {} belongs to no running session", T::meta().name)));
                }
                let changes = removed.iter().map(|m| (m, false)).chain(added.iter().map(|m| (m, true)));
                for (m, add) in changes {
                    self.map.change_pair(O::meta(), relation, owner.addr(), m.addr(), add)?;
                }
            }
        }
        Ok(())
    }

    /// Runs a query after a flush; each row joins the identity map ([`Attach`]) before `finish`.
    pub async fn fetch_objects<R: Attach, T>(
        &mut self,
        stmt: &Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<R>,
        finish: fn(Vec<R::Attached>) -> Result<T>,
    ) -> Result<T> {
        finish(self.attached_rows(stmt, decode).await?)
    }

    /// Runs a query after a flush; each row joins the identity map as it arrives (no list of
    /// decoded rows is held beside the objects).
    async fn attached_rows<R: Attach>(
        &mut self,
        stmt: &Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<R>,
    ) -> Result<Vec<R::Attached>> {
        let mut objects = Vec::new();
        self.for_each_object(stmt, decode, |object| {
            objects.push(object);
            Ok(())
        })
        .await?;
        Ok(objects)
    }

    /// Runs a query of `E`'s rows after a flush; each row joins the identity map as its object.
    async fn fetch_entities<E: Entity>(&mut self, stmt: &Stmt) -> Result<Vec<Handle<E>>> {
        let mut objects = Vec::new();
        self.before_query(stmt.locks).await?;
        self.send(&stmt.text, async |c, map| {
            c.for_each_stmt(stmt, E::from_row_at, |row| {
                objects.push(map.attach_loaded(row)?);
                Ok(())
            })
            .await
        })
        .await?;
        Ok(objects)
    }

    /// Runs a query after a flush and hands each row, joined to the identity map, to `each`.
    pub async fn for_each_object<R: Attach, F: FnMut(R::Attached) -> Result<()> + Send>(
        &mut self,
        stmt: &Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<R>,
        mut each: F,
    ) -> Result<()> {
        self.before_query(stmt.locks).await?;
        self.send(&stmt.text, async |c, map| c.for_each_stmt(stmt, decode, |row| each(row.attach(map)?)).await).await
    }

    /// Runs any query after a flush (the `Executor` path: values, not objects). The same
    /// statement methods as [`Conn`], so the executor macros serve both.
    pub async fn fetch_stmt<R: Send, T>(
        &mut self,
        stmt: &Stmt,
        decode: fn(&dyn RowRead, usize) -> Result<R>,
        finish: fn(Vec<R>) -> Result<T>,
    ) -> Result<T> {
        self.before_query(stmt.locks).await?;
        self.send(&stmt.text, async |c, _| c.fetch_stmt(stmt, decode, finish).await).await
    }

    /// Runs a statement after a flush, inside the session's transaction.
    pub async fn execute_stmt(&mut self, stmt: &Stmt) -> Result<u64> {
        self.changes += 1;
        self.before_query(true).await?;
        self.send(&stmt.text, async |c, _| c.execute_stmt(stmt).await).await
    }

    /// Inserts plain values (not session objects) on the session's connection, after a flush
    /// and inside its transaction (opened now if need be), so they commit or roll back with the
    /// session. See [`Conn::insert_many`]; it counts as one statement per `INSERT`, recorded
    /// as the last SQL by its one-row form.
    pub async fn insert_many<E: Entity>(&mut self, objs: &mut [E]) -> Result<()> {
        if objs.is_empty() {
            return Ok(());
        }
        self.changes += 1;
        self.before_query(true).await?;
        let sent = self.send(crud::insert(E::meta(), self.dialect(), false), async |c, _| c.insert_batches(objs).await);
        self.stats.statements += sent.await?.saturating_sub(1);
        Ok(())
    }

    /// Runs raw SQL with `?` placeholders on the session's connection (PonyORM's `db.execute`
    /// in a `db_session`): pending changes are flushed first, and the statement runs inside the
    /// session's transaction, opened now if need be, so it commits or rolls back with the
    /// session. The rows affected. See [`Conn::execute`].
    pub async fn execute(&mut self, sql: &str, params: impl IntoParams) -> Result<u64> {
        self.changes += 1;
        self.before_query(true).await?;
        self.send(sql, async |c, _| c.execute(sql, params).await).await
    }

    /// Runs a raw query on the session's connection after a flush, so it sees the session's
    /// writes; it reads inside the session's transaction when one is open. See [`Conn::select`].
    pub async fn select<R: FromRow + Send>(&mut self, sql: &str, params: impl IntoParams) -> Result<Vec<R>> {
        self.before_query(false).await?;
        self.send(sql, async |c, _| c.select(sql, params).await).await
    }

    /// [`SessionCore::select`] of exactly one row: [`ErrorKind::NotFound`] for none,
    /// [`ErrorKind::SeveralFound`] for more.
    pub async fn get<R: FromRow + Send>(&mut self, sql: &str, params: impl IntoParams) -> Result<R> {
        self.before_query(false).await?;
        self.send(sql, async |c, _| c.get(sql, params).await).await
    }

    /// [`SessionCore::select`] of at most one row: [`ErrorKind::SeveralFound`] for more.
    pub async fn get_optional<R: FromRow + Send>(&mut self, sql: &str, params: impl IntoParams) -> Result<Option<R>> {
        self.before_query(false).await?;
        self.send(sql, async |c, _| c.get_optional(sql, params).await).await
    }

    /// The objects of `E` for the rows of a raw query (PonyORM's `select_by_sql`), which must
    /// return `E`'s columns in its order, as `SELECT * FROM "product" WHERE price < ?` does. Each
    /// row joins the identity map: a row the session holds already is that object, unchanged.
    pub async fn select_by_sql<E: Entity>(&mut self, sql: &str, params: impl IntoParams) -> Result<Vec<Handle<E>>> {
        let binds = params.into_params()?;
        let text = rawsql::prepare(sql, self.dialect(), binds.len())?;
        self.fetch_entities::<E>(&Stmt { text: text.into(), binds, locks: false }).await
    }
}

/// The database error that made a session rollback-only.
struct Failure {
    message: String,
    /// [`Error::may_rerun_session`] of the error.
    may_rerun: bool,
    /// [`Error::is_outcome_unknown`] of the error: a `COMMIT` the body sent itself may have
    /// committed, so the session is never re-run, whatever `retry_when` says.
    outcome_unknown: bool,
}

/// The identity maps of a database's ended sessions, forgotten and kept with their tables'
/// memory: a session takes one, so loading as many rows as a session before it loaded grows no
/// table. A map is kept only while it is small (see [`IdentityMap::reusable`]), and four at
/// most (one per session running at once, for the first four).
#[derive(Clone, Default)]
pub struct SessionMaps(std::sync::Arc<std::sync::Mutex<Vec<IdentityMap>>>);

impl SessionMaps {
    /// The most maps kept.
    const KEPT: usize = 4;

    /// A kept map, or a new one.
    fn take(&self) -> IdentityMap {
        // The lock is held only to push or pop an empty map: a poisoned one holds nothing broken.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop().unwrap_or_default()
    }

    /// Keeps `map`, forgotten at its session's end, if it is worth keeping.
    fn keep(&self, map: IdentityMap) {
        if !map.reusable() {
            return;
        }
        let mut kept = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() < Self::KEPT {
            kept.push(map);
        }
    }
}

/// How a session ended (see [`finish_session`]).
#[derive(Debug)]
pub struct SessionEnd<T, E> {
    /// The body's value once committed, or the error: the body's, or the commit's converted
    /// into `E`.
    pub result: Result<T, E>,
    /// Whether `retry(n)` may run the body again (see [`Error::may_rerun_session`]).
    pub may_rerun: bool,
}

/// Commits a session whose body returned `Ok`, rolls it back otherwise; commits it too when the
/// body's error is one `options` allows ([`SessionOptions::allowed`]). Used by both facades.
///
/// Whether the session may be re-run is decided on nextorm's own error before any conversion
/// into the caller's `E`: a commit (or its last flush) that fails with an error `retry` covers,
/// or a body error that `body_error_may_rerun` accepts. The facades pass
/// [`Error::may_rerun_session`] when `E` is nextorm's `Error`; for a user's `E`, which nextorm
/// cannot look into, they pass `|_| false` and the decision is the database error that made
/// the session rollback-only (a conflict the body's `?` converted into `E` is still re-run).
/// A predicate given with [`SessionOptions::retry_when`] replaces all of that: it alone decides,
/// on the body's error or the commit's converted into `E`; only a commit whose outcome is
/// unknown ([`Error::is_outcome_unknown`]) is never re-run.
pub async fn finish_session<T, E: From<Error>>(
    mut core: SessionCore,
    result: Result<T, E>,
    options: &SessionOptions<E>,
    body_error_may_rerun: impl FnOnce(&E) -> bool,
) -> SessionEnd<T, E> {
    let commit_failed = |e: Error| {
        let unknown = e.is_outcome_unknown();
        let built_in = e.may_rerun_session();
        let e: E = e.into();
        let may_rerun = !unknown && options.retry_when.map_or(built_in, |p| p(&e));
        SessionEnd { may_rerun, result: Err(e) }
    };
    let end = match result {
        Ok(value) => match core.commit().await {
            Ok(()) => SessionEnd { result: Ok(value), may_rerun: false },
            Err(e) => {
                let _ = core.rollback().await;
                commit_failed(e)
            }
        },
        // An allowed error commits what the body did, unless a database error made the session
        // rollback-only (committing the rest would store half of what the body meant).
        Err(e) if core.failed.is_none() && options.allowed.is_some_and(|p| p(&e)) => match core.commit().await {
            Ok(()) => SessionEnd { result: Err(e), may_rerun: false },
            Err(c) => {
                let _ = core.rollback().await;
                commit_failed(c)
            }
        },
        Err(e) => {
            let recorded = core.failed.as_ref().is_some_and(|f| f.may_rerun);
            let unknown = core.failed.as_ref().is_some_and(|f| f.outcome_unknown);
            let _ = core.rollback().await;
            let may_rerun = match options.retry_when {
                Some(p) => !unknown && p(&e),
                None => recorded || body_error_may_rerun(&e),
            };
            SessionEnd { may_rerun, result: Err(e) }
        }
    };
    core.end();
    end
}

/// The `lazy` fields of `object` it has not loaded: `to_dict` leaves them out, as
/// `Handle::to_dict` does, rather than show their placeholder.
fn unloaded_lazy_fields(object: &dyn nextorm_core::session::Tracked) -> Vec<&'static str> {
    let meta = object.meta();
    meta.lazy_columns.iter().filter(|&&c| object.needs_column(c)).map(|&c| meta.columns[c].field).collect()
}

/// The most objects (or collections) one lazy load fetches at once.
const LOAD_BATCH: usize = 1000;

/// How long to wait before retry number `attempt` (1-based): a random time up to an exponential
/// bound (1 ms, 2 ms, 4 ms ... 512 ms), so that sessions that collided do not collide again in step.
pub fn retry_pause(attempt: u32) -> std::time::Duration {
    use std::hash::{BuildHasher, Hasher};
    let bound_us = 1000u64 << attempt.saturating_sub(1).min(9);
    // A per-call random number without a dependency: the std hasher is seeded randomly.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    std::time::Duration::from_micros(h.finish() % (bound_us + 1))
}

/// Options of a session, for a body whose error type is `E` (nextorm's [`Error`] unless the
/// session is run with `session_with_as`).
///
/// ```
/// # use nextorm_engine::SessionOptions;
/// # use nextorm_core::{Error, ErrorKind};
/// #[derive(Debug)]
/// enum AppError { NotFound, Db(Error) }
/// impl From<Error> for AppError { fn from(e: Error) -> Self { AppError::Db(e) } }
///
/// // `db.session_with_as::<AppError, _>(options, |s| ..)`: an `AppError::NotFound` still commits,
/// // and only a conflict is re-run.
/// let options = SessionOptions::new()
///     .retry(3)
///     .allowed(|e: &AppError| matches!(e, AppError::NotFound))
///     .retry_when(|e| matches!(e, AppError::Db(d) if d.kind() == ErrorKind::OptimisticConflict));
/// # let _ = options;
/// ```
pub struct SessionOptions<E = Error> {
    pub(crate) retry: u32,
    pub(crate) serializable: bool,
    pub(crate) strict: bool,
    /// [`SessionOptions::allowed`].
    allowed: Option<fn(&E) -> bool>,
    /// [`SessionOptions::retry_when`].
    retry_when: Option<fn(&E) -> bool>,
}

impl<E> Clone for SessionOptions<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for SessionOptions<E> {}

impl<E> Default for SessionOptions<E> {
    fn default() -> Self {
        SessionOptions { retry: 0, serializable: false, strict: false, allowed: None, retry_when: None }
    }
}

impl<E> std::fmt::Debug for SessionOptions<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionOptions")
            .field("retry", &self.retry)
            .field("serializable", &self.serializable)
            .field("strict", &self.strict)
            .field("allowed", &self.allowed.is_some())
            .field("retry_when", &self.retry_when.is_some())
            .finish()
    }
}

impl<E> SessionOptions<E> {
    /// The default: no retry. The error type `E` is the session body's, inferred from where the
    /// options go (`session_with`: nextorm's [`Error`]; `session_with_as::<AppError, _>`:
    /// `AppError`) or from a predicate's parameter (`allowed(|e: &AppError| ..)`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Commits the session even though its body returned an error `allowed` accepts, and still
    /// returns that error (PonyORM's `db_session(allowed_exceptions=[...])`): a handler that
    /// records what it did and then reports "not found" keeps its writes. The predicate sees
    /// the body's error as the body returned it (`E`: nextorm's [`Error`] or the caller's own
    /// type). A function or a closure that captures nothing, so the options stay `Copy`.
    ///
    /// An allowed error is never re-run (what the body did is committed). If the commit then
    /// fails, the commit's error is returned, as for a body that returned `Ok`. A session that a
    /// database error made rollback-only (a refused statement, a conflict) rolls back even when
    /// the body's error is allowed: the database refused part of the body's work, and
    /// committing the rest would store half of it. Options of a session that joins an outer one
    /// are ignored (PonyORM ignores a nested `db_session`'s options too).
    ///
    /// ```text
    /// BEGIN; INSERT INTO "audit" ...; COMMIT      -- body returned Err(AppError::NotFound)
    /// ```
    pub fn allowed(mut self, allowed: fn(&E) -> bool) -> Self {
        self.allowed = Some(allowed);
        self
    }

    /// Which errors [`SessionOptions::retry`] re-runs the body after (PonyORM's
    /// `retry_exceptions`). The predicate **replaces** the built-in choice, as Pony's
    /// `retry_exceptions` replaces its default list: it alone decides, on the body's error or on
    /// the commit's error converted into `E`. To widen the built-in choice rather than replace
    /// it, call [`Error::may_rerun_session`] in it:
    /// `retry_when(|e: &Error| e.may_rerun_session() || e.kind() == ErrorKind::UniqueViolation)`.
    /// One case stays refused whatever it says: a connection lost during `COMMIT`, whose
    /// outcome is unknown ([`Error::is_outcome_unknown`]), is never re-run, since the first run
    /// may have committed. Without `retry(n)` nothing is re-run. A function or a closure that
    /// captures nothing.
    pub fn retry_when(mut self, retry_when: fn(&E) -> bool) -> Self {
        self.retry_when = Some(retry_when);
        self
    }

    /// Re-runs the whole session body up to `n` more times when it fails with an optimistic
    /// conflict, a serialization failure or deadlock, a busy SQLite database, or a connection
    /// lost before `COMMIT` was sent (nothing was committed; the rerun takes another
    /// connection). A connection lost during `COMMIT` leaves the outcome unknown and is not
    /// re-run. [`SessionOptions::retry_when`] replaces that choice of errors with the caller's.
    pub fn retry(mut self, n: u32) -> Self {
        self.retry = n;
        self
    }

    /// Runs the whole session, reads included, in one `SERIALIZABLE` transaction opened before
    /// its first statement (PonyORM's `db_session(serializable=True)`): PostgreSQL
    /// `BEGIN ISOLATION LEVEL SERIALIZABLE`, MariaDB `SET TRANSACTION ISOLATION LEVEL
    /// SERIALIZABLE` then `START TRANSACTION`, SQLite `BEGIN IMMEDIATE` (SQLite transactions are
    /// serializable; taking the write lock up front keeps them from failing halfway). This catches
    /// what optimistic checks cannot, such as two sessions that each read two rows and write a
    /// different one; the loser fails with [`ErrorKind::SerializationFailure`], which `retry`
    /// re-runs. A serializable session nested in one that is not is refused
    /// ([`ErrorKind::Config`]) rather than silently run without the guarantee.
    pub fn serializable(mut self) -> Self {
        self.serializable = true;
        self
    }

    /// Makes the session's objects unusable once it ends (PonyORM's `db_session(strict=True)`):
    /// their getters panic, [`Handle::try_read`] and `to_dict` return [`ErrorKind::Config`], and
    /// writes are refused. By default objects stay readable after the session and refuse writes.
    /// Strictness belongs to the outermost session; a nested session joining it keeps its setting.
    pub fn strict(mut self) -> Self {
        self.strict = true;
        self
    }

    /// Whether a session with these options may join `outer` (a nested `session_with`): a
    /// serializable one may not join one that is not.
    pub fn check_join(&self, outer: Option<&SessionCore>) -> Result<()> {
        if self.serializable && !outer.is_some_and(SessionCore::serializable) {
            return Err(Error::config(
                "a serializable session cannot join an outer session that is not: make the outer one serializable",
            ));
        }
        Ok(())
    }

    /// Whether [`SessionOptions::serializable`] was asked for.
    pub fn is_serializable(&self) -> bool {
        self.serializable
    }

    /// How many times the body may be re-run.
    pub fn retries(&self) -> u32 {
        self.retry
    }

    /// After attempt number `attempt` (counted from 0) ended with `end`: the pause before
    /// running the body again, counting the retry, or `None` when `end` is final (a success,
    /// an error `retry` does not cover, or no retries left). The retry loop of both facades.
    pub fn pause_before_retry<T>(&self, attempt: &mut u32, end: &SessionEnd<T, E>) -> Option<std::time::Duration> {
        if end.result.is_err() && end.may_rerun && *attempt < self.retry {
            *attempt += 1;
            Some(retry_pause(*attempt))
        } else {
            None
        }
    }
}
