//! The JavaScript runtime component: runs a k6-style script that the host
//! hands over at run time (`script.source`) on QuickJS (rquickjs), so one
//! prebuilt component serves every script. Each instance loads the script
//! once (its init context) and keeps it across iterations; `init` calls
//! the script's own `init(data)` if it exports one (once per VU, like
//! Locust's `on_start`); `run(task)` calls the exported function `task`
//! (`default`, a scenario's `exec`, or one of the weighted `tasks`);
//! `vu-end` calls its `vuEnd()` when the VU ends.

mod crypto;
mod loader;
mod native;
mod script;
mod sql;
mod vu_state;

use std::cell::RefCell;

use bindings::exports::vespid::scenario::lifecycle;
use bindings::exports::vespid::scenario::runner::{self, Info, Task};
use bindings::exports::vespid::scenario::script_runner;
use script::LoadedScript;

#[allow(unsafe_code)] // the generated glue between the component ABI and Rust
mod bindings {
    use crate::Export;
    // The public script-runtime world plus the snapshot's `wizer-initialize` (wit/runtime.wit).
    wit_bindgen::generate!({ path: ["../../wit", "wit"], world: "vespid:js-runtime/runtime", generate_all });
    export!(Export with_types_in crate::bindings);
}

thread_local! {
    /// The instance's script, loaded by the first call that needs it.
    static LOADED: RefCell<Option<LoadedScript>> = const { RefCell::new(None) };
}

/// Runs `body` on the instance's script, loading it first if needed.
fn with_script<T>(body: impl FnOnce(&mut LoadedScript) -> Result<T, String>) -> Result<T, String> {
    LOADED.with_borrow_mut(|loaded| {
        if loaded.is_none() {
            *loaded = Some(LoadedScript::load()?);
        }
        body(loaded.as_mut().expect("loaded above"))
    })
}

struct Export;

impl runner::Guest for Export {
    /// The script's name and its exported functions with their weights.
    fn describe() -> Info {
        let described = with_script(|script| Ok((script.name.clone(), script.tasks()?)));
        // describe has no error to return: a script that cannot load must
        // stop the run loudly, not describe itself as having no tasks.
        let (file, functions) = described.unwrap_or_else(|err| panic!("{err}"));
        let name = file.rsplit_once('.').map_or(file.as_str(), |(stem, _)| stem).to_string();
        let tasks = functions.into_iter().map(|(name, weight)| Task { name, weight }).collect();
        Info { name, tasks }
    }

    fn setup() -> Result<String, String> {
        with_script(|script| {
            if !script.exports_function("setup") {
                return Ok(String::new());
            }
            Ok(script.call("setup")?.unwrap_or_default())
        })
    }

    fn init(setup_data: String) -> Result<(), String> {
        with_script(|script| {
            script.set_data(&setup_data)?;
            if script.exports_function("init") {
                script.call("init")?;
            }
            Ok(())
        })
    }

    fn run(task: String) -> Result<(), String> {
        with_script(|script| script.call(&task).map(drop))
    }

    fn teardown(setup_data: String) -> Result<(), String> {
        with_script(|script| {
            if !script.exports_function("teardown") {
                return Ok(());
            }
            script.set_data(&setup_data)?;
            script.call("teardown").map(drop)
        })
    }
}

impl lifecycle::Guest for Export {
    /// The script's own `vuEnd()` if it exports one (a vespid-module
    /// script's Locust-style `on_stop`; k6 has none).
    fn vu_end() -> Result<(), String> {
        with_script(|script| if script.exports_function("vuEnd") { script.call("vuEnd").map(drop) } else { Ok(()) })
    }
}

impl bindings::Guest for Export {
    /// Called once, by the host's snapshot of this component (wizer), never by a VU.
    fn wizer_initialize() {
        script::prepare();
    }
}

impl script_runner::Guest for Export {
    fn options() -> Result<String, String> {
        with_script(|script| script.options())
    }

    fn handle_summary(summary: String) -> Result<Option<Vec<(String, String)>>, String> {
        with_script(|script| {
            if !script.exports_function("handleSummary") {
                return Ok(None);
            }
            script.handle_summary(&summary).map(Some)
        })
    }

    /// A script's exported functions are all `describe` tells: nothing more.
    fn outline() -> Result<String, String> {
        with_script(|_| Ok(String::new()))
    }

    /// k6 scripts have no load shape (their options never name one).
    fn shape_tick(_run_time: f64) -> Result<Option<(u32, f64)>, String> {
        Ok(None)
    }
}
