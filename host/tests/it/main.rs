//! Integration tests: the real `vespid` binary runs real plugins (built
//! once for the whole suite) against the demo target started by each test
//! on 127.0.0.1; every count is checked against what the server saw.

/// A throwaway PostgreSQL cluster for the SQL tests.
mod pg;
mod support;

/// Bundles: pack, inspect, verify, sign and run; tampered, malicious and unsigned ones refused.
mod bundles;
/// Live control: scaling looping and arrival-rate runs, pause and resume, tokens.
mod control;
/// Requests and connections: the server's counts equal the summary's.
mod counts;
/// Data sets: every VU reads the file's rows; bad files and unknown sets.
mod data;
/// `vespid dev`: a plugin or a source folder in a loop, each request and check printed, rebuilt and reloaded.
mod dev;
/// Every way a run ends (graceful stop, hard stop, abortOnFail, Ctrl-C): the server's count is http_reqs.
mod endings;
/// Executors: every k6 executor, scenarios side by side, segments, validation.
mod executors;
/// Transport failures, HTTP errors and plugin panics.
mod failures;
/// Hostile plugins: floods of series, metric names and log lines are capped and counted.
mod flood;
/// Hostile and buggy plugins: runaway loops, memory, stack, failing calls, Ctrl-C in every phase.
mod hostile;
/// `--http-debug[=full]`: one block per request on stderr, with its VU and iteration.
mod http_debug;
/// Headers, redirects, cookies and the multi-step flow.
mod http_semantics;
/// Retries, response bodies and their cap, batch limits.
mod http_transport;
/// HTTPS: verification by default, CA file, insecure mode.
mod https;
/// Iteration-count executors: exact counts, graceful stop.
mod iterations;
/// JavaScript scenarios: k6 scripts on the built-in runtime, every module and option, Rust twins.
mod js;
/// JavaScript modules: k6/crypto, jslib built-ins, the cookie jar, the init context, the `vespid` module, examples/js.
mod js_modules;
/// The JavaScript runtime's snapshot: VUs started from it are independent; a broken or absent cache falls back.
mod js_snapshot;
/// `--out json=FILE` and `--out csv=FILE`: every point, counted against the summary and the server.
mod outputs;
/// Permissions: what a run grants its plugins (hosts, address ranges, env, data, datasources), denials counted.
mod permissions;
/// Bad plugin files and the `inspect` command.
mod plugins;
/// Python scenarios: locustfiles on the built-in runtime, user classes, tasks, failures, load errors.
mod python;
/// Hot reload: plugins replaced under load, broken versions refused.
mod reload;
/// The hostile plugin matrix: 100 VUs misbehaving and a steady scenario beside them.
mod sandbox;
/// `vespid new`: the project it creates builds outside the repository and runs; bad names, existing folders.
mod scaffold;
/// k6 scripts, the host's side: test.abort, handleSummary, inspect and validate.
mod script_host;
/// SQL datasources on SQLite: sql-bank's balances, typed errors, transactions, pools that cannot open.
mod sql;
/// Thresholds: exit codes, abortOnFail, JUnit.
mod thresholds;
/// JavaScript and Python scenarios against their Rust twins, and a script reloaded under --watch.
mod twins;
/// WIT 0.1.x plugins beside 0.2.0 ones: linked unchanged, a denial as the nearest 0.1 error.
mod wit_versions;
