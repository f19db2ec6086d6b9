use std::time::Duration;

use clap::Parser;

use super::*;
use crate::caps::DataFormat;
use crate::cli::{Cli, Command};

/// The command line's overrides (parsed by the real CLI).
fn args(argv: &[&str]) -> Overrides {
    let mut all = vec!["vespid", "run"];
    all.extend_from_slice(argv);
    match Cli::try_parse_from(all).expect("valid flags").command {
        Command::Run(run) => run.overrides(),
        _ => unreachable!("parsed a run command"),
    }
}

/// A plan from flags alone, with an existing file as the plugin.
fn bare(flags: &[&str]) -> Result<Plan, ConfigError> {
    let plugin = std::env::current_exe().expect("test binary path");
    let mut argv = vec![plugin.to_str().expect("utf-8 path")];
    argv.extend_from_slice(flags);
    Plan::from_args(&args(&argv))
}

/// A plan from a run file written to a temporary directory (with a `p.wasm` beside it).
fn from_file(text: &str, flags: &[&str]) -> Result<Plan, ConfigError> {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("p.wasm"), b"").expect("plugin file");
    let path = dir.path().join("vespid.toml");
    std::fs::write(&path, text).expect("run file");
    let mut argv = vec![path.to_str().expect("utf-8 path")];
    argv.extend_from_slice(flags);
    Plan::from_args(&args(&argv))
}

