//! The crate's top-level error and the process exit codes it maps to.
//! Each module has its own typed error; this only gathers them.

use std::path::PathBuf;

use crate::bundle::BundleError;
use crate::caps::{HttpSetupError, SqlSetupError};
use crate::client::ClientError;
use crate::config::ConfigError;
use crate::dev::DevError;
use crate::exec::{Call, TaskFailed, VuError};
use crate::plugin::PluginError;
use crate::scaffold::ScaffoldError;

/// Exit codes of the `vespid` binary (documented in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The run completed.
    Ok = 0,
    /// The run could not complete: setup failed, an output could not be written.
    RuntimeFailure = 1,
    /// Bad input: command line, plugin file, CA file, data file.
    BadInput = 2,
    /// The machine's limits (open files, memory maps) cannot hold the run.
    MachineLimit = 3,
    /// `vespid status|pause|resume|scale`: no run answers at the address.
    NoRun = 4,
    /// `vespid dev DIR`: the first build failed, or did not write the plugin.
    BuildFailed = 5,
    /// A datasource the run names did not answer at start (and is not `lazy`).
    DatasourceDown = 6,
    /// A bundle was refused: malformed, unsafe, tampered with, or not
    /// signed as the run requires.
    BundleRefused = 7,
    /// An abortOnFail threshold failed and stopped the run early.
    ThresholdAborted = 98,
    /// The run completed and at least one threshold failed (as k6).
    ThresholdsFailed = 99,
    /// `setup` did not finish within setup-timeout (k6's code).
    SetupTimeout = 100,
    /// `teardown` did not finish within teardown-timeout (k6's code).
    TeardownTimeout = 101,
    /// Interrupted by Ctrl-C or SIGINT (k6's code).
    Interrupted = 105,
    /// A script could not load: a syntax error, an unknown module, an
    /// exception in its init context (k6's ScriptException code).
    ScriptError = 107,
    /// A plugin stopped the test from inside (k6's `exec.test.abort()`,
    /// k6's ScriptAborted code).
    ScriptAborted = 108,
}

/// Everything that can stop a `vespid` command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Http(#[from] HttpSetupError),
    /// A datasource could not be opened.
    #[error(transparent)]
    Sql(#[from] SqlSetupError),
    /// `vespid new` could not create the project.
    #[error(transparent)]
    Scaffold(#[from] ScaffoldError),
    /// A control client command failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// `vespid dev` could not start its loop.
    #[error(transparent)]
    Dev(#[from] DevError),
    /// A bundle could not be packed, read or trusted.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("{0}")]
    Limit(String),
    /// The run could not start its plugins: `describe` or `setup` failed.
    #[error("{0}")]
    Setup(VuError),
    /// A script could not be loaded for its options.
    #[error("{0}")]
    Script(VuError),
    /// `teardown` did not finish in time (the run's results stand).
    #[error("{0}")]
    Teardown(VuError),
    /// A task of the engine failed (a bug).
    #[error(transparent)]
    Task(#[from] TaskFailed),
    /// Ctrl-C (or SIGINT) stopped the command before its end.
    #[error("interrupted")]
    Interrupted,
    #[error("cannot write {path:?}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Runtime(String),
    #[error("thresholds failed: {0}")]
    ThresholdsFailed(String),
    #[error("the run was aborted: threshold {0} failed (abortOnFail)")]
    ThresholdAborted(String),
    /// A plugin called `vu.abort-test` (k6's `exec.test.abort()`).
    #[error("{}", crate::caps::TestAbort::describe(.0))]
    TestAborted(String),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Plugin(PluginError::Engine(_)) => ExitCode::RuntimeFailure,
            Error::Bundle(err) | Error::Config(ConfigError::Bundle(err)) if err.is_refusal() => ExitCode::BundleRefused,
            Error::Plugin(_) | Error::Config(_) | Error::Http(_) => ExitCode::BadInput,
            Error::Scaffold(ScaffoldError::Write { .. }) => ExitCode::RuntimeFailure,
            Error::Scaffold(_) => ExitCode::BadInput,
            Error::Dev(DevError::Spawn { .. } | DevError::Build { .. } | DevError::NoArtifact { .. }) => {
                ExitCode::BuildFailed
            }
            Error::Dev(DevError::Watch(_)) => ExitCode::RuntimeFailure,
            Error::Dev(_) => ExitCode::BadInput,
            Error::Limit(_) => ExitCode::MachineLimit,
            Error::Bundle(_) => ExitCode::BadInput,
            Error::Sql(SqlSetupError::Down { .. }) => ExitCode::DatasourceDown,
            Error::Sql(_) => ExitCode::BadInput,
            Error::Client(ClientError::Unreachable { .. }) => ExitCode::NoRun,
            Error::Client(ClientError::Refused(_)) => ExitCode::BadInput,
            Error::Client(ClientError::Garbled(_)) => ExitCode::RuntimeFailure,
            Error::Setup(VuError::Timeout { call: Call::Setup, .. }) => ExitCode::SetupTimeout,
            Error::Teardown(_) => ExitCode::TeardownTimeout,
            Error::Interrupted => ExitCode::Interrupted,
            Error::Script(VuError::Guest { .. }) => ExitCode::ScriptError,
            Error::Script(_) => ExitCode::RuntimeFailure,
            Error::Setup(_) | Error::Write { .. } | Error::Runtime(_) | Error::Task(_) => ExitCode::RuntimeFailure,
            Error::ThresholdsFailed(_) => ExitCode::ThresholdsFailed,
            Error::ThresholdAborted(_) => ExitCode::ThresholdAborted,
            Error::TestAborted(_) => ExitCode::ScriptAborted,
        }
    }
}
