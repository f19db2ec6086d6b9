//! The run's datasources: what the run names (`[datasources.NAME]`,
//! `--datasource NAME=URL`), the pool opened for each once per run and
//! shared by its VUs, and the URL kept out of every message with its
//! password hidden.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{ConnectOptions, Connection};

use crate::bindings::sql::SqlError;

/// How long a statement waits for a free connection by default.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The most connections a pool opens unless the run says: one per VU up to this.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 32;

/// One datasource as the run names it.
#[derive(Clone, PartialEq)]
pub struct DatasourceSpec {
    pub name: String,
    /// `postgres://…` or `sqlite:…` (`sqlite::memory:` for one in memory).
    pub url: String,
    /// Connections of its pool; default: the run's VUs, at most [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: Option<u32>,
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on each connection.
    pub statement_timeout: Option<Duration>,
    /// Connect on first use: a database down at start is a warning, not an error.
    pub lazy: bool,
    /// Each VU gets a connection of its own (`pool = "per-vu"`) instead of
    /// sharing the run's pool.
    pub per_vu: bool,
}

/// Never prints the URL's password.
impl fmt::Debug for DatasourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatasourceSpec")
            .field("name", &self.name)
            .field("url", &redact(&self.url))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("lazy", &self.lazy)
            .field("per_vu", &self.per_vu)
            .finish()
    }
}

/// Why a datasource could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SqlSetupError {
    #[error("datasource {name:?}: {url} is not a postgres:// or sqlite: URL")]
    UnknownScheme { name: String, url: String },
    #[error("datasource {name:?}: bad URL {url}: {reason}")]
    BadUrl { name: String, url: String, reason: String },
    #[error("datasource {name:?} ({url}) cannot be reached: {reason}")]
    Down { name: String, url: String, reason: String },
}

/// A datasource's pool, by driver.
#[derive(Clone)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Pool {
    /// A pool of one connection to the same database, opened on first use:
    /// one VU's own (`pool = "per-vu"`).
    pub fn one_connection(&self) -> Pool {
        match self {
            Pool::Postgres(pool) => Pool::Postgres(one_connection_of(pool)),
            Pool::Sqlite(pool) => Pool::Sqlite(one_connection_of(pool)),
        }
    }
}

/// A pool of one connection, kept for the VU's life, with `pool`'s options.
fn one_connection_of<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> sqlx::Pool<DB> {
    sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(pool.options().get_acquire_timeout())
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// The run's datasources by name, opened, and whether each VU gets its own
/// connection of it.
#[derive(Default)]
pub struct Datasources {
    pools: BTreeMap<String, (Pool, bool)>,
}

impl Datasources {
    /// Opens a pool per datasource and, unless it is lazy, checks that it
    /// answers, before any VU starts. `vus` sizes the pools by default.
    /// Returns the warnings of lazy datasources that did not answer.
    pub async fn open(specs: &[DatasourceSpec], vus: u32) -> Result<(Datasources, Vec<String>), SqlSetupError> {
        let mut pools = BTreeMap::new();
        let mut warnings = Vec::new();
        for spec in specs {
            let pool = open_pool(spec, vus)?;
            if let Err(err) = check(&pool, spec.acquire_timeout).await {
                let down = SqlSetupError::Down { name: spec.name.clone(), url: redact(&spec.url), reason: err };
                if !spec.lazy {
                    return Err(down);
                }
                warnings.push(format!("{down} (lazy: the run goes on)"));
            }
            pools.insert(spec.name.clone(), (pool, spec.per_vu));
        }
        Ok((Datasources { pools }, warnings))
    }

    /// The pool of `name` and whether it is per VU, or the error naming
    /// the datasources there are.
    pub fn pool(&self, name: &str) -> Result<(&Pool, bool), SqlError> {
        self.pools.get(name).map(|(pool, per_vu)| (pool, *per_vu)).ok_or_else(|| {
            let known: Vec<&str> = self.pools.keys().map(String::as_str).collect();
            SqlError::UnknownDatasource(if known.is_empty() {
                format!("{name:?}: the run names no datasource (add [datasources.{name}] or --datasource {name}=URL)")
            } else {
                format!("{name:?}: this run's datasources are {}", known.join(", "))
            })
        })
    }

    /// Closes every pool, waiting for their connections to close.
    pub async fn close(&self) {
        for (pool, _) in self.pools.values() {
            match pool {
                Pool::Postgres(pool) => pool.close().await,
                Pool::Sqlite(pool) => pool.close().await,
            }
        }
    }
}

fn open_pool(spec: &DatasourceSpec, vus: u32) -> Result<Pool, SqlSetupError> {
    let size = spec.max_connections.unwrap_or_else(|| vus.clamp(1, DEFAULT_MAX_CONNECTIONS));
    let bad = |reason: sqlx::Error| SqlSetupError::BadUrl {
        name: spec.name.clone(),
        url: redact(&spec.url),
        reason: reason.to_string(),
    };
    if spec.url.starts_with("postgres://") || spec.url.starts_with("postgresql://") {
        let mut options = PgConnectOptions::from_str(&spec.url).map_err(bad)?;
        if let Some(timeout) = spec.statement_timeout {
            options = options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
        }
        let pool = PgPoolOptions::new().max_connections(size).acquire_timeout(spec.acquire_timeout);
        Ok(Pool::Postgres(pool.connect_lazy_with(options)))
    } else if spec.url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(&spec.url).map_err(bad)?.create_if_missing(true);
        let in_memory = spec.url.contains(":memory:") || spec.url.contains("mode=memory");
        let mut pool = SqlitePoolOptions::new().max_connections(size).acquire_timeout(spec.acquire_timeout);
        if in_memory {
            // The database lives as long as one connection to it: keep one for the run.
            pool = pool.min_connections(1).idle_timeout(None).max_lifetime(None);
        }
        Ok(Pool::Sqlite(pool.connect_lazy_with(options)))
    } else {
        Err(SqlSetupError::UnknownScheme { name: spec.name.clone(), url: redact(&spec.url) })
    }
}