fn error(text: &str) -> String {
    from_file(text, &[]).expect_err("the file is invalid").to_string()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn flags_follow_k6_shortcut_rules() {
    let executor = |flags: &[&str]| bare(flags).unwrap().scenarios.remove(0).executor;
    assert_eq!(
        executor(&["--vus", "50", "--duration", "30s"]),
        ExecutorPlan::ConstantVus { vus: 50, duration: secs(30) }
    );
    assert_eq!(
        executor(&["--vus", "5", "--iterations", "8"]),
        ExecutorPlan::SharedIterations { vus: 5, iterations: 8, max_duration: DEFAULT_MAX_DURATION }
    );
    assert_eq!(
        executor(&["-i", "3", "-d", "5s"]),
        ExecutorPlan::SharedIterations { vus: 1, iterations: 3, max_duration: secs(5) }
    );
    assert_eq!(
        executor(&["--vus", "3"]),
        ExecutorPlan::PerVuIterations { vus: 3, iterations: 1, max_duration: DEFAULT_MAX_DURATION }
    );
    let ExecutorPlan::RampingVus { ramp, .. } = executor(&["--stage", "10s:20", "--stage", "5s:0"]) else {
        panic!("stages make ramping-vus")
    };
    assert_eq!((ramp.start, ramp.peak(), ramp.total()), (1.0, 20.0, secs(15)));
}

#[test]
fn locust_flags_make_a_spawn_ramp_and_set_the_host() {
    let executor = |flags: &[&str]| bare(flags).unwrap().scenarios.remove(0).executor;
    // -u 10 -r 2 -t 1m: 5 s of spawning at 2 users/s, then 10 users until 1m.
    let ExecutorPlan::RampingVus { ramp, .. } = executor(&["-u", "10", "-r", "2", "-t", "1m", "--headless"]) else {
        panic!("a spawn rate makes ramping-vus")
    };
    assert_eq!(ramp.start, 0.0);
    let stages: Vec<(Duration, f64)> = ramp.stages.iter().map(|stage| (stage.duration, stage.target)).collect();
    assert_eq!(stages, [(secs(5), 10.0), (secs(55), 10.0)]);
    // A run shorter than the spawning: the users reached by then.
    let ExecutorPlan::RampingVus { ramp, .. } = executor(&["--users", "100", "--spawn-rate", "10", "--run-time", "4s"])
    else {
        panic!("a spawn rate makes ramping-vus")
    };
    let stages: Vec<(Duration, f64)> = ramp.stages.iter().map(|stage| (stage.duration, stage.target)).collect();
    assert_eq!(stages, [(secs(4), 40.0)]);
    let overrides = args(&["x.py", "-H", "http://a", "-e", "LOCUST_HOST=http://b"]);
    assert_eq!(overrides.env, [("LOCUST_HOST".into(), "http://a".into()), ("LOCUST_HOST".into(), "http://b".into())]);
    let overrides = args(&["x.py", "--tags", "a", "b", "-E", "c", "--tag", "k=v"]);
    assert_eq!(overrides.env, [("LOCUST_TAGS".into(), "a,b".into()), ("LOCUST_EXCLUDE_TAGS".into(), "c".into())]);
    assert_eq!(overrides.tags, [("k".into(), "v".into())]);
    assert_eq!(bare(&["-u", "3", "-r", "1"]).unwrap_err().to_string(), "--spawn-rate: needs --run-time (Locust's -t)");
    for rate in ["0", "-1", "inf", "x"] {
        assert!(Cli::try_parse_from(["vespid", "run", "x.py", "-r", rate, "-t", "1m"]).is_err(), "-r {rate}");
    }
}

#[test]
fn bad_flags_name_the_flag() {
    assert_eq!(bare(&["--duration", "0s"]).unwrap_err().to_string(), "--duration: must be greater than 0");
    assert!(
        bare(&["--vus", "4", "--iterations", "3"]).unwrap_err().to_string().starts_with("--iterations: 3 iterations")
    );
    assert!(bare(&["--stage", "1s:2", "--duration", "3s"]).unwrap_err().to_string().starts_with("--stage:"));
    let err = bare(&["--summary-export", "/no/such/dir/x.json"]).unwrap_err();
    assert!(err.to_string().contains("/no/such/dir"), "{err}");
    let err = bare(&["--ca-file", "/no/such/ca.pem"]).unwrap_err();
    assert!(err.to_string().contains("--ca-file"), "{err}");
}

const EVERY_EXECUTOR: &str = r#"
plugin = "p.wasm"

[env]
BASE_URL = "http://127.0.0.1:1"
ROLE = "everyone"

[tags]
team = "shop"

[scenarios.a-constant]
executor = "constant-vus"
vus = 3
duration = "1m30s"
start-time = "10s"
graceful-stop = "5s"
env = { ROLE = "browser" }
tags = { kind = "browse" }
think-time = { between = ["1s", "3s"] }
tasks = { browse = 3, buy = 1 }

[scenarios.b-ramping]
executor = "ramping-vus"
start-vus = 0
stages = [{ duration = "30s", target = 10 }, { duration = "10s", target = 0 }]
graceful-ramp-down = "2s"
think-time = { pacing = "5s" }
tasks = ["browse"]

[scenarios.c-per-vu]
executor = "per-vu-iterations"
vus = 2
iterations = 7
think-time = "500ms"

[scenarios.d-shared]
executor = "shared-iterations"
vus = 4
iterations = 100
max-duration = "1m"

[scenarios.e-constant-rate]
executor = "constant-arrival-rate"
rate = 30
time-unit = "1m"
duration = "2m"
pre-allocated-vus = 2
max-vus = 10

[scenarios.f-ramping-rate]
executor = "ramping-arrival-rate"
start-rate = "5/s"
stages = [{ duration = "10s", target = 50 }]
pre-allocated-vus = 5
"#;

#[test]
fn a_run_file_describes_every_executor() {
    let plan = from_file(EVERY_EXECUTOR, &[]).unwrap();
    let names: Vec<&str> = plan.scenarios.iter().map(|s| s.name.as_deref().unwrap()).collect();
    assert_eq!(names, ["a-constant", "b-ramping", "c-per-vu", "d-shared", "e-constant-rate", "f-ramping-rate"]);
    let [a, b, c, d, e, f] = plan.scenarios.as_slice() else { unreachable!() };
    assert_eq!(a.executor, ExecutorPlan::ConstantVus { vus: 3, duration: secs(90) });
    assert_eq!((a.start_time, a.graceful_stop), (secs(10), secs(5)));
    assert_eq!(a.env.iter().rev().find(|(k, _)| k == "ROLE").unwrap().1, "browser");
    assert!(a.tags.contains(&("team".into(), "shop".into())) && a.tags.contains(&("kind".into(), "browse".into())));
    assert_eq!(a.think_time, ThinkTime::Between(secs(1), secs(3)));
    assert_eq!(a.tasks, TaskChoice::Weights(vec![("browse".into(), 3), ("buy".into(), 1)]));
    assert!(
        matches!(&b.executor, ExecutorPlan::RampingVus { ramp, graceful_ramp_down } if ramp.start == 0.0 && ramp.peak() == 10.0 && *graceful_ramp_down == secs(2))
    );
    assert_eq!((b.think_time, &b.tasks), (ThinkTime::Pacing(secs(5)), &TaskChoice::Only(vec!["browse".into()])));
    assert_eq!(c.executor, ExecutorPlan::PerVuIterations { vus: 2, iterations: 7, max_duration: DEFAULT_MAX_DURATION });
    assert_eq!(c.think_time, ThinkTime::Constant(Duration::from_millis(500)));
    assert_eq!(d.executor, ExecutorPlan::SharedIterations { vus: 4, iterations: 100, max_duration: secs(60) });
    assert_eq!(
        e.executor,
        ExecutorPlan::ConstantArrivalRate { per_second: 0.5, duration: secs(120), pre_allocated_vus: 2, max_vus: 10 }
    );
    let ExecutorPlan::RampingArrivalRate { ramp, pre_allocated_vus: 5, max_vus: 5 } = &f.executor else {
        panic!("{:?}", f.executor)
    };
    assert_eq!((ramp.start, ramp.peak()), (5.0, 50.0));
    assert_eq!(plan.max_vus(), 3 + 10 + 2 + 4 + 10 + 5);
}

#[test]
fn flags_override_the_file() {
    let one = "plugin = \"p.wasm\"\n[env]\nA = \"file\"\n[scenarios.s]\nexecutor = \"constant-vus\"\nduration = \"1m\"\nthink-time = \"1s\"\n";
    let plan =
        from_file(one, &["--vus", "7", "--duration", "5s", "--env", "A=flag", "--tag", "t=1", "--graceful-stop", "2s"])
            .unwrap();
    let s = &plan.scenarios[0];
    assert_eq!(s.executor, ExecutorPlan::ConstantVus { vus: 7, duration: secs(5) });
    assert_eq!((s.env.last().unwrap().1.as_str(), s.graceful_stop, s.think_time), ("flag", secs(2), ThinkTime::None));
    assert!(s.tags.contains(&("t".into(), "1".into())));
    let two = format!("{one}[scenarios.t]\nexecutor = \"constant-vus\"\nduration = \"1m\"\n");
    assert!(from_file(&two, &["--vus", "2"]).unwrap_err().to_string().starts_with("--vus: overrides the executor"));
    // k6's shortcuts in the file, overridden by flags.
    let shortcuts = "plugin = \"p.wasm\"\nvus = 4\nduration = \"10s\"\n";
    let plan = from_file(shortcuts, &["--duration", "3s"]).unwrap();
    assert_eq!(plan.scenarios[0].executor, ExecutorPlan::ConstantVus { vus: 4, duration: secs(3) });
}

#[test]
fn each_invalid_value_names_its_file_line_and_key() {
    let cases: &[(&str, &str)] = &[
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"constant-vus\"\nduraton = \"1m\"\n",
            ":4: unknown field `duraton`",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"warp-speed\"\n",
            ":3: scenarios.s.executor: unknown executor \"warp-speed\"",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nduration = \"1m\"\n",
            ":2: scenarios.s.executor: missing: one of constant-vus",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"constant-vus\"\nvus = -3\nduration = \"1m\"\n",
            ":4: scenarios.s.vus: must be at least 1, got -3",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"constant-vus\"\nvus = 0\nduration = \"1m\"\n",
            ":4: scenarios.s.vus: must be at least 1, got 0",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"constant-vus\"\nduration = \"1 fortnight\"\n",
            ":4: scenarios.s.duration: invalid duration",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"constant-vus\"\n",
            ":2: scenarios.s.duration: missing: constant-vus needs it",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"constant-arrival-rate\"\nrate = 10\nduration = \"1m\"\npre-allocated-vus = 10\nmax-vus = 5\n",
            ":7: scenarios.s.max-vus: 5 is less than pre-allocated-vus (10)",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"constant-vus\"\nduration = \"1m\"\nrate = 5\n",
            ":5: scenarios.s.rate: is not an option of constant-vus",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"constant-arrival-rate\"\nrate = \"5/fortnight\"\nduration = \"1m\"\npre-allocated-vus = 1\n",
            ":4: scenarios.s.rate: invalid rate \"5/fortnight\"",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"constant-arrival-rate\"\nrate = 5\nduration = \"1m\"\npre-allocated-vus = 1\nthink-time = \"1s\"\n",
            ":7: scenarios.s.think-time: applies to looping VUs",
        ),
        (
            "[scenarios.s]\nplugin = \"missing.wasm\"\nexecutor = \"constant-vus\"\nduration = \"1m\"\n",
            ":2: scenarios.s.plugin: plugin file",
        ),
        ("[scenarios.s]\nexecutor = \"constant-vus\"\nduration = \"1m\"\n", ":1: scenarios.s.plugin: missing"),
        (
            "plugin = \"p.wasm\"\nvus = 3\n[scenarios.s]\nexecutor = \"constant-vus\"\nduration = \"1m\"\n",
            ":2: vus: k6's shortcut options and [scenarios] exclude each other",
        ),
        (
            "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"ramping-vus\"\nstages = []\n",
            ":4: scenarios.s.stages: needs at least one stage",
        ),
        ("plugin = \"p.wasm\"\n[scenarios.s\n", ":2: "),
    ];
    for (text, expected) in cases {
        let err = error(text);
        assert!(err.contains(expected), "{err:?} should contain {expected:?}");
        assert!(err.contains("vespid.toml:") && !err.contains('\n'), "{err:?}");
    }
}

