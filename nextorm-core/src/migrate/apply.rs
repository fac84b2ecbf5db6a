//! What a `migrate` run does, decided without IO: from the history table's rows, the migrations
//! and the target, which migrations apply or revert, what happens to a migration stopped half-way
//! (MariaDB), and what `showmigrations` shows. The engine's runner executes the decision.

use super::file::Migration;
use super::set::{Direction, Migrations};
use crate::dialect::Dialect;
use crate::error::{Error, ErrorKind, Result};

/// Where a recorded migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    /// Every step is applied.
    Applied,
    /// Going forwards, stopped after `steps_done` steps (MariaDB only: elsewhere a migration is one
    /// transaction and is never recorded half-way).
    Applying,
    /// Going back, with `steps_done` of its steps still applied (MariaDB only).
    Reverting,
}

impl RecordState {
    /// The state as the history table stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Applied => "applied",
            RecordState::Applying => "applying",
            RecordState::Reverting => "reverting",
        }
    }

    /// The state the history table stores as `text`.
    pub fn parse(text: &str) -> Result<RecordState> {
        match text {
            "applied" => Ok(RecordState::Applied),
            "applying" => Ok(RecordState::Applying),
            "reverting" => Ok(RecordState::Reverting),
            other => Err(Error::decode(format!("the migration history holds an unknown state `{other}`"))),
        }
    }
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The migration's id (`0002_add_post_rating`).
    pub name: String,
    /// The checksum of its file as it was applied.
    pub checksum: String,
    /// Applied, or stopped half-way.
    pub state: RecordState,
    /// The steps applied (all of them once applied).
    pub steps_done: usize,
    /// The migration's step count on this database.
    pub steps_total: usize,
    /// When it was applied (or started).
    pub applied_at: chrono::DateTime<chrono::Utc>,
    /// How long applying it took.
    pub duration_ms: i64,
}

impl Record {
    /// The record of `migration` fully applied, in `steps` steps.
    pub fn applied(migration: &Migration, steps: usize, duration_ms: i64) -> Record {
        Record {
            name: migration.id(),
            checksum: migration.checksum().to_owned(),
            state: RecordState::Applied,
            steps_done: steps,
            steps_total: steps,
            applied_at: chrono::Utc::now(),
            duration_ms,
        }
    }
}

/// The state `migrate` should leave the database in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MigrateTarget {
    /// Every migration applied.
    #[default]
    Latest,
    /// The migrations up to and including this one applied (named by id, file name or number), the
    /// later ones reverted.
    Name(String),
    /// Every migration reverted.
    Zero,
}

/// How `migrate` runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Where to go.
    pub target: MigrateTarget,
    /// Record (or forget) the migrations without running their statements: for a schema already
    /// changed by hand.
    pub fake: bool,
    /// Continue a migration stopped half-way (MariaDB) from its next step, in the direction it
    /// was going.
    pub resume: bool,
    /// Revert migrations whose downgrade cannot restore data.
    pub allow_lossy: bool,
}

/// Where one migration stands in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Recorded, but no migration of that name exists (its file is gone).
    Unknown,
}

/// One line of `showmigrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration's id.
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

/// Where each migration stands, followed by recorded migrations that do not exist.
pub fn statuses(migrations: &Migrations, records: &[Record]) -> Vec<MigrationStatus> {
    let mut out: Vec<MigrationStatus> = migrations
        .list()
        .iter()
        .map(|m| {
            let id = m.id();
            let state = match records.iter().find(|r| r.name == id) {
                None => MigrationState::Pending,
                Some(r) => record_state(r, Some(m)),
            };
            MigrationStatus { name: id, state }
        })
        .collect();
    for r in records.iter().filter(|r| migrations.find(&r.name).is_none()) {
        out.push(MigrationStatus { name: r.name.clone(), state: record_state(r, None) });
    }
    out
}

fn record_state(r: &Record, given: Option<&Migration>) -> MigrationState {
    let partial =
        |direction| MigrationState::Partial { direction, steps_done: r.steps_done, steps_total: r.steps_total };
    match (r.state, given) {
        (RecordState::Applying, _) => partial(Direction::Forwards),
        (RecordState::Reverting, _) => partial(Direction::Backwards),
        (RecordState::Applied, Some(m)) => {
            MigrationState::Applied { at: r.applied_at, checksum_matches: r.checksum == m.checksum() }
        }
        (RecordState::Applied, None) => MigrationState::Unknown,
    }
}

/// A migration stopped half-way that this run finishes, one way or the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished<'m> {
    /// The migration.
    pub migration: &'m Migration,
    /// Which way it now runs: forwards to resume it, backwards to undo the steps done.
    pub direction: Direction,
    /// The first step to run of its plan in that direction (0-based).
    pub first_step: usize,
    /// Its history row, which the runner keeps up to date.
    pub record: Record,
}

/// What one `migrate` run does, in order: finish the unfinished migration, revert, apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan<'m> {
    /// A half-applied migration to resume or undo first.
    pub unfinished: Option<Unfinished<'m>>,
    /// The migrations to revert, the last applied first.
    pub revert: Vec<&'m Migration>,
    /// The migrations to apply, in order.
    pub apply: Vec<&'m Migration>,
}

