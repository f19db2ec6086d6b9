//! sqlx's errors as the WIT `sql-error` a plugin gets, and the short
//! `error` tag of a failed statement's metrics.

use crate::bindings::sql::{DatabaseError, SqlError};

/// The WIT error for a failed sqlx call.
pub fn from_sqlx(error: sqlx::Error) -> SqlError {
    match error {
        sqlx::Error::Database(database) => {
            let code = database.code().map(|code| code.into_owned());
            let detail = DatabaseError { message: database.message().to_string(), code: code.clone() };
            // SQLite's codes are numbers whose low byte is the primary code.
            let sqlite_primary = code.as_deref().and_then(|code| code.parse::<u32>().ok()).map(|code| code & 0xff);
            match (database.kind(), code.as_deref()) {
                // PostgreSQL's query_canceled: statement_timeout ran out.
                (_, Some("57014")) => SqlError::Timeout,
                // SQLite's SQLITE_BUSY (and its extended codes): the busy timeout ran out on a lock.
                _ if sqlite_primary == Some(5) => SqlError::Timeout,
                // SQLite's SQLITE_CANTOPEN: the file cannot be opened or created.
                _ if sqlite_primary == Some(14) => {
                    SqlError::Connection(format!("{} (code {})", detail.message, code.unwrap_or_default()))
                }
                // PostgreSQL's class 23: integrity constraint violations, exclusion included.
                (_, Some(code)) if code.starts_with("23") && code.len() == 5 => SqlError::ConstraintViolation(detail),
                // Connection exceptions, authentication, the server shutting down.
                (_, Some(code)) if code.starts_with("08") || code.starts_with("28") || code.starts_with("57P") => {
                    SqlError::Connection(format!("{} (code {code})", detail.message))
                }
                (sqlx::error::ErrorKind::Other, _) => SqlError::Query(detail),
                _ => SqlError::ConstraintViolation(detail),
            }
        }
        sqlx::Error::PoolTimedOut => SqlError::PoolExhausted,
        sqlx::Error::Io(err) => SqlError::Connection(err.to_string()),
        sqlx::Error::Tls(err) => SqlError::Connection(format!("TLS: {err}")),
        sqlx::Error::PoolClosed => SqlError::Connection("the run's pool is closed".into()),
        sqlx::Error::Protocol(message) => SqlError::Connection(format!("protocol: {message}")),
        sqlx::Error::WorkerCrashed => SqlError::Connection("the database's worker stopped".into()),
        other => SqlError::Query(DatabaseError { message: other.to_string(), code: None }),
    }
}

/// The `error` tag of a failed statement: the WIT case's name.
pub fn error_tag(error: &SqlError) -> &'static str {
    match error {
        SqlError::UnknownDatasource(_) => "unknown-datasource",
        SqlError::Connection(_) => "connection",
        SqlError::Query(_) => "query",
        SqlError::ConstraintViolation(_) => "constraint-violation",
        SqlError::Timeout => "timeout",
        SqlError::PoolExhausted => "pool-exhausted",
        SqlError::TransactionFinished => "transaction-finished",
        SqlError::UnsupportedType(_) => "unsupported-type",
        SqlError::Denied(_) => "denied",
    }
}
