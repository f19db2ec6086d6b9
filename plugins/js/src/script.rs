//! One loaded script in one instance: a QuickJS runtime and context, the
//! globals k6 scripts expect, the evaluated main module, and calls into its
//! exported functions with k6's data passing. Errors leave here as one line
//! naming the file, line and column; the JavaScript stack goes to the log
//! at debug level.

use std::cell::RefCell;

use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Exception, Function, Module, Object, Persistent, Runtime, Value,
};

use crate::bindings::vespid::scenario::{log, script};
use crate::loader::{PRELOADED, ScriptLoader, ScriptResolver};
use crate::vu_state;

thread_local! {
    /// QuickJS with the built-in modules evaluated, made by [`prepare`] in
    /// the runtime's snapshot; the instance's first load takes it.
    static PREPARED: RefCell<Option<(Runtime, Context)>> = const { RefCell::new(None) };
}

/// `wizer-initialize`: starts QuickJS and evaluates the [`PRELOADED`]
/// modules, which call no host import at their top level, so that the
/// snapshot holds them and a VU starts with them. On failure nothing is
/// kept (there is no one to tell: imports are off limits here) and every
/// VU starts QuickJS itself, as without a snapshot.
pub fn prepare() {
    let prepared = start().ok().filter(|(_, context)| {
        context.with(|ctx| {
            PRELOADED.iter().all(|name| Module::import(&ctx, *name).and_then(|module| module.finish::<()>()).is_ok())
        })
    });
    PREPARED.with_borrow_mut(|slot| *slot = prepared);
}

/// A QuickJS runtime and context with the module loader and the per-VU
/// `Math.random`.
fn start() -> Result<(Runtime, Context), String> {
    let runtime = Runtime::new().map_err(|err| format!("cannot start QuickJS: {err}"))?;
    runtime.set_loader(ScriptResolver, ScriptLoader);
    let context = Context::full(&runtime).map_err(|err| format!("cannot start QuickJS: {err}"))?;
    context.with(|ctx| vu_state::install(&ctx)).map_err(|err| format!("cannot start QuickJS: {err}"))?;
    Ok((runtime, context))
}

/// Names a module exports that are not functions the host can run.
const NOT_TASKS: [&str; 6] = ["options", "setup", "teardown", "handleSummary", "init", "vuEnd"];

pub struct LoadedScript {
    // Dropped after the context: field order matters.
    context: Context,
    _runtime: Runtime,
    namespace: Persistent<Object<'static>>,
    /// The exported function called last, so that an iteration looks up no name.
    last_called: RefCell<Option<(String, Persistent<Function<'static>>)>>,
    /// `setup`'s data, parsed once per VU (k6 hands each VU a copy).
    data: Option<Persistent<Value<'static>>>,
    /// The main module's name: the script's file name.
    pub name: String,
}

impl LoadedScript {
    /// Takes the snapshot's runtime (or makes one) and evaluates the
    /// script's init context.
    pub fn load() -> Result<LoadedScript, String> {
        let source = script::source();
        let name = source.name.rsplit(['/', '\\']).next().unwrap_or(&source.name).to_string();
        let (runtime, context) = match PREPARED.take() {
            Some(prepared) => prepared,
            None => start()?,
        };
        context.with(|ctx| vu_state::start(&ctx))?;
        let namespace = context.with(|ctx| {
            let evaluate = || -> rquickjs::Result<Persistent<Object<'static>>> {
                let prelude: Object = Module::import(&ctx, "vespid:prelude")?.finish()?;
                prelude.get::<_, Function>("startVu")?.call::<_, ()>(())?;
                let (module, promise) = Module::declare(ctx.clone(), name.as_str(), source.text)?.eval()?;
                promise.finish::<()>()?;
                let namespace = module.namespace()?;
                // The init context ends here: from now on requests are allowed,
                // and the built-in modules see the script's options.
                let state: Object = Module::import(&ctx, "vespid:state")?.finish()?;
                let loaded: Function = state.get("scriptLoaded")?;
                loaded.call::<_, ()>((namespace.get::<_, Value>("options")?,))?;
                Ok(Persistent::save(&ctx, namespace))
            };
            evaluate().catch(&ctx).map_err(|err| one_line(&ctx, err))
        })?;
        Ok(LoadedScript { context, _runtime: runtime, namespace, last_called: RefCell::new(None), data: None, name })
    }

