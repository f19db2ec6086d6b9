//! One GET of `BASE_URL` + `/` per iteration, checking for a 200.
use vespid_sdk::{Scenario, check, http, vu};

struct Hello {
    url: String,
}

impl Scenario for Hello {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let base = vu::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:7878".into());
        Ok(Hello { url: format!("{}/", base.trim_end_matches('/')) })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let res = http::get(&self.url).send()?;
        check("status is 200", res.status == 200);
        Ok(())
    }
}

vespid_sdk::export!(Hello);
