// Migrations applied, reverted, refused and raced on a real database, written once for both
// facades. The migrations are TOML files in `tests/fixtures/migrations/` (embedded with
// `migrations!`): tables made by operations, rows written by raw SQL.

use nextorm::migrate::{
    Direction, MigrateOptions, MigrateTarget, MigrationEvent, MigrationProgress, MigrationState, Migrations,
};

/// A `note` table with a row, then a column on `note`, then a table whose row counts the runs.
fn three() -> &'static [(&'static str, &'static str)] {
    nextorm::migrations!("tests/fixtures/migrations/notes").files()
}

fn three_migrations() -> Migrations {
    Migrations::parse(three().iter().copied()).expect("the test's migrations parse")
}

/// A migration whose second step fails until the table `mig_gate` exists.
fn failing_in_step_two() -> Migrations {
    Migrations::parse([(
        "0001_gated.toml",
        r#"nextorm = 1
name = "0001_gated"

[[operation]]
op = "create_table"

[operation.table]
name = "mig_first"
primary_key = ["id"]

[[operation.table.column]]
name = "id"
type = "bigint"

[[operation]]
op = "raw_sql"
up = ["INSERT INTO mig_gate (id) VALUES (1)"]
down = ["DELETE FROM mig_gate"]
"#,
    )])
    .expect("the test's migration parses")
}

#[derive(Default)]
struct Recorded(Vec<String>);

impl MigrationProgress for Recorded {
    fn event(&mut self, event: &MigrationEvent<'_>) {
        let line = match event {
            MigrationEvent::Started { name, direction, first_step, steps } => {
                format!("start {name} {direction:?} {first_step}/{steps}")
            }
            MigrationEvent::StepDone { name, step, description, .. } => format!("step {name} {step} {description}"),
            MigrationEvent::Finished { name, direction, .. } => format!("done {name} {direction:?}"),
            MigrationEvent::Skipped { name } => format!("skipped {name}"),
            MigrationEvent::Faked { name, direction } => format!("faked {name} {direction:?}"),
            other => format!("{other:?}"),
        };
        self.0.push(line);
    }
}

async fn note_rows(db: &Db) -> Result<Vec<(String, i64)>> {
    aw!(db.select::<(String, i64)>("SELECT body, rating FROM mig_note ORDER BY id", ()))
}

async fn table_exists(db: &Db, table: &str) -> bool {
    aw!(db.select::<(i64,)>(&format!("SELECT COUNT(*) FROM {table}"), ())).is_ok()
}

fn states(list: &[nextorm::migrate::MigrationStatus]) -> Vec<(String, &'static str)> {
    list.iter()
        .map(|s| {
            let state = match s.state {
                MigrationState::Pending => "pending",
                MigrationState::Applied { checksum_matches: true, .. } => "applied",
                MigrationState::Applied { checksum_matches: false, .. } => "edited",
                MigrationState::Partial { .. } => "partial",
                MigrationState::Unknown => "unknown",
                _ => "other",
            };
            (s.name.clone(), state)
        })
        .collect()
}

