//! Test guest for hot reload: each iteration GETs `BASE_URL/status/NNN`,
//! where NNN is the end of [`MARK`], and checks that status. Tests make new
//! versions by rewriting the mark's bytes in the component (same length):
//! `version:202` calls another endpoint, `version:666` traps in `init`.
use std::hint::black_box;

use vespid_sdk::{Scenario, check, http, vu};

/// Read through `black_box`, so the compiler cannot fold it and a rewrite
/// of its bytes changes what the guest does.
const MARK: &str = "version:201";

struct ReloadProbe {
    url: String,
    status: u16,
}

impl Scenario for ReloadProbe {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let code = &black_box(MARK)["version:".len()..];
        if code == "666" {
            panic!("version 666 refuses to start");
        }
        let base = vu::env("BASE_URL").ok_or("BASE_URL is required")?;
        Ok(ReloadProbe { url: format!("{base}/status/{code}"), status: code.parse().map_err(|_| "bad mark")? })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let res = http::get(&self.url).send()?;
        check("status as the version says", res.status == self.status);
        Ok(())
    }
}

vespid_sdk::export!(ReloadProbe);