/// Decides what `migrate` with `options` does on `dialect`, given the history `records`.
///
/// Refused, with [`ErrorKind::Migration`] and the way out: a recorded migration that does not
/// exist or whose file was edited; a pending migration before an applied one; a half-applied
/// migration that the options neither resume nor go back past; reverting a migration that
/// destroyed data, unless `allow_lossy`.
pub fn run_plan<'m>(
    migrations: &'m Migrations,
    records: &[Record],
    options: &MigrateOptions,
    dialect: Dialect,
) -> Result<RunPlan<'m>> {
    for r in records {
        let Some(m) = migrations.find(&r.name) else {
            return Err(Error::new(
                ErrorKind::Migration,
                format!(
                    "the database has applied migration `{}`, which is not among the migrations; restore its file, \
                     or delete its row from nextorm_migrations if its changes were undone by hand",
                    r.name
                ),
            ));
        };
        if r.checksum != m.checksum() {
            return Err(Error::new(
                ErrorKind::Migration,
                format!(
                    "migration `{}` was edited after it was applied (applied with checksum {}, the file now has {}); \
                     restore the file and write the change as a new migration",
                    r.name,
                    r.checksum,
                    m.checksum()
                ),
            ));
        }
    }
    let list = migrations.list();
    let keep = match &options.target {
        MigrateTarget::Latest => list.len(),
        MigrateTarget::Zero => 0,
        MigrateTarget::Name(name) => {
            let m = migrations
                .find(name)
                .ok_or_else(|| Error::config(format!("there is no migration `{name}`; `showmigrations` lists them")))?;
            list.iter().position(|l| l.number == m.number).map_or(0, |i| i + 1)
        }
    };
    let position = |name: &str| list.iter().position(|m| m.id() == name);
    let mut unfinished = None;
    for r in records.iter().filter(|r| r.state != RecordState::Applied) {
        let at = position(&r.name).ok_or_else(|| Error::internal("a checked history row has no migration"))?;
        let m = &list[at];
        let going_back_past_it = at >= keep && !options.fake;
        if unfinished.is_some() || !(options.resume || going_back_past_it) {
            return Err(half_applied(migrations, r, m, options.fake, dialect));
        }
        let direction = match (options.resume, r.state) {
            (true, RecordState::Applying) => Direction::Forwards,
            _ => Direction::Backwards,
        };
        // Backwards, step i undoes step `total - 1 - i` of the forward plan.
        let first_step = match direction {
            Direction::Forwards => r.steps_done,
            Direction::Backwards => r.steps_total.saturating_sub(r.steps_done),
        };
        unfinished = Some(Unfinished { migration: m, direction, first_step, record: r.clone() });
    }
    let applied = |m: &Migration| records.iter().any(|r| r.name == m.id() && r.state == RecordState::Applied);
    let unfinished_id = unfinished.as_ref().map(|u: &Unfinished<'_>| u.migration.id());
    let mut apply = Vec::new();
    let mut revert = Vec::new();
    for (i, m) in list.iter().enumerate() {
        if i < keep && !applied(m) && unfinished_id.as_deref() != Some(&m.id()) {
            if let Some(later) = list[i + 1..].iter().find(|l| applied(l)) {
                return Err(Error::new(
                    ErrorKind::Migration,
                    format!(
                        "migration `{}` is not applied, but `{}` after it is; migrations apply in number order, \
                         so renumber `{}` after the applied ones",
                        m.id(),
                        later.id(),
                        m.file_name()
                    ),
                ));
            }
            apply.push(m);
        }
        if i >= keep && applied(m) {
            revert.push(m);
        }
    }
    revert.reverse();
    if !options.allow_lossy && !options.fake {
        for m in &revert {
            let lossy = migrations.plan(m.number, Direction::Backwards, dialect)?.lossy;
            if !lossy.is_empty() {
                return Err(Error::new(
                    ErrorKind::Migration,
                    format!(
                        "reverting migration `{}` cannot restore what it destroyed ({}); allow lossy reverts \
                         (`--allow-lossy`) to revert it anyway",
                        m.id(),
                        lossy.join("; ")
                    ),
                ));
            }
        }
    }
    Ok(RunPlan { unfinished, revert, apply })
}

fn half_applied(migrations: &Migrations, r: &Record, m: &Migration, fake: bool, dialect: Dialect) -> Error {
    let (way, direction) = match r.state {
        RecordState::Reverting => ("reverted", Direction::Backwards),
        _ => ("applied", Direction::Forwards),
    };
    let done = match direction {
        Direction::Forwards => r.steps_done,
        Direction::Backwards => r.steps_total.saturating_sub(r.steps_done),
    };
    let next = migrations
        .plan(m.number, direction, dialect)
        .ok()
        .and_then(|p| p.steps.get(done).map(|s| format!(" (next: {})", s.description)))
        .unwrap_or_default();
    let fake_note = if fake { " `--fake` does not resolve a half-applied migration." } else { "" };
    Error::new(
        ErrorKind::Migration,
        format!(
            "migration `{name}` was being {way} and stopped after step {done} of {total}{next}: {dialect} commits each \
             DDL statement, so those steps are in the database and the rest are not.{fake_note} Fix what made it \
             fail, then either resume it (`migrate --resume`) from step {after}, or migrate back to the migration \
             before it to undo the steps done",
            name = r.name,
            total = r.steps_total,
            dialect = dialect.name(),
            after = done + 1,
        ),
    )
}
