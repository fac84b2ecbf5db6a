//! The migration runner: applies and reverts planned migrations on one connection, under the
//! dialect's migration lock, recording each in the history table (`migration/history.rs`).
//!
//! PostgreSQL and SQLite run each migration in one transaction, so a failure leaves nothing of it.
//! MariaDB commits DDL statement by statement, so the runner records each step as it completes; a
//! migration stopped half-way is reported with the step it stopped at, and `migrate` refuses to
//! go on until the user resumes it, reverts it or marks it done.

mod history;

use crate::driver::Conn;
use history::{Record, RecordState};
use nextorm_core::{Dialect, Error, ErrorKind, Result};
use std::time::{Duration, Instant};

/// One step of a planned migration: what it does, and its statements for the connected dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedStep {
    /// What the step does, for progress and errors (`add column post.rating`).
    pub describe: String,
    /// The statements, run in order.
    pub statements: Vec<String>,
}

/// A migration planned for one dialect: the runner's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedMigration {
    /// The file name without its extension, which orders the migrations (`0002_add_rating`).
    pub name: String,
    /// The checksum of the file, recorded when it is applied.
    pub checksum: String,
    /// The steps that apply it.
    pub up: Vec<PlannedStep>,
    /// The steps that revert it: `down[i]` undoes `up[up.len() - 1 - i]`.
    pub down: Vec<PlannedStep>,
    /// Why reverting it loses data (a dropped column's values), if it does: going back then
    /// needs [`MigrateOptions::allow_lossy`].
    pub lossy_down: Option<String>,
    /// Whether it rebuilds SQLite tables: it then runs with foreign-key enforcement off and checks
    /// every foreign key before it commits.
    pub foreign_keys_off: bool,
}

/// The state `migrate` should leave the database in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MigrateTarget {
    /// Every migration applied.
    #[default]
    Latest,
    /// The migrations up to and including this one applied, the later ones reverted.
    Name(String),
    /// Every migration reverted.
    Zero,
}

/// How `migrate` runs.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// Where to go.
    pub target: MigrateTarget,
    /// Record (or forget) the migrations without running their statements: for a schema already
    /// changed by hand.
    pub fake: bool,
    /// Continue a migration stopped half-way (MariaDB) from its next step.
    pub resume: bool,
    /// Revert migrations whose downgrade loses data.
    pub allow_lossy: bool,
}

/// Which way a migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Applying it.
    Forwards,
    /// Reverting it.
    Backwards,
}

/// What the runner reports as it goes, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationEvent<'a> {
    /// A migration starts (`first_step` is 1 unless it resumes).
    Started {
        /// The migration.
        name: &'a str,
        /// Which way.
        direction: Direction,
        /// Its step count.
        steps: usize,
    },
    /// A step completed.
    StepDone {
        /// The migration.
        name: &'a str,
        /// The step, from 1.
        step: usize,
        /// Its step count.
        steps: usize,
        /// What the step did.
        describe: &'a str,
        /// How long it took.
        elapsed: Duration,
    },
    /// A migration completed (committed, where the dialect has transactional DDL).
    Finished {
        /// The migration.
        name: &'a str,
        /// Which way.
        direction: Direction,
        /// How long it took.
        elapsed: Duration,
    },
    /// A migration was recorded or forgotten without running it (`fake`).
    Faked {
        /// The migration.
        name: &'a str,
        /// Which way.
        direction: Direction,
    },
}

/// Receives the runner's [`MigrationEvent`]s.
pub trait MigrationProgress: Send {
    /// Called for each event, in order.
    fn event(&mut self, event: &MigrationEvent<'_>);
}

/// Progress that goes to the `tracing` target `nextorm::migrate` at INFO.
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingProgress;

impl MigrationProgress for TracingProgress {
    fn event(&mut self, event: &MigrationEvent<'_>) {
        tracing::info!(target: "nextorm::migrate", ?event);
    }
}

/// Where one migration stands in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// Not applied.
    Pending,
    /// Applied.
    Applied {
        /// When.
        at: chrono::DateTime<chrono::Utc>,
        /// Whether the file still has the checksum it was applied with.
        checksum_matches: bool,
    },
    /// Stopped half-way (MariaDB).
    Partial {
        /// Which way it was running.
        direction: Direction,
        /// Its steps applied now.
        steps_done: usize,
        /// Its step count.
        steps_total: usize,
    },
    /// Recorded as applied, but no migration of that name was given (its file is gone).
    Unknown,
}

