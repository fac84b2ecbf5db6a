//! The unit of work as a plan: a flush turned into steps (a statement, what it must return, the
//! objects it concerns) that a runner sends one by one, feeding each outcome back. The plan owns
//! the flush rules (delete rules, foreign-key and unique-value order, multi-row batches, the lone
//! statement sent in autocommit, values read again after a generated key, "not one row means a
//! conflict"); the runner only does the IO.
//!
//! ```text
//! let mut plan = FlushPlan::new(&mut map, dialect, committing)?;
//! while let Some(step) = plan.next_step(&mut map)? {
//!     // open the transaction first if step.in_transaction; send step.sql
//!     plan.outcome(&mut map, Outcome::Rows(n))?;   // or Outcome::GeneratedKey(id)
//! }
//! ```

use super::fast_map::{FastMap, FastSet};
use super::identity::IdentityMap;
use super::pairs::PairChange;
use super::plan::{Change, change_sql, insert_batch_len, insert_batch_sql, insert_run_len};
use crate::dialect::Dialect;
use crate::error::{Error, ErrorKind, Result};
use crate::render::Sql;

/// What a step's statement must return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Exactly one affected row (an optimistic update or delete, a join-table insert).
    OneRow,
    /// Any count of affected rows (an insert with a given key, a join-table delete).
    AnyCount,
    /// The key the database generated (an insert of an object with an auto key).
    GeneratedKey,
    /// The keys a multi-row insert of objects with auto keys generated, one row each, in the
    /// order of its rows (`RETURNING`).
    GeneratedKeys,
}

/// What running a step returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The number of affected rows.
    Rows(u64),
    /// The generated key of an [`Expect::GeneratedKey`] step.
    GeneratedKey(i64),
    /// The generated keys of an [`Expect::GeneratedKeys`] step, in the order of its rows.
    GeneratedKeys(Vec<i64>),
}

/// One statement of a flush.
#[derive(Debug)]
pub struct Step {
    /// The statement and its binds.
    pub sql: Sql,
    /// What it must return.
    pub expect: Expect,
    /// The indexes (in the identity map) of the objects it writes; empty for a join-table change.
    pub objects: Vec<usize>,
    /// Whether it must run inside the session's transaction: false only for a statement that is
    /// the whole flush of a commit, sent alone in autocommit.
    pub in_transaction: bool,
    /// The rows it writes, for the session's counters.
    pub writes: u64,
}

/// Where a plan is.
#[derive(Debug)]
enum Phase {
    /// Sending the objects' own changes.
    Changes,
    /// Sending the join-table changes.
    Pairs,
    /// Nothing left.
    Done,
}

/// A flush in progress: the ordered changes of the objects, then the join-table changes.
#[derive(Debug)]
pub struct FlushPlan {
    phase: Phase,
    dialect: Dialect,
    /// The write count read before the scan (see [`IdentityMap::scanned`]); `None` when the
    /// objects were not scanned (nothing changed since the last scan).
    epoch: Option<u64>,
    /// (object index, change) in the order they are sent.
    changes: Vec<(usize, Change)>,
    /// The next change to send.
    at: usize,
    /// The changes the step in flight covers (`at..at + sending`).
    sending: usize,
    /// Every change of the flush fits one statement sent alone in autocommit.
    autocommit: bool,
    /// Set once a key is generated: later inserts may refer to that object, so their values are
    /// read again before they are sent.
    generated_any: bool,
    /// Whether a commit follows at once (see [`FlushPlan::new`]).
    committing: bool,
    pairs: std::vec::IntoIter<PairChange>,
    pairs_alone: bool,
    /// The join-table change in flight accepts any count.
    pair_any_count: bool,
    /// A flush of one object ([`FlushPlan::for_object`]): other objects' changes and the
    /// join-table changes wait for the next full flush.
    partial: bool,
    /// The objects inserted or updated whose entity has `volatile` columns, to read again.
    volatile: Vec<usize>,
}

impl FlushPlan {
    /// A plan with nothing planned yet.
    fn new_empty(dialect: Dialect) -> FlushPlan {
        FlushPlan {
            phase: Phase::Changes,
            dialect,
            epoch: None,
            changes: Vec::new(),
            at: 0,
            sending: 0,
            autocommit: false,
            generated_any: false,
            committing: false,
            pairs: Vec::new().into_iter(),
            pairs_alone: false,
            pair_any_count: false,
            partial: false,
            volatile: Vec::new(),
        }
    }

