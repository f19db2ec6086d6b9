//! What the run grants this plugin (HTTP origins, env keys, data sets,
//! datasources, sockets). A call reaching for something not granted fails
//! with a [`Denial`] — `http::Error::Denied`, `data::Error::Denied`,
//! `sql::ErrorKind::Denied` — having done nothing. Needs a host speaking
//! WIT 0.2.0; older hosts report a denial as another error.

use std::fmt;

use crate::bindings::vespid::scenario::permissions as wit;

/// A call the run's permissions refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The permission that would allow it: `allowed-hosts`, `env`, `data`,
    /// `datasources` or `allowed-sockets`.
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
