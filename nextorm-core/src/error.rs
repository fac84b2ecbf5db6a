//! The one error type of nextorm.

use std::fmt;

/// What went wrong, as a kind callers can match on.
///
/// New kinds may be added in minor releases, so a `match` needs a wildcard arm.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A lookup that needs a row found none (`by_pk`, `get` on raw SQL).
    NotFound,
    /// A lookup that needs at most one row found several.
    SeveralFound,
    /// A unique or primary-key constraint was violated.
    UniqueViolation,
    /// A foreign-key constraint was violated.
    ForeignKeyViolation,
    /// A NULL reached a `NOT NULL` column.
    NotNullViolation,
    /// A `CHECK` constraint was violated.
    CheckViolation,
    /// A row changed or vanished since this session read it.
    OptimisticConflict,
    /// The database reported a serialization failure, a deadlock, or a row lock it could not take
    /// (`FOR UPDATE NOWAIT`, a lock wait timeout); the whole transaction may be retried.
    SerializationFailure,
    /// An SQLite database stayed locked by another writer for longer than the busy timeout.
    Busy,
    /// No pooled connection became free within the acquire timeout.
    PoolTimeout,
    /// The server cancelled a statement that ran past the statement timeout
    /// (`OpenOptions::statement_timeout`; PostgreSQL `57014`, MariaDB `1969`, MySQL `3024`). The
    /// transaction it ran in is aborted; the connection is fine. PostgreSQL reports a statement
    /// cancelled by an administrator (`pg_cancel_backend`) with the same code, so it has this
    /// kind too. A statement whose server stopped answering altogether fails with
    /// [`ErrorKind::ConnectionLost`] instead, at the client's deadline.
    StatementTimeout,
    /// A connection that was open failed or was lost (the server closed it, the network broke).
    ConnectionLost,
    /// A new connection could not be made: the server refused it or did not answer, rejected the
    /// login, or has no such database; or the SQLite file cannot be opened. No connection existed,
    /// so nothing was sent. Not retryable: a session retry would meet the same refusal.
    ConnectFailed,
    /// A value read from the database does not fit the Rust type asked for.
    Decode,
    /// A value cannot be stored faithfully: NaN on SQLite, a NUL byte on PostgreSQL, an integer out of
    /// range, a string longer than `max_len`, a decimal with more digits than the column holds.
    InvalidValue,
    /// The entity declarations cannot be mapped to tables: a bad or too long identifier, a clash.
    Mapping,
    /// The configuration or a call is invalid: a bad URL, a blocking call inside an async runtime.
    Config,
    /// The operation is not supported by this dialect or build.
    Unsupported,
    /// The migration history does not allow the request: a half-applied migration waits to be
    /// resolved, an applied migration's file was edited or is missing, or going back would lose
    /// data and was not allowed. The message says the way out.
    Migration,
    /// A bug in nextorm: please report it. An invariant nextorm keeps for itself was broken;
    /// nothing the caller did or configured causes it.
    Internal,
    /// Any other error reported by the database.
    Database,
}

impl ErrorKind {
    /// A short lower-case name of the kind, used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::SeveralFound => "several found",
            ErrorKind::UniqueViolation => "unique violation",
            ErrorKind::ForeignKeyViolation => "foreign key violation",
            ErrorKind::NotNullViolation => "not-null violation",
            ErrorKind::CheckViolation => "check violation",
            ErrorKind::OptimisticConflict => "optimistic conflict",
            ErrorKind::SerializationFailure => "serialization failure",
            ErrorKind::Busy => "database busy",
            ErrorKind::PoolTimeout => "pool timeout",
            ErrorKind::StatementTimeout => "statement timeout",
            ErrorKind::ConnectionLost => "connection lost",
            ErrorKind::ConnectFailed => "connect failed",
            ErrorKind::Decode => "decode error",
            ErrorKind::InvalidValue => "invalid value",
            ErrorKind::Mapping => "mapping error",
            ErrorKind::Config => "configuration error",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Migration => "migration error",
            ErrorKind::Internal => "internal error (a bug in nextorm: please report it)",
            ErrorKind::Database => "database error",
        }
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error type of every nextorm operation.
///
/// It is one pointer wide, so `Result<T>` stays small on the hot path. Match on [`Error::kind`]:
///
/// ```
/// use nextorm_core::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::UniqueViolation, "duplicate key");
/// assert_eq!(e.kind(), ErrorKind::UniqueViolation);
/// ```
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    message: String,
    /// The database's own code (SQLSTATE, MariaDB error number, SQLite extended code), when it gave one.
    code: Option<String>,
    source: Option<Source>,
    /// The connection was lost while a `COMMIT` (or an autocommitted write) was on its way: the
    /// write may or may not have taken effect.
    outcome_unknown: bool,
}

