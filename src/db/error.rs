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

/// The kind of the first database error in `e`'s chain of causes.
pub fn kind_in(e: &anyhow::Error) -> Option<ServerError> {
    e.chain()
        .filter_map(|cause| cause.downcast_ref::<DieselError>())
        .find_map(kind)
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
    }
}
