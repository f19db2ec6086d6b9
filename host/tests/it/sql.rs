//! SQL datasources on SQLite (nothing to install): the sql-bank example's
//! balances checked in the database itself, typed errors, transactions
//! rolled back and counted, an in-memory database shared by the run, and
//! datasources that cannot open.

use std::path::Path;

use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use crate::pg::{PASSWORD, PgCluster};
use crate::support::*;

/// `--datasource main=sqlite:PATH`.
fn datasource(path: &Path) -> String {
    format!("main=sqlite:{}", path.display())
}

async fn one_number(db: &SqlitePool, sql: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(db)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .get(0)
}

async fn open(path: &Path) -> SqlitePool {
    SqlitePool::connect(&format!("sqlite:{}", path.display())).await.expect("the run's database opens")
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_bank_s_balances_add_up_in_the_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (db_path, points_file) = (dir.path().join("bank.db"), dir.path().join("points.json"));
    let json = format!("json={}", points_file.display());
    let run = run_guest(
        "sql-bank",
        &["--datasource", &datasource(&db_path), "--vus", "3", "--iterations", "60", "--out", &json],
    )
    .await;
    run.assert_ok();

    let db = open(&db_path).await;
    assert_the_bank_adds_up(&db, 60).await;
    assert_eq!(one_number(&db, "select count(*) from pgbench_accounts").await, 100_000, "scale 1");

    let points = points(&points_file);
    let commits = points_of(&points, "sql_transactions", &[("datasource", "main"), ("outcome", "commit")]);
    assert_eq!(commits.len(), 61, "60 iterations and setup's seeding");
    // Per iteration, inside its transaction: three updates, a select and an insert.
    let named = |name: &str| points_of(&points, "sql_queries", &[("name", name)]).len();
    assert_eq!(named("update pgbench_accounts"), 60);
    assert_eq!(named("select pgbench_accounts"), 60);
    assert_eq!(named("insert pgbench_history"), 60);
    let selects = points_of(&points, "sql_queries", &[("operation", "select")]).len();
    assert_eq!(selects, 61, "the iterations' selects and setup's count");
    assert_eq!(run.passes("sql_query_failed"), 0);
    assert_eq!(run.count("sql_queries"), 60 * 5 + 4 + 1 + 3, "5 per iteration; setup's 4 creates, count, 3 seeds");
    // A connection is waited for by each statement outside a transaction and by each begin.
    assert_eq!(run.count("sql_pool_wait"), 60 + 4 + 1 + 1, "each iteration's begin; setup's 5 statements and begin");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_statements_are_typed_rolled_back_and_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("probe.db");
    let source = datasource(&db_path);
    let run =
        run_guest("sql-probe", &["--datasource", &source, "--vus", "3", "--iterations", "9", "-e", "MODE=unknown"])
            .await;
    run.assert_ok();
    assert_eq!(run.check("unknown datasource named"), (9, 0));
    assert_eq!((run.passes("sql_query_failed"), run.count("sql_queries")), (9, 9));

    let run =
        run_guest("sql-probe", &["--datasource", &source, "--vus", "3", "--iterations", "9", "-e", "MODE=constraint"])
            .await;
    run.assert_ok();
    assert_eq!(run.check("constraint violation"), (9, 0));
    assert_eq!(run.passes("sql_query_failed"), 9, "each transaction's second insert");
    assert_eq!(
        one_number(&open(&db_path).await, "select count(*) from probe").await,
        0,
        "every transaction rolled back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_left_open_are_rolled_back_and_counted_as_abandoned() {
    // Each of 3 VUs runs 3 iterations: `keep` leaves one transaction open per VU.
    for (mode, abandoned, finished) in [("keep", 3_usize, 6), ("drop", 9, 0)] {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db_path, points_file) = (dir.path().join("probe.db"), dir.path().join("points.json"));
        let text = format!(
            "[scenarios.probe]\nexecutor = \"per-vu-iterations\"\nplugin = \"{{sql-probe}}\"\nvus = 3\niterations = 3\n\
             env = {{ MODE = \"{mode}\" }}\n\n[datasources.main]\nurl = \"sqlite:{}\"\n",
            db_path.display()
        );
        let json = format!("json={}", points_file.display());
        let run = run_file(&text, &["--out", &json]).await;
        run.assert_ok();
        if finished > 0 {
            assert_eq!(run.check("finished with its iteration"), (finished, 0), "{mode}");
        }
        let points = points(&points_file);
        let counted = points_of(&points, "sql_transactions", &[("outcome", "abandoned")]).len();
        assert_eq!(counted, abandoned, "{mode}");
        assert_eq!(
            one_number(&open(&db_path).await, "select count(*) from probe").await,
            0,
            "{mode}: nothing committed"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_memory_database_is_shared_by_the_run_and_values_round_trip() {
    let run = run_guest(
        "sql-probe",
        &["--datasource", "main=sqlite::memory:", "--vus", "3", "--iterations", "9", "-e", "MODE=shared"],
    )
    .await;
    run.assert_ok();
    assert_eq!(run.check("sees setup's row"), (9, 0));
    let run = run_guest(
        "sql-probe",
        &["--datasource", "main=sqlite::memory:", "--vus", "2", "--iterations", "4", "-e", "MODE=types"],
    )
    .await;
    run.assert_ok();
    assert_eq!(run.check("values round-trip"), (4, 0));
    // A result the VU could never hold is cut off in the host, not gathered whole.
    let args = ["--datasource", "main=sqlite::memory:", "-i", "1", "-e", "MODE=flood", "--vu-memory-limit", "16MiB"];
    let run = run_guest("sql-probe", &args).await;
    run.assert_ok();
    assert_eq!(run.check("flood refused"), (1, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_datasource_that_cannot_open_is_one_line_and_a_lazy_one_a_warning() {
    let out = run_guest("sql-probe", &["--datasource", "main=mysql://bank:s3cret@127.0.0.1/db", "-i", "1"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_one_line(&out.stderr, "scheme \"mysql\" is not supported");
    assert!(!out.stderr.contains("s3cret"));

    let refused = format!("main=postgres://bank:{PASSWORD}@127.0.0.1:1/postgres");
    let out = run_guest("sql-probe", &["--datasource", &refused, "-i", "1"]).await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert_one_line(&out.stderr, "datasource \"main\" (postgres://bank:***@127.0.0.1:1/postgres) cannot be reached");
    assert!(!out.stderr.contains(PASSWORD));

    let out = run_guest(
        "sql-probe",
        &["--datasource", "main=sqlite:/nonexistent-folder/x.db", "-i", "1", "-e", "MODE=types"],
    )
    .await;
    assert_eq!(out.code, 6, "{}", out.stderr);
    assert_one_line(&out.stderr, "datasource \"main\" (sqlite:/nonexistent-folder/x.db) cannot be reached");

    let dir = tempfile::tempdir().expect("temp dir");
    let text = "plugin = \"{sql-probe}\"\niterations = 2\nenv = { MODE = \"types\" }\n\n\
                [datasources.main]\nurl-env = \"PROBE_DB\"\nlazy = true\n";
    let path = write_run_file(dir.path(), text);
    let missing = Path::new("sqlite:/nonexistent-folder/x.db");
    let out = vespid_with_env(&["run", path.to_str().expect("utf-8 path")], &[("PROBE_DB", missing)]).await;
    assert_eq!(out.code, 0, "a lazy datasource's failures fail iterations, not the run: {}", out.stderr);
    assert!(out.stderr.contains("warning: datasource \"main\""), "{}", out.stderr);
    assert_eq!(out.passes("iterations_failed"), 2, "each iteration's statement failed");
    assert_eq!(out.passes("sql_query_failed"), 2);
}

async fn pg_number(db: &sqlx::PgPool, sql: &str) -> i64 {
    let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(db).await;
    row.unwrap_or_else(|err| panic!("{sql}: {err}")).try_get::<i64, _>(0).unwrap_or_else(|err| panic!("{sql}: {err}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_bank_runs_on_pgbench_s_own_tables_in_postgresql() {
    let cluster = PgCluster::start();
    cluster.pgbench(&["-i", "-q", "-s", "1"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let points_file = dir.path().join("points.json");
    let (source, json) = (format!("main={}", cluster.url()), format!("json={}", points_file.display()));
    let run =
        run_guest("sql-bank", &["--datasource", &source, "--vus", "4", "--iterations", "100", "--out", &json]).await;
    run.assert_ok();

    let db = sqlx::PgPool::connect(&cluster.url()).await.expect("connects");
    assert_eq!(pg_number(&db, "select count(*) from pgbench_history").await, 100, "one history row per iteration");
    let deltas = pg_number(&db, "select sum(delta)::int8 from pgbench_history").await;
    for (table, column) in
        [("pgbench_accounts", "abalance"), ("pgbench_tellers", "tbalance"), ("pgbench_branches", "bbalance")]
    {
        let sum = pg_number(&db, &format!("select sum({column})::int8 from {table}")).await;
        assert_eq!(sum, deltas, "{table}'s balances are the deltas'");
    }
    let points = points(&points_file);
    let commits = points_of(&points, "sql_transactions", &[("outcome", "commit")]).len();
    assert_eq!(commits, 100, "pgbench -i seeded the tables: setup only counted them");
    assert_eq!(run.passes("sql_query_failed"), 0);
    assert_eq!(run.count("sql_queries"), 100 * 5 + 4 + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_never_shows_and_a_stopped_database_fails_statements_not_the_run() {
    let mut cluster = PgCluster::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let points_file = dir.path().join("points.json");
    let text = "plugin = \"{sql-bank}\"\nvus = 4\nduration = \"8s\"\n\n\
                [datasources.main]\nurl-env = \"BANK_URL\"\nacquire-timeout = \"1s\"\n";
    let run_file = write_run_file(dir.path(), text);
    let json = format!("json={}", points_file.display());
    let url = cluster.url();
    let running = start_with_env(
        &["run", run_file.to_str().expect("utf-8 path"), "--out", &json],
        &[("BANK_URL", Path::new(&url))],
    );
    let db = sqlx::PgPool::connect(&url).await.expect("connects");
    for _ in 0..600 {
        if matches!(sqlx::query("select count(*) from pgbench_history").fetch_one(&db).await.map(|row| row.get::<i64, _>(0)), Ok(n) if n >= 50)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    db.close().await;
    // Killed as a crash would; the run goes on to its end.
    cluster.stop("immediate");
    let out = running.finish().await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("sql_transactions"), "the full summary: {}", out.stdout);
    let points_text = std::fs::read_to_string(&points_file).expect("points written");
    let summary = out.summary.as_ref().expect("summary export").to_string();
    for (what, text) in
        [("stdout", &out.stdout), ("stderr", &out.stderr), ("--out json", &points_text), ("summary export", &summary)]
    {
        assert!(!text.contains(PASSWORD), "the password shows in {what}");
    }
    let points = points(&points_file);
    assert!(
        !points_of(&points, "sql_query_failed", &[("error", "connection")]).is_empty(),
        "statements failed with connection errors"
    );
    assert!(out.passes("iterations_failed") > 0, "iterations failed once the database was gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sqlite_catalog_example_runs_with_nothing_installed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = datasource(&dir.path().join("catalog.db"));
    let run = run_guest("sql-catalog", &["--datasource", &source, "--vus", "4", "--iterations", "40"]).await;
    run.assert_ok();
    assert_eq!(run.check("product found"), (40, 0));
    assert_eq!(run.check("ten cheapest, in order"), (40, 0));
    assert_eq!(run.count("sql_queries"), 40 * 2 + 4, "two per iteration; setup's create, index, count, seed");
    assert_eq!(one_number(&open(&dir.path().join("catalog.db")).await, "select count(*) from products").await, 10_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_per_vu_pool_gives_each_vu_a_connection_of_its_own() {
    let cluster = PgCluster::start();
    let text = format!(
        "[scenarios.probe]\nexecutor = \"per-vu-iterations\"\nplugin = \"{{sql-probe}}\"\nvus = 4\niterations = 5\n\
         env = {{ MODE = \"backend\" }}\n\n[datasources.main]\nurl = \"{}\"\npool = \"per-vu\"\n",
        cluster.url()
    );
    run_file(&text, &[]).await.assert_ok();
    let db = sqlx::PgPool::connect(&cluster.url()).await.expect("connects");
    assert_eq!(pg_number(&db, "select count(*) from seen").await, 20);
    assert_eq!(pg_number(&db, "select count(distinct vu) from seen").await, 4);
    assert_eq!(pg_number(&db, "select count(distinct pid) from seen").await, 4, "one connection per VU");
    let shared =
        pg_number(&db, "select count(*) from (select vu from seen group by vu having count(distinct pid) > 1) t").await;
    assert_eq!(shared, 0, "each VU kept its connection");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgresql_transaction_with_a_failed_statement_does_not_claim_to_commit() {
    let cluster = PgCluster::start();
    let source = format!("main={}", cluster.url());
    let points_dir = tempfile::tempdir().expect("temp dir");
    let points_file = points_dir.path().join("points.json");
    let json = format!("json={}", points_file.display());
    let args = ["--datasource", &source, "--vus", "2", "--iterations", "6", "-e", "MODE=aborted", "--out", &json];
    let run = run_guest("sql-probe", &args).await;
    run.assert_ok();
    assert_eq!(run.check("commit refused"), (6, 0));
    let db = sqlx::PgPool::connect(&cluster.url()).await.expect("connects");
    assert_eq!(pg_number(&db, "select count(*) from probe").await, 0, "nothing committed");
    let points = points(&points_file);
    assert_eq!(points_of(&points, "sql_transactions", &[("outcome", "failed")]).len(), 6);
    assert!(points_of(&points, "sql_transactions", &[("outcome", "commit")]).is_empty());
}

/// One history row per iteration, and every balance table sums to the deltas.
async fn assert_the_bank_adds_up(db: &SqlitePool, iterations: i64) {
    assert_eq!(
        one_number(db, "select count(*) from pgbench_history").await,
        iterations,
        "one history row per iteration"
    );
    let deltas = one_number(db, "select sum(delta) from pgbench_history").await;
    for (table, column) in
        [("pgbench_accounts", "abalance"), ("pgbench_tellers", "tbalance"), ("pgbench_branches", "bbalance")]
    {
        assert_eq!(one_number(db, &format!("select sum({column}) from {table}")).await, deltas, "{table}'s balances");
    }
}

/// A script twin of sql-bank (tests/scripts) on a fresh SQLite file: its
/// checks pass in each of 30 iterations (the violating transactions' rows
/// rolled back) and the bank adds up.
async fn assert_the_bank_script_runs(script: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("bank.db");
    let (script, source) = (crate::js::script(script), datasource(&db_path));
    let script = script.to_str().expect("utf-8 path");
    let run = vespid(&["run", script, "--datasource", &source, "--vus", "3", "--iterations", "30"]).await;
    run.assert_ok();
    for check in ["balance read back", "constraint violation rolled back", "unknown datasource named"] {
        assert_eq!(run.check(check), (30, 0), "{check}");
    }
    assert_the_bank_adds_up(&open(&db_path).await, 30).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_script_runs_the_bank_through_vespid_sql() {
    crate::python::compile_the_runtime_once().await;
    assert_the_bank_script_runs("python/sql_bank.py").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_javascript_script_runs_the_bank_through_the_vespid_module() {
    assert_the_bank_script_runs("sql_bank.js").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_made_through_the_api_is_checked_in_the_database() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("orders.db");
    let url = format!("sqlite:{}", db_path.display());
    let listen = "127.0.0.1:0".parse().expect("address");
    let server = DemoTarget::start_with_database(listen, Protocol::Http, Some(&url)).await.expect("demo target starts");
    let (base, source) = (env("BASE_URL", &server, ""), datasource(&db_path));
    let run =
        run_guest("order-check", &["--datasource", &source, "--vus", "4", "--iterations", "40", "-e", &base]).await;
    run.assert_ok();
    assert_eq!(run.check("order created"), (40, 0));
    assert_eq!(run.check("order is in the database"), (40, 0));
    assert_server_saw(&run, &server, 80);
    let db = open(&db_path).await;
    assert_eq!(
        one_number(&db, "select count(distinct item) from orders").await,
        40,
        "one row per order, as the server stored it"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_k6_script_for_xk6_sql_runs_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_path = dir.path().join("k6.db");
    let script = crate::js::script("xk6_sql.js");
    let db_env = format!("DB_PATH={}", db_path.display());
    let run = vespid(&["run", script.to_str().expect("utf-8 path"), "-e", &db_env]).await;
    run.assert_ok();
    assert_eq!(run.check("one row inserted"), (10, 0));
    assert_eq!(run.check("rows read back"), (10, 0));
    assert_eq!(run.count("sql_queries"), 1 + 10 * 2, "setup's create; an insert and a select per iteration");
    assert_eq!(one_number(&open(&db_path).await, "select count(*) from keyvalues").await, 10);
}
