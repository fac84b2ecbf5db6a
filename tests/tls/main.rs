#![allow(unreachable_pub, missing_docs)]
//! TLS against throwaway servers that accept TLS connections only (`tls/servers.rs`), with a
//! certificate authority of the test's own (`tls/certs.rs`), through both facades.
//!
//! The servers take seconds to create, so this binary has its own small harness
//! (`harness = false`): it starts each server once, runs every case against it, and stops and
//! deletes them at the end, also when a case panics. Arguments: a name filter, `--list`.

mod certs;
mod servers;

use nextorm::{AsyncDatabase, Database, Dialect, ErrorKind, OpenOptions};
use servers::{ScratchDir, TlsMariaDb, TlsPostgres};
use std::path::Path;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Facade {
    Blocking,
    Async,
}

/// What a case needs: the dialect, the facade, the server's port and the trusted root.
struct Ctx<'a> {
    dialect: Dialect,
    facade: Facade,
    port: u16,
    root: &'a Path,
}

impl Ctx<'_> {
    /// The server's URL at `host` with TLS settings `tls` (`sslmode=…` on PostgreSQL,
    /// `ssl-mode=…` on MariaDB), written as a user would.
    fn url(&self, host: &str, tls: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("postgres://postgres@{host}:{}/postgres?{tls}", self.port),
            _ => format!("mariadb://root@{host}:{}/mysql?{tls}", self.port),
        }
    }

    /// `sslrootcert=…` / `ssl-ca=…` naming the test's CA.
    fn root_option(&self) -> String {
        let key = if self.dialect == Dialect::Postgres { "sslrootcert" } else { "ssl-ca" };
        format!("{key}={}", self.root.display())
    }

    /// The verifying mode that also checks the host name.
    fn verify_full(&self) -> &'static str {
        if self.dialect == Dialect::Postgres { "sslmode=verify-full" } else { "ssl-mode=VERIFY_IDENTITY" }
    }

    /// SQL answering whether this connection is encrypted: a non-empty text when it is.
    fn tls_in_use(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => {
                "SELECT CASE WHEN ssl THEN version ELSE '' END FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
            }
            _ => "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'",
        }
    }

    fn options(&self) -> OpenOptions {
        OpenOptions::new().max_connections(2).connect_timeout(Duration::from_secs(10))
    }

    /// Opens `url` and checks the connection: TLS in use, a raw statement, and a session that
    /// writes a row and commits it (read back outside the session).
    fn connect_and_work(&self, url: &str) -> nextorm::Result<()> {
        self.connect_and_work_with(url, self.options())
    }

    /// [`Ctx::connect_and_work`] with `options`.
    fn connect_and_work_with(&self, url: &str, options: OpenOptions) -> nextorm::Result<()> {
        let table = format!("tls_probe_{:?}_{}", self.facade, self.port).to_lowercase();
        let create = format!("CREATE TABLE IF NOT EXISTS {table} (x INTEGER)");
        let insert = format!("INSERT INTO {table} (x) VALUES (?)");
        let count = format!("SELECT COUNT(*) FROM {table} WHERE x = ?");
        let drop = format!("DROP TABLE {table}");
        let tls = match self.facade {
            Facade::Blocking => {
                let db = Database::open_with(url, options)?;
                let tls: String = db.get(self.tls_in_use(), ())?;
                db.execute(&create, ())?;
                db.session(|s| s.execute(&insert, (42,)))?;
                assert_eq!(db.get::<i64>(&count, (42,))?, 1, "the session committed");
                db.execute(&drop, ())?;
                tls
            }
            Facade::Async => {
                tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
                    let db = AsyncDatabase::open_with(url, options).await?;
                    let tls: String = db.get(self.tls_in_use(), ()).await?;
                    db.execute(&create, ()).await?;
                    db.session(async |s| s.execute(&insert, (42,)).await).await?;
                    assert_eq!(db.get::<i64>(&count, (42,)).await?, 1, "the session committed");
                    db.execute(&drop, ()).await?;
                    nextorm::Result::Ok(tls)
                })?
            }
        };
        assert!(!tls.is_empty(), "{url}: the connection is encrypted");
        Ok(())
    }

    /// Opens `url` and expects it refused before any connection existed.
    fn refused(&self, url: &str) -> nextorm::Error {
        let opened = match self.facade {
            Facade::Blocking => Database::open_with(url, self.options()).map(drop),
            Facade::Async => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async { AsyncDatabase::open_with(url, self.options()).await.map(drop) }),
        };
        let e = opened.expect_err(&format!("{url} must be refused"));
        assert_eq!(e.kind(), ErrorKind::ConnectFailed, "{url}: {e}");
        e
    }
}

