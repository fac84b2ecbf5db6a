//! Where raw SQL runs: a connection, or a session, which it joins (PonyORM's `db.execute` inside
//! a `db_session` runs in the session's transaction). One type, so the facades' raw statement
//! methods are written once for both.

use crate::driver::Conn;
use crate::session::SessionCore;
use nextorm_core::{FromRow, IntoParams, Result};

/// The connection or session a raw statement method runs on.
pub enum SqlTarget<'a> {
    /// A pooled connection, or a transaction's.
    Conn(&'a mut Conn),
    /// The session the caller runs in: the statement flushes first and runs in its transaction.
    Session(&'a mut SessionCore),
}

impl SqlTarget<'_> {
    /// Runs raw SQL with `?` placeholders; the rows affected. See [`Conn::execute`] and
    /// [`SessionCore::execute`].
    pub async fn execute(self, sql: &str, params: impl IntoParams) -> Result<u64> {
        match self {
            SqlTarget::Conn(c) => c.execute(sql, params).await,
            SqlTarget::Session(s) => s.execute(sql, params).await,
        }
    }

    /// Runs a raw query and decodes every row. See [`Conn::select`].
    pub async fn select<R: FromRow + Send>(self, sql: &str, params: impl IntoParams) -> Result<Vec<R>> {
        match self {
            SqlTarget::Conn(c) => c.select(sql, params).await,
            SqlTarget::Session(s) => s.select(sql, params).await,
        }
    }

    /// Runs a raw query that must return exactly one row. See [`Conn::get`].
    pub async fn get<R: FromRow + Send>(self, sql: &str, params: impl IntoParams) -> Result<R> {
        match self {
            SqlTarget::Conn(c) => c.get(sql, params).await,
            SqlTarget::Session(s) => s.get(sql, params).await,
        }
    }

    /// Runs a raw query that returns at most one row. See [`Conn::get_optional`].
    pub async fn get_optional<R: FromRow + Send>(self, sql: &str, params: impl IntoParams) -> Result<Option<R>> {
        match self {
            SqlTarget::Conn(c) => c.get_optional(sql, params).await,
            SqlTarget::Session(s) => s.get_optional(sql, params).await,
        }
    }
}