#[test]
fn tasks_resolve_against_the_plugin() {
    let declared = vec![("browse".to_string(), 3), ("buy".to_string(), 1)];
    assert_eq!(TaskChoice::All.resolve(&declared).unwrap(), declared);
    assert_eq!(TaskChoice::Only(vec!["buy".into()]).resolve(&declared).unwrap(), vec![("buy".to_string(), 1)]);
    assert_eq!(
        TaskChoice::Weights(vec![("browse".into(), 9)]).resolve(&declared).unwrap(),
        vec![("browse".to_string(), 9)]
    );
    let err = TaskChoice::Only(vec!["sell".into()]).resolve(&declared).unwrap_err();
    assert_eq!(err, "task \"sell\" is not one of the plugin's tasks (browse, buy)");
    assert_eq!(TaskChoice::All.resolve(&[]).unwrap(), vec![("default".to_string(), 1)]);
}

#[test]
fn plugins_that_would_run_nothing_or_declare_a_task_twice_are_refused() {
    let task = |name: &str, weight| (name.to_string(), weight);
    let zero = [task("idle", 0), task("never", 0)];
    assert_eq!(
        TaskChoice::All.resolve(&zero).unwrap_err(),
        "the plugin declares only tasks of weight 0: no task would ever run"
    );
    let mixed = [task("browse", 2), task("never", 0)];
    assert_eq!(
        TaskChoice::Only(vec!["never".into()]).resolve(&mixed).unwrap_err(),
        "the scenario picks only tasks of weight 0: no task would ever run"
    );
    let twice = [task("browse", 1), task("buy", 1), task("browse", 2)];
    assert_eq!(TaskChoice::All.resolve(&twice).unwrap_err(), "the plugin declares task \"browse\" twice");
    assert!(TaskChoice::All.resolve(&[task("", 1)]).unwrap_err().contains("empty name"));
}

