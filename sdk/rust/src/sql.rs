//! SQL through the host's `sql` interface: statements on the datasources
//! the run names, rows with typed getters, and transactions. The host owns
//! the pools and measures every statement; this module only shapes values.
//! (The `sql` interface came in WIT 0.1.3.)
//!
//! ```no_run
//! use vespid_sdk::sql;
//!
//! # fn iteration() -> vespid_sdk::Result {
//! let id = 7_i64;
//! let rows = sql::query("main", "select abalance from pgbench_accounts where aid = $1", &[&id])?;
//! let balance: i64 = rows.first().and_then(|row| row.get("abalance")).unwrap_or_default();
//! sql::transaction("main", |tx| {
//!     tx.execute("update pgbench_accounts set abalance = abalance + $1 where aid = $2", &[&5_i64, &id])?;
//!     tx.execute("insert into pgbench_history (aid, delta) values ($1, $2)", &[&id, &5_i64])?;
//!     Ok::<_, sql::SqlError>(())
//! })?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::rc::Rc;

use crate::bindings::vespid::scenario::sql as wit;

pub use wit::{DatabaseError, SqlError as ErrorKind, Value};

/// Why a statement or transaction failed: [`ErrorKind`] (the WIT
/// `sql-error`) with a readable message.
#[derive(Debug, Clone)]
pub struct SqlError(ErrorKind);

impl SqlError {
    /// Which failure it is, to match on.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }
}

impl From<ErrorKind> for SqlError {
    fn from(kind: ErrorKind) -> Self {
        SqlError(kind)
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let database = |f: &mut fmt::Formatter<'_>, kind: &str, error: &DatabaseError| match &error.code {
            Some(code) => write!(f, "{kind}: {} (code {code})", error.message),
            None => write!(f, "{kind}: {}", error.message),
        };
        match &self.0 {
            ErrorKind::UnknownDatasource(message) => write!(f, "unknown datasource {message}"),
            ErrorKind::Connection(message) => write!(f, "connection failed: {message}"),
            ErrorKind::Query(error) => database(f, "query failed", error),
            ErrorKind::ConstraintViolation(error) => database(f, "constraint violation", error),
            ErrorKind::Timeout => f.write_str("statement timed out"),
            ErrorKind::PoolExhausted => f.write_str("no connection free within the pool's acquire timeout"),
            ErrorKind::TransactionFinished => f.write_str("the transaction was already committed or rolled back"),
            ErrorKind::UnsupportedType(message) => write!(f, "unsupported column type: {message}"),
            ErrorKind::Denied(denial) => f.write_str(&denial.message),
        }
    }
}

impl std::error::Error for SqlError {}

/// A Rust value usable as a statement parameter.
pub trait ToValue {
    /// The parameter's WIT value.
    fn to_value(&self) -> Value;
}

macro_rules! to_value {
    ($($ty:ty => $variant:ident($convert:expr)),* $(,)?) => {
        $(impl ToValue for $ty {
            fn to_value(&self) -> Value {
                Value::$variant($convert(self))
            }
        })*
    };
}

to_value! {
    bool => Boolean(|v: &bool| *v),
    i32 => Integer(|v: &i32| i64::from(*v)),
    i64 => Integer(|v: &i64| *v),
    u32 => Integer(|v: &u32| i64::from(*v)),
    f64 => Float(|v: &f64| *v),
    str => Text(|v: &str| v.to_string()),
    String => Text(|v: &String| v.clone()),
    [u8] => Bytes(|v: &[u8]| v.to_vec()),
    Vec<u8> => Bytes(|v: &Vec<u8>| v.clone()),
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (*self).to_value()
    }
}

/// `None` is SQL NULL.
impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

/// A column value read as a Rust type; `None` when it is NULL or of
/// another type (an integer reads as `f64` too).
pub trait FromValue: Sized {
    /// The value as `Self`, if it is one.
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Integer(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Float(v) => Some(*v),
            Value::Integer(v) => Some(*v as f64),
            _ => None,
        }
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Boolean(v) => Some(*v),
            Value::Integer(v) => Some(*v != 0),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bytes(v) => Some(v.clone()),
            _ => None,
        }
    }
}

/// One statement: SQL, its parameters, and optionally the `name` tag of
/// its metrics.
#[derive(Debug, Clone)]
pub struct Statement {
    inner: wit::Statement,
}

impl Statement {
    /// `sql` with its parameters in placeholder order.
    pub fn new(sql: impl Into<String>, params: &[&dyn ToValue]) -> Self {
        let params = params.iter().map(|param| param.to_value()).collect();
        Statement { inner: wit::Statement { sql: sql.into(), params, name: None } }
    }

