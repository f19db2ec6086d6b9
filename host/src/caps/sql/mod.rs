//! The WIT `sql` interface: statements and transactions on the run's
//! datasources, measured here like HTTP (`sql_queries`,
//! `sql_query_duration`, `sql_query_failed`, `sql_pool_wait`, `sql_rows`,
//! `sql_transactions`, `sql_transaction_duration`; tagged `datasource`,
//! `operation`, `name`). `datasource` owns the pools (one per datasource
//! per run, shared by the VUs), `driver` one statement on one connection
//! per database, `error` the WIT errors, `label` the statement's tags.

mod datasource;
mod driver;
mod error;
mod label;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::Postgres;
use sqlx::sqlite::Sqlite;
use sqlx::{Database, IntoArguments};
use tokio_util::task::AbortOnDropHandle;
use wasmtime::component::Resource;

use self::datasource::Pool;
pub use self::datasource::{DEFAULT_ACQUIRE_TIMEOUT, DatasourceSpec, Datasources, SqlSetupError};
use self::driver::{Driver, Outcome};
use super::VuState;
use super::grants::Gate;
use crate::bindings::sql::{DatabaseError, Host, HostTransaction, Rows, SqlError, Statement};
use crate::metrics::{Recorder, Sample, names};

/// One VU's view of the run's datasources.
pub struct SqlCtx {
    datasources: Arc<Datasources>,
    recorder: Recorder,
    gate: Gate,
    /// The transactions begun this iteration, open or not.
    begun: Vec<Slot>,
    /// This VU's own connection of each per-VU datasource it used.
    own: BTreeMap<String, Pool>,
    /// The most bytes of rows one query may bring in: the VU's memory limit.
    max_result_bytes: usize,
}

/// A transaction's connection while it is open; emptied by commit,
/// rollback, its handle's drop or the end of the iteration.
type Slot = Arc<Mutex<Option<Open>>>;

/// The `transaction` resource: its slot.
pub struct OpenTransaction(Slot);

/// An open transaction.
struct Open {
    held: Held,
    datasource: String,
    began: Instant,
    /// A statement in it failed on PostgreSQL, which then aborts the whole
    /// transaction: its COMMIT would roll back.
    aborted: bool,
}

/// The transaction a connection is inside, by driver: rolled back if
/// dropped before commit or rollback (sqlx sends the rollback before the
/// pool reuses the connection).
enum Held {
    Postgres(sqlx::Transaction<'static, Postgres>),
    Sqlite(sqlx::Transaction<'static, Sqlite>),
}

/// How a transaction ended, as its `outcome` tag.
#[derive(Clone, Copy)]
enum Ending {
    Commit,
    Rollback,
    /// Dropped, or still open when the iteration ended: rolled back.
    Abandoned,
    /// BEGIN, COMMIT or ROLLBACK itself failed.
    Failed,
}

impl Ending {
    fn tag(self) -> &'static str {
        match self {
            Ending::Commit => "commit",
            Ending::Rollback => "rollback",
            Ending::Abandoned => "abandoned",
            Ending::Failed => "failed",
        }
    }
}

impl SqlCtx {
    pub fn new(datasources: Arc<Datasources>, recorder: Recorder, gate: Gate, max_result_bytes: usize) -> Self {
        SqlCtx { datasources, recorder, gate, begun: Vec::new(), own: BTreeMap::new(), max_result_bytes }
    }

    /// Called when an iteration ended, however it ended: transactions
    /// still open are rolled back and counted as abandoned.
    pub fn end_iteration(&mut self) {
        for slot in std::mem::take(&mut self.begun) {
            let open = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(open) = open {
                self.transaction_ended(&open.datasource, open.began, Ending::Abandoned);
            }
        }
    }

    /// The pool a statement of this VU on `datasource` uses: the run's, or
    /// for a per-VU datasource the VU's own, made on first use.
    fn pool(&mut self, datasource: &str) -> Result<Pool, SqlError> {
        let (pool, per_vu) = self.datasources.pool(datasource)?;
        self.gate.datasource(datasource).map_err(|denial| SqlError::Denied(denial.into()))?;
        if !per_vu {
            return Ok(pool.clone());
        }
        Ok(self.own.entry(datasource.to_string()).or_insert_with(|| pool.one_connection()).clone())
    }

