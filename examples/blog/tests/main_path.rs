//! The blog's main path on a new SQLite file, through its binaries: the first start applies the
//! embedded migration, the second finds nothing to apply; the committed migrations are those
//! the entities make.

use std::path::Path;
use std::process::{Command, Output};

const BLOG: &str = env!("CARGO_BIN_EXE_blog");
const NEXTORM: &str = env!("CARGO_BIN_EXE_blog-nextorm");

fn run(mut command: Command) -> String {
    let Output { status, stdout, stderr } = command.output().expect("the binary runs");
    let (out, err) = (String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr));
    assert!(status.success(), "{command:?}: {status}\nstdout:\n{out}\nstderr:\n{err}");
    out.into_owned()
}

fn blog(url: &str) -> String {
    let mut command = Command::new(BLOG);
    command.env("DATABASE_URL", url);
    run(command)
}

fn nextorm(dir: &Path, url: &str, args: &[&str]) -> String {
    let mut command = Command::new(NEXTORM);
    command.arg("--dir").arg(dir).env("DATABASE_URL", url).args(args);
    run(command)
}

#[test]
fn startup_applies_the_embedded_migrations_once_then_uses_the_tables() {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let url = format!("sqlite://{}", scratch.path().join("blog.db").display());
    let first = blog(&url);
    assert_eq!(
        first,
        "applied migration 0001_initial\nAda has written 1 posts; the latest is \"Notes on the analytical engine\"\n"
    );
    let second = blog(&url);
    assert_eq!(second, "Ada has written 2 posts; the latest is \"Notes on the analytical engine\"\n");

    let migrations = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let shown = nextorm(&migrations, &url, &["showmigrations"]);
    assert!(shown.starts_with("[X] 0001_initial  applied at "), "{shown}");
}

#[test]
fn the_committed_migrations_are_what_the_entities_make() {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    for entry in std::fs::read_dir(&committed).expect("the migrations directory") {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), scratch.path().join(entry.file_name())).unwrap();
    }
    // No database is needed to make migrations; the URL only picks the dialect to check.
    let made = nextorm(scratch.path(), "sqlite::memory:", &["makemigrations"]);
    assert_eq!(
        made, "No changes detected\n",
        "run `cargo run -p nextorm-example-blog --bin blog-nextorm -- --dir examples/blog/migrations makemigrations`"
    );
}