/// One line of `showmigrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration.
    pub name: String,
    /// Where it stands.
    pub state: MigrationState,
}

/// What a `migrate` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// The migrations applied, in order.
    pub applied: Vec<String>,
    /// The migrations reverted, in order.
    pub reverted: Vec<String>,
}

fn check_order(migrations: &[PlannedMigration]) -> Result<()> {
    for pair in migrations.windows(2) {
        if pair[0].name >= pair[1].name {
            return Err(Error::config(format!(
                "migrations must be given in order with distinct names: `{}` comes before `{}`",
                pair[0].name, pair[1].name
            )));
        }
    }
    Ok(())
}

/// Where each given migration stands, followed by recorded ones that were not given.
pub(crate) async fn status(conn: &mut Conn, migrations: &[PlannedMigration]) -> Result<Vec<MigrationStatus>> {
    check_order(migrations)?;
    history::ensure_table(conn).await?;
    let records = history::read_all(conn).await?;
    Ok(statuses(migrations, &records))
}

fn statuses(migrations: &[PlannedMigration], records: &[Record]) -> Vec<MigrationStatus> {
    let mut out: Vec<MigrationStatus> = migrations
        .iter()
        .map(|m| {
            let state = match records.iter().find(|r| r.name == m.name) {
                None => MigrationState::Pending,
                Some(r) => record_state(r, Some(m)),
            };
            MigrationStatus { name: m.name.clone(), state }
        })
        .collect();
    for r in records.iter().filter(|r| !migrations.iter().any(|m| m.name == r.name)) {
        out.push(MigrationStatus { name: r.name.clone(), state: record_state(r, None) });
    }
    out
}

fn record_state(r: &Record, given: Option<&PlannedMigration>) -> MigrationState {
    match (r.state, given) {
        (RecordState::Applying, _) => MigrationState::Partial {
            direction: Direction::Forwards,
            steps_done: r.steps_done,
            steps_total: r.steps_total,
        },
        (RecordState::Reverting, _) => MigrationState::Partial {
            direction: Direction::Backwards,
            steps_done: r.steps_done,
            steps_total: r.steps_total,
        },
        (RecordState::Applied, Some(m)) => {
            MigrationState::Applied { at: r.applied_at, checksum_matches: r.checksum == m.checksum }
        }
        (RecordState::Applied, None) => MigrationState::Unknown,
    }
}

/// Takes the dialect's migration lock, runs `migrate_locked`, and releases the lock whatever
/// happened.
pub(crate) async fn migrate(
    conn: &mut Conn,
    migrations: &[PlannedMigration],
    options: &MigrateOptions,
    progress: &mut dyn MigrationProgress,
) -> Result<MigrateReport> {
    check_order(migrations)?;
    let dialect = conn.dialect();
    history::ensure_table(conn).await?;
    let Some((lock, unlock)) = dialect.migration_lock() else {
        return migrate_locked(conn, migrations, options, progress).await;
    };
    let mut taken = false;
    conn.fetch_sql(lock, &[], &mut |row| {
        taken = row.get_i64(0)? == 1;
        Ok(())
    })
    .await?;
    if !taken {
        return Err(Error::new(ErrorKind::Busy, "another `migrate` held the migration lock for an hour; try again"));
    }
    let result = migrate_locked(conn, migrations, options, progress).await;
    let released = conn.fetch_sql(unlock, &[], &mut |_| Ok(())).await;
    let report = result?;
    released?;
    Ok(report)
}

/// The plan of a `migrate`: which migrations run, which way.
struct Plan<'m> {
    /// A half-applied migration to finish first (resume) or revert, with the steps it has done.
    partial: Option<(&'m PlannedMigration, Direction, usize)>,
    apply: Vec<&'m PlannedMigration>,
    revert: Vec<&'m PlannedMigration>,
}