    /// One statement on its own pooled connection.
    async fn statement(&mut self, datasource: &str, statement: Statement, fetch: bool) -> Result<Outcome, SqlError> {
        let asked = Instant::now();
        let max_bytes = self.max_result_bytes;
        let (ran, statement) = match self.pool(datasource) {
            Err(err) => (Ran { result: Err(err), waited: None, executed: false }, statement),
            Ok(pool) => {
                off_fiber(move || async move {
                    let ran = match &pool {
                        Pool::Postgres(pool) => on_pool(pool, &statement, fetch, max_bytes).await,
                        Pool::Sqlite(pool) => on_pool(pool, &statement, fetch, max_bytes).await,
                    };
                    (ran, statement)
                })
                .await
            }
        };
        self.record_statement(datasource, &statement, asked, ran)
    }

    /// Records what a statement took (`asked`: before its connection was
    /// waited for, a wait left out of its duration) and did.
    fn record_statement(
        &self,
        datasource: &str,
        statement: &Statement,
        asked: Instant,
        ran: Ran,
    ) -> Result<Outcome, SqlError> {
        let name = statement.name.clone().unwrap_or_else(|| label::default_name(&statement.sql));
        let operation = label::operation(&statement.sql);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let error = ran.result.as_ref().err().map(error::error_tag);
        let pairs = [("datasource", datasource), ("operation", operation), ("name", name.as_str())];
        let tags = self.recorder.tags(pairs.into_iter().chain(error.map(|error| ("error", error))));
        let rows = ran.result.as_ref().map_or(0, |outcome| outcome.rows_touched);
        let mut samples = vec![
            Sample::new(names::SQL_QUERIES, 1.0),
            Sample::flag(names::SQL_QUERY_FAILED, error.is_some()),
            Sample::new(names::SQL_ROWS, rows as f64),
        ];
        if ran.executed {
            let took = asked.elapsed().saturating_sub(ran.waited.unwrap_or_default());
            samples.push(Sample::new(names::SQL_QUERY_DURATION, ms(took)));
        }
        if let Some(waited) = ran.waited {
            samples.push(Sample::new(names::SQL_POOL_WAIT, ms(waited)));
        }
        self.recorder.record(&tags, &samples);
        ran.result
    }

    /// A transaction's wait for its connection.
    fn waited(&self, datasource: &str, waited: Duration) {
        let tags = self.recorder.tags([("datasource", datasource), ("operation", "begin")]);
        self.recorder.record(&tags, &[Sample::new(names::SQL_POOL_WAIT, waited.as_secs_f64() * 1000.0)]);
    }

    /// `open` is dropped by the caller: a connection still inside its
    /// transaction rolls back on the way back to the pool.
    fn transaction_ended(&self, datasource: &str, began: Instant, ending: Ending) {
        let tags = self.recorder.tags([("datasource", datasource), ("outcome", ending.tag())]);
        let ms = began.elapsed().as_secs_f64() * 1000.0;
        self.recorder.record(
            &tags,
            &[Sample::new(names::SQL_TRANSACTIONS, 1.0), Sample::new(names::SQL_TRANSACTION_DURATION, ms)],
        );
    }
}

/// What became of a statement: its outcome, how long it waited for a
/// connection (none inside a transaction, which holds one), and whether
/// it reached the database at all (not when no connection came).
struct Ran {
    result: Result<Outcome, SqlError>,
    waited: Option<Duration>,
    executed: bool,
}

/// Runs the future `work` makes on a task of its own and waits for it.
/// A host call is polled on the calling VU's fiber stack, which the VU
/// keeps for its whole life with every page its deepest call touched:
/// sqlx's futures and polls are deep (44 KiB of stack per VU, against 12
/// for an HTTP request), so they run on a worker thread's stack instead.
/// `work` builds its future there too, and the task is aborted if the
/// call is dropped (a hard stop), as the future would have been.
async fn off_fiber<F>(work: impl FnOnce() -> F + Send + 'static) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = AbortOnDropHandle::new(tokio::spawn(async move { Box::pin(work()).await }));
    match task.await {
        Ok(output) => output,
        Err(err) => std::panic::resume_unwind(err.into_panic()),
    }
}

/// Runs `statement` on a connection of `pool`.
async fn on_pool<DB>(pool: &sqlx::Pool<DB>, statement: &Statement, fetch: bool, max_bytes: usize) -> Ran
where
    DB: Driver,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    let asked = Instant::now();
    let mut connection = match acquire(pool).await {
        Ok(connection) => connection,
        Err(err) => return Ran { result: Err(err), waited: Some(asked.elapsed()), executed: false },
    };
    let waited = Some(asked.elapsed());
    let result = driver::run::<DB>(&mut connection, &statement.sql, &statement.params, fetch, max_bytes).await;
    Ran { result, waited, executed: true }
}