pub async fn migrations_apply_revert_and_apply_again(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let all = three_migrations();
    let status = aw!(db.migration_status(&all))?;
    assert!(states(&status).iter().all(|(_, s)| *s == "pending"), "{status:?}");

    let mut progress = Recorded::default();
    let report = aw!(db.migrate_with(&all, &MigrateOptions::default(), &mut progress))?;
    assert_eq!(report.applied, ["0001_notes", "0002_rating", "0003_runs"]);
    assert!(progress.0.contains(&"step 0002_rating 1 add column mig_note.rating".to_owned()), "{:?}", progress.0);
    assert!(progress.0.contains(&"done 0003_runs Forwards".to_owned()), "{:?}", progress.0);
    assert_eq!(note_rows(db).await?, [("kept".to_owned(), 3)], "{}: the default fills the new column", t.label());
    let status = aw!(db.migration_status(&all))?;
    assert_eq!(
        states(&status),
        [("0001_notes".into(), "applied"), ("0002_rating".into(), "applied"), ("0003_runs".into(), "applied")]
    );

    // Nothing pending: nothing runs.
    let again = aw!(db.migrate(&all))?;
    assert!(again.applied.is_empty() && again.reverted.is_empty(), "{again:?}");

    // Back to the first: the later two are reverted, last first, and the row stays.
    let back = MigrateOptions { target: MigrateTarget::Name("0001".into()), ..Default::default() };
    let report = aw!(db.migrate_with(&all, &back, &mut Recorded::default()))?;
    assert_eq!(report.reverted, ["0003_runs", "0002_rating"]);
    assert!(!table_exists(db, "mig_runs").await, "{}: mig_runs reverted", t.label());
    let bodies = aw!(db.select::<(String,)>("SELECT body FROM mig_note", ()))?;
    assert_eq!(bodies, [("kept".to_owned(),)]);
    let status = aw!(db.migration_status(&all))?;
    assert_eq!(states(&status)[1..], [("0002_rating".into(), "pending"), ("0003_runs".into(), "pending")]);

    // And forwards again: the row keeps its values and the default fills the column anew.
    aw!(db.migrate(&all))?;
    assert_eq!(note_rows(db).await?, [("kept".to_owned(), 3)]);
    assert_eq!(aw!(db.select::<(i64,)>("SELECT COUNT(*) FROM mig_runs", ()))?, [(1,)]);

    // Back to nothing, then the history alone is recorded again with `fake`.
    let zero = MigrateOptions { target: MigrateTarget::Zero, ..Default::default() };
    aw!(db.migrate_with(&all, &zero, &mut Recorded::default()))?;
    assert!(!table_exists(db, "mig_note").await);
    let fake = MigrateOptions { fake: true, ..Default::default() };
    let mut progress = Recorded::default();
    let report = aw!(db.migrate_with(&all, &fake, &mut progress))?;
    assert_eq!(report.applied.len(), 3);
    assert_eq!(progress.0[0], "faked 0001_notes Forwards");
    assert!(!table_exists(db, "mig_note").await, "{}: a faked migration runs nothing", t.label());
    Ok(())
}

pub async fn migrations_edited_or_lossy_are_refused(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let all = three_migrations();
    aw!(db.migrate(&all))?;
    // The same migration with another text: its checksum no longer matches.
    let edited = Migrations::parse([(
        "0001_notes.toml",
        "nextorm = 1\nname = \"0001_notes\"\ndescription = \"edited\"\n",
    )])?;
    let e = expect_kind(aw!(db.migrate(&edited)), ErrorKind::Migration, "edited migration");
    assert!(e.message().contains("edited after it was applied"), "{}: {e}", t.label());
    let status = aw!(db.migration_status(&edited))?;
    assert_eq!(states(&status)[0], ("0001_notes".into(), "edited"));
    assert_eq!(states(&status)[1], ("0002_rating".into(), "unknown"));

    // Dropping a column loses its values: going back over it needs permission.
    let drop_body = "nextorm = 1\nname = \"0004_drop_body\"\n\n[[operation]]\nop = \"drop_column\"\n\
                     table = \"mig_note\"\n\n[operation.column]\nname = \"body\"\ntype = \"text\"\nmax_len = 100\n\
                     nullable = true\n";
    let with_drop = Migrations::parse(three().iter().copied().chain([("0004_drop_body.toml", drop_body)]))?;
    aw!(db.migrate(&with_drop))?;
    let back = MigrateOptions { target: MigrateTarget::Name("0003_runs".into()), ..Default::default() };
    let e = expect_kind(
        aw!(db.migrate_with(&with_drop, &back, &mut Recorded::default())),
        ErrorKind::Migration,
        "lossy revert",
    );
    assert!(e.message().contains("mig_note.body"), "{}: {e}", t.label());
    let allowed = MigrateOptions { allow_lossy: true, ..back };
    let report = aw!(db.migrate_with(&with_drop, &allowed, &mut Recorded::default()))?;
    assert_eq!(report.reverted, ["0004_drop_body"]);
    let bodies = aw!(db.select::<(Option<String>,)>("SELECT body FROM mig_note", ()))?;
    assert_eq!(bodies, [(None,)], "{}: the column comes back empty", t.label());
    Ok(())
}