/// One connection made straight to the database (the pool would retry a
/// refused one until its acquire timeout), then closed.
async fn check(pool: &Pool, timeout: Duration) -> Result<(), String> {
    let connect = async {
        match pool {
            Pool::Postgres(pool) => pool.connect_options().connect().await?.close().await,
            Pool::Sqlite(pool) => pool.connect_options().connect().await?.close().await,
        }
    };
    match tokio::time::timeout(timeout, connect).await {
        Ok(result) => result.map_err(|err| redact_message(&err.to_string())),
        Err(_) => Err(format!("no answer within {}", humantime::format_duration(timeout))),
    }
}

/// The URL with its password (in `user:password@` or `?password=`)
/// replaced by `***`.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else { return "(an unparsable URL)".to_string() };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query_pairs().any(|(key, _)| key == "password") {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| (key.to_string(), if key == "password" { "***".into() } else { value.into_owned() }))
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

/// A driver's message with any URL in it redacted.
fn redact_message(message: &str) -> String {
    message
        .split(' ')
        .map(|word| if word.contains("://") { redact(word) } else { word.to_string() })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(redact("postgres://bank:s3cret@127.0.0.1:5432/bank"), "postgres://bank:***@127.0.0.1:5432/bank");
        assert_eq!(redact("sqlite:bank.db"), "sqlite:bank.db");
        assert_eq!(redact("postgres://h/db?user=bank&password=s3cret"), "postgres://h/db?user=bank&password=***");
        let spec = DatasourceSpec {
            name: "main".into(),
            url: "postgres://bank:s3cret@host/db".into(),
            max_connections: None,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: None,
            lazy: false,
            per_vu: false,
        };
        assert!(!format!("{spec:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn an_unknown_scheme_and_an_unknown_name_are_named() {
        let spec = |url: &str| DatasourceSpec {
            name: "main".into(),
            url: url.into(),
            max_connections: None,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: None,
            lazy: false,
            per_vu: false,
        };
        let err = Datasources::open(&[spec("mysql://x:pw@h/db")], 1).await.err().expect("refused");
        assert_eq!(err.to_string(), "datasource \"main\": mysql://x:***@h/db is not a postgres:// or sqlite: URL");
        let (sources, warnings) = Datasources::open(&[spec("sqlite::memory:")], 1).await.expect("opens");
        assert!(warnings.is_empty());
        let Err(SqlError::UnknownDatasource(message)) = sources.pool("other") else { panic!("unknown") };
        assert_eq!(message, "\"other\": this run's datasources are main");
    }
}