/// A connection of `pool`. sqlx retries a refused connection until the
/// acquire timeout: a pool with room left then failed to reach the
/// database (connection), only a full one is exhausted.
async fn acquire<DB: Database>(pool: &sqlx::Pool<DB>) -> Result<sqlx::pool::PoolConnection<DB>, SqlError> {
    pool.acquire().await.map_err(|err| match err {
        sqlx::Error::PoolTimedOut if pool.size() < pool.options().get_max_connections() => {
            SqlError::Connection("no connection could be made within the acquire timeout".into())
        }
        other => error::from_sqlx(other),
    })
}

/// `BEGIN` on a connection of `pool`; the wait for the connection is
/// returned beside it.
async fn begin<DB: Database>(pool: &sqlx::Pool<DB>) -> Result<(sqlx::Transaction<'static, DB>, Duration), SqlError> {
    let asked = Instant::now();
    let connection = acquire(pool).await?;
    let waited = asked.elapsed();
    // `Pool::begin` would hide the wait for the connection: begin on the
    // one acquired (sqlx's own path; the version is pinned).
    let transaction = sqlx::Transaction::begin(connection, None).await.map_err(error::from_sqlx)?;
    Ok((transaction, waited))
}

/// `COMMIT` or `ROLLBACK`.
async fn finish<DB: Database>(transaction: sqlx::Transaction<'static, DB>, commit: bool) -> Result<(), SqlError> {
    let result = if commit { transaction.commit().await } else { transaction.rollback().await };
    result.map_err(error::from_sqlx)
}

fn rows(outcome: Outcome) -> Rows {
    Rows { columns: outcome.columns, rows: outcome.rows }
}

/// Rows affected, saturated to the WIT's u32.
fn affected(outcome: &Outcome) -> u32 {
    u32::try_from(outcome.rows_touched).unwrap_or(u32::MAX)
}

impl Host for VuState {
    async fn query(&mut self, datasource: String, statement: Statement) -> wasmtime::Result<Result<Rows, SqlError>> {
        self.clock.pause();
        let result = self.sql.statement(&datasource, statement, true).await;
        self.clock.resume();
        Ok(result.map(rows))
    }

    async fn execute(&mut self, datasource: String, statement: Statement) -> wasmtime::Result<Result<u32, SqlError>> {
        self.clock.pause();
        let result = self.sql.statement(&datasource, statement, false).await;
        self.clock.resume();
        Ok(result.map(|outcome| affected(&outcome)))
    }

    async fn begin(&mut self, datasource: String) -> wasmtime::Result<Result<Resource<OpenTransaction>, SqlError>> {
        self.clock.pause();
        let began = Instant::now();
        let held = match self.sql.pool(&datasource) {
            Err(err) => Err(err),
            Ok(pool) => {
                off_fiber(move || async move {
                    match pool {
                        Pool::Postgres(pool) => begin(&pool).await.map(|(tx, waited)| (Held::Postgres(tx), waited)),
                        Pool::Sqlite(pool) => begin(&pool).await.map(|(tx, waited)| (Held::Sqlite(tx), waited)),
                    }
                })
                .await
            }
        };
        self.clock.resume();
        let held = match held {
            Ok((held, waited)) => {
                self.sql.waited(&datasource, waited);
                held
            }
            Err(err) => {
                self.sql.transaction_ended(&datasource, began, Ending::Failed);
                return Ok(Err(err));
            }
        };
        let slot: Slot = Arc::new(Mutex::new(Some(Open { held, datasource, began, aborted: false })));
        // Ended ones are let go, so a loop of transactions in one iteration holds no more.
        self.sql.begun.retain(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).is_some());
        self.sql.begun.push(slot.clone());
        Ok(Ok(self.table.push(OpenTransaction(slot))?))
    }
}