    /// The script's `options` as JSON; "{}" without any.
    pub fn options(&self) -> Result<String, String> {
        // A bad `tasks` export fails the load here, in one line: `describe`
        // has no way to report it.
        self.tasks()?;
        self.with(|ctx, namespace| {
            let mut options: Value = namespace.get("options")?;
            // The datasources k6/x/sql's `open` named while the script loaded.
            let datasources: Value = ctx.globals().get("__vespidSqlDatasources")?;
            if !datasources.is_undefined() {
                let merge: Function =
                    ctx.eval("(options, d) => Object.assign({}, options, { vespidDatasources: d })")?;
                options = merge.call((options, datasources))?;
            }
            if options.is_undefined() || options.is_null() {
                return Ok("{}".to_string());
            }
            Ok(ctx.json_stringify(options)?.map(|s| s.to_string()).transpose()?.unwrap_or_else(|| "{}".into()))
        })
    }

    /// The exported functions a scenario can run, with their weights: a
    /// Vespid-native script's `export const tasks = { browse: 3, buy: 1 }`
    /// gives them (a function it leaves out gets 0); without it `default`
    /// has weight 1 and the others 0 (k6: they run only when a scenario's
    /// `exec` names them).
    pub fn tasks(&self) -> Result<Vec<(String, u32)>, String> {
        self.with(|ctx, namespace| {
            let weights = namespace.get::<_, Value>("tasks")?;
            let weights = if weights.is_function() { None } else { weights.into_object() };
            let mut tasks = Vec::new();
            for prop in namespace.props::<String, Value>() {
                let (name, value) = prop?;
                if !value.is_function() || NOT_TASKS.contains(&name.as_str()) {
                    continue;
                }
                let weight = match &weights {
                    Some(weights) => weights
                        .get::<_, Option<f64>>(name.as_str())?
                        .map_or(0, |weight| weight.clamp(0.0, f64::from(u32::MAX)) as u32),
                    None => u32::from(name == "default"),
                };
                tasks.push((name, weight));
            }
            for named in weights.iter().flat_map(|weights| weights.keys::<String>()) {
                let named = named?;
                if !tasks.iter().any(|(name, _)| *name == named) {
                    let message = format!("`tasks` names {named:?}, which is not an exported task function");
                    return Err(Exception::throw_reference(ctx, &message));
                }
            }
            Ok(tasks)
        })
    }

    /// Whether the script exports a function `name`.
    pub fn exports_function(&self, name: &str) -> bool {
        self.with(|_, namespace| Ok(namespace.get::<_, Value>(name)?.is_function())).unwrap_or(false)
    }

    /// Keeps `setup`'s JSON output as the data handed to each call.
    pub fn set_data(&mut self, json: &str) -> Result<(), String> {
        if json.is_empty() {
            self.data = None;
            return Ok(());
        }
        let data = self.context.with(|ctx| {
            let parse = || Ok(Persistent::save(&ctx, ctx.json_parse(json)?));
            parse().catch(&ctx).map_err(|err| one_line(&ctx, err))
        })?;
        self.data = Some(data);
        Ok(())
    }

    /// Calls the exported function `name` with the setup data (awaiting it
    /// if it is async) and returns its result as JSON, if it has one.
    pub fn call(&self, name: &str) -> Result<Option<String>, String> {
        self.with(|ctx, namespace| {
            let data = match &self.data {
                Some(data) => data.clone().restore(ctx)?,
                None => Value::new_undefined(ctx.clone()),
            };
            let result = call_awaited(self.exported(ctx, &namespace, name)?, data)?;
            if result.is_undefined() {
                return Ok(None);
            }
            ctx.json_stringify(result)?.map(|s| s.to_string()).transpose()
        })
    }

