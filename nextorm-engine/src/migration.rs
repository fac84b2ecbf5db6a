//! The migration runner: executes what [`run_plan`] decided on one connection, under the
//! dialect's migration lock, recording each migration in the history table
//! (`migration/history.rs`).
//!
//! PostgreSQL and SQLite run each migration in one transaction, so a failure leaves nothing of it.
//! MariaDB commits DDL statement by statement, so the runner records each step as it completes; a
//! migration stopped half-way is reported with the step it stopped at, and `migrate` refuses to
//! go on until the user resumes it or migrates back past it.

mod history;

use crate::driver::Conn;
use nextorm_core::migrate::{
    Direction, MigrateOptions, MigrateReport, Migration, MigrationStatus, Migrations, Plan, Record, RecordState, Step,
    run_plan, statuses,
};
use nextorm_core::{Error, ErrorKind, Result};
use std::time::{Duration, Instant};

/// What the runner reports as it goes, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MigrationEvent<'a> {
    /// A migration starts, at step `first_step` (1 unless it resumes).
    Started {
        /// The migration's id.
        name: &'a str,
        /// Which way.
        direction: Direction,
        /// The step it starts at, from 1.
        first_step: usize,
        /// Its step count.
        steps: usize,
    },
    /// A step completed.
    StepDone {
        /// The migration's id.
        name: &'a str,
        /// The step, from 1.
        step: usize,
        /// Its step count.
        steps: usize,
        /// What the step did.
        description: &'a str,
        /// How long it took.
        elapsed: Duration,
    },
    /// A migration completed (and committed, where DDL is transactional).
    Finished {
        /// The migration's id.
        name: &'a str,
        /// Which way.
        direction: Direction,
        /// How long it took.
        elapsed: Duration,
    },
    /// Another process applied or reverted the migration first; nothing was run.
    Skipped {
        /// The migration's id.
        name: &'a str,
    },
    /// A migration was recorded or forgotten without running it (`fake`).
    Faked {
        /// The migration's id.
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

/// Where each migration stands, followed by recorded migrations that do not exist.
pub(crate) async fn status(conn: &mut Conn, migrations: &Migrations) -> Result<Vec<MigrationStatus>> {
    history::ensure_table(conn).await?;
    Ok(statuses(migrations, &history::read_all(conn).await?))
}

/// Takes the dialect's migration lock, runs the migrations, and releases the lock whatever
/// happened.
pub(crate) async fn migrate(
    conn: &mut Conn,
    migrations: &Migrations,
    options: &MigrateOptions,
    progress: &mut dyn MigrationProgress,
) -> Result<MigrateReport> {
    let Some((lock, unlock)) = conn.dialect().migration_lock() else {
        history::ensure_table(conn).await?;
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
    // Created under the lock: PostgreSQL fails one of two concurrent `CREATE TABLE IF NOT EXISTS`.
    let result = match history::ensure_table(conn).await {
        Ok(()) => migrate_locked(conn, migrations, options, progress).await,
        Err(e) => Err(e),
    };
    let released = conn.fetch_sql(unlock, &[], &mut |_| Ok(())).await;
    let report = result?;
    released?;
    Ok(report)
}

async fn migrate_locked(
    conn: &mut Conn,
    migrations: &Migrations,
    options: &MigrateOptions,
    progress: &mut dyn MigrationProgress,
) -> Result<MigrateReport> {
    let dialect = conn.dialect();
    let records = history::read_all(conn).await?;
    let plan = run_plan(migrations, &records, options, dialect)?;
    let mut report = MigrateReport::default();
    if let Some(u) = plan.unfinished {
        let steps = migrations.plan(u.migration.number, u.direction, dialect)?;
        let run = Run { migration: u.migration, direction: u.direction, plan: &steps };
        run.recorded(conn, u.first_step, Some(u.record), progress).await?;
        match u.direction {
            Direction::Forwards => report.applied.push(u.migration.id()),
            Direction::Backwards => report.reverted.push(u.migration.id()),
        }
    }
    for (direction, list) in [(Direction::Backwards, &plan.revert), (Direction::Forwards, &plan.apply)] {
        for m in list.iter().copied() {
            let steps = migrations.plan(m.number, direction, dialect)?;
            let run = Run { migration: m, direction, plan: &steps };
            let ran = if options.fake { run.fake(conn, progress).await? } else { run.run(conn, progress).await? };
            if ran {
                match direction {
                    Direction::Forwards => report.applied.push(m.id()),
                    Direction::Backwards => report.reverted.push(m.id()),
                }
            }
        }
    }
    Ok(report)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// One migration run one way.
struct Run<'a> {
    migration: &'a Migration,
    direction: Direction,
    plan: &'a Plan,
}

impl Run<'_> {
    fn id(&self) -> String {
        self.migration.id()
    }

    /// The steps of the migration going forwards: the record counts those.
    fn forward_steps(&self) -> usize {
        self.plan.steps.len()
    }

    /// Records or forgets the migration without running it.
    async fn fake(&self, conn: &mut Conn, progress: &mut dyn MigrationProgress) -> Result<bool> {
        match self.direction {
            Direction::Forwards => {
                history::insert(conn, &Record::applied(self.migration, self.forward_steps(), 0)).await?
            }
            Direction::Backwards => history::delete(conn, &self.id()).await?,
        }
        progress.event(&MigrationEvent::Faked { name: &self.id(), direction: self.direction });
        Ok(true)
    }

    /// Runs the whole migration: one transaction where DDL is transactional, recorded step by
    /// step elsewhere. `false`: another process ran it first (SQLite, where the transaction is
    /// the lock).
    async fn run(&self, conn: &mut Conn, progress: &mut dyn MigrationProgress) -> Result<bool> {
        if !conn.dialect().transactional_ddl() {
            return self.recorded(conn, 0, None, progress).await.map(|()| true);
        }
        let keys = conn.dialect().rebuild_foreign_keys().filter(|_| self.plan.foreign_keys_off);
        let Some([off, on, check]) = keys else {
            return self.in_transaction(conn, None, progress).await;
        };
        conn.batch(off).await?;
        let result = self.in_transaction(conn, Some(check), progress).await;
        let restored = conn.batch(on).await;
        if result.is_ok() {
            restored?;
        }
        result
    }

    async fn in_transaction(
        &self,
        conn: &mut Conn,
        check_keys: Option<&str>,
        progress: &mut dyn MigrationProgress,
    ) -> Result<bool> {
        let started = Instant::now();
        conn.begin_statement(conn.dialect().migration_begin()).await?;
        let result = async {
            // Under SQLite's exclusive transaction, another process may have run it first.
            let recorded = history::read_one(conn, &self.id()).await?.is_some();
            if recorded == (self.direction == Direction::Forwards) {
                progress.event(&MigrationEvent::Skipped { name: &self.id() });
                return Ok(false);
            }
            self.started(0, progress);
            for (i, step) in self.plan.steps.iter().enumerate() {
                self.step(conn, i, step, progress).await?;
            }
            if let Some(check) = check_keys {
                check_foreign_keys(conn, check, &self.id()).await?;
            }
            match self.direction {
                Direction::Forwards => {
                    let record = Record::applied(self.migration, self.forward_steps(), millis(started.elapsed()));
                    history::insert(conn, &record).await?
                }
                Direction::Backwards => history::delete(conn, &self.id()).await?,
            }
            Ok(true)
        }
        .await;
        match result {
            Ok(ran) => {
                conn.commit().await?;
                if ran {
                    self.finished(started, progress);
                }
                Ok(ran)
            }
            Err(e) => {
                // The error that stopped the migration matters more than a failed rollback.
                let _ = conn.rollback().await;
                Err(e)
            }
        }
    }

    /// Runs the steps from `first`, recording after each one how many of the migration's
    /// forward steps are in the database. `record` is the row of a migration stopped half-way.
    async fn recorded(
        &self,
        conn: &mut Conn,
        first: usize,
        record: Option<Record>,
        progress: &mut dyn MigrationProgress,
    ) -> Result<()> {
        let started = Instant::now();
        let total = self.plan.steps.len();
        let state = match self.direction {
            Direction::Forwards => RecordState::Applying,
            Direction::Backwards => RecordState::Reverting,
        };
        let mut record = match record {
            Some(r) => Record { state, ..r },
            None => {
                let steps_done = if self.direction == Direction::Forwards { 0 } else { total };
                let r = Record { state, steps_done, ..Record::applied(self.migration, total, 0) };
                match self.direction {
                    Direction::Forwards => history::insert(conn, &r).await?,
                    Direction::Backwards => history::update(conn, &r).await?,
                }
                r
            }
        };
        self.started(first, progress);
        for (i, step) in self.plan.steps.iter().enumerate().skip(first) {
            self.step(conn, i, step, progress).await?;
            record.steps_done = match self.direction {
                Direction::Forwards => i + 1,
                Direction::Backwards => total - (i + 1),
            };
            record.duration_ms = millis(started.elapsed());
            history::update(conn, &record).await?;
        }
        match self.direction {
            Direction::Forwards => {
                record.state = RecordState::Applied;
                history::update(conn, &record).await?
            }
            Direction::Backwards => history::delete(conn, &self.id()).await?,
        }
        self.finished(started, progress);
        Ok(())
    }

    fn started(&self, first: usize, progress: &mut dyn MigrationProgress) {
        let (name, steps) = (&self.id(), self.plan.steps.len());
        progress.event(&MigrationEvent::Started { name, direction: self.direction, first_step: first + 1, steps });
    }

    fn finished(&self, started: Instant, progress: &mut dyn MigrationProgress) {
        let elapsed = started.elapsed();
        progress.event(&MigrationEvent::Finished { name: &self.id(), direction: self.direction, elapsed });
    }

    async fn step(
        &self,
        conn: &mut Conn,
        index: usize,
        step: &Step,
        progress: &mut dyn MigrationProgress,
    ) -> Result<()> {
        let started = Instant::now();
        let steps = self.plan.steps.len();
        for sql in &step.statements {
            conn.batch(sql).await.map_err(|e| {
                e.context(format_args!(
                    "migration `{}`, step {} of {steps} ({}), statement `{sql}`",
                    self.id(),
                    index + 1,
                    step.description
                ))
            })?;
        }
        progress.event(&MigrationEvent::StepDone {
            name: &self.id(),
            step: index + 1,
            steps,
            description: &step.description,
            elapsed: started.elapsed(),
        });
        Ok(())
    }
}

/// SQLite with enforcement off: every foreign key must hold before the migration commits.
async fn check_foreign_keys(conn: &mut Conn, check: &str, name: &str) -> Result<()> {
    let mut broken = Vec::new();
    conn.fetch_sql(check, &[], &mut |row| {
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
