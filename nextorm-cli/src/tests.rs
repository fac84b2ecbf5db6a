//! The command run in-process on SQLite files and hand-written migrations: what it prints and
//! the exit code. The scenario through the real binary, with entities, on three databases, is
//! `tests/migration-scenario`.

use super::*;
use std::path::Path;

/// What one run printed and its exit code.
struct Ran {
    exit: Exit,
    out: String,
    err: String,
}

fn nextorm(args: &[&str]) -> Ran {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let exit = execute(std::iter::once("nextorm").chain(args.iter().copied()), &mut Console::new(&mut out, &mut err));
    Ran { exit, out: String::from_utf8(out).unwrap(), err: String::from_utf8(err).unwrap() }
}

const NOTES: &str = r#"nextorm = 1
name = "0001_notes"

[[operation]]
op = "create_table"

[operation.table]
name = "note"
primary_key = ["id"]

[[operation.table.column]]
name = "id"
type = "bigint"
auto_increment = true

[[operation.table.column]]
name = "body"
type = "text"
"#;

const RATING: &str = r#"nextorm = 1
name = "0002_rating"

[[operation]]
op = "add_column"
table = "note"

[operation.column]
name = "rating"
type = "int"
default = "3"
"#;

/// A migration whose second step fails: the table it inserts into does not exist.
const FAILING: &str = r#"nextorm = 1
name = "0003_failing"

[[operation]]
op = "create_table"

[operation.table]
name = "first"
primary_key = ["id"]

[[operation.table.column]]
name = "id"
type = "bigint"

[[operation]]
op = "raw_sql"
up = ["INSERT INTO no_such_table (id) VALUES (1)"]
down = []
"#;

/// A scratch directory with `files` in `migrations/`, and an SQLite URL beside it.
fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, String, String) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("migrations");
    std::fs::create_dir(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let url = format!("sqlite://{}", root.path().join("app.db").display());
    (root, dir.display().to_string(), url)
}

#[test]
fn help_lists_the_commands_and_the_exit_codes() {
    let ran = nextorm(&["--help"]);
    assert_eq!(ran.exit, Exit::Done);
    for word in ["makemigrations", "migrate", "showmigrations", "sqlmigrate", "--database-url", "--dir", "Exit codes:"]
    {
        assert!(ran.out.contains(word), "{word} missing from:\n{}", ran.out);
    }
    let ran = nextorm(&["migrate", "--help"]);
    assert!(ran.out.contains("--allow-lossy") && ran.out.contains("zero"), "{}", ran.out);
}

#[test]
fn usage_and_configuration_errors_exit_2() {
    let ran = nextorm(&["frobnicate"]);
    assert_eq!(ran.exit, Exit::Usage);
    assert!(ran.err.contains("frobnicate"), "{}", ran.err);
    let (_root, dir, _) = project(&[]);
    let ran = nextorm(&["--dir", &dir, "showmigrations"]);
    if std::env::var_os("DATABASE_URL").is_none() {
        assert_eq!(ran.exit, Exit::Usage);
        assert!(ran.err.contains("pass --database-url"), "{}", ran.err);
    }
    let ran = nextorm(&["--dir", "no/such/dir", "--database-url", "sqlite::memory:", "migrate"]);
    assert_eq!(ran.exit, Exit::Usage);
    assert!(ran.err.contains("no/such/dir") && ran.err.contains("makemigrations"), "{}", ran.err);
    let ran = nextorm(&["--dir", &dir, "--database-url", "oracle://db", "migrate"]);
    assert_eq!(ran.exit, Exit::Usage);
    assert!(ran.err.contains("unknown database scheme"), "{}", ran.err);
}

#[test]
fn makemigrations_without_entities_says_how_to_link_them() {
    let (_root, dir, _) = project(&[]);
    let ran = nextorm(&["--dir", &dir, "makemigrations"]);
    assert_eq!(ran.exit, Exit::Usage);
    assert!(ran.err.contains("src/bin/nextorm.rs") && ran.err.contains("nextorm::cli::main()"), "{}", ran.err);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing written");
}

#[test]
fn makemigrations_empty_writes_a_numbered_file_to_fill() {
    let (_root, dir, _) = project(&[("0001_notes.toml", NOTES)]);
    let ran = nextorm(&["--dir", &dir, "makemigrations", "--empty", "--name", "backfill"]);
    assert_eq!(ran.exit, Exit::Done, "{}", ran.err);
    let written = Path::new(&dir).join("0002_backfill.toml");
    assert!(ran.out.contains("0002_backfill.toml"), "{}", ran.out);
    assert_eq!(std::fs::read_to_string(written).unwrap(), "nextorm = 1\nname = \"0002_backfill\"\noperation = []\n");
    // The snapshot was missing: it is made from the migrations.
    let snapshot = std::fs::read_to_string(Path::new(&dir).join("snapshot.toml")).unwrap();
    assert!(snapshot.contains("name = \"note\""), "{snapshot}");
}