fn plan<'m>(migrations: &'m [PlannedMigration], records: &[Record], options: &MigrateOptions) -> Result<Plan<'m>> {
    let given = |name: &str| migrations.iter().find(|m| m.name == name);
    for r in records {
        let Some(m) = given(&r.name) else {
            return Err(Error::new(
                ErrorKind::Migration,
                format!(
                    "the database has applied migration `{}`, which is not among the migrations given; \
                     restore its file, or remove its row from nextorm_migrations if it was reverted by hand",
                    r.name
                ),
            ));
        };
        if r.checksum != m.checksum {
            return Err(Error::new(
                ErrorKind::Migration,
                format!(
                    "migration `{}` was edited after it was applied (applied with checksum {}, the file now has {}); \
                     restore the file and write the change as a new migration",
                    r.name, r.checksum, m.checksum
                ),
            ));
        }
    }
    let target_index = match &options.target {
        MigrateTarget::Latest => migrations.len(),
        MigrateTarget::Zero => 0,
        MigrateTarget::Name(name) => {
            migrations.iter().position(|m| &m.name == name).map(|i| i + 1).ok_or_else(|| {
                Error::config(format!("there is no migration named `{name}`; `showmigrations` lists them"))
            })?
        }
    };
    let mut partial = None;
    for r in records.iter().filter(|r| r.state != RecordState::Applied) {
        let m = given(&r.name).ok_or_else(|| Error::internal("a checked record has no migration"))?;
        let position = migrations.iter().position(|g| g.name == r.name).unwrap_or(0);
        let direction = if r.state == RecordState::Applying { Direction::Forwards } else { Direction::Backwards };
        // Going back past it (and not faking) reverts the steps it has done.
        let resolved = options.resume || (position >= target_index && !options.fake);
        if !resolved || partial.is_some() {
            return Err(half_applied(r, m, options.fake));
        }
        let direction = if options.resume { direction } else { Direction::Backwards };
        partial = Some((m, direction, r.steps_done));
    }
    let applied = |m: &PlannedMigration| records.iter().any(|r| r.name == m.name && r.state == RecordState::Applied);
    let mut apply = Vec::new();
    let mut revert = Vec::new();
    for (i, m) in migrations.iter().enumerate() {
        if i < target_index && !applied(m) && partial.is_none_or(|(p, ..)| p.name != m.name) {
            if let Some(later) = migrations[i + 1..].iter().find(|l| applied(l)) {
                return Err(Error::new(
                    ErrorKind::Migration,
                    format!(
                        "migration `{}` is not applied, but `{}` after it is; migrations apply in order: \
                         renumber `{}` after the applied ones",
                        m.name, later.name, m.name
                    ),
                ));
            }
            apply.push(m);
        }
        if i >= target_index && applied(m) {
            revert.push(m);
        }
    }
    revert.reverse();
    if !options.allow_lossy
        && !options.fake
        && let Some(m) = revert.iter().find(|m| m.lossy_down.is_some())
    {
        return Err(Error::new(
            ErrorKind::Migration,
            format!(
                "reverting migration `{}` would lose data ({}); pass --allow-lossy to revert it anyway",
                m.name,
                m.lossy_down.as_deref().unwrap_or_default()
            ),
        ));
    }
    Ok(Plan { partial, apply, revert })
}

fn half_applied(r: &Record, m: &PlannedMigration, fake: bool) -> Error {
    let (way, steps) = match r.state {
        RecordState::Reverting => ("reverted", m.down.len()),
        _ => ("applied", m.up.len()),
    };
    let done = if r.state == RecordState::Reverting { r.steps_total - r.steps_done } else { r.steps_done };
    let next = match r.state {
        RecordState::Reverting => m.down.get(done),
        _ => m.up.get(done),
    };
    let next = next.map_or_else(String::new, |s| format!(" (next: {})", s.describe));
    let fake_note = if fake { " `--fake` does not resolve a half-applied migration." } else { "" };
    Error::new(
        ErrorKind::Migration,
        format!(
            "migration `{name}` was being {way} and stopped after step {done} of {steps}{next}: MariaDB commits \
             each DDL statement, so steps 1 to {done} are in the database and the rest are not.{fake_note} \
             Fix what made it fail, then either run `migrate --resume` to go on from step {after}, or migrate \
             back to the migration before it to undo the steps done",
            name = r.name,
            after = done + 1,
        ),
    )
}

