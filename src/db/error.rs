//! Server errors by kind, for the places that answer them differently.
//!
//! Diesel names some kinds (`DatabaseErrorKind`) and keeps the SQLSTATE of the rest private on
//! both connection types (libpq and tokio-postgres), so those few are recognised here, and only
//! here, by the server's message. A server whose `lc_messages` is not English words them
//! otherwise: they are then not recognised, and the user still sees the server's own message.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// The kinds of server error btdb answers in its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerError {
    /// SQLSTATE 23505: a unique index refused a row.
    UniqueViolation,
    /// SQLSTATE 40001: a serializable transaction lost to another.
    SerializationFailure,
    /// SQLSTATE 25006: a write sent to a read-only transaction or a standby.
    ReadOnly,
    /// The connection broke (server stopped or restarted, network lost).
    ConnectionLost,
    /// SQLSTATE 57014 from `statement_timeout`.
    StatementTimeout,
    /// SQLSTATE 42501: the role lacks a privilege.
    InsufficientPrivilege,
    /// SQLSTATE 42P05 or 26000 on a statement btdb prepared itself: the session changed between
    /// two statements, which happens behind a pooler in transaction mode (PgBouncer's
    /// `pool_mode = transaction`), where one client's prepared statements land in another's.
    SessionLost,
}

/// The kind of `e`, when it is one btdb answers.
pub fn kind(e: &DieselError) -> Option<ServerError> {
    match e {
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::UniqueViolation => Some(ServerError::UniqueViolation),
            DatabaseErrorKind::SerializationFailure => Some(ServerError::SerializationFailure),
            DatabaseErrorKind::ReadOnlyTransaction => Some(ServerError::ReadOnly),
            DatabaseErrorKind::ClosedConnection => Some(ServerError::ConnectionLost),
            _ => by_message(info.message()),
        },
        DieselError::BrokenTransactionManager => Some(ServerError::ConnectionLost),
        _ => None,
    }
}

/// The kind of the first database error in `e`'s chain of causes. Some libraries hand on a
/// server error as text only (the migration harness, the pool's timeout): those causes are
/// read by their message.
pub fn kind_in(e: &anyhow::Error) -> Option<ServerError> {
    e.chain()
        .find_map(|cause| match cause.downcast_ref::<DieselError>() {
            Some(e) => kind(e),
            None => by_message(&cause.to_string()),
        })
}

/// PostgreSQL's English messages for the kinds Diesel does not name (errcodes.txt and the
/// server's sources word them so; they have not changed since 9.x).
fn by_message(message: &str) -> Option<ServerError> {
    if message.starts_with("canceling statement due to statement timeout") {
        Some(ServerError::StatementTimeout)
    } else if message.starts_with("permission denied for ")
        || message.starts_with("must be owner of ")
    {
        Some(ServerError::InsufficientPrivilege)
    } else if message.contains("prepared statement \"")
        && (message.contains("\" already exists") || message.contains("\" does not exist"))
    {
        Some(ServerError::SessionLost)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn kinds_come_from_diesel_where_it_names_them_and_from_the_message_elsewhere() {
        let unique = server(DatabaseErrorKind::UniqueViolation, "anything at all");
        assert_eq!(kind(&unique), Some(ServerError::UniqueViolation));
        let timeout = server(
            DatabaseErrorKind::Unknown,
            "canceling statement due to statement timeout",
        );
        assert_eq!(kind(&timeout), Some(ServerError::StatementTimeout));
        let denied = server(
            DatabaseErrorKind::Unknown,
            "permission denied for table runs",
        );
        assert_eq!(kind(&denied), Some(ServerError::InsufficientPrivilege));
        // A user cancelling shares 57014 with the timeout but not its words.
        let cancelled = server(
            DatabaseErrorKind::Unknown,
            "canceling statement due to user request",
        );
        assert_eq!(kind(&cancelled), None);
        assert_eq!(kind(&DieselError::NotFound), None);
        let wrapped = anyhow::Error::from(timeout).context("ranking");
        assert_eq!(kind_in(&wrapped), Some(ServerError::StatementTimeout));
        let pooled = server(
            DatabaseErrorKind::Unknown,
            "prepared statement \"s2\" already exists",
        );
        assert_eq!(kind(&pooled), Some(ServerError::SessionLost));
        // The same, handed on as text by another library.
        let text = anyhow::anyhow!("applying migrations: prepared statement \"s3\" does not exist")
            .context("migrating");
        assert_eq!(kind_in(&text), Some(ServerError::SessionLost));
    }
}
