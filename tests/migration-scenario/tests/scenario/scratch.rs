//! Scratch databases: one uniquely named SQLite file, PostgreSQL schema or MariaDB database per
//! test, dropped afterwards, so tests run in parallel and leave nothing behind (as the
//! conformance suite's harness does).

use nextorm::{Database, Dialect};
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) fn pg_url() -> String {
    std::env::var("NEXTORM_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub(crate) fn mariadb_url() -> String {
    std::env::var("NEXTORM_TEST_MARIADB_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// Whether the run includes `dialect`. `NEXTORM_TEST_DIALECTS=sqlite` runs SQLite only; a
/// dialect left out is reported, never skipped silently, and CI always runs all three.
pub(crate) fn enabled(dialect: Dialect) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match std::env::var("NEXTORM_TEST_DIALECTS") {
        Ok(list) if !ci => {
            let on = list.split(',').any(|d| d.trim() == dialect.name());
            if !on {
                eprintln!("NOT RUN on {}: excluded by NEXTORM_TEST_DIALECTS={list}", dialect.name());
            }
            on
        }
        _ => true,
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("nextorm_s_{}_{n}_{nanos}", std::process::id())
}

fn admin(url: &str, what: &str) -> Database {
    Database::open(url).unwrap_or_else(|e| {
        panic!(
            "{what} at {url} is unreachable: {e}. Start it, or set NEXTORM_TEST_DIALECTS to leave it out (outside CI)."
        )
    })
}

/// A scratch database and how to drop it.
pub(crate) struct Scratch {
    pub(crate) url: String,
    pub(crate) dialect: Dialect,
    name: String,
}

impl Scratch {
    pub(crate) fn new(dialect: Dialect) -> Scratch {
        let name = unique_name();
        let url = match dialect {
            Dialect::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                format!("sqlite://{}", path.display())
            }
            Dialect::Postgres => {
                admin(&pg_url(), "PostgreSQL").execute(&format!("CREATE SCHEMA \"{name}\""), ()).unwrap();
                let base = pg_url();
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}options=-c%20search_path%3D{name}")
            }
            Dialect::MariaDb => {
                admin(&mariadb_url(), "MariaDB").execute(&format!("CREATE DATABASE `{name}`"), ()).unwrap();
                let base = mariadb_url();
                let (server, _) = base.rsplit_once('/').expect("the MariaDB URL names a database");
                format!("{server}/{name}")
            }
        };
        Scratch { url, dialect, name }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match self.dialect {
            Dialect::Sqlite => {
                let path = std::env::temp_dir().join(format!("{}.db", self.name));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Dialect::Postgres => {
                admin(&pg_url(), "PostgreSQL").execute(&format!("DROP SCHEMA \"{}\" CASCADE", self.name), ()).unwrap();
            }
            Dialect::MariaDb => {
                admin(&mariadb_url(), "MariaDB").execute(&format!("DROP DATABASE `{}`", self.name), ()).unwrap();
            }
        }
    }
}