    /// Plans the flush of `map`: applies the delete rules, collects every pending change and
    /// orders it (see [`flush_order`](super::flush_order)). `committing`: a commit follows at
    /// once, so a flush of one statement outside a transaction runs it alone in autocommit, which
    /// is as atomic and saves the `BEGIN` and `COMMIT` round trips (the common session that
    /// changes one object); not when something can fail after it (after-hooks, a generated key
    /// to convert and store).
    pub fn new(map: &mut IdentityMap, dialect: Dialect, committing: bool) -> Result<FlushPlan> {
        let mut plan = FlushPlan::new_empty(dialect);
        plan.committing = committing;
        // Read before the scan: a write that lands during it counts after, and is seen next time.
        let epoch = super::write_epoch();
        if map.unchanged_since_scan(epoch) {
            plan.start_pairs(map, committing)?;
            return Ok(plan);
        }
        map.apply_delete_rules()?;
        let mut planned = Vec::new();
        for (i, o) in map.objects().enumerate() {
            if let Some(change) = o.pending()? {
                planned.push((i, change));
            }
        }
        if planned.is_empty() {
            map.scanned(epoch);
            plan.start_pairs(map, committing)?;
            return Ok(plan);
        }
        plan.epoch = Some(epoch);
        let order = super::flush_order(map, &planned)?;
        let mut slots: Vec<Option<(usize, Change)>> = planned.into_iter().map(Some).collect();
        plan.changes = order.into_iter().filter_map(|at| slots[at].take()).collect();
        let changes = &plan.changes;
        let one_statement =
            changes.len() == 1 || insert_batch_len(changes.iter().map(|(_, c)| c), dialect) == changes.len();
        let nothing_after = changes
            .iter()
            .all(|(i, c)| !map.object(*i).has_hooks() && !matches!(c, Change::Insert { generated_key: true, .. }));
        // Join-table changes follow the objects' changes in the same transaction, so a commit
        // that has any is never one statement alone.
        plan.autocommit = committing && one_statement && nothing_after && !map.pairs_pending();
        Ok(plan)
    }