    /// k6's `handleSummary(data)` on the summary's JSON: the (destination,
    /// content) pairs it returns; a content that is not text is written as JSON.
    pub fn handle_summary(&self, summary: &str) -> Result<Vec<(String, String)>, String> {
        self.with(|ctx, namespace| {
            let result = call_awaited(namespace.get("handleSummary")?, ctx.json_parse(summary)?)?;
            let Some(outputs) = result.into_object() else {
                return Ok(Vec::new());
            };
            let mut pairs = Vec::new();
            for prop in outputs.props::<String, Value>() {
                let (destination, content) = prop?;
                let text = match content.as_string() {
                    Some(text) => text.to_string()?,
                    None => ctx.json_stringify(content)?.map(|s| s.to_string()).transpose()?.unwrap_or_default(),
                };
                pairs.push((destination, text));
            }
            Ok(pairs)
        })
    }

    /// Runs `body` on the context with the module's namespace; an exception
    /// becomes one line.
    /// The exported function `name`, looked up once for a run of calls to it.
    fn exported<'js>(&self, ctx: &Ctx<'js>, namespace: &Object<'js>, name: &str) -> rquickjs::Result<Function<'js>> {
        let mut last = self.last_called.borrow_mut();
        if let Some((called, function)) = last.as_ref()
            && called == name
        {
            return function.clone().restore(ctx);
        }
        let function: Function = namespace.get(name)?;
        *last = Some((name.to_string(), Persistent::save(ctx, function.clone())));
        Ok(function)
    }

    fn with<T>(&self, body: impl for<'js> FnOnce(&Ctx<'js>, Object<'js>) -> rquickjs::Result<T>) -> Result<T, String> {
        self.context.with(|ctx| {
            let run = || {
                let namespace = self.namespace.clone().restore(&ctx)?;
                body(&ctx, namespace)
            };
            run().catch(&ctx).map_err(|err| one_line(&ctx, err))
        })
    }
}

/// Calls `function(arg)` and waits for it if it returns a promise.
fn call_awaited<'js>(function: Function<'js>, arg: Value<'js>) -> rquickjs::Result<Value<'js>> {
    let result: Value = function.call((arg,))?;
    match result.as_promise() {
        Some(promise) => promise.finish::<Value>(),
        None => Ok(result),
    }
}

/// An exception as one line, `file:line:column: Name: message`; the stack
/// goes to the log at debug level.
pub fn one_line(_ctx: &Ctx<'_>, err: CaughtError<'_>) -> String {
    match err {
        CaughtError::Exception(exception) => {
            let message = exception.message().unwrap_or_default();
            let kind: String = exception.get("name").unwrap_or_else(|_| "Error".into());
            let stack = exception.stack().unwrap_or_default();
            if !stack.trim().is_empty() {
                log::write(log::Level::Debug, &format!("{kind}: {message}\n{}", stack.trim_end()));
            }
            match location(&stack) {
                Some(at) => format!("{at}: {kind}: {message}"),
                None => format!("{kind}: {message}"),
            }
        }
        CaughtError::Value(value) => {
            let text = value
                .as_string()
                .and_then(|s| s.to_string().ok())
                .or_else(|| value.ctx().json_stringify(value.clone()).ok().flatten().and_then(|s| s.to_string().ok()))
                .unwrap_or_else(|| format!("{value:?}"));
            format!("uncaught {text}")
        }
        CaughtError::Error(err) => err.to_string(),
    }
}

/// The first `file:line:column` of a QuickJS stack that is the user's
/// (not a built-in module's).
fn location(stack: &str) -> Option<String> {
    stack.lines().find_map(|line| {
        let line = line.trim().strip_prefix("at ")?;
        let at = line.rsplit_once('(').map(|(_, at)| at.trim_end_matches(')')).unwrap_or(line);
        // Built-in modules are `k6`, `k6/http`, ... (no extension); a
        // script of the user's may well be called `k6-test.js`.
        let module = at.split(':').next().unwrap_or_default();
        let builtin = module == "k6"
            || (module.starts_with("k6/") && !module.contains('.'))
            || at.starts_with("vespid")
            || at.starts_with("jslib:")
            || at.starts_with('<');
        (!builtin && at.contains(':')).then(|| at.to_string())
    })
}