#[test]
fn absurd_counts_and_durations_are_refused_with_their_key() {
    let err = bare(&["--vus", "4294967295", "--duration", "1s"]).unwrap_err().to_string();
    assert!(err.starts_with("4294967295 VUs in all"), "{err}");
    assert!(err.contains("at most 1000000"), "{err}");
    // Two scenarios whose VUs together overflow a u32.
    let two = "plugin = \"p.wasm\"\n[scenarios.a]\nexecutor = \"constant-vus\"\nvus = 2147483653\nduration = \"1s\"\n\
        [scenarios.b]\nexecutor = \"constant-vus\"\nvus = 2147483653\nduration = \"1s\"\n";
    let err = error(two);
    assert!(err.starts_with("4294967306 VUs in all (a, b)"), "{err}");
    let err = error("plugin = \"p.wasm\"\nvus = 1\nduration = \"300000000000y\"\n");
    assert!(err.contains(": duration: duration \"300000000000y\" is longer than a year"), "{err}");
    let rate = "plugin = \"p.wasm\"\n[scenarios.a]\nexecutor = \"constant-arrival-rate\"\nrate = 1e300\nduration = \"1s\"\npre-allocated-vus = 1\n";
    assert!(
        error(rate).contains("scenarios.a.rate: must be 0 or more iterations per time-unit, at most"),
        "{}",
        error(rate)
    );
}

