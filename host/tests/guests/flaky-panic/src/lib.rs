//! Test guest: one GET per iteration, then a panic on every fourth
//! iteration of each VU (iterations 3, 7, 11, …), so tests can count failed
//! iterations and the connections of re-instantiated VUs.
use vespid_sdk::{Scenario, http, vu};

struct FlakyPanic {
    url: String,
}

impl Scenario for FlakyPanic {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let base = vu::env("BASE_URL").ok_or("BASE_URL is required")?;
        Ok(FlakyPanic { url: format!("{base}/") })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        http::get(&self.url).send()?;
        if vu::iteration() % 4 == 3 {
            panic!("flaky-panic: planned panic");
        }
        Ok(())
    }
}

vespid_sdk::export!(FlakyPanic);