    /// Names the statement in its metrics (default: its operation and first table).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.inner.name = Some(name.into());
        self
    }

    /// Runs it on `datasource` and returns its rows.
    pub fn query(&self, datasource: &str) -> Result<Rows, SqlError> {
        wit::query(datasource, &self.inner).map(Rows::from).map_err(SqlError)
    }

    /// Runs it on `datasource` and returns how many rows it changed.
    pub fn execute(&self, datasource: &str) -> Result<u32, SqlError> {
        wit::execute(datasource, &self.inner).map_err(SqlError)
    }
}

/// Runs `sql` on `datasource` and returns its rows.
pub fn query(datasource: &str, sql: &str, params: &[&dyn ToValue]) -> Result<Rows, SqlError> {
    Statement::new(sql, params).query(datasource)
}

/// Runs `sql` on `datasource` and returns how many rows it changed.
pub fn execute(datasource: &str, sql: &str, params: &[&dyn ToValue]) -> Result<u32, SqlError> {
    Statement::new(sql, params).execute(datasource)
}

/// What a query returned.
#[derive(Debug, Clone)]
pub struct Rows {
    columns: Rc<[String]>,
    rows: Vec<Vec<Value>>,
}

impl From<wit::Rows> for Rows {
    fn from(rows: wit::Rows) -> Self {
        Rows { columns: rows.columns.into(), rows: rows.rows }
    }
}

impl Rows {
    /// The column names in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `index`, from 0.
    pub fn row(&self, index: usize) -> Option<Row<'_>> {
        self.rows.get(index).map(|values| Row { columns: &self.columns, values })
    }

    /// The first row.
    pub fn first(&self) -> Option<Row<'_>> {
        self.row(0)
    }

    /// Every row in order.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|values| Row { columns: &self.columns, values })
    }
}

/// One row of [`Rows`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    columns: &'a [String],
    values: &'a [Value],
}

impl<'a> Row<'a> {
    /// Column `name` as `T`; `None` when there is no such column, it is
    /// NULL, or not a `T`.
    pub fn get<T: FromValue>(&self, name: &str) -> Option<T> {
        let index = self.columns.iter().position(|column| column == name)?;
        self.at(index)
    }

    /// Column `index` (from 0) as `T`.
    pub fn at<T: FromValue>(&self, index: usize) -> Option<T> {
        self.values.get(index).and_then(T::from_value)
    }

    /// The raw values in column order.
    pub fn values(&self) -> &'a [Value] {
        self.values
    }
}

/// An open transaction on one connection of a datasource.
pub struct Transaction {
    inner: wit::Transaction,
}

impl Transaction {
    /// Starts one on `datasource`. Dropping it without [`commit`](Self::commit)
    /// rolls it back.
    pub fn begin(datasource: &str) -> Result<Self, SqlError> {
        wit::begin(datasource).map(|inner| Transaction { inner }).map_err(SqlError)
    }

    /// Runs `sql` in the transaction and returns its rows.
    pub fn query(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Rows, SqlError> {
        self.query_statement(&Statement::new(sql, params))
    }

    /// Runs `sql` in the transaction and returns how many rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u32, SqlError> {
        self.execute_statement(&Statement::new(sql, params))
    }

    /// Runs a (named) statement in the transaction and returns its rows.
    pub fn query_statement(&self, statement: &Statement) -> Result<Rows, SqlError> {
        self.inner.query(&statement.inner).map(Rows::from).map_err(SqlError)
    }

    /// Runs a (named) statement in the transaction; how many rows it changed.
    pub fn execute_statement(&self, statement: &Statement) -> Result<u32, SqlError> {
        self.inner.execute(&statement.inner).map_err(SqlError)
    }

    /// Commits it.
    pub fn commit(self) -> Result<(), SqlError> {
        self.inner.commit().map_err(SqlError)
    }

    /// Rolls it back.
    pub fn rollback(self) -> Result<(), SqlError> {
        self.inner.rollback().map_err(SqlError)
    }
}

/// Runs `body` in a transaction on `datasource`: committed when it returns
/// `Ok`, rolled back when it returns `Err` (its error is returned).
pub fn transaction<T, E: From<SqlError>>(
    datasource: &str,
    body: impl FnOnce(&Transaction) -> Result<T, E>,
) -> Result<T, E> {
    let tx = Transaction::begin(datasource)?;
    match body(&tx) {
        Ok(value) => {
            tx.commit()?;
            Ok(value)
        }
        Err(error) => {
            // The body's error is the one to report; a failed rollback
            // leaves the host to roll the connection back.
            let _ = tx.rollback();
            Err(error)
        }
    }
}
