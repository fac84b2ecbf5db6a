//! How to open a database: the URL and the pool options.

use nextorm_core::{Dialect, EntityMeta, Error, Result};
use std::time::Duration;

/// Options for opening a database. The defaults suit most programs.
///
/// ```
/// use std::time::Duration;
/// use nextorm_engine::OpenOptions;
/// let options = OpenOptions::new().max_connections(4).acquire_timeout(Duration::from_secs(2));
/// assert_eq!(options.max_connections_or_default(), 4);
/// ```
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub(crate) max_connections: Option<usize>,
    pub(crate) acquire_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) busy_timeout: Duration,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) idle_in_transaction_timeout: Option<Duration>,
    pub(crate) ping_idle_after: Duration,
    pub(crate) tls_root_certificate: Option<Vec<u8>>,
    pub(crate) entities: Option<Vec<&'static EntityMeta>>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            max_connections: None,
            acquire_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
            statement_timeout: None,
            idle_in_transaction_timeout: None,
            ping_idle_after: Duration::from_secs(1),
            tls_root_certificate: None,
            entities: None,
        }
    }
}

impl OpenOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most connections the pool opens (default 8; an in-memory SQLite database always has one).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = Some(n.max(1));
        self
    }

    /// How long to wait for a free pooled connection before failing with
    /// [`nextorm_core::ErrorKind::PoolTimeout`] (default 30 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long to wait for a server connection to open (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long an SQLite statement waits for another writer's lock before failing with
    /// [`nextorm_core::ErrorKind::Busy`] (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The longest a statement on PostgreSQL or MariaDB may run (default: no limit). The server
    /// cancels it (PostgreSQL `SET statement_timeout`, MariaDB `SET SESSION max_statement_time`,
    /// sent when each connection opens) with [`nextorm_core::ErrorKind::StatementTimeout`], and
    /// the client stops waiting one second later: a statement whose connection went silent (a
    /// half-open socket) fails with [`nextorm_core::ErrorKind::ConnectionLost`] and the
    /// connection is closed, not pooled.
    ///
    /// There is no TCP keepalive setting (sqlx 0.9 has none). A half-open connection is found
    /// by this deadline while a statement waits on it (within the timeout plus one second), and
    /// by the ping of [`OpenOptions::ping_idle_after`] before an idle one is handed out (within
    /// `connect_timeout`, 10 s by default). Without a statement timeout a statement on a
    /// half-open connection waits until the operating system gives up on the socket.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }

    /// PostgreSQL and MariaDB: the server ends a connection that stays idle inside an open
    /// transaction this long (PostgreSQL `idle_in_transaction_session_timeout`, MariaDB
    /// `idle_transaction_timeout` in whole seconds, rounded up; default: no limit), rolling it back
    /// and releasing its locks. The session's next statement fails with
    /// [`nextorm_core::ErrorKind::ConnectionLost`] and the connection is not pooled again.
    pub fn idle_in_transaction_timeout(mut self, timeout: Duration) -> Self {
        self.idle_in_transaction_timeout = Some(timeout);
        self
    }

    /// A pooled PostgreSQL or MariaDB connection idle at least this long is pinged (one round
    /// trip) before it is handed out, and closed if it does not answer (default 1 s). A busy
    /// pool's connections come back sooner and are handed out without the round trip; after a
    /// connection is found dead every idle one is pinged before its next use.
    pub fn ping_idle_after(mut self, idle: Duration) -> Self {
        self.ping_idle_after = idle;
        self
    }

    /// PostgreSQL and MariaDB: the certificate authority (PEM text, one or more certificates)
    /// that a verifying TLS mode checks the server's certificate against, instead of the root
    /// named in the URL (`sslrootcert=`, `ssl-ca=`) or the Mozilla roots built in: for a
    /// certificate kept in a secret store rather than a file. It takes effect with
    /// `sslmode=verify-ca|verify-full` / `ssl-mode=VERIFY_CA|VERIFY_IDENTITY` in the URL.
    ///
    /// ```
    /// # let pem = b"-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n".to_vec();
    /// let options = nextorm_engine::OpenOptions::new().tls_root_certificate(pem);
    /// ```
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_certificate = Some(pem.into());
        self
    }

    /// Maps exactly these entities instead of every entity linked into the program: how two
    /// models that use the same table names (two databases, tenants, tests) live in one program.
    /// Two entities on one table in one database are a mapping error at `generate_mapping`.
    pub fn entities(mut self, entities: impl IntoIterator<Item = &'static EntityMeta>) -> Self {
        self.entities = Some(entities.into_iter().collect());
        self
    }

    /// The effective pool size.
    pub fn max_connections_or_default(&self) -> usize {
        self.max_connections.unwrap_or(8)
    }
}