/// `sslmode=require` / `ssl-mode=REQUIRED`: encrypted without verifying the certificate.
fn require_encrypts_queries_and_sessions(t: &Ctx) -> nextorm::Result<()> {
    let mode = if t.dialect == Dialect::Postgres { "sslmode=require" } else { "ssl-mode=REQUIRED" };
    t.connect_and_work(&t.url("127.0.0.1", mode))
}

/// Verifying against the test's CA: the full check for `localhost`, which the certificate names,
/// and the CA-only check for `127.0.0.1`, which it does not.
fn verify_with_the_root_certificate_connects(t: &Ctx) -> nextorm::Result<()> {
    t.connect_and_work(&t.url("localhost", &format!("{}&{}", t.verify_full(), t.root_option())))?;
    let verify_ca = if t.dialect == Dialect::Postgres { "sslmode=verify-ca" } else { "ssl-mode=VERIFY_CA" };
    t.connect_and_work(&t.url("127.0.0.1", &format!("{verify_ca}&{}", t.root_option())))
}

/// The root certificate as PEM text in `OpenOptions`, the URL naming none.
fn a_root_certificate_in_the_options_verifies(t: &Ctx) -> nextorm::Result<()> {
    let pem = std::fs::read(t.root).expect("read the CA's certificate");
    t.connect_and_work_with(&t.url("localhost", t.verify_full()), t.options().tls_root_certificate(pem))
}

/// Without the root certificate the server's certificate is from an unknown issuer.
fn verify_without_the_root_certificate_is_refused(t: &Ctx) -> nextorm::Result<()> {
    let e = t.refused(&t.url("localhost", t.verify_full()));
    assert!(e.message().contains("invalid peer certificate: UnknownIssuer"), "the message says why: {e}");
    Ok(())
}

/// The certificate names `localhost`, not `127.0.0.1`: the full check refuses it.
fn a_host_name_the_certificate_lacks_is_refused(t: &Ctx) -> nextorm::Result<()> {
    let e = t.refused(&t.url("127.0.0.1", &format!("{}&{}", t.verify_full(), t.root_option())));
    assert!(e.message().contains("certificate not valid for name \"127.0.0.1\""), "the message says why: {e}");
    Ok(())
}

/// A plain connection to a server that accepts TLS only is refused by the server.
fn a_plain_connection_is_refused(t: &Ctx) -> nextorm::Result<()> {
    let mode = if t.dialect == Dialect::Postgres { "sslmode=disable" } else { "ssl-mode=DISABLED" };
    let e = t.refused(&t.url("127.0.0.1", mode));
    // PostgreSQL: no `pg_hba.conf` entry for an unencrypted connection; MariaDB answers an
    // insecure login with "Access denied" (MySQL has its own 3159): the same login over TLS
    // succeeds in `require_encrypts_queries_and_sessions`.
    let code = if t.dialect == Dialect::Postgres { "28000" } else { "1045" };
    assert_eq!(e.code(), Some(code), "the server refused the plain connection: {e}");
    Ok(())
}

type Case = fn(&Ctx) -> nextorm::Result<()>;

const CASES: &[(&str, Case)] = &[
    ("require_encrypts_queries_and_sessions", require_encrypts_queries_and_sessions),
    ("verify_with_the_root_certificate_connects", verify_with_the_root_certificate_connects),
    ("a_root_certificate_in_the_options_verifies", a_root_certificate_in_the_options_verifies),
    ("verify_without_the_root_certificate_is_refused", verify_without_the_root_certificate_is_refused),
    ("a_host_name_the_certificate_lacks_is_refused", a_host_name_the_certificate_lacks_is_refused),
    ("a_plain_connection_is_refused", a_plain_connection_is_refused),
];

