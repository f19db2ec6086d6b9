//! Test and benchmark guest: one request per iteration to `URL`, shaped by
//! env: `METHOD` (default GET), `TIMEOUT_MS`, `MAX_REDIRECTS`, `PAUSE_MS`
//! (think time after the request), `EXPECT_STATUS` (records the check
//! "status is <n>"). A transport error fails the iteration with the
//! error's text; any response passes.
use std::time::Duration;

use vespid_sdk::{Scenario, check, http, vu};

struct Probe {
    request: http::RequestBuilder,
    pause: Option<Duration>,
    expect_status: Option<u16>,
}

fn env_number(key: &str) -> vespid_sdk::Result<Option<u64>> {
    match vu::env(key) {
        Some(text) => Ok(Some(text.parse().map_err(|_| format!("{key} must be a number, got {text:?}"))?)),
        None => Ok(None),
    }
}

impl Scenario for Probe {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let url = vu::env("URL").ok_or("URL is required")?;
        let method = match vu::env("METHOD").as_deref() {
            None | Some("GET") => http::Method::Get,
            Some("POST") => http::Method::Post,
            Some(other) => http::Method::Other(other.to_string()),
        };
        let mut request = http::request(method, url);
        if let Some(ms) = env_number("TIMEOUT_MS")? {
            request = request.timeout(Duration::from_millis(ms));
        }
        if let Some(max) = env_number("MAX_REDIRECTS")? {
            request = request.max_redirects(max as u32);
        }
        let pause = env_number("PAUSE_MS")?.map(Duration::from_millis);
        let expect_status = env_number("EXPECT_STATUS")?.map(|s| s as u16);
        Ok(Probe { request, pause, expect_status })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let response = self.request.clone().send()?;
        if let Some(status) = self.expect_status {
            check(&format!("status is {status}"), response.status == status);
        }
        if let Some(pause) = self.pause {
            vu::sleep(pause);
        }
        Ok(())
    }
}

vespid_sdk::export!(Probe);
