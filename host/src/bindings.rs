//! The `bindgen!`s over `wit/`: Rust types and traits for the
//! `vespid:scenario` worlds — `scenario`, which every plugin targets, and
//! `script-runtime`, which language runtimes target on top of it.
//! Capabilities implement the generated `Host` traits (caps/legacy.rs
//! serves the 0.1.3 WIT with them); nothing else is defined here.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "scenario",
    imports: {
        "vespid:scenario/http.send": async | trappable,
        "vespid:scenario/http.send-unsettled": async | trappable,
        "vespid:scenario/http.batch": async | trappable,
        "vespid:scenario/vu.sleep": async | trappable,
        "vespid:scenario/sql": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: { "vespid:scenario/sql.transaction": crate::caps::OpenTransaction },
});

/// The runtime world: the scenario interfaces are the ones above.
mod runtime_world {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "script-runtime",
        imports: { default: trappable },
        exports: { default: async },
        with: {
            "vespid:scenario/http": super::vespid::scenario::http,
            "vespid:scenario/metrics": super::vespid::scenario::metrics,
            "vespid:scenario/log": super::vespid::scenario::log,
            "vespid:scenario/vu": super::vespid::scenario::vu,
            "vespid:scenario/data": super::vespid::scenario::data,
            "vespid:scenario/sql": super::vespid::scenario::sql,
        },
    });
}

pub use self::exports::vespid::scenario::runner;
pub use self::runtime_world::ScriptRuntime;
pub use self::runtime_world::exports::vespid::scenario::script_runner;
pub use self::runtime_world::vespid::scenario::script;
pub use self::vespid::scenario::{data, http, log, metrics, permissions, sql, vu};

/// The WIT package version this host speaks.
pub const WIT_VERSION: semver::Version = semver::Version::new(0, 2, 0);

/// The newest 0.1 version: plugins of 0.1.0 to 0.1.3 link to it (0.1.x
/// names are semver-compatible, which wasmtime links to ours) and are
/// served by caps/legacy.rs.
pub const LEGACY_WIT_VERSION: semver::Version = semver::Version::new(0, 1, 3);

/// The oldest WIT version whose plugins still run.
pub const OLDEST_WIT_VERSION: semver::Version = semver::Version::new(0, 1, 0);

/// The export every plugin must provide, without its version.
pub const RUNNER_EXPORT: &str = "vespid:scenario/runner";

/// The export a plugin may provide since 0.1.2 (world
/// `scenario-lifecycle`), without its version, and its one function.
pub const LIFECYCLE_EXPORT: &str = "vespid:scenario/lifecycle";
pub const VU_END_FUNCTION: &str = "vu-end";