/// Where an SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqliteTarget {
    Memory,
    File { path: String, create: bool, read_only: bool },
}

impl SqliteTarget {
    /// What the target is, for messages: `cannot open the SQLite database data/app.db`.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn describe(&self) -> String {
        match self {
            SqliteTarget::Memory => "cannot open an in-memory SQLite database".to_owned(),
            SqliteTarget::File { path, .. } => format!("cannot open the SQLite database {path}"),
        }
    }
}

/// A parsed database URL.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite(SqliteTarget),
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres(String),
    #[cfg_attr(not(feature = "mariadb"), allow(dead_code))]
    MariaDb(String),
}

impl Target {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Target::Sqlite(_) => Dialect::Sqlite,
            Target::Postgres(_) => Dialect::Postgres,
            Target::MariaDb(_) => Dialect::MariaDb,
        }
    }

    /// Parses `sqlite::memory:`, `sqlite://file.db`, `sqlite:///abs/file.db?mode=ro`,
    /// `postgres://…`, `postgresql://…`, `mysql://…` or `mariadb://…`. Messages show the URL
    /// with its password masked.
    pub(crate) fn parse(url: &str) -> Result<Target> {
        let (scheme, rest) = url.split_once(':').ok_or_else(|| {
            Error::config(format!(
                "`{}` is not a database URL (expected sqlite:, postgres:// or mariadb://)",
                masked(url)
            ))
        })?;
        match scheme {
            "sqlite" => parse_sqlite(rest, url).map(Target::Sqlite),
            "postgres" | "postgresql" => {
                check_tls_mode(url, &["disable", "allow", "prefer", "require", "verify-ca", "verify-full"])?;
                Ok(Target::Postgres(url.to_owned()))
            }
            "mysql" | "mariadb" => {
                check_tls_mode(url, &["DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"])?;
                Ok(Target::MariaDb(format!("mysql:{rest}")))
            }
            other => Err(Error::config(format!(
                "unknown database scheme `{other}` in `{}`: use sqlite:, postgres:// or mariadb://",
                masked(url)
            ))),
        }
    }
}

/// Refuses a server URL's TLS mode (`sslmode=…` or `ssl-mode=…`, as sqlx reads either on both
/// servers, any case) unless it is one of `modes`, with a message listing them.
fn check_tls_mode(url: &str, modes: &[&str]) -> Result<()> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    for (key, value) in query.split('&').filter_map(|pair| pair.split_once('=')) {
        if matches!(key, "sslmode" | "ssl-mode") && !modes.iter().any(|m| m.eq_ignore_ascii_case(value)) {
            let (last, first) = modes.split_last().expect("TLS modes");
            return Err(Error::config(format!(
                "`{key}={value}` in `{}` is not a TLS mode: use {} or {last}",
                masked(url),
                first.join(", ")
            )));
        }
    }
    Ok(())
}

