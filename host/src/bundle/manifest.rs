//! A bundle's manifest (`manifest.toml`, its first entry), and the
//! `bundle.toml` of a folder it is packed from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The run-file options a bundle may set as its defaults.
pub const OPTION_KEYS: &[&str] = &["vus", "duration", "iterations", "stages"];

/// What a bundle is and holds; its `parts` digests cover every other entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub authors: Vec<String>,
    /// The entry holding the plugin (`plugin.wasm`, `plugin.js`, `plugin.py`).
    pub plugin: String,
    /// The WIT world the plugin targets.
    pub world: String,
    #[serde(default)]
    pub tasks: Vec<String>,
    /// What the plugin asks to reach; the run decides what it gets.
    #[serde(default)]
    pub permissions: Asked,
    /// Run limits it asks for above the defaults; the run decides.
    #[serde(default, skip_serializing_if = "AskedLimits::is_empty")]
    pub limits: AskedLimits,
    /// Default options, as a run file writes them (`vus`, `duration`, …).
    #[serde(default)]
    pub options: toml::Table,
    #[serde(default)]
    pub thresholds: toml::Table,
    /// Data sets by name: the entry holding each.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
    /// `sha256:<hex>` of every entry but the manifest and the signature.
    pub parts: BTreeMap<String, String>,
}

/// Permissions a bundle asks for, as `[permissions]` grants them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Asked {
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub data: Vec<String>,
    #[serde(default)]
    pub datasources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_sockets: Vec<String>,
}

impl Asked {
    /// Each kind and what is asked of it, for printing.
    pub fn kinds(&self) -> [(&'static str, &[String]); 5] {
        [
            ("allowed-hosts", &self.allowed_hosts),
            ("env", &self.env),
            ("data", &self.data),
            ("datasources", &self.datasources),
            ("allowed-sockets", &self.allowed_sockets),
        ]
    }
}

/// Run limits a bundle asks for, as a run file writes them
/// (`iteration-cpu-limit = "30s"`); only the run grants them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AskedLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_cpu_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vu_memory_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_metrics: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_series: Option<u32>,
}

impl AskedLimits {
    /// Each limit and what is asked of it, as a run file writes it.
    pub fn kinds(&self) -> [(&'static str, Option<String>); 5] {
        [
            ("iteration-cpu-limit", self.iteration_cpu_limit.clone()),
            ("vu-memory-limit", self.vu_memory_limit.clone()),
            ("max-response-body", self.max_response_body.clone()),
            ("max-metrics", self.max_metrics.map(|n| n.to_string())),
            ("max-series", self.max_series.map(|n| n.to_string())),
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.kinds().iter().all(|(_, asked)| asked.is_none())
    }
}

/// `bundle.toml`: a bundle's source, paths relative to its folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Source {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub authors: Vec<String>,
    pub plugin: String,
    #[serde(default)]
    pub permissions: Asked,
    #[serde(default)]
    pub limits: AskedLimits,
    #[serde(default)]
    pub options: toml::Table,
    #[serde(default)]
    pub thresholds: toml::Table,
    /// Data sets by name: their file.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}
