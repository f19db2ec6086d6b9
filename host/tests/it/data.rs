use std::path::{Path, PathBuf};

use crate::support::{Protocol, assert_one_line, assert_server_saw, env, run_file, run_guest, scenario, target};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write data file");
    path
}

/// `--data NAME=PATH`.
fn data_flag(name: &str, path: &Path) -> String {
    format!("{name}={}", path.display())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_vu_reads_its_own_csv_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let users = ["alice", "bob", "carol, c.", "dave \"d\"", "édith"];
    let csv =
        write(dir.path(), "users.csv", "id,user\n1,alice\n2,bob\n3,\"carol, c.\"\n4,\"dave \"\"d\"\"\"\n5,édith\n");
    let server = target(Protocol::Http).await;
    // Declared in the run file, each VU running two iterations.
    let reader = scenario(
        "read",
        "data-reader",
        &server.base_url(),
        "executor = \"per-vu-iterations\"\nvus = 5\niterations = 2",
    );
    let file = format!("{reader}[data.users]\npath = \"{}\"\n", csv.display());
    let run = run_file(&file, &["--env", "DATA_SET=users"]).await;
    run.assert_ok();
    assert_eq!(run.check("for_vu is row vu.id-1"), (10, 0));
    assert_eq!(run.check("random row is well-formed"), (10, 0));
    // VU n read row n-1 in each of its two iterations.
    for user in users {
        assert_eq!(run.check(&format!("read {user}")), (2, 0), "{user}");
    }
    assert_eq!(run.fails("iterations_failed"), 10);
    assert_server_saw(&run, &server, 10);
    assert_eq!(server.path_count("/"), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_lines_rows_wrap_around_when_vus_outnumber_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let jsonl =
        write(dir.path(), "users.jsonl", "{\"user\":\"j1\"}\n\n{\"user\":\"j2\",\"n\":[1]}\r\n{\"user\":\"j3\"}");
    let server = target(Protocol::Http).await;
    let data = data_flag("people", &jsonl);
    let reader = scenario(
        "read",
        "data-reader",
        &server.base_url(),
        "executor = \"per-vu-iterations\"\nvus = 5\niterations = 2",
    );
    let run = run_file(&reader, &["--data", &data, "--env", "DATA_SET=people"]).await;
    run.assert_ok();
    assert_eq!(run.check("for_vu is row vu.id-1"), (10, 0));
    assert_eq!(run.check("random row is well-formed"), (10, 0));
    // VUs 1..=5 read rows 0, 1, 2, 0, 1.
    assert_eq!(run.check("read j1"), (4, 0));
    assert_eq!(run.check("read j2"), (4, 0));
    assert_eq!(run.check("read j3"), (2, 0));
    assert_server_saw(&run, &server, 10);
}

#[tokio::test]
async fn bad_data_files_get_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.csv");
    let ragged = write(dir.path(), "ragged.csv", "id,user\n1,alice\n2,bob\n3,carol,extra\n");
    let bad_json = write(dir.path(), "bad.jsonl", "{\"user\":\"j1\"}\n{\"user\":}\n");
    let unknown = write(dir.path(), "users.txt", "id,user\n1,alice\n");
    let cases = [
        (&missing, format!("error: --data users: data file {missing:?} does not exist")),
        (&ragged, format!("error: data file {ragged:?} line 4: expected 2 fields like the header, found 3")),
        (&bad_json, format!("error: data file {bad_json:?} line 2: invalid JSON at column 9: expected value")),
        (&unknown, "error: --data users: cannot tell the format of data file".to_string()),
    ];
    for (path, expected) in cases {
        let data = data_flag("users", path);
        let run = run_guest("data-reader", &["--data", &data, "--env", "DATA_SET=users"]).await;
        assert_eq!(run.code, 2, "{}: {}", path.display(), run.stderr);
        assert_one_line(&run.stderr, &expected);
        assert!(run.summary.is_none(), "no run, no summary");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reading_an_undeclared_set_fails_the_iteration() {
    let server = target(Protocol::Http).await;
    let base = env("BASE_URL", &server, "");
    let run =
        run_guest("data-reader", &["--vus", "2", "--iterations", "6", "--env", "DATA_SET=nosuch", "--env", &base])
            .await;
    run.assert_ok();
    assert_eq!(run.passes("iterations_failed"), 6);
    assert_eq!(run.error_count("no data set named \"nosuch\" (declare it with --data nosuch=FILE)"), 6);
    assert_server_saw(&run, &server, 0);
}
