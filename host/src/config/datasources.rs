//! The datasources a run names: `[datasources.NAME]` in the run file
//! (`url`, or `url-env` naming the environment variable that holds it, so
//! the secret stays out of the file) and `--datasource NAME=URL`. Checked
//! here; opened when the run starts (`caps::Datasources`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::file::Source;
use super::values::parse_duration;
use super::{ConfigError, Overrides};
use crate::caps::{DEFAULT_ACQUIRE_TIMEOUT, DatasourceSpec};

/// One `[datasources.NAME]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DatasourceTable {
    pub url: Option<String>,
    /// The environment variable holding the URL (read by vespid, never shown).
    pub url_env: Option<String>,
    pub max_connections: Option<i64>,
    pub acquire_timeout: Option<String>,
    pub statement_timeout: Option<String>,
    /// Connect on first use: a database down at start is a warning.
    pub lazy: Option<bool>,
    /// `shared` (the run's pool, the default) or `per-vu` (a connection per VU).
    pub pool: Option<String>,
}

/// The run file's datasources, then the flags' (a name given twice is an error).
pub fn datasources(
    args: &Overrides,
    tables: &BTreeMap<String, DatasourceTable>,
    source: Option<&Source>,
) -> Result<Vec<DatasourceSpec>, ConfigError> {
    let mut specs = Vec::new();
    if let Some(source) = source {
        for (name, table) in tables {
            specs.push(from_table(name, table, source)?);
        }
    }
    for (name, url) in &args.datasources {
        let flag = |message: String| ConfigError::Flag { flag: "datasource", message };
        if specs.iter().any(|spec: &DatasourceSpec| spec.name == *name) {
            return Err(flag(format!("datasource {name:?} is named twice")));
        }
        check_scheme(url).map_err(|why| flag(format!("{name}: {why}")))?;
        specs.push(DatasourceSpec {
            name: name.clone(),
            url: url.clone(),
            max_connections: None,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
            statement_timeout: None,
            lazy: false,
            per_vu: false,
        });
    }
    Ok(specs)
}

fn from_table(name: &str, table: &DatasourceTable, source: &Source) -> Result<DatasourceSpec, ConfigError> {
    let error = |key: &str, message: String| source.error(&["datasources", name, key], message);
    let url = match (&table.url, &table.url_env) {
        (Some(url), None) => url.clone(),
        (None, Some(variable)) => std::env::var(variable)
            .map_err(|_| error("url-env", format!("the environment variable {variable} is not set")))?,
        (Some(_), Some(_)) => return Err(error("url", "give url or url-env, not both".into())),
        (None, None) => return Err(source.error(&["datasources", name], "needs url or url-env")),
    };
    let key = if table.url.is_some() { "url" } else { "url-env" };
    check_scheme(&url).map_err(|why| error(key, why))?;
    let duration = |key: &str, text: &Option<String>| -> Result<Option<Duration>, ConfigError> {
        text.as_deref()
            .map(|text| match parse_duration(text) {
                Ok(duration) if !duration.is_zero() => Ok(duration),
                Ok(_) => Err(error(key, "must be greater than 0".into())),
                Err(why) => Err(error(key, why)),
            })
            .transpose()
    };
    let max_connections = table
        .max_connections
        .map(|n| {
            u32::try_from(n)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| error("max-connections", format!("{n} is not a count of at least 1")))
        })
        .transpose()?;
    let per_vu = match table.pool.as_deref() {
        None | Some("shared") => false,
        Some("per-vu") => true,
        Some(other) => return Err(error("pool", format!("unknown pool {other:?}; use shared or per-vu"))),
    };
    Ok(DatasourceSpec {
        name: name.to_string(),
        url,
        max_connections,
        acquire_timeout: duration("acquire-timeout", &table.acquire_timeout)?.unwrap_or(DEFAULT_ACQUIRE_TIMEOUT),
        statement_timeout: duration("statement-timeout", &table.statement_timeout)?,
        lazy: table.lazy.unwrap_or(false),
        per_vu,
    })
}

/// PostgreSQL or SQLite; the message never repeats the URL (it may hold a password).
fn check_scheme(url: &str) -> Result<(), String> {
    let supported = ["postgres://", "postgresql://", "sqlite:"];
    if supported.iter().any(|scheme| url.starts_with(scheme)) {
        Ok(())
    } else {
        let scheme = url.split_once(':').map_or("none", |(scheme, _)| scheme);
        Err(format!(
            "scheme {scheme:?} is not supported; use postgres://… or sqlite:PATH (sqlite::memory: for one in memory)"
        ))
    }
}