/// The dialect a database URL names, read from its scheme without connecting: what
/// `sqlmigrate` renders for. A URL that does not parse is a configuration error, with the
/// password masked.
///
/// ```
/// use nextorm_core::Dialect;
/// assert_eq!(nextorm_engine::dialect_of_url("postgres://u:secret@db/app").unwrap(), Dialect::Postgres);
/// assert_eq!(nextorm_engine::dialect_of_url("sqlite::memory:").unwrap(), Dialect::Sqlite);
/// assert!(nextorm_engine::dialect_of_url("oracle://db").is_err());
/// ```
pub fn dialect_of_url(url: &str) -> Result<Dialect> {
    Target::parse(url).map(|t| t.dialect())
}

/// The URL as the user wrote it, with the password (`user:password@` or a `password=` option)
/// replaced by `***`, for messages. The user part ends at the last `@`, so a password holding
/// `?`, `/` or `@` is masked whole.
pub(crate) fn masked(url: &str) -> String {
    // The `@` that ends the user part is followed by a host, never by query options: an `@`
    // inside `?user=admin@tenant&password=...` must not hide the password from the masking below.
    let host_follows = |at: usize| {
        let host = url[at + 1..].split(['/', '?']).next().unwrap_or_default();
        !host.contains(['=', '&'])
    };
    let at = url.match_indices('@').map(|(i, _)| i).rev().find(|&i| host_follows(i));
    let (mut out, rest) = match (url.find("://"), at) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => (format!("{}{user}:***", &url[..s + 3]), &url[at..]),
            None => (url[..at].to_owned(), &url[at..]),
        },
        _ => (String::new(), url),
    };
    let (base, query) = rest.split_once('?').map_or((rest, None), |(b, q)| (b, Some(q)));
    out.push_str(base);
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out = format!("{out}?{}", pairs.join("&"));
    }
    out
}

