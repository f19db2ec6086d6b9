//! HTTP and the database in one flow, the way integration suites check a
//! service: log in, create an order through the API, then read the row
//! back from the service's own database (the datasource `main`) and check
//! it holds what was sent.
//!
//! ```sh
//! vespid demo-target --database sqlite:orders.db &
//! vespid run order_check.wasm --datasource main=sqlite:orders.db --vus 4 --iterations 40
//! ```
use serde::Deserialize;
use vespid_sdk::{Scenario, check, http, sql, vu};

struct OrderCheck {
    base: String,
    user: String,
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

#[derive(Deserialize)]
struct Created {
    id: i64,
}

impl Scenario for OrderCheck {
    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        let base = vu::env("BASE_URL").unwrap_or_else(|| "http://127.0.0.1:7878".into());
        Ok(OrderCheck { base: base.trim_end_matches('/').to_string(), user: format!("vu-{}", vu::id()) })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let base = &self.base;
        let login = http::post(format!("{base}/login")).json(&serde_json::json!({ "user": self.user })).send()?;
        let token = login.json::<Login>()?.token;
        let item = format!("item-{}-{}", vu::id(), vu::iteration());
        let quantity = i64::from(vu::iteration() % 5 + 1);
        let created = http::post(format!("{base}/orders"))
            .header("authorization", format!("Bearer {token}"))
            .json(&serde_json::json!({ "item": item, "quantity": quantity }))
            .name("create order")
            .send()?;
        if !check("order created", created.status == 201) {
            return Err(format!("POST /orders answered {}", created.status).into());
        }
        let id = created.json::<Created>()?.id;
        let rows = sql::Statement::new("select owner, item, quantity from orders where id = $1", &[&id])
            .name("order by id")
            .query("main")?;
        let row = rows.first();
        check(
            "order is in the database",
            row.is_some_and(|row| {
                row.get::<String>("owner").as_ref() == Some(&self.user)
                    && row.get::<String>("item") == Some(item.clone())
                    && row.get::<i64>("quantity") == Some(quantity)
            }),
        );
        Ok(())
    }
}

vespid_sdk::export!(OrderCheck);
