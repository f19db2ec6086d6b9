//! A read-heavy catalogue on SQLite, nothing to install: `setup` creates a
//! `products` table with 10,000 rows in the datasource `main` when it is
//! empty; each iteration looks a product up by id, then lists the cheapest
//! ten of its category, and checks what came back.
//!
//! ```sh
//! vespid run sql_catalog.wasm --datasource main=sqlite:catalog.db --vus 20 --duration 30s
//! ```
use vespid_sdk::{Scenario, check, sql, vu};

const DATASOURCE: &str = "main";
const PRODUCTS: i64 = 10_000;
const CATEGORIES: i64 = 50;

struct Catalog {
    rng: fastrand::Rng,
}

impl Scenario for Catalog {
    fn setup() -> vespid_sdk::Result<String> {
        sql::execute(
            DATASOURCE,
            "create table if not exists products (id integer primary key, category integer not null, \
             name text not null, price real not null)",
            &[],
        )?;
        sql::execute(DATASOURCE, "create index if not exists products_by_category on products (category, price)", &[])?;
        let rows = sql::query(DATASOURCE, "select count(*) from products", &[])?;
        if rows.first().and_then(|row| row.at::<i64>(0)) == Some(0) {
            sql::execute(
                DATASOURCE,
                "insert into products (id, category, name, price) \
                 with recursive n(i) as (select 1 union all select i + 1 from n where i < $1) \
                 select i, i % $2, 'product ' || i, (i * 7919 % 10000) / 100.0 from n",
                &[&PRODUCTS, &CATEGORIES],
            )?;
        }
        Ok(String::new())
    }

    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        Ok(Catalog { rng: fastrand::Rng::with_seed(u64::from(vu::id())) })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let id = self.rng.i64(1..=PRODUCTS);
        let product = sql::Statement::new("select category, name, price from products where id = $1", &[&id])
            .name("product by id")
            .query(DATASOURCE)?;
        let row = product.first().ok_or_else(|| format!("no product {id}"))?;
        check("product found", row.get::<String>("name") == Some(format!("product {id}")));
        let category: i64 = row.get("category").unwrap_or_default();
        let cheapest = sql::Statement::new(
            "select id, price from products where category = $1 order by price limit 10",
            &[&category],
        )
        .name("cheapest in category")
        .query(DATASOURCE)?;
        let prices: Vec<f64> = cheapest.iter().filter_map(|row| row.get("price")).collect();
        check("ten cheapest, in order", prices.len() == 10 && prices.windows(2).all(|pair| pair[0] <= pair[1]));
        Ok(())
    }
}

vespid_sdk::export!(Catalog);
