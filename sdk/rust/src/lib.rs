//! Write Vespid scenarios in Rust: a thin, idiomatic layer over the
//! `vespid:scenario@0.2.0` WIT world. It owns no state of its own beyond the
//! scenario value kept between iterations; every measurement is the host's.
//!
//! A complete scenario (build it with
//! `cargo build --target wasm32-wasip2 --release`, run it with
//! `vespid run target/wasm32-wasip2/release/hello.wasm --vus 10 --duration 30s`):
//!
//! ```no_run
//! use vespid_sdk::{check, http, vu, Scenario};
//!
//! struct Hello;
//!
//! impl Scenario for Hello {
//!     fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
//!         Ok(Hello)
//!     }
//!
//!     fn run(&mut self, _task: &str) -> vespid_sdk::Result {
//!         let base = vu::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:7878".into());
//!         let res = http::get(format!("{base}/")).send()?;
//!         check("status is 200", res.status == 200);
//!         Ok(())
//!     }
//! }
//!
//! vespid_sdk::export!(Hello);
//! ```
#![deny(missing_docs)]

pub mod data;
pub mod http;
pub mod log;
pub mod metrics;
pub mod permissions;
pub mod sql;
pub mod vu;

mod scenario;

pub use metrics::check;
pub use permissions::Denial;
pub use scenario::{Error, Info, Result, Scenario, Task};

/// The raw bindings generated from `wit/`; the modules above wrap them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "scenario-lifecycle",
        default_bindings_module: "vespid_sdk::bindings",
        pub_export_macro: true,
        export_macro_name: "__export_runner",
        additional_derives: [PartialEq],
    });
}

/// Exports a [`Scenario`] type as the plugin's `runner` (and `lifecycle`).
///
/// Use it once per plugin, at the crate root: `vespid_sdk::export!(MyScenario);`.
/// The plugin's name defaults to the crate's package name.
#[macro_export]
macro_rules! export {
    ($scenario:ty) => {
        const _: () = {
            use $crate::bindings::exports::vespid::scenario::{lifecycle, runner};

            ::std::thread_local! {
                static STATE: ::core::cell::RefCell<Option<$scenario>> =
                    const { ::core::cell::RefCell::new(None) };
            }

            struct Export;

            impl runner::Guest for Export {
                fn describe() -> runner::Info {
                    $crate::__describe::<$scenario>(env!("CARGO_PKG_NAME"))
                }
                fn setup() -> ::core::result::Result<String, String> {
                    <$scenario as $crate::Scenario>::setup().map_err(String::from)
                }
                fn init(setup_data: String) -> ::core::result::Result<(), String> {
                    let value = <$scenario as $crate::Scenario>::init(&setup_data)?;
                    STATE.with(|state| *state.borrow_mut() = Some(value));
                    Ok(())
                }
                fn run(task: String) -> ::core::result::Result<(), String> {
                    STATE.with(|state| match state.borrow_mut().as_mut() {
                        Some(scenario) => $crate::Scenario::run(scenario, &task).map_err(String::from),
                        None => Err("run called before init".to_string()),
                    })
                }
                fn teardown(setup_data: String) -> ::core::result::Result<(), String> {
                    <$scenario as $crate::Scenario>::teardown(&setup_data).map_err(String::from)
                }
            }

            impl lifecycle::Guest for Export {
                fn vu_end() -> ::core::result::Result<(), String> {
                    STATE.with(|state| match state.borrow_mut().as_mut() {
                        Some(scenario) => $crate::Scenario::vu_end(scenario).map_err(String::from),
                        None => Ok(()),
                    })
                }
            }

    $crate::bindings::__export_runner!(Export with_types_in $crate::bindings);
        };
    };
}

#[doc(hidden)]
pub fn __describe<S: Scenario>(package_name: &str) -> bindings::exports::vespid::scenario::runner::Info {
    let info = S::describe();
    let name = if info.name.is_empty() { package_name.to_string() } else { info.name };
    bindings::exports::vespid::scenario::runner::Info {
        name,
        tasks: info
            .tasks
            .into_iter()
            .map(|t| bindings::exports::vespid::scenario::runner::Task { name: t.name, weight: t.weight })
            .collect(),
    }
}