#[test]
fn a_device_or_directory_is_not_a_plugin_or_run_file() {
    let overrides = |target: &str| Overrides { target: target.into(), ..Overrides::default() };
    assert_eq!(
        Plan::from_args(&overrides("/dev/zero")).unwrap_err().to_string(),
        "\"/dev/zero\" is not a regular file"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let toml = dir.path().join("run.toml");
    std::fs::create_dir(&toml).expect("a directory named like a run file");
    let err = Plan::from_args(&overrides(toml.to_str().expect("utf-8"))).unwrap_err().to_string();
    assert!(err.ends_with("is not a regular file"), "{err}");
    assert!(Plan::from_args(&overrides("/no/such.wasm")).unwrap_err().to_string().contains("does not exist"));
}

#[test]
fn a_segment_without_vus_but_with_work_is_an_error() {
    let file = "plugin = \"p.wasm\"\n[scenarios.s]\nexecutor = \"shared-iterations\"\nvus = 2\niterations = 30\n";
    assert!(from_file(file, &["--segment", "2/2"]).is_ok());
    let err = from_file(file, &["--segment", "3/3"]).unwrap_err().to_string();
    assert!(err.starts_with("--segment: 3/3 of scenario \"s\" gets none of its 2 VUs"), "{err}");
}

#[test]
fn outputs_need_their_directory_and_a_file_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = |name: &str| dir.path().join(name).display().to_string();
    let (json, csv) = (format!("json={}", file("a.json")), format!("csv={}", file("b.csv")));
    let p = bare(&["--out", &json, "-o", &csv]).unwrap();
    assert_eq!(p.outputs, vec![OutputSpec::Json(file("a.json").into()), OutputSpec::Csv(file("b.csv").into())]);

    let err = bare(&["--out", "csv=/no/such/dir/b.csv"]).unwrap_err();
    assert_eq!(err.to_string(), r#"--out csv=/no/such/dir/b.csv: directory "/no/such/dir" does not exist"#);
    let same = format!("csv={}/./a.json", dir.path().display());
    let err = bare(&["--out", &json, "--out", &same]).unwrap_err();
    assert!(matches!(err, ConfigError::SameOutputFile(_)), "{err}");
    let err = bare(&["--out", &json, "--summary-export", &file("a.json")]).unwrap_err();
    assert!(matches!(err, ConfigError::SameOutputFile(_)), "{err}");
}

#[test]
fn run_file_outputs_are_relative_to_the_file() {
    let plan = from_file("plugin = \"p.wasm\"\nout = [\"json=points.json\"]\n", &["--out", "csv=/tmp/x.csv"]).unwrap();
    assert!(matches!(&plan.outputs[0], OutputSpec::Json(path) if path.ends_with("points.json") && path.is_absolute()));
    assert_eq!(plan.outputs[1], OutputSpec::Csv("/tmp/x.csv".into()));
    assert!(error("plugin = \"p.wasm\"\nout = [\"xml=a\"]\n").contains(":2: out: "));
}

#[test]
fn thresholds_take_k6_syntax_and_the_long_form() {
    let text = r#"
plugin = "p.wasm"

[thresholds]
http_req_duration = ["p(95)<500", "avg<200"]
"http_req_duration{name:login,scenario:browse}" = ["p(99) < 800"]
checks = [{ threshold = "rate>0.99", abort-on-fail = true, delay-abort-eval = "10s" }]
"#;
    let plan = from_file(text, &[]).unwrap();
    let shown: Vec<String> = plan.thresholds.iter().map(|t| format!("{} {}", t.series_name(), t.expression)).collect();
    assert_eq!(
        shown,
        [
            "checks rate>0.99",
            "http_req_duration p(95)<500",
            "http_req_duration avg<200",
            "http_req_duration{name:login,scenario:browse} p(99) < 800"
        ]
    );
    assert!(plan.thresholds[0].abort_on_fail && plan.thresholds[0].delay_abort_eval == secs(10));
    assert!(!plan.thresholds[1].abort_on_fail);
    let err = error("plugin = \"p.wasm\"\n[thresholds]\nhttp_req_duration = [\"p(95)<<500\"]\n");
    assert!(err.contains("vespid.toml:3: thresholds.http_req_duration: threshold"), "{err}");
    let err = error("plugin = \"p.wasm\"\n[thresholds]\nhttp_reqs = [\"p(95)<5\"]\n");
    assert!(err.contains(":3: thresholds.http_reqs:"), "{err}");
}

#[test]
fn data_sets_come_from_the_file_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("users.csv");
    std::fs::write(&csv, "user\nalice\n").unwrap();
    let users = format!("users={}", csv.display());
    let plan = bare(&["--data", &users]).unwrap();
    assert_eq!(plan.data, [DataSource { name: "users".into(), path: csv.clone(), format: DataFormat::Csv }]);
    let err = bare(&["--data", &users, "--data", &users]).unwrap_err();
    assert_eq!(err.to_string(), "data set \"users\" is declared twice");
    let err = bare(&["--data", "users=/no/such/users.csv"]).unwrap_err();
    assert_eq!(err.to_string(), "--data users: data file \"/no/such/users.csv\" does not exist");

    let file = format!("plugin = \"p.wasm\"\n[data.items]\npath = \"{}\"\nformat = \"jsonl\"\n", csv.display());
    let plan = from_file(&file, &[]).unwrap();
    assert_eq!(plan.data[0].format, DataFormat::JsonLines);
    assert!(from_file(&file, &["--data", &format!("items={}", csv.display())]).is_err());
    assert!(error("plugin = \"p.wasm\"\n[data.items]\npath = \"none.csv\"\n").contains(":2: data.items: data file"));
    assert!(error(&file.replace("jsonl", "xml")).contains(":4: data.items.format: unknown format \"xml\""));
}