#[test]
fn sqlmigrate_renders_for_the_url_without_connecting() {
    let (_root, dir, _) = project(&[("0001_notes.toml", NOTES), ("0002_rating.toml", RATING)]);
    // Nothing listens there: the scheme alone picks the dialect.
    let ran = nextorm(&["--dir", &dir, "--database-url", "postgres://nobody@192.0.2.1:1/none", "sqlmigrate", "0002"]);
    assert_eq!(ran.exit, Exit::Done, "{}", ran.err);
    assert_eq!(
        ran.out,
        "-- 0002_rating, forwards, on postgres\n-- step 1 of 1: add column note.rating\n\
         ALTER TABLE \"note\" ADD COLUMN \"rating\" INTEGER NOT NULL DEFAULT 3;\n"
    );
    let ran =
        nextorm(&["--dir", &dir, "--database-url", "mariadb://x@h/db", "sqlmigrate", "0002_rating", "--backwards"]);
    assert_eq!(ran.exit, Exit::Done, "{}", ran.err);
    assert!(ran.out.contains("backwards, on mariadb") && ran.out.contains("DROP COLUMN `rating`"), "{}", ran.out);
    let ran = nextorm(&["--dir", &dir, "--database-url", "sqlite:x.db", "sqlmigrate", "0009"]);
    assert_eq!(ran.exit, Exit::Usage);
    assert!(ran.err.contains("no migration `0009`"), "{}", ran.err);
}

#[test]
fn migrate_applies_shows_reverts_and_refuses_on_sqlite() {
    let (root, dir, url) = project(&[("0001_notes.toml", NOTES), ("0002_rating.toml", RATING)]);
    let with = |args: &[&str]| {
        let mut all = vec!["--dir", dir.as_str(), "--database-url", url.as_str()];
        all.extend_from_slice(args);
        nextorm(&all)
    };
    let ran = with(&["showmigrations"]);
    assert_eq!((ran.exit, ran.out.as_str()), (Exit::Done, "[ ] 0001_notes\n[ ] 0002_rating\n"));

    let ran = with(&["migrate"]);
    assert_eq!(ran.exit, Exit::Done, "{}", ran.err);
    let lines: Vec<&str> = ran.out.lines().collect();
    assert_eq!(lines.len(), 6, "{}", ran.out);
    assert_eq!(lines[0], "Applying 0001_notes (1 step)");
    assert!(lines[1].starts_with("  [1/1] create table note (") && lines[1].ends_with(" ms)"), "{}", lines[1]);
    assert!(lines[2].starts_with("Applied 0001_notes in "), "{}", lines[2]);
    assert!(lines[4].starts_with("  [1/1] add column note.rating ("), "{}", lines[4]);

    let ran = with(&["showmigrations"]);
    assert!(ran.out.lines().all(|l| l.starts_with("[X] ") && l.contains("  applied at ")), "{}", ran.out);
    assert_eq!(with(&["migrate"]).out, "No migrations to apply\n");

    let ran = with(&["migrate", "0001"]);
    assert_eq!(ran.exit, Exit::Done, "{}", ran.err);
    assert!(ran.out.starts_with("Reverting 0002_rating (1 step)\n"), "{}", ran.out);
    let ran = with(&["showmigrations"]);
    assert!(ran.out.ends_with("\n[ ] 0002_rating\n"), "{}", ran.out);

    // The second step fails: exit 1, naming the migration, the step, the SQL and SQLite's message.
    std::fs::write(root.path().join("migrations/0003_failing.toml"), FAILING).unwrap();
    let ran = with(&["migrate"]);
    assert_eq!(ran.exit, Exit::Failed, "{}", ran.err);
    for part in ["migration `0003_failing`, step 2 of 2", "INSERT INTO no_such_table", "no such table"] {
        assert!(ran.err.contains(part), "{part} missing from {}", ran.err);
    }
    // One transaction: none of it stays, and the ones before it were applied.
    let ran = with(&["showmigrations"]);
    assert!(ran.out.contains("[X] 0002_rating") && ran.out.ends_with("[ ] 0003_failing\n"), "{}", ran.out);

    // An applied migration edited since: exit 3 with the way out.
    std::fs::remove_file(root.path().join("migrations/0003_failing.toml")).unwrap();
    std::fs::write(root.path().join("migrations/0002_rating.toml"), RATING.replace("\"3\"", "\"4\"")).unwrap();
    let ran = with(&["migrate"]);
    assert_eq!(ran.exit, Exit::Refused, "{}", ran.err);
    assert!(ran.err.contains("edited after it was applied"), "{}", ran.err);
    assert!(with(&["showmigrations"]).out.contains("EDITED since"));

    let ran = with(&["migrate", "zero", "--fake"]);
    assert_eq!(ran.exit, Exit::Refused, "an edited migration is refused even to fake: {}", ran.err);
}
