//! Where `import` finds modules: the built-in k6 and vespid modules (from
//! `js/`, and `vespid:native` from Rust), the k6 jslib URLs that have a
//! built-in equivalent, and the script's own files next to it, read through
//! the host. Any other URL fails with one line naming it: nothing is
//! fetched at run time.

use rquickjs::loader::{ImportAttributes, Loader, Resolver};
use rquickjs::module::Declared;
use rquickjs::{Ctx, Exception, Module, Result};

use crate::bindings::vespid::scenario::script;
use crate::native::Native;

/// Built-in modules written in JavaScript, by import name.
const BUILTINS: &[(&str, &str)] = &[
    ("k6", include_str!("js/k6.js")),
    ("k6/http", include_str!("js/k6-http.js")),
    ("k6/metrics", include_str!("js/k6-metrics.js")),
    ("k6/execution", include_str!("js/k6-execution.js")),
    ("k6/encoding", include_str!("js/k6-encoding.js")),
    ("k6/data", include_str!("js/k6-data.js")),
    ("k6/crypto", include_str!("js/k6-crypto.js")),
    ("vespid", include_str!("js/vespid.js")),
    ("k6/x/sql", include_str!("js/k6-x-sql.js")),
    ("k6/x/sql/driver/postgres", "export default { name: 'postgres' };"),
    ("k6/x/sql/driver/sqlite3", "export default { name: 'sqlite3' };"),
    ("jslib:k6-utils", include_str!("js/jslib-k6-utils.js")),
    ("jslib:k6-summary", include_str!("js/jslib-k6-summary.js")),
    ("vespid:state", include_str!("js/state.js")),
    ("vespid:prelude", include_str!("js/prelude.js")),
];

/// The built-in modules the runtime's snapshot evaluates (with what they
/// import): the ones nearly every script uses. The rest are evaluated by
/// the VUs whose script imports them: a VU writes to most pages of the
/// snapshot's heap (reference counts, allocator lists), so each module in
/// it costs every VU memory (measured: k6/metrics, k6/execution and k6/data
/// cost 8 KiB per VU of a script that imports none of them).
pub const PRELOADED: [&str; 3] = ["vespid:prelude", "k6", "k6/http"];

/// The Rust module every built-in one is written on.
const NATIVE: &str = "vespid:native";

/// k6 jslib libraries (any version) served by a built-in module.
const JSLIB: &[(&str, &str)] = &[("k6-utils", "jslib:k6-utils"), ("k6-summary", "jslib:k6-summary")];

/// Turns an import specifier into a module name.
pub struct ScriptResolver;

impl Resolver for ScriptResolver {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        if name == NATIVE || BUILTINS.iter().any(|(builtin, _)| *builtin == name) {
            return Ok(name.to_string());
        }
        if let Some(url) = name.strip_prefix("https://").or_else(|| name.strip_prefix("http://")) {
            let library = url.strip_prefix("jslib.k6.io/").unwrap_or_default();
            if let Some((_, builtin)) = JSLIB.iter().find(|(lib, _)| library.starts_with(&format!("{lib}/"))) {
                return Ok(builtin.to_string());
            }
            return Err(Exception::throw_message(
                ctx,
                &format!(
                    "cannot import {name}: vespid fetches no modules at run time; save a copy next to the script and import it by its relative path"
                ),
            ));
        }
        if name.starts_with("./") || name.starts_with("../") || name.starts_with('/') {
            return Ok(join(base, name));
        }
        Err(Exception::throw_message(
            ctx,
            &format!(
                "unknown module {name:?}: the built-in modules are {}; import the script's own files by a relative path (\"./lib.js\")",
                BUILTINS.iter().map(|(n, _)| *n).filter(|n| !n.contains(':')).collect::<Vec<_>>().join(", ")
            ),
        ))
    }
}

/// `name` (relative or absolute) seen from the module `base`, normalised.
fn join(base: &str, name: &str) -> String {
    let mut parts: Vec<&str> = if name.starts_with('/') {
        vec![""]
    } else {
        let mut dir: Vec<&str> = base.split('/').collect();
        dir.pop();
        dir
    };
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| !last.is_empty() && *last != "..") => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join("/")
}

/// Loads a resolved module: built-in source, or the script's file.
pub struct ScriptLoader;

impl Loader for ScriptLoader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _: Option<ImportAttributes<'js>>,
    ) -> Result<Module<'js, Declared>> {
        if name == NATIVE {
            return Module::declare_def::<Native, _>(ctx.clone(), name);
        }
        if let Some((_, source)) = BUILTINS.iter().find(|(builtin, _)| *builtin == name) {
            return Module::declare(ctx.clone(), name, *source);
        }
        match script::read_file(name) {
            Ok(bytes) => Module::declare(ctx.clone(), name, bytes),
            Err(message) => Err(Exception::throw_message(ctx, &format!("cannot import {name:?}: {message}"))),
        }
    }
}