#[test]
fn http_options_come_from_the_file_and_the_flags_with_k6s_defaults() {
    use crate::caps::{CookieJarScope, DnsOptions};

    let defaults = bare(&[]).unwrap().http;
    assert_eq!((defaults.batch, defaults.batch_per_host), (20, 6));
    assert_eq!(defaults.dns, DnsOptions::default());
    assert_eq!(defaults.cookie_jar, CookieJarScope::PerVu);
    assert_eq!(defaults.max_response_body, 32 << 20);

    let file = "plugin = \"p.wasm\"\ndns = \"select=first,ttl=1m\"\nbatch = 10\nbatch-per-host = 2\ncookie-jar = \"per-iteration\"\nmax-response-body = \"1MiB\"\n";
    let http = from_file(file, &[]).unwrap().http;
    assert_eq!(http.dns, "select=first,ttl=1m".parse().unwrap());
    assert_eq!((http.batch, http.batch_per_host), (10, 2));
    assert_eq!((http.cookie_jar, http.max_response_body), (CookieJarScope::PerIteration, 1 << 20));

    let flags = [
        "--dns",
        "policy=any",
        "--batch",
        "3",
        "--batch-per-host",
        "1",
        "--cookie-jar",
        "per-vu",
        "--max-response-body",
        "10MB",
    ];
    let http = from_file(file, &flags).unwrap().http;
    assert_eq!(http.dns, "policy=any".parse().unwrap());
    assert_eq!((http.batch, http.batch_per_host), (3, 1));
    assert_eq!((http.cookie_jar, http.max_response_body), (CookieJarScope::PerVu, 10_000_000));
}