async fn migrate_locked(
    conn: &mut Conn,
    migrations: &[PlannedMigration],
    options: &MigrateOptions,
    progress: &mut dyn MigrationProgress,
) -> Result<MigrateReport> {
    let records = history::read_all(conn).await?;
    let plan = plan(migrations, &records, options)?;
    let mut report = MigrateReport::default();
    if let Some((m, direction, steps_done)) = plan.partial {
        let record = records.iter().find(|r| r.name == m.name).cloned();
        let record = record.ok_or_else(|| Error::internal("a half-applied migration has no record"))?;
        match direction {
            Direction::Forwards => {
                run(conn, m, Direction::Forwards, steps_done, Some(record), progress).await?;
                report.applied.push(m.name.clone());
            }
            Direction::Backwards => {
                // `steps_done` up-steps are in the database: revert them, the last first.
                let first = m.up.len().saturating_sub(steps_done);
                run(conn, m, Direction::Backwards, first, Some(record), progress).await?;
                report.reverted.push(m.name.clone());
            }
        }
    }
    for m in plan.revert {
        if options.fake {
            history::delete(conn, &m.name).await?;
            progress.event(&MigrationEvent::Faked { name: &m.name, direction: Direction::Backwards });
        } else {
            run(conn, m, Direction::Backwards, 0, None, progress).await?;
        }
        report.reverted.push(m.name.clone());
    }
    for m in plan.apply {
        if options.fake {
            history::insert(conn, &applied_record(m, chrono::Utc::now(), 0)).await?;
            progress.event(&MigrationEvent::Faked { name: &m.name, direction: Direction::Forwards });
        } else if !run(conn, m, Direction::Forwards, 0, None, progress).await? {
            continue;
        }
        report.applied.push(m.name.clone());
    }
    Ok(report)
}