/// `Result` with nextorm's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Creates an error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner { kind, message: message.into(), code: None, source: None, outcome_unknown: false }))
    }

    /// Creates an error of `kind` that wraps a lower-level error.
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let mut e = Error::new(kind, message);
        e.0.source = Some(Box::new(source));
        e
    }

    /// Attaches the database's own error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.0.code = Some(code.into());
        self
    }

    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The database's own error code, if the database reported one: a PostgreSQL SQLSTATE such as
    /// `23505`, a MariaDB error number such as `1062`, or an SQLite extended result code such as `2067`.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    /// Prefixes the message with where the error happened, e.g. `Product.price`.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.0.message = format!("{context}: {}", self.0.message);
        self
    }

    /// Marks a lost connection whose last write may or may not have been committed (the
    /// connection failed during `COMMIT`): a session retry must not run it again blindly.
    pub fn with_outcome_unknown(mut self) -> Self {
        self.0.outcome_unknown = true;
        self
    }

    /// Whether the connection was lost during `COMMIT`, so whether the write took effect is
    /// unknown (see [`Error::with_outcome_unknown`]).
    pub fn is_outcome_unknown(&self) -> bool {
        self.0.outcome_unknown
    }

    /// Whether a session may run its whole body again after this error: a retryable error (see
    /// [`Error::is_retryable`]), or a connection lost before `COMMIT` was sent, since then nothing
    /// can have been committed.
    pub fn may_rerun_session(&self) -> bool {
        self.is_retryable() || (self.0.kind == ErrorKind::ConnectionLost && !self.0.outcome_unknown)
    }

    /// Whether retrying the whole transaction may succeed (optimistic conflict, serialization
    /// failure or deadlock, busy SQLite database).
    pub fn is_retryable(&self) -> bool {
        matches!(self.0.kind, ErrorKind::OptimisticConflict | ErrorKind::SerializationFailure | ErrorKind::Busy)
    }

    /// Shorthand for an [`ErrorKind::InvalidValue`] error.
    pub fn invalid_value(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidValue, message)
    }

    /// Shorthand for an [`ErrorKind::Decode`] error.
    pub fn decode(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Decode, message)
    }

    /// Shorthand for an [`ErrorKind::Mapping`] error.
    pub fn mapping(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Mapping, message)
    }

    /// Shorthand for an [`ErrorKind::Config`] error.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// Shorthand for an [`ErrorKind::Internal`] error: an invariant of nextorm itself broke.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.kind.as_str(), self.0.message)?;
        if let Some(code) = &self.0.code {
            write!(f, " (code {code})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.0.kind).field("message", &self.0.message);
        if let Some(code) = &self.0.code {
            d.field("code", code);
        }
        if let Some(source) = &self.0.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn display_names_kind_message_and_code() {
        let e = Error::new(ErrorKind::UniqueViolation, "duplicate").with_code("23505").context("Product");
        assert_eq!(e.to_string(), "unique violation: Product: duplicate (code 23505)");
        assert!(!e.is_retryable());
        assert!(Error::new(ErrorKind::Busy, "x").is_retryable());
    }

    #[test]
    fn internal_error_asks_for_a_bug_report() {
        let e = Error::internal("a flush grouped changes that are not inserts");
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(
            e.to_string(),
            "internal error (a bug in nextorm: please report it): a flush grouped changes that are not inserts"
        );
        assert!(!e.is_retryable());
    }
}