    /// Plans the flush of one object, the object at `object` in the map (PonyORM's
    /// `obj.flush()`): its own pending change, and what that change needs first. An insert or
    /// update first inserts the new objects it refers to (and theirs, and so on); a delete first
    /// sends the changes the delete rules made to the objects that refer to it (their deletes,
    /// or their references set to NULL), so that the database's cascade does not remove rows
    /// the session would delete again. Nothing else is sent: other objects' changes, and
    /// join-table pairs, wait for the next flush. Hooks run only for the objects sent.
    pub fn for_object(map: &mut IdentityMap, dialect: Dialect, object: usize) -> Result<FlushPlan> {
        let mut plan = FlushPlan::new_empty(dialect);
        plan.partial = true;
        if object >= map.len() {
            return Err(Error::internal("a flush of an object that is not in the identity map"));
        }
        map.apply_delete_rules()?;
        let by_addr: FastMap<usize, usize> = map.objects().enumerate().map(|(i, o)| (o.addr(), i)).collect();
        let mut seen: FastSet<usize> = FastSet::default();
        let mut planned: Vec<(usize, Change)> = Vec::new();
        let mut stack = vec![object];
        let mut followed = Vec::new();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            let Some(change) = map.object(i).pending()? else { continue };
            match &change {
                Change::Insert { .. } | Change::Update { .. } => {
                    followed.clear();
                    map.object(i).referenced_objects(&mut followed);
                    for &(_, addr) in &followed {
                        if let Some(&j) = by_addr.get(&addr)
                            && map.object(j).is_new()
                        {
                            stack.push(j);
                        }
                    }
                }
                Change::Delete { meta, key, .. } => {
                    let [parent_key] = key.as_slice() else {
                        planned.push((i, change));
                        continue;
                    };
                    for (j, o) in map.objects().enumerate() {
                        if seen.contains(&j) {
                            continue;
                        }
                        let refers = o
                            .meta()
                            .references()
                            .filter(|(relation, _)| std::ptr::eq((relation.target)(), *meta))
                            .map(|(_, column)| column)
                            .collect::<Vec<_>>();
                        if refers.is_empty() {
                            continue;
                        }
                        if o.is_deleting() {
                            if refers.iter().any(|&c| o.column_value(c).is_ok_and(|v| &v == parent_key)) {
                                stack.push(j);
                            }
                        } else if o.live() && !o.is_new() && refers.iter().any(|&c| o.left_reference(c, parent_key)) {
                            // A reference the delete rules set to NULL. Found without computing
                            // the object's change, which would run its `before_update` hook
                            // though it may not be sent now.
                            stack.push(j);
                        }
                    }
                }
            }
            planned.push((i, change));
        }
        if planned.is_empty() {
            plan.phase = Phase::Done;
            return Ok(plan);
        }
        planned.sort_by_key(|(i, _)| *i);
        let order = super::flush_order(map, &planned)?;
        let mut slots: Vec<Option<(usize, Change)>> = planned.into_iter().map(Some).collect();
        plan.changes = order.into_iter().filter_map(|at| slots[at].take()).collect();
        Ok(plan)
    }

    /// Computes the join-table changes; with none, records the pairs as flushed and ends.
    fn start_pairs(&mut self, map: &mut IdentityMap, committing: bool) -> Result<()> {
        let pairs = map.pair_changes(self.dialect)?;
        if pairs.is_empty() {
            // Nothing to send (or only pairs of deleted objects, which the database drops).
            map.pairs_flushed();
            self.phase = Phase::Done;
            return Ok(());
        }
        self.pairs_alone = committing && pairs.len() == 1;
        self.pairs = pairs.into_iter();
        self.phase = Phase::Pairs;
        Ok(())
    }

    /// The next statement to send, `None` when the flush is complete. Each step's
    /// [`Outcome`] must be given to [`FlushPlan::outcome`] before asking for the next.
    pub fn next_step(&mut self, map: &mut IdentityMap) -> Result<Option<Step>> {
        loop {
            match self.phase {
                Phase::Changes if self.at < self.changes.len() => return self.change_step(map).map(Some),
                Phase::Changes if self.partial => {
                    map.rekey()?;
                    self.phase = Phase::Done;
                }
                Phase::Changes => {
                    map.rekey()?;
                    if let Some(epoch) = self.epoch {
                        map.scanned(epoch);
                    }
                    // After the objects' changes, a join-table change never goes alone.
                    let committing = self.committing && self.changes.is_empty();
                    self.start_pairs(map, committing)?;
                }
                Phase::Pairs => match self.pairs.next() {
                    Some(change) => {
                        self.pair_any_count = change.any_count;
                        let binds = change.stmt.binds;
                        let step = Step {
                            sql: Sql { text: change.stmt.text.to_string(), placeholders: binds.len(), binds },
                            expect: if change.any_count { Expect::AnyCount } else { Expect::OneRow },
                            objects: Vec::new(),
                            in_transaction: !self.pairs_alone,
                            writes: 1,
                        };
                        return Ok(Some(step));
                    }
                    None => {
                        map.pairs_flushed();
                        self.phase = Phase::Done;
                    }
                },
                Phase::Done => return Ok(None),
            }
        }
    }

    fn change_step(&mut self, map: &IdentityMap) -> Result<Step> {
        let at = self.at;
        let run = insert_run_len(self.changes[at..].iter().map(|(_, c)| c), self.dialect, false);
        if self.generated_any {
            for (i, change) in &mut self.changes[at..at + run] {
                if let Change::Insert { values, .. } = change {
                    *values = map.object(*i).current_values()?;
                }
            }
        }
        // Read again, the values tell which inserts still wait for a key of this batch.
        let rows = insert_batch_len(self.changes[at..at + run].iter().map(|(_, c)| c), self.dialect);
        self.sending = rows;
        let batch = &self.changes[at..at + rows];
        let objects = batch.iter().map(|(i, _)| *i).collect();
        let in_transaction = !self.autocommit;
        if rows > 1 {
            let sql = insert_batch_sql(batch.iter().map(|(_, c)| c), self.dialect)
                .ok_or_else(|| Error::internal("a flush grouped changes that are not inserts"))?;
            let expect = match &batch[0].1 {
                Change::Insert { generated_key: true, .. } => Expect::GeneratedKeys,
                _ => Expect::AnyCount,
            };
            return Ok(Step { sql, expect, objects, in_transaction, writes: rows as u64 });
        }
        let change = &batch[0].1;
        let expect = match change {
            Change::Insert { generated_key: true, .. } => Expect::GeneratedKey,
            Change::Insert { .. } => Expect::AnyCount,
            Change::Update { .. } | Change::Delete { .. } => Expect::OneRow,
        };
        Ok(Step { sql: change_sql(change, self.dialect), expect, objects, in_transaction, writes: 1 })
    }

    /// Names the objects of the step in flight in the error the database gave for it, when that
    /// error is a constraint's (unique, foreign key, not-null, check): the kind, the database's
    /// message and code stay, and the message is prefixed with the rows the step wrote, as
    /// PonyORM's `Object Customer[new:4] cannot be stored` does:
    ///
    /// ```text
    /// unique violation: Customer[new] cannot be stored: UNIQUE constraint failed: customer.email
    /// foreign key violation: Shelf[2] cannot be deleted: ...
    /// ```
    ///
    /// A multi-row insert names its first three objects and how many more it held (the database
    /// does not say which row it refused). Other errors come back unchanged.
    pub fn name_failed_step(&self, error: Error) -> Error {
        let constraint = matches!(
            error.kind(),
            ErrorKind::UniqueViolation
                | ErrorKind::ForeignKeyViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::CheckViolation
        );
        if !constraint || !matches!(self.phase, Phase::Changes) || self.sending == 0 {
            return error;
        }
        let Some(sent) = self.changes.get(self.at..self.at + self.sending) else {
            return error;
        };
        const NAMED: usize = 3;
        let mut names: Vec<String> = sent.iter().take(NAMED).map(|(_, c)| describe_stored(c)).collect();
        if sent.len() > NAMED {
            names.push(format!("{} more", sent.len() - NAMED));
        }
        let what = match &sent[0].1 {
            Change::Delete { .. } => "deleted",
            _ => "stored",
        };
        let list = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.concat(),
        };
        error.context(format_args!("{list} cannot be {what}"))
    }

    /// The objects this flush inserted or updated whose entity has `volatile` columns (see
    /// [`crate::entity::ColumnMeta::volatile`]), grouped by entity in the order they were
    /// written, taken out: the runner reads their volatile columns again once the flush is done
    /// (`crate::crud::select_columns_of_keys` per entity and batch, then
    /// [`IdentityMap::load_columns`]).
    pub fn take_volatile(&mut self, map: &IdentityMap) -> Vec<(&'static crate::entity::EntityMeta, Vec<usize>)> {
        let mut groups: Vec<(&'static crate::entity::EntityMeta, Vec<usize>)> = Vec::new();
        for i in std::mem::take(&mut self.volatile) {
            let meta = map.object(i).meta();
            match groups.iter_mut().find(|(m, _)| std::ptr::eq(*m, meta)) {
                Some((_, list)) => list.push(i),
                None => groups.push((meta, vec![i])),
            }
        }
        groups
    }

    /// Takes the outcome of the step [`FlushPlan::next_step`] returned last and records it in
    /// the identity map. An update or delete that affected no row is an
    /// [`ErrorKind::OptimisticConflict`]: another transaction changed or deleted the row since
    /// this session read it.
    pub fn outcome(&mut self, map: &mut IdentityMap, outcome: Outcome) -> Result<()> {
        match self.phase {
            Phase::Changes => {
                let sent = self.at..self.at + self.sending;
                self.at = sent.end;
                let keys = match outcome {
                    Outcome::GeneratedKey(key) => vec![key],
                    Outcome::GeneratedKeys(keys) => keys,
                    Outcome::Rows(n) => {
                        if let [(_, change @ (Change::Update { meta, key, .. } | Change::Delete { meta, key, .. }))] =
                            &self.changes[sent.clone()]
                            && n != 1
                        {
                            let what = if matches!(change, Change::Update { .. }) { "updated" } else { "deleted" };
                            return Err(Error::new(
                                ErrorKind::OptimisticConflict,
                                format!(
                                    "{} was changed or deleted by another transaction since this session read it, so it was not {what}",
                                    meta.describe_key(key)
                                ),
                            ));
                        }
                        Vec::new()
                    }
                };
                if !keys.is_empty() {
                    if keys.len() != sent.len() {
                        return Err(Error::internal(format!(
                            "an insert of {} rows returned {} generated keys",
                            sent.len(),
                            keys.len()
                        )));
                    }
                    self.generated_any = true;
                }
                for (j, (i, change)) in self.changes[sent].iter().enumerate() {
                    map.object(*i).applied(change, keys.get(j).copied())?;
                    if let Change::Insert { meta, .. } | Change::Update { meta, .. } = change
                        && !meta.volatile_columns.is_empty()
                    {
                        self.volatile.push(*i);
                    }
                }
                Ok(())
            }
            Phase::Pairs => match outcome {
                Outcome::Rows(n) if !self.pair_any_count && n != 1 => {
                    Err(Error::internal(format!("a join-table change affected {n} rows")))
                }
                _ => Ok(()),
            },
            Phase::Done => Ok(()),
        }
    }
}

/// A changed row for messages: `Customer[3]`, or `Customer[new]` when the database generates
/// its key.
fn describe_stored(change: &Change) -> String {
    match change {
        Change::Insert { meta, generated_key: true, .. } => format!("{}[new]", meta.name),
        Change::Insert { meta, values, .. } => {
            let key: Vec<crate::value::Value> =
                meta.primary_key.iter().filter_map(|&i| values.get(i).cloned()).collect();
            meta.describe_key(&key)
        }
        Change::Update { meta, key, .. } | Change::Delete { meta, key, .. } => meta.describe_key(key),
    }
}
