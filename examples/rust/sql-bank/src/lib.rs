//! pgbench's TPC-B-like transaction on pgbench's own tables, so pgbench and
//! this plugin run on the same database: per iteration, one transaction
//! adds a random `delta` to an account, reads the balance back, adds it to
//! a teller and a branch, and records it in `pgbench_history`. Uses the
//! datasource `main` (PostgreSQL, or SQLite: the statements are both's).
//! `setup` creates the tables where they are missing and seeds them at
//! scale `SCALE` (default 1: 1 branch, 10 tellers, 100,000 accounts) when
//! they are empty; a seeded database keeps its scale, as pgbench reads it.
use vespid_sdk::{Scenario, sql, vu};

const DATASOURCE: &str = "main";
const ACCOUNTS_PER_BRANCH: i64 = 100_000;
const TELLERS_PER_BRANCH: i64 = 10;

struct Bank {
    scale: i64,
    rng: fastrand::Rng,
}

impl Scenario for Bank {
    fn setup() -> vespid_sdk::Result<String> {
        create_tables()?;
        let rows = sql::query(DATASOURCE, "select count(*) from pgbench_branches", &[])?;
        let scale = rows.first().and_then(|row| row.at::<i64>(0)).unwrap_or(0);
        if scale > 0 {
            return Ok(scale.to_string());
        }
        let scale: i64 =
            vu::env("SCALE").map_or(Ok(1), |text| text.parse()).map_err(|_| "SCALE must be a whole number")?;
        seed(scale)?;
        Ok(scale.to_string())
    }

    fn init(setup_data: &str) -> vespid_sdk::Result<Self> {
        let scale = setup_data.parse().map_err(|_| format!("setup gave no scale: {setup_data:?}"))?;
        Ok(Bank { scale, rng: fastrand::Rng::with_seed(u64::from(vu::id())) })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        let aid = self.rng.i64(1..=ACCOUNTS_PER_BRANCH * self.scale);
        let bid = self.rng.i64(1..=self.scale);
        let tid = self.rng.i64(1..=TELLERS_PER_BRANCH * self.scale);
        let delta = self.rng.i64(-5000..=5000);
        sql::transaction(DATASOURCE, |tx| {
            tx.execute("update pgbench_accounts set abalance = abalance + $1 where aid = $2", &[&delta, &aid])?;
            tx.query("select abalance from pgbench_accounts where aid = $1", &[&aid])?;
            tx.execute("update pgbench_tellers set tbalance = tbalance + $1 where tid = $2", &[&delta, &tid])?;
            tx.execute("update pgbench_branches set bbalance = bbalance + $1 where bid = $2", &[&delta, &bid])?;
            tx.execute(
                "insert into pgbench_history (tid, bid, aid, delta, mtime) values ($1, $2, $3, $4, current_timestamp)",
                &[&tid, &bid, &aid, &delta],
            )?;
            Ok::<_, sql::SqlError>(())
        })?;
        Ok(())
    }
}

/// pgbench's tables (`pgbench -i`), where they are missing.
fn create_tables() -> Result<(), sql::SqlError> {
    for ddl in [
        "create table if not exists pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
        "create table if not exists pgbench_tellers (tid int not null primary key, bid int, tbalance int, filler char(84))",
        "create table if not exists pgbench_accounts (aid int not null primary key, bid int, abalance int, filler char(84))",
        "create table if not exists pgbench_branches (bid int not null primary key, bbalance int, filler char(88))",
    ] {
        sql::execute(DATASOURCE, ddl, &[])?;
    }
    Ok(())
}

/// pgbench's rows at `scale`, in one transaction.
fn seed(scale: i64) -> Result<(), sql::SqlError> {
    sql::transaction(DATASOURCE, |tx| {
        let numbers = "with recursive n(i) as (select 1 union all select i + 1 from n where i < $1)";
        tx.execute(&format!("insert into pgbench_branches (bid, bbalance) {numbers} select i, 0 from n"), &[&scale])?;
        tx.execute(
            &format!("insert into pgbench_tellers (tid, bid, tbalance) {numbers} select i, (i - 1) / $2 + 1, 0 from n"),
            &[&(TELLERS_PER_BRANCH * scale), &TELLERS_PER_BRANCH],
        )?;
        tx.execute(
            &format!(
                "insert into pgbench_accounts (aid, bid, abalance, filler) {numbers} select i, (i - 1) / $2 + 1, 0, '' from n"
            ),
            &[&(ACCOUNTS_PER_BRANCH * scale), &ACCOUNTS_PER_BRANCH],
        )?;
        Ok(())
    })
}

vespid_sdk::export!(Bank);
