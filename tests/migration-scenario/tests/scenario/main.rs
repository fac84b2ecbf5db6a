//! The migration scenario through the real binaries, on SQLite, PostgreSQL and MariaDB: version 1
//! of an app (`app_v1`) makes and applies its migration; rows go in; version 2 (`app_v2`) renames
//! a column, widens a type and a text, adds a field with a default and an index, a relation and a
//! many-to-many, makes and applies its migration; every row keeps its values, back to version 1
//! and forward again. Also: two `migrate` processes at once apply each migration once, and a
//! migration failing in its second step exits 1 naming the step, and on MariaDB leaves a
//! half-applied migration that `showmigrations` and `migrate` report.

// The conformance suite's scratch databases, shared rather than copied.
#[path = "../../../conformance/harness.rs"]
#[allow(unreachable_pub)]
mod scratch;

use nextorm::{Database, Dialect};
use scratch::Scratch;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const V1: &str = env!("CARGO_BIN_EXE_app_v1");
const V2: &str = env!("CARGO_BIN_EXE_app_v2");

/// One run of a binary: its exit code and what it printed.
struct Ran {
    code: i32,
    out: String,
    err: String,
}

impl Ran {
    fn of(output: Output) -> Ran {
        Ran {
            code: output.status.code().expect("the binary exited rather than being killed"),
            out: String::from_utf8_lossy(&output.stdout).into_owned(),
            err: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Checks that it exited with `code`.
    fn exited(self, code: i32, what: &str) -> Ran {
        assert_eq!(self.code, code, "{what}: exit code\nstdout:\n{}\nstderr:\n{}", self.out, self.err);
        self
    }
}

/// The app's command on one migrations directory and database.
struct App<'a> {
    dir: &'a Path,
    url: &'a str,
}

impl App<'_> {
    fn command(&self, bin: &str, args: &[&str]) -> Command {
        let mut command = Command::new(bin);
        command.arg("--dir").arg(self.dir).arg("--database-url").arg(self.url).args(args).env_remove("DATABASE_URL");
        command
    }

    fn run(&self, bin: &str, args: &[&str]) -> Ran {
        Ran::of(self.command(bin, args).output().expect("the app's binary runs"))
    }
}

