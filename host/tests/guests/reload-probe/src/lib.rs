//! Test guest for hot reload: each iteration GETs `BASE_URL/status/NNN`,
//! where NNN is the end of [`MARK`], and checks that status. Tests make new
//! versions by rewriting the mark's bytes in the component (same length):
//! `version:202` calls another endpoint, `version:666` traps in `init`.
//! `teardown` GETs `BASE_URL/delay/NNN`, so tests see which version tore down.
use std::hint::black_box;

use vespid_sdk::{Scenario, check, http, vu};

/// Read through `black_box`, so the compiler cannot fold it and a rewrite
/// of its bytes changes what the guest does.
const MARK: &str = "version:201";

/// The three digits of the mark.
fn code() -> &'static str {
    &black_box(MARK)["version:".len()..]
}

struct ReloadProbe {
    url: String,
    status: u16,
}

impl Scenario for ReloadProbe {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let code = code();
        if code == "666" {
            panic!("version 666 refuses to start");
        }
        let base = vu::env("BASE_URL").ok_or("BASE_URL is required")?;
        Ok(ReloadProbe { url: format!("{base}/status/{code}"), status: code.parse().map_err(|_| "bad mark")? })
    }

    fn teardown(_setup_data: &str) -> vespid_sdk::Result {
        let base = vu::env("BASE_URL").ok_or("BASE_URL is required")?;
        http::get(format!("{base}/delay/{}", code())).send()?;
        Ok(())
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let res = http::get(&self.url).send()?;
        check("status as the version says", res.status == self.status);
        Ok(())
    }
}

vespid_sdk::export!(ReloadProbe);