fn applied_record(m: &PlannedMigration, at: chrono::DateTime<chrono::Utc>, duration_ms: i64) -> Record {
    Record {
        name: m.name.clone(),
        checksum: m.checksum.clone(),
        state: RecordState::Applied,
        steps_done: m.up.len(),
        steps_total: m.up.len(),
        applied_at: at,
        duration_ms,
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Runs one migration from step `first` (0-based) in `direction`. On a dialect with
/// transactional DDL it is one transaction; otherwise each step is recorded as it completes
/// (`record` is the existing row of a migration resumed or reverted half-way). Returns `false`
/// when another process applied it meanwhile (SQLite, where the lock is the transaction).
async fn run(
    conn: &mut Conn,
    m: &PlannedMigration,
    direction: Direction,
    first: usize,
    record: Option<Record>,
    progress: &mut dyn MigrationProgress,
) -> Result<bool> {
    let started = Instant::now();
    let steps = match direction {
        Direction::Forwards => &m.up,
        Direction::Backwards => &m.down,
    };
    progress.event(&MigrationEvent::Started { name: &m.name, direction, steps: steps.len() });
    let dialect = conn.dialect();
    if dialect.transactional_ddl() {
        let keys_off = m.foreign_keys_off && dialect == Dialect::Sqlite;
        if keys_off {
            // SQLite ignores this pragma inside a transaction, so it goes before BEGIN.
            conn.batch("PRAGMA foreign_keys = OFF").await?;
        }
        let result = run_in_transaction(conn, m, direction, steps, keys_off, progress).await;
        if keys_off {
            let restored = conn.batch("PRAGMA foreign_keys = ON").await;
            if result.is_ok() {
                restored?;
            }
        }
        if !result? {
            return Ok(false);
        }
    } else {
        run_recorded(conn, m, direction, steps, first, record, started, progress).await?;
    }
    progress.event(&MigrationEvent::Finished { name: &m.name, direction, elapsed: started.elapsed() });
    Ok(true)
}

async fn run_in_transaction(
    conn: &mut Conn,
    m: &PlannedMigration,
    direction: Direction,
    steps: &[PlannedStep],
    check_keys: bool,
    progress: &mut dyn MigrationProgress,
) -> Result<bool> {
    let started = Instant::now();
    conn.begin_statement(conn.dialect().migration_begin()).await?;
    let result = async {
        // Under SQLite's exclusive transaction, another process may have applied it first.
        let recorded = history::read_one(conn, &m.name).await?.is_some();
        if recorded == (direction == Direction::Forwards) {
            return Ok(false);
        }
        for (i, step) in steps.iter().enumerate() {
            run_step(conn, m, i, steps.len(), step, progress).await?;
        }
        if check_keys {
            check_foreign_keys(conn, &m.name).await?;
        }
        match direction {
            Direction::Forwards => {
                history::insert(conn, &applied_record(m, chrono::Utc::now(), millis(started.elapsed()))).await?
            }
            Direction::Backwards => history::delete(conn, &m.name).await?,
        }
        Ok(true)
    }
    .await;
    match result {
        Ok(ran) => {
            conn.commit().await?;
            Ok(ran)
        }
        Err(e) => {
            // The error that stopped the migration matters more than a failed rollback.
            let _ = conn.rollback().await;
            Err(e)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_recorded(
    conn: &mut Conn,
    m: &PlannedMigration,
    direction: Direction,
    steps: &[PlannedStep],
    first: usize,
    record: Option<Record>,
    started: Instant,
    progress: &mut dyn MigrationProgress,
) -> Result<()> {
    let total = m.up.len();
    let mut record = match record {
        Some(r) => r,
        None => {
            let r = Record {
                state: match direction {
                    Direction::Forwards => RecordState::Applying,
                    Direction::Backwards => RecordState::Reverting,
                },
                steps_done: if direction == Direction::Forwards { 0 } else { total },
                ..applied_record(m, chrono::Utc::now(), 0)
            };
            match direction {
                Direction::Forwards => history::insert(conn, &r).await?,
                Direction::Backwards => history::update(conn, &r).await?,
            }
            r
        }
    };
    record.state = match direction {
        Direction::Forwards => RecordState::Applying,
        Direction::Backwards => RecordState::Reverting,
    };
    for (i, step) in steps.iter().enumerate().skip(first) {
        run_step(conn, m, i, steps.len(), step, progress).await?;
        record.steps_done = match direction {
            Direction::Forwards => i + 1,
            Direction::Backwards => total - (i + 1),
        };
        record.duration_ms = millis(started.elapsed());
        history::update(conn, &record).await?;
    }
    match direction {
        Direction::Forwards => {
            record.state = RecordState::Applied;
            history::update(conn, &record).await
        }
        Direction::Backwards => history::delete(conn, &m.name).await,
    }
}

async fn run_step(
    conn: &mut Conn,
    m: &PlannedMigration,
    index: usize,
    steps: usize,
    step: &PlannedStep,
    progress: &mut dyn MigrationProgress,
) -> Result<()> {
    let started = Instant::now();
    for sql in &step.statements {
        conn.batch(sql).await.map_err(|e| {
            e.context(format_args!(
                "migration `{}`, step {} of {steps} ({}), statement `{sql}`",
                m.name,
                index + 1,
                step.describe
            ))
        })?;
    }
    progress.event(&MigrationEvent::StepDone {
        name: &m.name,
        step: index + 1,
        steps,
        describe: &step.describe,
        elapsed: started.elapsed(),
    });
    Ok(())
}

/// SQLite with enforcement off: every foreign key must hold before the migration commits.
async fn check_foreign_keys(conn: &mut Conn, name: &str) -> Result<()> {
    let mut broken = Vec::new();
    conn.fetch_sql("PRAGMA foreign_key_check", &[], &mut |row| {
        if broken.len() < 5 {
            broken.push(format!(
                "a row of `{}` refers to a missing row of `{}`",
                row.get_string(0)?,
                row.get_string(2)?
            ));
        }
        Ok(())
    })
    .await?;
    if broken.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::ForeignKeyViolation,
        format!("migration `{name}` leaves foreign keys broken, so it was rolled back: {}", broken.join("; ")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migration(name: &str) -> PlannedMigration {
        PlannedMigration {
            name: name.into(),
            checksum: format!("sum-{name}"),
            up: vec![PlannedStep { describe: "a".into(), statements: vec![] }],
            down: vec![PlannedStep { describe: "undo a".into(), statements: vec![] }],
            lossy_down: None,
            foreign_keys_off: false,
        }
    }

    fn record(name: &str, state: RecordState) -> Record {
        Record {
            name: name.into(),
            checksum: format!("sum-{name}"),
            state,
            steps_done: 1,
            steps_total: 1,
            applied_at: chrono::Utc::now(),
            duration_ms: 0,
        }
    }

    fn names(ms: &[&PlannedMigration]) -> Vec<String> {
        ms.iter().map(|m| m.name.clone()).collect()
    }

    #[test]
    fn pending_migrations_apply_in_order_and_a_target_reverts_the_later_ones() {
        let ms = [migration("0001_a"), migration("0002_b"), migration("0003_c")];
        let records = [record("0001_a", RecordState::Applied)];
        let p = plan(&ms, &records, &MigrateOptions::default()).unwrap();
        assert_eq!(names(&p.apply), ["0002_b", "0003_c"]);
        let records = [record("0001_a", RecordState::Applied), record("0002_b", RecordState::Applied)];
        let back = MigrateOptions { target: MigrateTarget::Name("0001_a".into()), ..Default::default() };
        let p = plan(&ms, &records, &back).unwrap();
        assert!(p.apply.is_empty());
        assert_eq!(names(&p.revert), ["0002_b"]);
        let zero = MigrateOptions { target: MigrateTarget::Zero, ..Default::default() };
        assert_eq!(names(&plan(&ms, &records, &zero).unwrap().revert), ["0002_b", "0001_a"]);
    }

    #[test]
    fn an_edited_or_missing_file_is_refused() {
        let ms = [migration("0001_a")];
        let mut edited = record("0001_a", RecordState::Applied);
        edited.checksum = "other".into();
        let e = plan(&ms, &[edited], &MigrateOptions::default()).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Migration);
        assert!(e.message().contains("edited"), "{e}");
        let e = plan(&ms, &[record("0009_gone", RecordState::Applied)], &MigrateOptions::default()).err().unwrap();
        assert!(e.message().contains("not among"), "{e}");
    }

    #[test]
    fn a_gap_before_an_applied_migration_is_refused() {
        let ms = [migration("0001_a"), migration("0002_b")];
        let e = plan(&ms, &[record("0002_b", RecordState::Applied)], &MigrateOptions::default()).err().unwrap();
        assert!(e.message().contains("apply in order"), "{e}");
    }

    #[test]
    fn a_lossy_revert_needs_permission() {
        let mut lossy = migration("0002_b");
        lossy.lossy_down = Some("column post.body is dropped".into());
        let ms = [migration("0001_a"), lossy];
        let records = [record("0001_a", RecordState::Applied), record("0002_b", RecordState::Applied)];
        let back = MigrateOptions { target: MigrateTarget::Name("0001_a".into()), ..Default::default() };
        let e = plan(&ms, &records, &back).err().unwrap();
        assert!(e.message().contains("post.body"), "{e}");
        let allowed = MigrateOptions { allow_lossy: true, ..back };
        assert_eq!(names(&plan(&ms, &records, &allowed).unwrap().revert), ["0002_b"]);
    }

    #[test]
    fn a_half_applied_migration_blocks_until_resumed_or_reverted() {
        let mut two = migration("0002_b");
        two.up.push(PlannedStep { describe: "b".into(), statements: vec![] });
        let ms = [migration("0001_a"), two];
        let mut half = record("0002_b", RecordState::Applying);
        half.steps_total = 2;
        let records = [record("0001_a", RecordState::Applied), half];
        let e = plan(&ms, &records, &MigrateOptions::default()).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Migration);
        assert!(e.message().contains("stopped after step 1 of 2 (next: b)"), "{e}");
        let resume = MigrateOptions { resume: true, ..Default::default() };
        let p = plan(&ms, &records, &resume).unwrap();
        assert_eq!(p.partial.map(|(m, d, done)| (m.name.as_str(), d, done)), Some(("0002_b", Direction::Forwards, 1)));
        let back = MigrateOptions { target: MigrateTarget::Name("0001_a".into()), ..Default::default() };
        let p = plan(&ms, &records, &back).unwrap();
        assert_eq!(p.partial.map(|(m, d, _)| (m.name.as_str(), d)), Some(("0002_b", Direction::Backwards)));
        assert!(p.revert.is_empty() && p.apply.is_empty());
        let fake = MigrateOptions { fake: true, ..Default::default() };
        assert!(plan(&ms, &records, &fake).is_err());
    }

    #[test]
    fn statuses_show_pending_applied_partial_and_unknown() {
        let ms = [migration("0001_a"), migration("0002_b"), migration("0003_c")];
        let mut edited = record("0002_b", RecordState::Applying);
        edited.steps_done = 0;
        let records = [record("0001_a", RecordState::Applied), edited, record("0009_z", RecordState::Applied)];
        let s = statuses(&ms, &records);
        assert!(matches!(s[0].state, MigrationState::Applied { checksum_matches: true, .. }));
        assert_eq!(
            s[1].state,
            MigrationState::Partial { direction: Direction::Forwards, steps_done: 0, steps_total: 1 }
        );
        assert_eq!(s[2].state, MigrationState::Pending);
        assert_eq!((s[3].name.as_str(), &s[3].state), ("0009_z", &MigrationState::Unknown));
    }
}
