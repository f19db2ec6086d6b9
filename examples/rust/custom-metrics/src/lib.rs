//! Custom metrics with tags: a counter, a trend, a rate and a gauge, next to
//! the built-in HTTP metrics, with two weighted tasks.
use vespid_sdk::{Info, Scenario, http, metrics, vu};

struct Shop {
    base: String,
}

impl Scenario for Shop {
    fn describe() -> Info {
        Info::named("custom-metrics").task("browse", 3).task("buy", 1)
    }

    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let base = vu::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:7878".into());
        Ok(Shop { base: base.trim_end_matches('/').to_string() })
    }

    fn run(&mut self, task: &str) -> vespid_sdk::Result {
        let res = http::get(format!("{}/json", self.base)).tag("task", task).send()?;
        let tags = [("task", task)];
        metrics::counter("shop_visits", 1.0, &tags);
        metrics::trend("shop_server_time", res.timings.waiting, &tags);
        metrics::rate("shop_fast", res.timings.duration < 200.0, &tags);
        metrics::gauge("shop_body_bytes", res.body.len() as f64, &tags);
        if task == "buy" {
            metrics::counter("shop_orders", 1.0, &[]);
        }
        Ok(())
    }
}

vespid_sdk::export!(Shop);