/// Every test's name: `postgres::blocking::require_encrypts_queries_and_sessions`, …
fn tests() -> Vec<(String, Dialect, Facade, Case)> {
    let mut all = Vec::new();
    for dialect in [Dialect::Postgres, Dialect::MariaDb] {
        for facade in [Facade::Blocking, Facade::Async] {
            for (name, case) in CASES {
                let facade_name = if facade == Facade::Blocking { "blocking" } else { "asynchronous" };
                all.push((format!("{}::{facade_name}::{name}", dialect.name()), dialect, facade, *case));
            }
        }
    }
    all
}

/// Whether the run includes `dialect` (see `NEXTORM_TEST_DIALECTS` in the conformance harness)
/// and this machine can start its server. Outside CI a missing server program is reported, and
/// in CI it fails the run.
fn can_run(dialect: Dialect) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if let Ok(list) = std::env::var("NEXTORM_TEST_DIALECTS")
        && !ci
        && !list.split(',').any(|d| d.trim() == dialect.name())
    {
        eprintln!("NOT RUN on {}: excluded by NEXTORM_TEST_DIALECTS={list}", dialect.name());
        return false;
    }
    let available = match dialect {
        Dialect::Postgres => TlsPostgres::available(),
        _ => TlsMariaDb::available(),
    } && servers::find_program(&["openssl"], &[]).is_some();
    assert!(
        available || !ci,
        "CI must run the TLS tests on {}: its server programs or openssl are missing",
        dialect.name()
    );
    if !available {
        eprintln!("NOT RUN on {}: its server programs or openssl are missing", dialect.name());
    }
    available
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filter = args.iter().find(|a| !a.starts_with('-')).cloned().unwrap_or_default();
    let exact = args.iter().any(|a| a == "--exact");
    let selected: Vec<_> =
        tests().into_iter().filter(|(name, ..)| if exact { *name == filter } else { name.contains(&filter) }).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, ..) in &selected {
            println!("{name}: test");
        }
        return;
    }
    if args.iter().any(|a| a == "--ignored") {
        println!("test result: ok. 0 passed; 0 failed; 0 ignored");
        return;
    }
    let wanted = |d: Dialect| selected.iter().any(|(_, dialect, ..)| *dialect == d) && can_run(d);
    let (run_pg, run_mariadb) = (wanted(Dialect::Postgres), wanted(Dialect::MariaDb));

    // Dropped in reverse order: the servers stop before their directory is deleted.
    let dir = ScratchDir::new();
    let certs = certs::make(&dir.0);
    let (pg, mariadb) = std::thread::scope(|scope| {
        let pg = scope.spawn(|| run_pg.then(|| TlsPostgres::start(&dir.0, &certs)));
        let mariadb = scope.spawn(|| run_mariadb.then(|| TlsMariaDb::start(&dir.0, &certs)));
        (pg.join(), mariadb.join())
    });
    let (pg, mariadb) = match (pg, mariadb) {
        (Ok(pg), Ok(mariadb)) => (pg, mariadb),
        (pg, mariadb) => {
            drop((pg, mariadb));
            panic!("a throwaway server did not start (see above)");
        }
    };

    let mut failed = Vec::new();
    let mut passed = 0;
    println!("\nrunning {} tests", selected.len());
    for (name, dialect, facade, case) in &selected {
        let port = match dialect {
            Dialect::Postgres => pg.as_ref().map(|s| s.port),
            _ => mariadb.as_ref().map(|s| s.port),
        };
        let Some(port) = port else {
            println!("test {name} ... NOT RUN");
            continue;
        };
        let t = Ctx { dialect: *dialect, facade: *facade, port, root: &certs.root };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&t)));
        match outcome {
            Ok(Ok(())) => {
                passed += 1;
                println!("test {name} ... ok");
            }
            Ok(Err(e)) => {
                println!("test {name} ... FAILED: {e}");
                failed.push(name.clone());
            }
            Err(_) => {
                println!("test {name} ... FAILED (panicked)");
                failed.push(name.clone());
            }
        }
    }
    drop((mariadb, pg, dir));
    let result = if failed.is_empty() { "ok" } else { "FAILED" };
    println!("\ntest result: {result}. {passed} passed; {} failed", failed.len());
    if !failed.is_empty() {
        println!("failures:\n    {}", failed.join("\n    "));
        std::process::exit(101);
    }
}
