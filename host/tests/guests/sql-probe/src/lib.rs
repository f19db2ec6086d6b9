//! Test guest for the `sql` capability, on the datasource `main` (SQLite in
//! the tests), one behaviour per `MODE`:
//! - `unknown`: a query on the undeclared datasource `nope` gets
//!   unknown-datasource naming `main` (check "unknown datasource named").
//! - `constraint`: a transaction inserts a row, then the same key again:
//!   the constraint violation rolls it back (check "constraint violation").
//! - `keep`: iteration 0 begins a transaction, inserts a row and keeps the
//!   handle; later iterations find it finished (rolled back when
//!   iteration 0 ended; check "finished with its iteration").
//! - `drop`: each iteration begins, inserts a row and drops the handle.
//! - `shared`: setup creates a table and inserts a row; every VU sees it
//!   (check "sees setup's row"), the in-memory database being the run's.
//! - `types`: each WIT value goes through `select` and back (check
//!   "values round-trip").
//! - `backend` (PostgreSQL): each iteration records its VU and the server
//!   process of its connection in table `seen (vu, pid)`.
//! - `aborted` (PostgreSQL): a transaction whose second statement fails
//!   (caught) cannot commit: the commit says so (check "commit refused")
//!   and nothing was written.
//! - `flood`: a query of a billion rows is refused once its rows pass the
//!   VU's memory limit (check "flood refused").
//!
//! Every mode except `unknown` and `types` uses table `probe (id int primary key)`,
//! created by setup.
use vespid_sdk::sql::{self, ErrorKind, Value};
use vespid_sdk::{Scenario, check, vu};

struct Probe {
    mode: String,
    kept: Option<sql::Transaction>,
}

const MAIN: &str = "main";

impl Scenario for Probe {
    fn setup() -> vespid_sdk::Result<String> {
        if !matches!(vu::env("MODE").as_deref(), Some("unknown" | "types" | "flood")) {
            sql::execute(MAIN, "create table if not exists probe (id int primary key)", &[])?;
        }
        if vu::env("MODE").as_deref() == Some("backend") {
            sql::execute(MAIN, "create table if not exists seen (vu int, pid int)", &[])?;
        }
        if vu::env("MODE").as_deref() == Some("shared") {
            sql::execute(MAIN, "insert into probe (id) values ($1)", &[&0_i64])?;
        }
        Ok(String::new())
    }

    fn init(_setup_data: &str) -> vespid_sdk::Result<Self> {
        Ok(Probe { mode: vu::env("MODE").unwrap_or_default(), kept: None })
    }

    fn run(&mut self, _task: &str) -> vespid_sdk::Result {
        // A key no other VU or iteration uses.
        let key = i64::from(vu::id()) * 1_000_000 + i64::from(vu::iteration());
        match self.mode.as_str() {
            "unknown" => {
                let err = sql::query("nope", "select 1", &[]).expect_err("nope is not declared");
                let named = matches!(err.kind(), ErrorKind::UnknownDatasource(message) if message.contains("main"));
                check("unknown datasource named", named);
            }
            "constraint" => {
                let result = sql::transaction(MAIN, |tx| {
                    tx.execute("insert into probe (id) values ($1)", &[&key])?;
                    tx.execute("insert into probe (id) values ($1)", &[&key])
                });
                let violated =
                    matches!(result.as_ref().map_err(|err| err.kind()), Err(ErrorKind::ConstraintViolation(_)));
                check("constraint violation", violated);
            }
            "keep" if vu::iteration() == 0 => {
                let tx = sql::Transaction::begin(MAIN)?;
                tx.execute("insert into probe (id) values ($1)", &[&key])?;
                self.kept = Some(tx);
            }
            "keep" => {
                let kept = self.kept.as_ref().ok_or("no transaction kept")?;
                let err = kept.execute("insert into probe (id) values ($1)", &[&key]).expect_err("finished");
                check("finished with its iteration", matches!(err.kind(), ErrorKind::TransactionFinished));
            }
            "drop" => {
                let tx = sql::Transaction::begin(MAIN)?;
                tx.execute("insert into probe (id) values ($1)", &[&key])?;
            }
            "shared" => {
                let rows = sql::query(MAIN, "select count(*) as n from probe", &[])?;
                check("sees setup's row", rows.first().and_then(|row| row.get::<i64>("n")) == Some(1));
            }
            "types" => {
                let given = [
                    Value::Null,
                    Value::Integer(-7),
                    Value::Float(2.5),
                    Value::Text("ünïcode".into()),
                    Value::Bytes(vec![0, 255, 7]),
                ];
                let params: Vec<&dyn sql::ToValue> = given.iter().map(|value| value as &dyn sql::ToValue).collect();
                let rows = sql::query(MAIN, "select $1 as a, $2 as b, $3 as c, $4 as d, $5 as e", &params)?;
                let row = rows.first().ok_or("no row")?;
                check("values round-trip", rows.columns() == ["a", "b", "c", "d", "e"] && row.values() == given);
            }
            "backend" => {
                let me = i64::from(vu::id());
                sql::execute(MAIN, "insert into seen (vu, pid) values ($1, pg_backend_pid())", &[&me])?;
            }
            "aborted" => {
                let tx = sql::Transaction::begin(MAIN)?;
                tx.execute("insert into probe (id) values ($1)", &[&key])?;
                let _ = tx.execute("insert into probe (id) values ($1)", &[&key]).expect_err("a duplicate");
                let refused = tx.commit().expect_err("an aborted transaction does not commit");
                let told =
                    matches!(refused.kind(), ErrorKind::Query(detail) if detail.code.as_deref() == Some("25P02"));
                check("commit refused", told);
            }
            "flood" => {
                let huge = "with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000000) \
                            select i, 'a row of padding text' from n";
                let err = sql::query(MAIN, huge, &[]).expect_err("too big for the VU");
                let refused = matches!(err.kind(), ErrorKind::Query(detail) if detail.message.contains("memory limit"));
                check("flood refused", refused);
            }
            other => return Err(format!("unknown MODE {other:?}").into()),
        }
        Ok(())
    }
}

vespid_sdk::export!(Probe);
