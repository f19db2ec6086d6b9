//! The one `bindgen!` over `wit/`: Rust types and traits for the
//! `vespid:scenario` world. Capabilities implement the generated `Host`
//! traits; nothing else is defined here.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "scenario",
    imports: {
        "vespid:scenario/http.send": async | trappable,
        "vespid:scenario/http.batch": async | trappable,
        "vespid:scenario/vu.sleep": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});

pub use self::exports::vespid::scenario::runner;
pub use self::vespid::scenario::{data, http, log, metrics, vu};

/// The WIT package version this host speaks.
pub const WIT_VERSION: &str = "0.1.0";

/// The fully qualified name of the export every plugin must provide.
pub const RUNNER_EXPORT: &str = "vespid:scenario/runner@0.1.0";