#[test]
fn bad_http_options_name_their_key_or_flag() {
    let cases = [
        ("dns = \"select=last\"", ":2: dns: invalid dns select \"last\""),
        ("batch = 0", ":2: batch: must be at least 1, got 0"),
        ("batch-per-host = -1", ":2: batch-per-host: must be at least 1, got -1"),
        ("cookie-jar = \"per-run\"", ":2: cookie-jar: invalid cookie jar \"per-run\""),
        ("max-response-body = \"big\"", ":2: max-response-body: invalid size \"big\""),
        ("max-response-body = \"0\"", ":2: max-response-body: must be greater than 0"),
        ("http-timeout = \"0s\"", ":2: http-timeout: must be greater than 0"),
    ];
    for (line, expected) in cases {
        let err = error(&format!("plugin = \"p.wasm\"\n{line}\n"));
        assert!(err.contains(expected) && !err.contains('\n'), "{err:?} should contain {expected:?}");
    }
    let err = bare(&["--max-response-body", "0"]).unwrap_err().to_string();
    assert!(err.starts_with("--max-response-body: must be greater than 0"), "{err}");
    for flags in [&["--batch", "0"][..], &["--batch-per-host", "0"], &["--dns", "ttl=soon"], &["--cookie-jar", "x"]] {
        let mut argv = vec!["vespid", "run", "p.wasm"];
        argv.extend_from_slice(flags);
        let err = Cli::try_parse_from(argv).expect_err("invalid flag").to_string();
        assert!(err.contains(flags[0]), "{flags:?}: {err}");
    }
}

#[test]
fn metric_caps_come_from_the_flags_over_the_file() {
    assert_eq!(bare(&[]).unwrap().metric_limits, MetricLimits::default());
    assert_eq!(MetricLimits::default(), MetricLimits { max_metrics: 1000, max_series: 10_000 });
    let file = "plugin = \"p.wasm\"\nmax-metrics = 50\nmax-series = 600\n";
    assert_eq!(from_file(file, &[]).unwrap().metric_limits, MetricLimits { max_metrics: 50, max_series: 600 });
    let plan = from_file(file, &["--max-series", "70000"]).unwrap();
    assert_eq!(plan.metric_limits, MetricLimits { max_metrics: 50, max_series: 70_000 });
    let err = error("plugin = \"p.wasm\"\nmax-series = 0\n");
    assert!(err.ends_with("vespid.toml:2: max-series: must be at least 1, got 0"), "{err}");
    let err = error("plugin = \"p.wasm\"\n\nmax-metrics = -4\n");
    assert!(err.ends_with("vespid.toml:3: max-metrics: must be at least 1, got -4"), "{err}");
    let parsed = Cli::try_parse_from(["vespid", "run", "p.wasm", "--max-metrics", "0"]);
    assert!(parsed.unwrap_err().to_string().contains("--max-metrics"));
}

