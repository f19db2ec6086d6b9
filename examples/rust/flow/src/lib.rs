//! A user journey that carries data from one response to the next request:
//! log in (the server sets a session cookie and returns a token), read the
//! profile with the cookie, then list orders with the token.
use serde::Deserialize;
use vespid_sdk::{Scenario, check, http, vu};

struct Flow {
    base: String,
    user: String,
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

#[derive(Deserialize)]
struct Profile {
    user: String,
}

impl Scenario for Flow {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let base = vu::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:7878".into());
        Ok(Flow { base: base.trim_end_matches('/').to_string(), user: format!("vu-{}", vu::id()) })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let base = &self.base;
        let login = http::post(format!("{base}/login")).json(&serde_json::json!({ "user": self.user })).send()?;
        if !check("logged in", login.status == 200) {
            return Err(format!("login answered {}", login.status).into());
        }
        let token = login.json::<Login>()?.token;

        // The session cookie from /login goes back automatically: the jar is this VU's own.
        let me = http::get(format!("{base}/me")).send()?;
        let profile = me.json::<Profile>().ok();
        check("session is mine", profile.is_some_and(|p| p.user == self.user));

        let orders = http::get(format!("{base}/orders?page=1"))
            .header("authorization", format!("Bearer {token}"))
            .name("orders")
            .send()?;
        check("orders listed", orders.status == 200);
        Ok(())
    }
}

vespid_sdk::export!(Flow);
