//! Test and benchmark guest: one request per iteration to `URL`, shaped by
//! env: `METHOD` (default GET), `HEADERS` (`Name: value` lines joined by
//! `|`; a name may repeat), `BODY`, `TIMEOUT_MS`, `MAX_REDIRECTS`,
//! `EXPECTED_STATUSES` (ranges like `200-299,404`), `DISCARD_BODY=1`,
//! `BATCH=n` (n copies of the request in one `http::batch`), `FIRST_URL`
//! (a GET sent once, before the VU's first request), `PAUSE_MS` (think time
//! after the request). Checks: `EXPECT_STATUS` records "status is <n>",
//! `EXPECT_BODY_LEN` records "body length is <n>", for each response. A
//! transport error fails the iteration with the error's text; any response
//! passes. The WIT 0.1.1 calls: `JAR_COOKIE` (`name=value`) is put in the
//! VU's jar for `URL` at init, and each iteration checks "jar holds
//! <name>" before its request; `CLEAR_COOKIES=1` empties the jar for `URL`
//! after each request; `ABORT_AT_ITERATION=n` aborts the test after the
//! VU's iteration n (counted from 0); `NUMBERED_URL=prefix` GETs prefix +
//! the scenario's iteration number before the request. The WIT 0.1.2
//! calls: `VERDICT` (`pass`, `fail` or `later`) sends the request
//! unsettled and judges its answer so, or leaves it to the iteration's end;
//! `STOP_AT_ITERATION=n` ends the VU after its iteration n (`vu::stop`);
//! `VU_END_URL` is a GET sent when the VU ends (`vu_end`).
use std::time::Duration;

use vespid_sdk::{Scenario, check, http, vu};

struct Probe {
    request: http::RequestBuilder,
    batch: Option<usize>,
    first_url: Option<String>,
    /// Each iteration also GETs this prefix + the scenario's iteration number.
    numbered_url: Option<String>,
    pause: Option<Duration>,
    expect_status: Option<u16>,
    expect_body_len: Option<usize>,
    url: String,
    jar_cookie: Option<String>,
    clear_cookies: bool,
    abort_at: Option<u32>,
    verdict: Option<Verdict>,
    stop_at: Option<u32>,
    vu_end_url: Option<String>,
}

/// What the probe says of an answer sent unsettled.
#[derive(Clone, Copy)]
enum Verdict {
    Pass,
    Fail,
    Later,
}

fn verdict(text: Option<&str>) -> Result<Option<Verdict>, String> {
    match text {
        None => Ok(None),
        Some("pass") => Ok(Some(Verdict::Pass)),
        Some("fail") => Ok(Some(Verdict::Fail)),
        Some("later") => Ok(Some(Verdict::Later)),
        Some(other) => Err(format!("VERDICT must be pass, fail or later, got {other:?}")),
    }
}

fn env_number(key: &str) -> vespid_sdk::Result<Option<u64>> {
    match vu::env(key) {
        Some(text) => Ok(Some(text.parse().map_err(|_| format!("{key} must be a number, got {text:?}"))?)),
        None => Ok(None),
    }
}

fn method(name: Option<&str>) -> http::Method {
    match name {
        None | Some("GET") => http::Method::Get,
        Some("HEAD") => http::Method::Head,
        Some("POST") => http::Method::Post,
        Some("PUT") => http::Method::Put,
        Some("PATCH") => http::Method::Patch,
        Some("DELETE") => http::Method::Delete,
        Some("OPTIONS") => http::Method::Options,
        Some(other) => http::Method::Other(other.to_string()),
    }
}

/// `200-299,404` as (min, max) pairs.
fn status_ranges(text: &str) -> Result<Vec<(u16, u16)>, String> {
    let number = |t: &str| t.trim().parse::<u16>().map_err(|_| format!("EXPECTED_STATUSES: bad status {t:?}"));
    text.split(',')
        .map(|range| match range.split_once('-') {
            Some((min, max)) => Ok((number(min)?, number(max)?)),
            None => number(range).map(|status| (status, status)),
        })
        .collect()
}