fn parse_sqlite(rest: &str, url: &str) -> Result<SqliteTarget> {
    let with_slashes = rest.starts_with("//");
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" {
        return Ok(SqliteTarget::Memory);
    }
    // Near misses of `sqlite::memory:` would silently create a file in the working directory.
    if !with_slashes && matches!(path, "memory" | "memory:" | ":memory") {
        return Err(Error::config(format!(
            "`{url}` is ambiguous: write `sqlite::memory:` for an in-memory database, \
             or `sqlite:./{path}` for a file named {path}"
        )));
    }
    // `sqlite:`, `sqlite://`, `sqlite:?mode=ro` or a blank path: refused rather than guessed.
    let names_nothing = || {
        Error::config(format!(
            "`{url}` names no database: write `sqlite::memory:` for an in-memory database, \
             or `sqlite:path/to/file.db`, `sqlite://path/to/file.db` or `sqlite:///absolute/file.db` \
             for a file (options: `?mode=ro`, `?mode=rw`, `?mode=rwc`)"
        ))
    };
    if path.is_empty() && query.is_empty() {
        return Err(names_nothing());
    }
    let (mut create, mut read_only) = (true, false);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair {
            "mode=rwc" => {}
            "mode=rw" => create = false,
            "mode=ro" => (create, read_only) = (false, true),
            "mode=memory" => return Ok(SqliteTarget::Memory),
            other => return Err(Error::config(format!("unknown SQLite URL option `{other}` in `{url}`"))),
        }
    }
    if path.trim().is_empty() {
        return Err(names_nothing());
    }
    Ok(SqliteTarget::File { path: path.to_owned(), create, read_only })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_dialect() {
        assert!(matches!(Target::parse("sqlite::memory:").unwrap(), Target::Sqlite(SqliteTarget::Memory)));
        assert!(matches!(Target::parse("sqlite://:memory:").unwrap(), Target::Sqlite(SqliteTarget::Memory)));
        match Target::parse("sqlite:///tmp/x.db?mode=ro").unwrap() {
            Target::Sqlite(SqliteTarget::File { path, read_only, .. }) => {
                assert_eq!(path, "/tmp/x.db");
                assert!(read_only);
            }
            other => panic!("{other:?}"),
        }
        match Target::parse("sqlite://data/app.db").unwrap() {
            Target::Sqlite(SqliteTarget::File { path, create, .. }) => {
                assert_eq!((path.as_str(), create), ("data/app.db", true))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(Target::parse("postgresql://u@h/db").unwrap().dialect(), Dialect::Postgres);
        match Target::parse("mariadb://root@127.0.0.1:3306/test").unwrap() {
            Target::MariaDb(u) => assert_eq!(u, "mysql://root@127.0.0.1:3306/test"),
            other => panic!("{other:?}"),
        }
        assert!(Target::parse("oracle://x").is_err());
        for near_miss in ["sqlite:memory", "sqlite:memory:", "sqlite::memory", "sqlite:", "sqlite://"] {
            let e = Target::parse(near_miss).unwrap_err();
            assert_eq!(e.kind(), nextorm_core::ErrorKind::Config, "{near_miss}");
            assert!(e.message().contains("write `sqlite::memory:`"), "{e}");
        }
        // Nothing named, with or without options: every accepted form is shown.
        for nothing in ["sqlite:", "sqlite://", "sqlite:?", "sqlite:?mode=ro", "sqlite://?mode=rw", "sqlite: "] {
            let e = Target::parse(nothing).unwrap_err();
            assert_eq!(e.kind(), nextorm_core::ErrorKind::Config, "{nothing}");
            for form in ["sqlite::memory:", "sqlite:path/to/file.db", "sqlite://path/to/file.db", "?mode=ro"] {
                assert!(e.message().contains(form), "{nothing}: {e}");
            }
        }
        for file in ["sqlite:./memory", "sqlite://memory"] {
            assert!(matches!(Target::parse(file).unwrap(), Target::Sqlite(SqliteTarget::File { .. })), "{file}");
        }
        assert!(Target::parse("nonsense").is_err());
        assert!(Target::parse("sqlite://x.db?cache=shared").is_err());
    }

    #[test]
    fn tls_modes_are_checked_with_the_accepted_ones_listed() {
        for good in [
            "postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem",
            "postgresql://u@h/db?ssl-mode=REQUIRE",
            "mariadb://root@h/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca.pem",
            "mysql://root@h/db?sslmode=disabled",
        ] {
            assert!(Target::parse(good).is_ok(), "{good}");
        }
        let e = Target::parse("postgres://u:secret@h/db?sslmode=sometimes").unwrap_err();
        assert_eq!(e.kind(), nextorm_core::ErrorKind::Config);
        assert_eq!(
            e.message(),
            "`sslmode=sometimes` in `postgres://u:***@h/db?sslmode=sometimes` is not a TLS mode: \
             use disable, allow, prefer, require, verify-ca or verify-full"
        );
        // The other server's spelling is refused too: `require` is PostgreSQL's, not MariaDB's.
        let e = Target::parse("mariadb://root@h/db?ssl-mode=require").unwrap_err();
        assert_eq!(e.kind(), nextorm_core::ErrorKind::Config);
        assert!(e.message().ends_with("use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY"), "{e}");
    }

    #[test]
    fn passwords_are_masked_and_the_url_kept_as_written() {
        assert_eq!(masked("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(masked("mariadb://root:p@ss@127.0.0.1:1/test"), "mariadb://root:***@127.0.0.1:1/test");
        assert_eq!(masked("mysql://root@h/db"), "mysql://root@h/db");
        assert_eq!(masked("postgres://u:a?b/c@h/db?x=1"), "postgres://u:***@h/db?x=1");
        assert_eq!(masked("postgres://h/db?user=u&password=secret"), "postgres://h/db?user=u&password=***");
        assert_eq!(
            masked("postgres://db/app?user=admin@tenant&password=s3cr3t"),
            "postgres://db/app?user=admin@tenant&password=***"
        );
        let e = Target::parse("oracle://u:secret@h").unwrap_err();
        assert!(!e.message().contains("secret") && e.message().contains("oracle://u:***@h"), "{e}");
    }
}
