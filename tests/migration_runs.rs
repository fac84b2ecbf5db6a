//! What a `migrate` run decides from the history rows, without a server: what applies, what
//! reverts, and what is refused (an edited or missing file, a gap, a lossy revert, a
//! half-applied migration) with the way out.

#![allow(missing_docs)]

use nextorm_core::migrate::*;
use nextorm_core::{Dialect, ErrorKind};

fn raw(number: u32, name: &str, steps: usize, down: bool) -> (String, String) {
    let mut text = format!("nextorm = 1\nname = \"{number:04}_{name}\"\n");
    for i in 0..steps {
        text.push_str(&format!("\n[[operation]]\nop = \"raw_sql\"\nup = [\"SELECT {i}\"]\n"));
        if down {
            text.push_str(&format!("down = [\"SELECT -{i}\"]\n"));
        }
    }
    (format!("{number:04}_{name}.toml"), text)
}

fn set(files: &[(String, String)]) -> Migrations {
    Migrations::parse(files.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap()
}

fn three() -> Migrations {
    set(&[raw(1, "a", 1, true), raw(2, "b", 2, true), raw(3, "c", 1, true)])
}

fn applied(all: &Migrations, number: u32) -> Record {
    let m = &all.list()[number as usize - 1];
    Record::applied(m, 1, 0)
}

fn ids(list: &[&Migration]) -> Vec<String> {
    list.iter().map(|m| m.id()).collect()
}

fn to(name: &str) -> MigrateOptions {
    MigrateOptions { target: MigrateTarget::Name(name.into()), ..Default::default() }
}

const D: Dialect = Dialect::MariaDb;

#[test]
fn pending_migrations_apply_in_order_and_a_target_reverts_the_later_ones() {
    let all = three();
    let p = run_plan(&all, &[applied(&all, 1)], &MigrateOptions::default(), D).unwrap();
    assert_eq!(ids(&p.apply), ["0002_b", "0003_c"]);
    assert!(p.revert.is_empty() && p.unfinished.is_none());
    let records = [applied(&all, 1), applied(&all, 2)];
    let p = run_plan(&all, &records, &to("0001_a"), D).unwrap();
    assert_eq!((ids(&p.apply), ids(&p.revert)), (vec![], vec!["0002_b".to_owned()]));
    let zero = MigrateOptions { target: MigrateTarget::Zero, ..Default::default() };
    assert_eq!(ids(&run_plan(&all, &records, &zero, D).unwrap().revert), ["0002_b", "0001_a"]);
    // A target named by number or file name, and one that does not exist.
    assert_eq!(ids(&run_plan(&all, &records, &to("1"), D).unwrap().revert), ["0002_b"]);
    assert_eq!(ids(&run_plan(&all, &[], &to("0002_b.toml"), D).unwrap().apply), ["0001_a", "0002_b"]);
    let e = run_plan(&all, &records, &to("0009"), D).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
}

#[test]
fn an_edited_or_missing_file_is_refused() {
    let all = three();
    let mut edited = applied(&all, 1);
    edited.checksum = "0".repeat(64);
    let e = run_plan(&all, &[edited], &MigrateOptions::default(), D).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Migration);
    assert!(e.message().contains("`0001_a` was edited after it was applied"), "{e}");
    let mut gone = applied(&all, 1);
    gone.name = "0009_gone".into();
    let e = run_plan(&all, &[gone], &MigrateOptions::default(), D).unwrap_err();
    assert!(e.message().contains("`0009_gone`, which is not among the migrations"), "{e}");
}

#[test]
fn a_pending_migration_before_an_applied_one_is_refused() {
    let all = three();
    let e = run_plan(&all, &[applied(&all, 2)], &MigrateOptions::default(), D).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Migration);
    assert!(e.message().contains("`0001_a` is not applied, but `0002_b` after it is"), "{e}");
}

#[test]
fn a_lossy_revert_needs_permission() {
    // Raw SQL without `down` cannot be undone.
    let all = set(&[raw(1, "a", 1, true), raw(2, "irreversible", 1, false)]);
    let records = [applied(&all, 1), applied(&all, 2)];
    let e = run_plan(&all, &records, &to("0001_a"), D).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Migration);
    assert!(e.message().contains("reverting migration `0002_irreversible` cannot restore"), "{e}");
    let allowed = MigrateOptions { allow_lossy: true, ..to("0001_a") };
    assert_eq!(ids(&run_plan(&all, &records, &allowed, D).unwrap().revert), ["0002_irreversible"]);
    // Faking the revert runs nothing, so it loses nothing.
    let fake = MigrateOptions { fake: true, ..to("0001_a") };
    assert!(run_plan(&all, &records, &fake, D).is_ok());
}

#[test]
fn a_half_applied_migration_blocks_until_resumed_or_reverted() {
    let all = three();
    let mut half = applied(&all, 2);
    (half.state, half.steps_done, half.steps_total) = (RecordState::Applying, 1, 2);
    let records = [applied(&all, 1), half.clone()];

    let e = run_plan(&all, &records, &MigrateOptions::default(), D).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Migration);
    assert!(e.message().contains("stopped after step 1 of 2 (next: raw SQL"), "{e}");
    assert!(e.message().contains("--resume") && e.message().contains("migrate back"), "{e}");
    let fake = MigrateOptions { fake: true, ..Default::default() };
    assert!(run_plan(&all, &records, &fake, D).unwrap_err().message().contains("--fake` does not resolve"));

    // Resumed: it goes on from its second step, then the next migration applies.
    let resume = MigrateOptions { resume: true, ..Default::default() };
    let p = run_plan(&all, &records, &resume, D).unwrap();
    let u = p.unfinished.unwrap();
    assert_eq!((u.migration.id(), u.direction, u.first_step), ("0002_b".into(), Direction::Forwards, 1));
    assert_eq!(ids(&p.apply), ["0003_c"]);

    // Going back past it undoes its one step done: the last of the two reverse steps.
    let p = run_plan(&all, &records, &to("0001_a"), D).unwrap();
    let u = p.unfinished.unwrap();
    assert_eq!((u.direction, u.first_step), (Direction::Backwards, 1));
    assert!(p.apply.is_empty() && p.revert.is_empty());

    // A revert stopped half-way resumes backwards where it stopped.
    let mut reverting = half;
    (reverting.state, reverting.steps_done) = (RecordState::Reverting, 1);
    let p = run_plan(&all, &[applied(&all, 1), reverting], &resume, D).unwrap();
    let u = p.unfinished.unwrap();
    assert_eq!((u.direction, u.first_step), (Direction::Backwards, 1));
}

#[test]
fn statuses_show_pending_applied_edited_partial_and_unknown() {
    let all = three();
    let mut edited = applied(&all, 1);
    edited.checksum = "0".repeat(64);
    let mut half = applied(&all, 2);
    (half.state, half.steps_done, half.steps_total) = (RecordState::Applying, 0, 2);
    let mut gone = applied(&all, 3);
    gone.name = "0009_gone".into();
    let s = statuses(&all, &[edited, half, gone]);
    assert!(matches!(s[0].state, MigrationState::Applied { checksum_matches: false, .. }));
    assert_eq!(s[1].state, MigrationState::Partial { direction: Direction::Forwards, steps_done: 0, steps_total: 2 });
    assert_eq!(s[2].state, MigrationState::Pending);
    assert_eq!((s[3].name.as_str(), &s[3].state), ("0009_gone", &MigrationState::Unknown));
}