impl VuState {
    /// Takes the transaction out of its slot for a call (so no lock is held
    /// across an await); `None` when it already ended.
    fn take_open(&mut self, handle: &Resource<OpenTransaction>) -> wasmtime::Result<Option<Open>> {
        let slot = &self.table.get(handle)?.0;
        Ok(slot.lock().unwrap_or_else(|e| e.into_inner()).take())
    }

    fn put_back(&mut self, handle: &Resource<OpenTransaction>, open: Open) -> wasmtime::Result<()> {
        *self.table.get(handle)?.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(open);
        Ok(())
    }

    async fn in_transaction(
        &mut self,
        handle: Resource<OpenTransaction>,
        statement: Statement,
        fetch: bool,
    ) -> wasmtime::Result<Result<Outcome, SqlError>> {
        let Some(open) = self.take_open(&handle)? else { return Ok(Err(SqlError::TransactionFinished)) };
        self.clock.pause();
        let asked = Instant::now();
        let limit = self.sql.max_result_bytes;
        let (mut open, statement, result) = off_fiber(move || async move {
            let mut open = open;
            let (sql, params) = (&statement.sql, &statement.params);
            let result = match &mut open.held {
                Held::Postgres(tx) => driver::run::<Postgres>(tx, sql, params, fetch, limit).await,
                Held::Sqlite(tx) => driver::run::<Sqlite>(tx, sql, params, fetch, limit).await,
            };
            (open, statement, result)
        })
        .await;
        self.clock.resume();
        open.aborted |= result.is_err() && matches!(open.held, Held::Postgres(_));
        let ran = Ran { result, waited: None, executed: true };
        let result = self.sql.record_statement(&open.datasource, &statement, asked, ran);
        self.put_back(&handle, open)?;
        Ok(result)
    }

    async fn end_transaction(
        &mut self,
        handle: Resource<OpenTransaction>,
        commit: bool,
    ) -> wasmtime::Result<Result<(), SqlError>> {
        let Some(open) = self.take_open(&handle)? else { return Ok(Err(SqlError::TransactionFinished)) };
        self.clock.pause();
        let Open { held, datasource, began, aborted } = open;
        // PostgreSQL would answer COMMIT of an aborted transaction with a
        // rollback and no error: roll back, and say why the commit failed.
        let commit_aborted = commit && aborted;
        let result = off_fiber(move || async move {
            match held {
                Held::Postgres(tx) => finish(tx, commit && !aborted).await,
                Held::Sqlite(tx) => finish(tx, commit).await,
            }
        })
        .await;
        self.clock.resume();
        let result = match result {
            Ok(()) if commit_aborted => Err(SqlError::Query(DatabaseError {
                message: "the transaction was rolled back, not committed: a statement in it failed".into(),
                code: Some("25P02".into()),
            })),
            other => other,
        };
        let ending = match (&result, commit) {
            (Err(_), _) => Ending::Failed,
            (Ok(()), true) => Ending::Commit,
            (Ok(()), false) => Ending::Rollback,
        };
        self.sql.transaction_ended(&datasource, began, ending);
        Ok(result)
    }
}

impl HostTransaction for VuState {
    async fn query(
        &mut self,
        handle: Resource<OpenTransaction>,
        statement: Statement,
    ) -> wasmtime::Result<Result<Rows, SqlError>> {
        Ok(self.in_transaction(handle, statement, true).await?.map(rows))
    }

    async fn execute(
        &mut self,
        handle: Resource<OpenTransaction>,
        statement: Statement,
    ) -> wasmtime::Result<Result<u32, SqlError>> {
        Ok(self.in_transaction(handle, statement, false).await?.map(|outcome| affected(&outcome)))
    }

    async fn commit(&mut self, handle: Resource<OpenTransaction>) -> wasmtime::Result<Result<(), SqlError>> {
        self.end_transaction(handle, true).await
    }

    async fn rollback(&mut self, handle: Resource<OpenTransaction>) -> wasmtime::Result<Result<(), SqlError>> {
        self.end_transaction(handle, false).await
    }

    async fn drop(&mut self, handle: Resource<OpenTransaction>) -> wasmtime::Result<()> {
        let OpenTransaction(slot) = self.table.delete(handle)?;
        let open = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(open) = open {
            self.sql.transaction_ended(&open.datasource, open.began, Ending::Abandoned);
        }
        Ok(())
    }
}
