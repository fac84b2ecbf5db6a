//! The three SQL dialects: [`Dialect`], the name users pass around, and its plain facts. What
//! each dialect does differently lives in its own file under `render/`; `render.rs` maps the
//! enum to those implementations, once, and answers the methods about quoting, limits, column
//! types and values there.

/// An SQL dialect. The renderer is shared; a dialect holds only its differences. In a
/// migration file it is written by its [`Dialect::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// SQLite 3.35 or newer (the bundled library).
    Sqlite,
    /// PostgreSQL 12 or newer.
    Postgres,
    /// MariaDB 10.6 or newer.
    MariaDb,
}

impl Dialect {
    /// Every dialect, in a fixed order.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MariaDb];

    /// A short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::MariaDb => "mariadb",
        }
    }

    /// An index for per-dialect caches.
    pub fn index(self) -> usize {
        self as usize
    }
}
