use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::js::script;
use crate::support::{
    Outcome, Protocol, assert_one_line, assert_server_saw, env, guest, run_guest, target, vespid, wait_for,
};

/// A folder with `bundle.toml` for the hello guest (2 VUs, 6 iterations,
/// one data set), asking for `host`; packed into `hello.vspd` beside it.
async fn packed(dir: &Path, host: &str) -> PathBuf {
    let source = dir.join("src");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::copy(guest("hello"), source.join("hello.wasm")).unwrap();
    std::fs::copy(script("users.csv"), source.join("users.csv")).unwrap();
    let manifest = format!(
        "name = \"hello\"\nversion = \"1.2.0\"\nplugin = \"hello.wasm\"\n\
         [permissions]\nallowed-hosts = [\"{host}\"]\nenv = [\"BASE_URL\"]\n\
         [options]\nvus = 2\niterations = 6\n[thresholds]\nhttp_req_failed = [\"rate<0.01\"]\n[data]\nusers = \"users.csv\"\n"
    );
    std::fs::write(source.join("bundle.toml"), manifest).unwrap();
    let bundle = dir.join("hello.vspd");
    let pack = vespid(&["bundle", "pack", source.to_str().unwrap(), "-o", bundle.to_str().unwrap()]).await;
    assert_eq!(pack.code, 0, "{}", pack.stderr);
    bundle
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The bundle with one byte changed in the first occurrence of `marker`
/// in the data of the entry named `entry`.
fn tampered(bundle: &Path, entry: &str, marker: &[u8], out: &Path) -> PathBuf {
    let mut bytes = std::fs::read(bundle).unwrap();
    let (start, end) = entry_data(&bytes, entry);
    let at = start + bytes[start..end].windows(marker.len()).position(|w| w == marker).expect("marker in the entry");
    bytes[at] ^= 0x01;
    std::fs::write(out, bytes).unwrap();
    out.to_path_buf()
}

/// Where the data of tar entry `entry` lies: walks the 512-byte headers.
fn entry_data(bytes: &[u8], entry: &str) -> (usize, usize) {
    let mut offset = 0;
    loop {
        let header = &bytes[offset..offset + 512];
        let name = String::from_utf8_lossy(&header[..100]).trim_end_matches('\0').to_string();
        let size_text = String::from_utf8_lossy(&header[124..136]).trim_matches(['\0', ' ']).to_string();
        let size = usize::from_str_radix(&size_text, 8).expect("octal size");
        if name == entry {
            return (offset + 512, offset + 512 + size);
        }
        offset += 512 + size.div_ceil(512) * 512;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_packs_inspects_verifies_and_runs_like_the_loose_plugin() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = packed(dir.path(), &server.base_url()).await;

    let inspect = vespid(&["bundle", "inspect", path(&bundle)]).await;
    assert_eq!(inspect.code, 0, "{}", inspect.stderr);
    let lines: Vec<&str> = inspect.stdout.lines().collect();
    assert_eq!(lines[1], "permissions asked:", "permissions first: {}", inspect.stdout);
    assert_eq!(lines[2], format!("  allowed-hosts   {}", server.base_url()));
    for expected in
        ["world:       vespid:scenario/scenario@0.2.0", "data/users/users.csv  45 bytes  sha256:", "unsigned"]
    {
        assert!(inspect.stdout.contains(expected), "{expected:?} in {}", inspect.stdout);
    }
    let verify = vespid(&["bundle", "verify", path(&bundle)]).await;
    assert_eq!((verify.code, verify.stdout.as_str()), (0, "ok: 2 parts match their digests; unsigned\n"));

    // Its defaults (2 VUs, 6 iterations, the threshold) and grants as asked.
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", path(&bundle), "--grant-requested", "-e", &base]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6);
    assert!(
        run.stderr.contains(&format!("bundle hello 1.2.0 asks for allowed-hosts {}; env BASE_URL", server.base_url()))
    );
    let loose = run_guest("hello", &["--vus", "2", "--iterations", "6", "-e", &base]).await;
    loose.assert_ok();
    assert_eq!(
        (loose.count("http_reqs"), loose.count("iterations")),
        (run.count("http_reqs"), run.count("iterations"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_is_denied_what_the_run_does_not_grant() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = packed(dir.path(), &server.base_url()).await;
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", path(&bundle), "-e", &base]).await;
    // The threshold on http_req_failed has no samples: nothing was sent.
    assert_eq!(run.code, 99, "{}", run.stderr);
    assert_eq!((server.stats().requests, run.count("permission_denials")), (0, 6));
    assert!(run.stderr.contains("not granted (grant it, or all it asks for with --grant-requested)"), "{}", run.stderr);
    // Granted by the flag instead: the bundle gets exactly that.
    let allow = server.base_url();
    let granted = vespid(&["run", path(&bundle), "-e", &base, "--allow-host", &allow]).await;
    granted.assert_ok();
    assert_server_saw(&granted, &server, 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn signatures_are_checked_and_required_when_the_run_names_keys() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = packed(dir.path(), &server.base_url()).await;
    let (team, other) = (dir.path().join("team"), dir.path().join("other"));
    for prefix in [&team, &other] {
        assert_eq!(vespid(&["bundle", "keygen", path(prefix)]).await.code, 0);
    }
    let again = vespid(&["bundle", "keygen", path(&team)]).await;
    assert_eq!(again.code, 2, "keygen never overwrites a key");
    let (team_pub, other_pub) = (team.with_extension("pub.pem"), other.with_extension("pub.pem"));
    let signed = dir.path().join("signed.vspd");
    let sign =
        vespid(&["bundle", "sign", path(&bundle), "--key", path(&team.with_extension("pem")), "-o", path(&signed)])
            .await;
    assert_eq!(sign.code, 0, "{}", sign.stderr);
    let verify = vespid(&["bundle", "verify", path(&signed), "--key", path(&team_pub)]).await;
    assert!(verify.code == 0 && verify.stdout.contains("signed by ed25519 key"), "{}", verify.stderr);

    let base = env("BASE_URL", &server, "");
    let required = |bundle: PathBuf, key: PathBuf| {
        let base = base.clone();
        async move {
            vespid(&["run", path(&bundle), "--grant-requested", "-e", &base, "--require-signed-by", path(&key)]).await
        }
    };
    let unsigned = required(bundle.clone(), team_pub.clone()).await;
    assert_eq!(unsigned.code, 7);
    assert_one_line(&unsigned.stderr, "bundle refused: it is not signed, and the run requires a signature by");
    let wrong = required(signed.clone(), other_pub).await;
    assert_eq!(wrong.code, 7);
    assert_one_line(&wrong.stderr, "bundle refused: it is signed by key");
    let trusted = required(signed.clone(), team_pub).await;
    trusted.assert_ok();
    assert_server_saw(&trusted, &server, 6);

    // A signed manifest cannot change: here its version.
    let forged = tampered(&signed, "manifest.toml", b"1.2.0", &dir.path().join("forged.vspd"));
    let refused = vespid(&["bundle", "verify", path(&forged)]).await;
    assert_eq!(refused.code, 7);
    assert_one_line(&refused.stderr, "the bundle was changed after it was signed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_part_or_a_malicious_archive_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = packed(dir.path(), "http://127.0.0.1:9").await;
    for (entry, marker, named) in [
        ("plugin.wasm", &b"asm"[..], "\"plugin.wasm\" does not match its digest"),
        ("data/users/users.csv", b"alice", "\"data/users/users.csv\" does not match its digest"),
        ("manifest.toml", b"sha256:", "does not match its digest"),
    ] {
        let changed = tampered(&bundle, entry, marker, &dir.path().join("changed.vspd"));
        for command in [&["bundle", "verify", path(&changed)][..], &["run", path(&changed)]] {
            let run: Outcome = vespid(command).await;
            assert_eq!(run.code, 7, "{entry}: {}", run.stderr);
            assert_one_line(&run.stderr, named);
        }
    }
    let mut evil = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..9].copy_from_slice(b"../escape");
    header.set_size(1);
    header.set_cksum();
    evil.append(&header, &b"x"[..]).unwrap();
    let evil_path = dir.path().join("evil.vspd");
    std::fs::write(&evil_path, evil.into_inner().unwrap()).unwrap();
    let run = vespid(&["run", path(&evil_path)]).await;
    assert_eq!(run.code, 7);
    assert_one_line(&run.stderr, "bundle refused: entry \"../escape\" leads out of the bundle (..)");
    assert!(!dir.path().parent().unwrap().join("escape").exists());
}

/// Debian's docker-registry (distribution 2.8) on a free loopback port,
/// storing into a temporary folder; stopped when dropped.
struct Registry {
    child: std::process::Child,
    dir: tempfile::TempDir,
    address: String,
}

impl Registry {
    async fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let address = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n",
            dir.path().join("data").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let child = std::process::Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("docker-registry (cargo xtask setup installs it)");
        let probe = address.clone();
        wait_for("the registry listening", move || std::net::TcpStream::connect(&probe).is_ok()).await;
        Registry { child, dir, address }
    }

    /// The stored blob of `digest` (`sha256:…`).
    fn blob(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir.path().join(format!("data/docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bundles_travel_through_a_real_registry_by_tag_and_by_digest() {
    let server = target(Protocol::Http).await;
    let registry = Registry::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = packed(dir.path(), &server.base_url()).await;
    let reference = format!("oci://{}/team/hello:1.2.0", registry.address);
    let push = vespid(&["bundle", "push", path(&bundle), &reference]).await;
    assert_eq!(push.code, 0, "{}", push.stderr);
    let digest = push.stdout.trim().rsplit('/').next().unwrap().to_string();
    assert!(digest.starts_with("sha256:"), "{}", push.stdout);

    // By digest first: a digest it has pulled before comes from the cache.
    let by_digest = format!("oci://{}/team/hello@{digest}", registry.address);
    for (from, name) in [(by_digest, "digest.vspd"), (reference.clone(), "tag.vspd")] {
        let out = dir.path().join(name);
        let pull = vespid(&["bundle", "pull", &from, "-o", path(&out)]).await;
        assert_eq!(pull.code, 0, "{from}: {}", pull.stderr);
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&bundle).unwrap(), "{from}: the same bytes");
    }
    let base = env("BASE_URL", &server, "");
    let run = vespid(&["run", &reference, "--grant-requested", "-e", &base]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6);

    // A blob changed in the registry's storage is refused on pull by tag.
    let layer = format!("sha256:{:x}", sha2::Sha256::digest(std::fs::read(&bundle).unwrap()));
    let stored = registry.blob(&layer);
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[600] ^= 1;
    std::fs::write(&stored, bytes).unwrap();
    let pull = vespid(&["bundle", "pull", &reference, "-o", path(&dir.path().join("bad.vspd"))]).await;
    assert_eq!(pull.code, 2, "{}", pull.stderr);
    assert_one_line(&pull.stderr, "registry: ");
    assert!(pull.stderr.to_lowercase().contains("digest"), "{}", pull.stderr);
    let missing = vespid(&["bundle", "pull", &format!("oci://{}/team/none:1", registry.address), "-o", "x.vspd"]).await;
    assert_eq!(missing.code, 2);
    assert_one_line(&missing.stderr, "manifest unknown");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_is_a_scenario_s_plugin_in_a_run_file_confined_to_what_that_scenario_is_granted() {
    let server = target(Protocol::Http).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = packed(dir.path(), &server.base_url()).await;
    let file = format!(
        "[scenarios.shop]\nplugin = {bundle:?}\nexecutor = \"per-vu-iterations\"\nvus = 2\niterations = 3\n\
         env = {{ BASE_URL = \"{base}\" }}\n[scenarios.shop.permissions]\nallowed-hosts = [\"{base}\"]\n\
         [scenarios.loose]\nplugin = \"{{hello}}\"\nexecutor = \"per-vu-iterations\"\nvus = 1\niterations = 2\n\
         env = {{ BASE_URL = \"{base}\" }}\n",
        base = server.base_url()
    );
    let run = crate::support::run_file(&file, &[]).await;
    run.assert_ok();
    assert_server_saw(&run, &server, 6 + 2);
    let scenarios = run.summary.as_ref().unwrap()["scenarios"].as_array().unwrap().clone();
    let shop = scenarios.iter().find(|s| s["name"] == "shop").expect("the bundle's scenario");
    let expected = serde_json::json!({
        "allowed-hosts": [server.base_url()], "env": ["BASE_URL"], "data": ["users"], "datasources": [],
    });
    assert_eq!(shop["permissions"], expected, "deny-by-default but for its grants, its env and its own data");
    let loose = scenarios.iter().find(|s| s["name"] == "loose").expect("the loose scenario");
    assert!(loose["permissions"].as_object().unwrap().values().all(serde_json::Value::is_null), "not confined");
}

/// A bundle asking for a socket and a higher memory limit gets neither
/// until the run grants them; `--grant-requested` grants exactly what it
/// asks (the memory limit raised for the run, the one address opened).
#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_s_asked_sockets_and_limits_are_granted_only_by_the_run() {
    let server = target(Protocol::Http).await;
    let address = server.base_url().trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("src");
    std::fs::create_dir_all(&source).unwrap();
    std::fs::copy(guest("runaway"), source.join("runaway.wasm")).unwrap();
    let manifest = format!(
        "name = \"runaway\"\nversion = \"0.3.0\"\nplugin = \"runaway.wasm\"\n\
         [permissions]\nallowed-sockets = [\"tcp://{address}\"]\n[limits]\nvu-memory-limit = \"96MiB\"\nmax-series = 20000\n"
    );
    std::fs::write(source.join("bundle.toml"), manifest).unwrap();
    let bundle = dir.path().join("runaway.vspd");
    let pack = vespid(&["bundle", "pack", path(&source), "-o", path(&bundle)]).await;
    assert_eq!(pack.code, 0, "{}", pack.stderr);
    let inspect = vespid(&["bundle", "inspect", path(&bundle)]).await;
    assert!(inspect.stdout.contains(&format!("  allowed-sockets tcp://{address}\n")), "{}", inspect.stdout);
    assert!(
        inspect.stdout.contains("limits asked:\n  vu-memory-limit     96MiB\n  max-series          20000\n"),
        "{}",
        inspect.stdout
    );

    let run = |fault: &'static str, grant: bool| {
        let (bundle, target) = (bundle.clone(), format!("TARGET={address}"));
        async move {
            let mut args = vec!["run", path(&bundle), "-i", "2", "-e", fault, "-e", &target];
            args.extend(grant.then_some("--grant-requested"));
            vespid(&args).await
        }
    };
    let denied = run("FAULT=socket", false).await;
    denied.assert_ok();
    assert_eq!((denied.error_count("socket refused: "), denied.count("tcp_connections")), (2, 0));
    assert!(
        denied.stderr.contains(&format!("bundle runaway 0.3.0 asks for allowed-sockets tcp://{address}, not granted"))
    );
    let granted = run("FAULT=socket", true).await;
    granted.assert_ok();
    assert_eq!((granted.error_count("socket ESCAPED: "), granted.count("tcp_connections")), (2, 2));
    assert_eq!(server.path_count("/bytes/100"), 2);

    let capped = run("FAULT=alloc", false).await;
    assert!(
        capped.stderr.contains(
            "bundle runaway 0.3.0 asks for vu-memory-limit 96MiB, the run gives 64MiB (grant it with --vu-memory-limit 96MiB"
        ),
        "{}",
        capped.stderr
    );
    assert_eq!(capped.error_count("memory cap of 64 MiB exceeded"), 2);
    assert!(
        capped.stderr.contains("bundle runaway 0.3.0 asks for max-series 20000, the run gives 10000"),
        "{}",
        capped.stderr
    );
    let raised = run("FAULT=alloc", true).await;
    assert!(raised.stderr.contains("vu-memory-limit raised to 96MiB for the whole run"), "{}", raised.stderr);
    assert_eq!(raised.error_count("memory cap of 96 MiB exceeded"), 2);
    assert!(raised.stderr.contains("max-series raised to 20000 for the whole run"), "{}", raised.stderr);
    // What the run sets itself stands: a bundle never lowers it.
    let generous = vespid(&["run", path(&bundle), "-i", "1", "-e", "FAULT=alloc", "--vu-memory-limit", "128MiB"]).await;
    assert_eq!(generous.error_count("memory cap of 128 MiB exceeded"), 1);
    assert!(!generous.stderr.contains("vu-memory-limit 96MiB, the run gives"), "{}", generous.stderr);
    // Nor does --grant-requested override a limit the run sets itself.
    let args =
        ["run", path(&bundle), "-i", "1", "-e", "FAULT=alloc", "--vu-memory-limit", "48MiB", "--grant-requested"];
    let strict = vespid(&args).await;
    assert_eq!(strict.error_count("memory cap of 48 MiB exceeded"), 1);
    assert!(strict.stderr.contains("asks for vu-memory-limit 96MiB; the run sets 48MiB itself, which stands"));

    // A limit no run could grant is refused when packing, naming the key.
    std::fs::write(
        source.join("bundle.toml"),
        "name = \"x\"\nversion = \"1.0.0\"\nplugin = \"runaway.wasm\"\n[limits]\nvu-memory-limit = \"8GiB\"\n",
    )
    .unwrap();
    let refused = vespid(&["bundle", "pack", path(&source), "-o", path(&dir.path().join("x.vspd"))]).await;
    assert_ne!(refused.code, 0);
    assert_one_line(&refused.stderr, "limits.vu-memory-limit: must be at most 4GiB");
}
