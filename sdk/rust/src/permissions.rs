//! What the run grants this plugin (HTTP origins, env keys, data sets,
//! datasources, sockets). An HTTP request, data set or datasource not
//! granted fails with a [`Denial`] — `http::Error::Denied`,
//! `data::Error::Denied`, `sql::ErrorKind::Denied` — having done nothing;
//! an env key not granted reads as unset, a socket fails as the system's
//! would (access denied). Since WIT 0.2.0.

use std::fmt;

use crate::bindings::vespid::scenario::permissions as wit;

/// A call the run's permissions refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The permission that would allow it: `allowed-hosts`, `data` or
    /// `datasources`.
    pub permission: String,
    /// One line naming what was refused and how to grant it.
    pub message: String,
}

impl From<wit::Denial> for Denial {
    fn from(denial: wit::Denial) -> Self {
        Denial { permission: denial.permission, message: denial.message }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Denial {}