impl Scenario for Probe {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let url = vu::env("URL").ok_or("URL is required")?;
        let mut request = http::request(method(vu::env("METHOD").as_deref()), url.clone());
        for line in vu::env("HEADERS").iter().flat_map(|lines| lines.split('|')) {
            let (name, value) = line.split_once(':').ok_or_else(|| format!("HEADERS: no ':' in {line:?}"))?;
            request = request.header(name.trim(), value.trim());
        }
        if let Some(body) = vu::env("BODY") {
            request = request.body(body);
        }
        if let Some(ms) = env_number("TIMEOUT_MS")? {
            request = request.timeout(Duration::from_millis(ms));
        }
        if let Some(max) = env_number("MAX_REDIRECTS")? {
            request = request.max_redirects(max as u32);
        }
        if let Some(text) = vu::env("EXPECTED_STATUSES") {
            for (min, max) in status_ranges(&text)? {
                request = request.expect_status(min, max);
            }
        }
        let jar_cookie = vu::env("JAR_COOKIE");
        if let Some(cookie) = &jar_cookie {
            http::set_cookie(&url, cookie)?;
        }
        if vu::env("DISCARD_BODY").as_deref() == Some("1") {
            request = request.discard_body();
        }
        Ok(Probe {
            request,
            batch: env_number("BATCH")?.map(|n| n as usize),
            first_url: vu::env("FIRST_URL"),
            numbered_url: vu::env("NUMBERED_URL"),
            pause: env_number("PAUSE_MS")?.map(Duration::from_millis),
            expect_status: env_number("EXPECT_STATUS")?.map(|s| s as u16),
            expect_body_len: env_number("EXPECT_BODY_LEN")?.map(|n| n as usize),
            jar_cookie: jar_cookie.map(|cookie| cookie.split('=').next().unwrap_or_default().to_string()),
            clear_cookies: vu::env("CLEAR_COOKIES").as_deref() == Some("1"),
            abort_at: env_number("ABORT_AT_ITERATION")?.map(|n| n as u32),
            verdict: verdict(vu::env("VERDICT").as_deref())?,
            stop_at: env_number("STOP_AT_ITERATION")?.map(|n| n as u32),
            vu_end_url: vu::env("VU_END_URL"),
            url,
        })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        if let Some(url) = self.first_url.take() {
            http::get(url).send()?;
        }
        if let Some(prefix) = &self.numbered_url {
            http::get(format!("{prefix}{}", vu::scenario_iteration())).send()?;
        }
        if let Some(name) = &self.jar_cookie {
            check(&format!("jar holds {name}"), http::cookies_for(&self.url).iter().any(|(held, _)| held == name));
        }
        let responses = match (self.batch, self.verdict) {
            (Some(n), _) => http::batch(vec![self.request.clone(); n]),
            (None, Some(verdict)) => vec![self.request.clone().send_unsettled().map(|(response, pending)| {
                match verdict {
                    Verdict::Pass => pending.pass(),
                    Verdict::Fail => pending.fail(),
                    Verdict::Later => drop(pending),
                }
                response
            })],
            (None, None) => vec![self.request.clone().send()],
        };
        for response in responses {
            let response = response?;
            if let Some(status) = self.expect_status {
                check(&format!("status is {status}"), response.status == status);
            }
            if let Some(len) = self.expect_body_len {
                check(&format!("body length is {len}"), response.body.len() == len);
            }
        }
        if self.clear_cookies {
            http::clear_cookies(&self.url, None);
        }
        if self.abort_at == Some(vu::iteration()) {
            vu::abort_test("the probe reached ABORT_AT_ITERATION");
        }
        if self.stop_at == Some(vu::iteration()) {
            vu::stop();
        }
        if let Some(pause) = self.pause {
            vu::sleep(pause);
        }
        Ok(())
    }

    fn vu_end(&mut self) -> vespid_sdk::Result {
        if let Some(url) = &self.vu_end_url {
            http::get(url.clone()).send()?;
        }
        Ok(())
    }
}

vespid_sdk::export!(Probe);
