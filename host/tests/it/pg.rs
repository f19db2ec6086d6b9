//! A throwaway PostgreSQL cluster per test (tests/pg-cluster.sh): initdb
//! into a temporary folder, served on a free loopback port, stopped when
//! dropped. Its superuser `bank` has a password, so tests can check that
//! the secret never shows.

use std::path::Path;
use std::process::Command;

/// The superuser's password.
pub const PASSWORD: &str = "pg-s3cret-never-shown";

pub struct PgCluster {
    dir: tempfile::TempDir,
    pub port: u16,
    running: bool,
}

impl PgCluster {
    pub fn start() -> PgCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("port").port();
        let port_text = port.to_string();
        script(&["start", dir.path().to_str().expect("utf-8 path"), &port_text, PASSWORD]);
        PgCluster { dir, port, running: true }
    }

    /// `postgres://bank:PASSWORD@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://bank:{PASSWORD}@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server: `immediate` as a crash would, `fast` cleanly.
    pub fn stop(&mut self, mode: &str) {
        if self.running {
            self.running = false;
            script(&["stop", self.dir.path().to_str().expect("utf-8 path"), mode]);
        }
    }

    /// `pgbench ARGS` against the cluster's database.
    pub fn pgbench(&self, args: &[&str]) {
        let status = Command::new("pgbench")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "bank"])
            .args(args)
            .arg("postgres")
            .env("PGPASSWORD", PASSWORD)
            .output()
            .expect("pgbench runs");
        assert!(status.status.success(), "pgbench {args:?}: {}", String::from_utf8_lossy(&status.stderr));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            self.running = false;
            let _ = Command::new(script_path())
                .args(["stop", self.dir.path().to_str().unwrap_or(""), "immediate"])
                .status();
        }
    }
}

fn script_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pg-cluster.sh")
}

fn script(args: &[&str]) {
    let out = Command::new(script_path()).args(args).output().expect("pg-cluster.sh runs");
    assert!(out.status.success(), "pg-cluster.sh {}: {}", args[0], String::from_utf8_lossy(&out.stderr));
}