/// Rows of a raw query, on a connection opened for it (the binaries change the schema between).
fn rows<R: nextorm::FromRow + Send>(url: &str, sql: &str) -> Vec<R> {
    let db = Database::open(url).expect("the scratch database opens");
    db.select::<R>(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn execute(url: &str, sql: &str) {
    let db = Database::open(url).expect("the scratch database opens");
    db.execute(sql, ()).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A migration that creates a table and then writes to a table that does not exist.
const FAILING: &str = r#"nextorm = 1
name = "0002_failing"

[[operation]]
op = "create_table"

[operation.table]
name = "gate_first"
primary_key = ["id"]

[[operation.table.column]]
name = "id"
type = "bigint"

[[operation]]
op = "raw_sql"
up = ["INSERT INTO no_such_table (id) VALUES (1)"]
down = []
"#;

/// A migration whose side effect counts the times it ran.
const SIDE_EFFECT: &str = r#"nextorm = 1
name = "0002_side_effect"

[[operation]]
op = "create_table"

[operation.table]
name = "migration_runs"
primary_key = ["id"]

[[operation.table.column]]
name = "id"
type = "bigint"
auto_increment = true

[[operation]]
op = "raw_sql"
up = ["INSERT INTO migration_runs (id) VALUES (1)"]
down = ["DELETE FROM migration_runs"]
"#;

type AuthorV1 = (i64, String, i64);
type AuthorV2 = (i64, String, i64, i64);
type PostRow = (i64, String, String);

fn authors_v1(url: &str) -> Vec<AuthorV1> {
    rows(url, "SELECT id, name, born FROM author ORDER BY id")
}

fn authors_v2(url: &str) -> Vec<AuthorV2> {
    rows(url, "SELECT id, full_name, born, rating FROM author ORDER BY id")
}

fn posts(url: &str) -> Vec<PostRow> {
    rows(url, "SELECT id, title, body FROM post ORDER BY id")
}

fn scenario(dialect: Dialect) {
    if !scratch::enabled(dialect) {
        return;
    }
    let scratch = Scratch::new(dialect);
    let dir = tempfile::tempdir().expect("a scratch directory");
    let (url, app) = (scratch.url.as_str(), App { dir: dir.path(), url: &scratch.url });

    // Version 1: its migration made, applied, rows written.
    let made = app.run(V1, &["makemigrations"]).exited(0, "v1 makemigrations");
    assert!(made.out.contains("0001_initial.toml:\n  - create table author\n  - create table post\n"), "{}", made.out);
    let applied = app.run(V1, &["migrate"]).exited(0, "v1 migrate");
    assert!(applied.out.starts_with("Applying 0001_initial (2 steps)\n"), "{}", applied.out);
    execute(url, "INSERT INTO author (id, name, born) VALUES (1, 'Ada', 1815), (2, 'Grace', 1906)");
    execute(url, "INSERT INTO post (id, title, body) VALUES (1, 'Notes', 'on the engine'), (2, 'Compilers', 'A-0')");
    let v1_authors: Vec<AuthorV1> = vec![(1, "Ada".into(), 1815), (2, "Grace".into(), 1906)];
    let v1_posts: Vec<PostRow> =
        vec![(1, "Notes".into(), "on the engine".into()), (2, "Compilers".into(), "A-0".into())];
    assert_eq!(authors_v1(url), v1_authors);

    // Version 2: one migration with every kind of change.
    let made = app.run(V2, &["makemigrations"]).exited(0, "v2 makemigrations");
    for op in [
        "rename column author.name to full_name",
        "add column author.rating",
        "alter column author.born",
        "add index idx_author__rating on author",
        "add column post.author",
        "alter column post.title",
        "add foreign key fk_post__author on post",
        "create table tag",
        "create table post_tag",
    ] {
        assert!(made.out.contains(&format!("  - {op}\n")), "{dialect:?}: `{op}` missing from\n{}", made.out);
    }
    let second = made.out.lines().next().and_then(|l| l.rsplit('/').next()).expect("the file made");
    let second = second.trim_end_matches(".toml:").to_owned();
    assert!(second.starts_with("0002_"), "{}", made.out);
    let applied = app.run(V2, &["migrate"]).exited(0, "v2 migrate");
    assert!(applied.out.contains(&format!("Applied {second} in ")), "{}", applied.out);
    assert!(!applied.out.contains("0001_initial"), "only the new one runs: {}", applied.out);

    // Every row kept its values; the new field has its default, the new relation is empty.
    let v2_authors: Vec<AuthorV2> = vec![(1, "Ada".into(), 1815, 0), (2, "Grace".into(), 1906, 0)];
    assert_eq!(authors_v2(url), v2_authors);
    assert_eq!(posts(url), v1_posts);
    assert_eq!(rows::<(i64,)>(url, "SELECT COUNT(*) FROM post WHERE author IS NULL"), [(2,)]);

    let shown = app.run(V2, &["showmigrations"]).exited(0, "showmigrations");
    let lines: Vec<&str> = shown.out.lines().collect();
    assert_eq!(lines.len(), 2, "{}", shown.out);
    assert!(lines[0].starts_with("[X] 0001_initial  applied at "), "{}", shown.out);
    assert!(lines[1].starts_with(&format!("[X] {second}  applied at ")), "{}", shown.out);
    assert_eq!(app.run(V2, &["migrate"]).exited(0, "migrate again").out, "No migrations to apply\n");
    let checked = app.run(V2, &["check"]).exited(0, "check after migrating to version 2");
    assert!(checked.out.starts_with("The database matches the "), "{}", checked.out);

    // Back to version 1 and forward again: the rows stay.
    let back = app.run(V2, &["migrate", "0001"]).exited(0, "migrate back to 0001");
    assert!(back.out.contains(&format!("Reverted {second} in ")), "{}", back.out);
    assert_eq!(authors_v1(url), v1_authors);
    assert_eq!(posts(url), v1_posts);
    let shown = app.run(V1, &["showmigrations"]).exited(0, "showmigrations after going back");
    assert!(shown.out.ends_with(&format!("\n[ ] {second}\n")), "{}", shown.out);
    app.run(V1, &["check"]).exited(0, "version 1's entities match after going back");
    let differs = app.run(V2, &["check"]).exited(4, "version 2's entities differ after going back");
    assert!(differs.out.contains("table `tag` is missing"), "{}", differs.out);
    app.run(V2, &["migrate"]).exited(0, "migrate forward again");
    assert_eq!(authors_v2(url), v2_authors);
    assert_eq!(posts(url), v1_posts);

    // Version 2's schema holds what version 1's could not.
    execute(url, "UPDATE author SET born = 5000000000, rating = 5 WHERE id = 2");
    execute(
        url,
        "UPDATE post SET author = 1, title = 'A title longer than the eighty characters version one allowed, as version two allows' WHERE id = 1",
    );
    execute(url, "INSERT INTO tag (id, label) VALUES (1, 'history')");
    execute(url, "INSERT INTO post_tag (post_id, tag_id) VALUES (1, 1), (2, 1)");
    let tagged: Vec<(String, i64)> = rows(
        url,
        "SELECT a.full_name, a.born FROM author a JOIN post p ON p.author = a.id \
         JOIN post_tag pt ON pt.post_id = p.id WHERE pt.tag_id = 1",
    );
    assert_eq!(tagged, [("Ada".to_owned(), 1815)]);
    assert_eq!(rows::<(i64,)>(url, "SELECT born FROM author WHERE id = 2"), [(5_000_000_000,)]);
}

fn concurrent_migrates(dialect: Dialect) {
    if !scratch::enabled(dialect) {
        return;
    }
    let scratch = Scratch::new(dialect);
    let dir = tempfile::tempdir().expect("a scratch directory");
    let app = App { dir: dir.path(), url: &scratch.url };
    app.run(V2, &["makemigrations"]).exited(0, "makemigrations");
    std::fs::write(dir.path().join("0002_side_effect.toml"), SIDE_EFFECT).unwrap();

    let spawn =
        || app.command(V2, &["migrate"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("migrate starts");
    let (first, second) = (spawn(), spawn());
    let outputs = [first, second].map(|child| Ran::of(child.wait_with_output().expect("migrate ends")));
    let mut printed = String::new();
    for ran in outputs {
        printed.push_str(&ran.exited(0, "a concurrent migrate").out);
    }
    for name in ["0001_initial", "0002_side_effect"] {
        assert_eq!(printed.matches(&format!("Applied {name} in ")).count(), 1, "{dialect:?}: {name} once:\n{printed}");
    }
    let history: Vec<(String, i64)> =
        rows(&scratch.url, "SELECT name, COUNT(*) FROM nextorm_migrations GROUP BY name ORDER BY name");
    assert_eq!(history, [("0001_initial".to_owned(), 1), ("0002_side_effect".to_owned(), 1)]);
    assert_eq!(rows::<(i64,)>(&scratch.url, "SELECT COUNT(*) FROM migration_runs"), [(1,)], "the side effect ran once");
}

fn failing_second_step(dialect: Dialect) {
    if !scratch::enabled(dialect) {
        return;
    }
    let scratch = Scratch::new(dialect);
    let dir = tempfile::tempdir().expect("a scratch directory");
    let app = App { dir: dir.path(), url: &scratch.url };
    app.run(V1, &["makemigrations"]).exited(0, "makemigrations");
    std::fs::write(dir.path().join("0002_failing.toml"), FAILING).unwrap();

    let failed = app.run(V1, &["migrate"]).exited(1, "a migration failing in step 2");
    assert!(failed.out.contains("Applied 0001_initial in "), "{}", failed.out);
    for part in ["migration `0002_failing`, step 2 of 2", "statement `INSERT INTO no_such_table (id) VALUES (1)`"] {
        assert!(failed.err.contains(part), "{dialect:?}: `{part}` missing from {}", failed.err);
    }
    let shown = app.run(V1, &["showmigrations"]).exited(0, "showmigrations");
    let gate_exists =
        Database::open(&scratch.url).unwrap().select::<(i64,)>("SELECT COUNT(*) FROM gate_first", ()).is_ok();
    if dialect != Dialect::MariaDb {
        // One transaction: nothing of it stays, and the next `migrate` tries it again.
        assert!(shown.out.ends_with("\n[ ] 0002_failing\n"), "{}", shown.out);
        assert!(!gate_exists, "{dialect:?}: step 1 rolled back");
        app.run(V1, &["migrate"]).exited(1, "the same failure again");
        return;
    }
    // MariaDB commits DDL as it goes: step 1 stays, the history says where it stopped, and
    // `migrate` refuses to go on, saying the way out.
    assert!(gate_exists, "step 1 is in");
    assert!(shown.out.contains("[~] 0002_failing  stopped after step 1 of 2 while being applied"), "{}", shown.out);
    let refused = app.run(V1, &["migrate"]).exited(3, "migrate over a half-applied migration");
    assert!(refused.err.contains("stopped after step 1 of 2") && refused.err.contains("--resume"), "{}", refused.err);
    // The way out: migrating back to the migration before it undoes step 1.
    app.run(V1, &["migrate", "0001"]).exited(0, "migrate back past the half-applied migration");
    let shown = app.run(V1, &["showmigrations"]).exited(0, "showmigrations after undoing");
    assert!(shown.out.ends_with("\n[ ] 0002_failing\n"), "{}", shown.out);
}

/// One test per dialect of each case.
macro_rules! on_each_dialect {
    ($($case:ident),*) => {$(
        mod $case {
            use nextorm::Dialect;

            #[test]
            fn sqlite() {
                super::$case(Dialect::Sqlite)
            }

            #[test]
            fn postgres() {
                super::$case(Dialect::Postgres)
            }

            #[test]
            fn mariadb() {
                super::$case(Dialect::MariaDb)
            }
        }
    )*};
}

on_each_dialect!(scenario, concurrent_migrates, failing_second_step);