#[test]
fn a_load_shape_starts_the_scenario_empty_under_a_cap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("shaped.py");
    std::fs::write(&script, "").expect("script written");
    let path = script.to_str().expect("utf-8 path");
    let shaped = r#"{"noCookiesReset": true, "locustShape": "Steps"}"#;
    let (plan, _) = Plan::from_script(&args(&[path, "-u", "7", "-t", "1m"]), shaped).expect("a plan");
    assert!(plan.shape);
    assert_eq!((plan.max_vus(), plan.vus_capacity()), (0, 7));
    let ExecutorPlan::RampingVus { ramp, .. } = &plan.scenarios[0].executor else {
        panic!("a shape makes ramping-vus")
    };
    assert_eq!((ramp.start, ramp.peak(), ramp.total()), (0.0, 0.0, secs(60)));
    let (plan, _) = Plan::from_script(&args(&[path]), shaped).expect("a plan");
    assert_eq!(plan.vus_capacity(), SHAPE_USERS, "no -u: the default cap");
    let err = Plan::from_script(&args(&[path, "-u", "2", "-r", "1", "-t", "1m"]), shaped).unwrap_err();
    assert!(err.to_string().contains("LoadTestShape sets the users"), "{err}");
    let (plan, _) = Plan::from_script(&args(&[path, "-u", "2"]), r#"{"noCookiesReset": true}"#).expect("a plan");
    assert!(!plan.shape, "no shape: the flags' plan");
}

#[test]
fn datasources_come_from_the_run_file_and_the_flags() {
    let plan = from_file(
        "plugin = \"p.wasm\"\n[datasources.main]\nurl = \"sqlite:bank.db\"\nmax-connections = 4\nstatement-timeout = \"2s\"\nlazy = true\npool = \"per-vu\"\n",
        &["--datasource", "other=postgres://u:pw@127.0.0.1/db"],
    )
    .expect("valid");
    let names: Vec<&str> = plan.datasources.iter().map(|spec| spec.name.as_str()).collect();
    assert_eq!(names, ["main", "other"]);
    let main = &plan.datasources[0];
    assert_eq!(
        (main.max_connections, main.statement_timeout, main.lazy),
        (Some(4), Some(Duration::from_secs(2)), true)
    );
    assert!(!format!("{:?}", plan.datasources[1]).contains("pw"), "the password never prints");

    let cases = [
        (
            "[datasources.main]\nurl = \"sqlite:a\"\nurl-env = \"X\"\n",
            "vespid.toml:3: datasources.main.url: give url or url-env, not both",
        ),
        ("[datasources.main]\n", "datasources.main: needs url or url-env"),
        (
            "[datasources.main]\nurl-env = \"VESPID_TEST_UNSET_VARIABLE\"\n",
            "the environment variable VESPID_TEST_UNSET_VARIABLE is not set",
        ),
        ("[datasources.main]\nurl = \"redis://h\"\n", "scheme \"redis\" is not supported"),
        ("[datasources.main]\nurl = \"sqlite:a\"\nmax-connections = 0\n", "0 is not a count of at least 1"),
        ("[datasources.main]\nurl = \"sqlite:a\"\nacquire-timeout = \"0s\"\n", "must be greater than 0"),
        ("[datasources.main]\nurl = \"sqlite:a\"\npool = \"each\"\n", "unknown pool \"each\"; use shared or per-vu"),
    ];
    for (table, expected) in cases {
        let message = error(&format!("plugin = \"p.wasm\"\n{table}"));
        assert!(message.contains(expected), "{expected:?} in {message:?}");
    }
    let twice =
        from_file("plugin = \"p.wasm\"\n[datasources.main]\nurl = \"sqlite:a\"\n", &["--datasource", "main=sqlite:b"]);
    assert!(twice.expect_err("named twice").to_string().contains("datasource \"main\" is named twice"));
}