pub async fn migration_failing_in_step_two(t: &Ctx) -> Result<()> {
    let db = &t.db;
    let gated = failing_in_step_two();
    let e = aw!(db.migrate(&gated)).expect_err("the second step fails");
    let message = e.message();
    assert!(
        message.contains("migration `0001_gated`, step 2 of 2") && message.contains("INSERT INTO mig_gate"),
        "{}: the error names the migration, the step and the SQL: {e}",
        t.label()
    );
    let status = aw!(db.migration_status(&gated))?;
    if t.dialect != Dialect::MariaDb {
        // One transaction: nothing of it is applied, nothing recorded.
        assert!(!table_exists(db, "mig_first").await, "{}: step 1 rolled back", t.label());
        assert_eq!(states(&status), [("0001_gated".into(), "pending")]);
        return Ok(());
    }
    // MariaDB commits DDL as it goes: step 1 is in, and the history says where it stopped.
    assert!(table_exists(db, "mig_first").await);
    assert_eq!(
        status[0].state,
        MigrationState::Partial { direction: Direction::Forwards, steps_done: 1, steps_total: 2 }
    );
    let e = expect_kind(aw!(db.migrate(&gated)), ErrorKind::Migration, "migrate over a half-applied migration");
    assert!(e.message().contains("stopped after step 1 of 2") && e.message().contains("--resume"), "{e}");

    // Undo it by migrating back past it: step 1 is reverted and the record goes.
    let zero = MigrateOptions { target: MigrateTarget::Zero, ..Default::default() };
    let report = aw!(db.migrate_with(&gated, &zero, &mut Recorded::default()))?;
    assert_eq!(report.reverted, ["0001_gated"]);
    assert!(!table_exists(db, "mig_first").await);
    assert_eq!(states(&aw!(db.migration_status(&gated))?), [("0001_gated".into(), "pending")]);

    // Stop it again, fix the cause, and resume from step 2.
    aw!(db.migrate(&gated)).expect_err("the second step fails again");
    aw!(db.execute("CREATE TABLE mig_gate (id BIGINT PRIMARY KEY)", ()))?;
    let resume = MigrateOptions { resume: true, ..Default::default() };
    let mut progress = Recorded::default();
    let report = aw!(db.migrate_with(&gated, &resume, &mut progress))?;
    assert_eq!(report.applied, ["0001_gated"]);
    assert_eq!(progress.0[0], "start 0001_gated Forwards 2/2");
    assert_eq!(aw!(db.select::<(i64,)>("SELECT id FROM mig_gate", ()))?, [(1,)]);
    assert_eq!(states(&aw!(db.migration_status(&gated))?), [("0001_gated".into(), "applied")]);
    Ok(())
}

pub async fn concurrent_migrates_apply_each_migration_once(t: &Ctx) -> Result<()> {
    let all = three_migrations();
    let reports = migrate_concurrently(&t.url, &all, 4).await;
    let mut applied: Vec<String> = Vec::new();
    for r in reports {
        applied.extend(r?.applied);
    }
    applied.sort();
    assert_eq!(applied, ["0001_notes", "0002_rating", "0003_runs"], "{}: each applied by one process", t.label());
    let db = &t.db;
    assert_eq!(aw!(db.select::<(i64,)>("SELECT COUNT(*) FROM mig_runs", ()))?, [(1,)]);
    assert_eq!(aw!(db.select::<(i64,)>("SELECT COUNT(*) FROM mig_note", ()))?, [(1,)]);
    Ok(())
}
