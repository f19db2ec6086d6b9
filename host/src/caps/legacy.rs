//! Plugins built against WIT 0.1.x: the 0.1.3 interfaces
//! (host/wit-legacy/0.1.3) linked to the 0.2 capabilities. Only the error
//! types changed (0.2 added `denied`); every other type is the 0.2 one,
//! which wasmtime checks against the plugin's types by structure. A
//! denial reaches a 0.1 plugin as the nearest 0.1 error — HTTP `other`,
//! data `unknown-set`, sql `unknown-datasource` — and is counted the same.

use wasmtime::component::{ComponentType, Lift, Linker, LinkerInstance, Lower, Resource, ResourceType};
use wasmtime::{Result, StoreContextMut};

use super::{OpenTransaction, VuState};
use crate::bindings::{LEGACY_WIT_VERSION, data, http, log, metrics, sql, vu};

/// `http.error` of 0.1.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
#[component(variant)]
enum HttpError {
    #[component(name = "timeout")]
    Timeout,
    #[component(name = "connection-refused")]
    ConnectionRefused(String),
    #[component(name = "connection-reset")]
    ConnectionReset(String),
    #[component(name = "dns")]
    Dns(String),
    #[component(name = "tls")]
    Tls(String),
    #[component(name = "invalid-url")]
    InvalidUrl(String),
    #[component(name = "too-many-redirects")]
    TooManyRedirects(u32),
    #[component(name = "other")]
    Other(String),
}

impl From<http::Error> for HttpError {
    fn from(error: http::Error) -> Self {
        use http::Error as E;
        match error {
            E::Timeout => Self::Timeout,
            E::ConnectionRefused(reason) => Self::ConnectionRefused(reason),
            E::ConnectionReset(reason) => Self::ConnectionReset(reason),
            E::Dns(reason) => Self::Dns(reason),
            E::Tls(reason) => Self::Tls(reason),
            E::InvalidUrl(reason) => Self::InvalidUrl(reason),
            E::TooManyRedirects(limit) => Self::TooManyRedirects(limit),
            E::Other(reason) => Self::Other(reason),
            E::Denied(denial) => Self::Other(denial.message),
        }
    }
}

/// `data.data-error` of 0.1.
#[derive(ComponentType, Lift, Lower, Debug, Clone, PartialEq)]
#[component(variant)]
enum DataError {
    #[component(name = "unknown-set")]
    UnknownSet(String),
    #[component(name = "out-of-range")]
    OutOfRange(u32),
}

impl DataError {
    /// The 0.1 error of a call on `set`: a denied set reads as unknown.
    fn of(set: &str, error: data::DataError) -> DataError {
        match error {
            data::DataError::UnknownSet(name) => DataError::UnknownSet(name),
            data::DataError::OutOfRange(len) => DataError::OutOfRange(len),
            data::DataError::Denied(_) => DataError::UnknownSet(set.to_string()),
        }
    }
}

/// `sql.sql-error` of 0.1.
#[derive(ComponentType, Lift, Lower, Debug, Clone)]
#[component(variant)]
enum SqlError {
    #[component(name = "unknown-datasource")]
    UnknownDatasource(String),
    #[component(name = "connection")]
    Connection(String),
    #[component(name = "query")]
    Query(sql::DatabaseError),
    #[component(name = "constraint-violation")]
    ConstraintViolation(sql::DatabaseError),
    #[component(name = "timeout")]
    Timeout,
    #[component(name = "pool-exhausted")]
    PoolExhausted,
    #[component(name = "transaction-finished")]
    TransactionFinished,
    #[component(name = "unsupported-type")]
    UnsupportedType(String),
}

impl From<sql::SqlError> for SqlError {
    fn from(error: sql::SqlError) -> Self {
        use sql::SqlError as E;
        match error {
            E::UnknownDatasource(message) => Self::UnknownDatasource(message),
            E::Connection(reason) => Self::Connection(reason),
            E::Query(detail) => Self::Query(detail),
            E::ConstraintViolation(detail) => Self::ConstraintViolation(detail),
            E::Timeout => Self::Timeout,
            E::PoolExhausted => Self::PoolExhausted,
            E::TransactionFinished => Self::TransactionFinished,
            E::UnsupportedType(message) => Self::UnsupportedType(message),
            E::Denied(denial) => Self::UnknownDatasource(denial.message),
        }
    }
}

type Store<'a> = StoreContextMut<'a, VuState>;

/// Links function `$wit` of `$instance` to the 0.2 `Host` method
/// `$host::$name` of the same signature; `-> ()` for one with no result.
macro_rules! forward {
    ($instance:ident, $wit:literal => $host:ident::$name:ident($($arg:ident: $ty:ty),*) -> ()) => {
        $instance.func_wrap($wit, |mut store: Store<'_>, ($($arg,)*): ($($ty,)*)| {
            $host::Host::$name(store.data_mut() $(, $arg)*)
        })?
    };
    ($instance:ident, $wit:literal => $host:ident::$name:ident($($arg:ident: $ty:ty),*)) => {
        $instance.func_wrap($wit, |mut store: Store<'_>, ($($arg,)*): ($($ty,)*)| {
            Ok(($host::Host::$name(store.data_mut() $(, $arg)*)?,))
        })?
    };
}

/// Adds the 0.1.3 interfaces to `linker` (plugins of 0.1.0 to 0.1.3 link
/// to them: wasmtime matches semver-compatible names).
pub fn add_to_linker(linker: &mut Linker<VuState>) -> Result<()> {
    let name = |interface: &str| format!("vespid:scenario/{interface}@{LEGACY_WIT_VERSION}");
    let mut instance = linker.instance(&name("metrics"))?;
    forward!(instance, "counter-add" => metrics::counter_add(name: String, value: f64, tags: Vec<(String, String)>) -> ());
    forward!(instance, "gauge-set" => metrics::gauge_set(name: String, value: f64, tags: Vec<(String, String)>) -> ());
    forward!(instance, "trend-add" => metrics::trend_add(name: String, value: f64, tags: Vec<(String, String)>) -> ());
    forward!(instance, "rate-add" => metrics::rate_add(name: String, value: bool, tags: Vec<(String, String)>) -> ());
    forward!(instance, "check" => metrics::check(name: String, passed: bool, tags: Vec<(String, String)>));

    let mut instance = linker.instance(&name("log"))?;
    forward!(instance, "write" => log::write(level: log::Level, message: String) -> ());

    let mut instance = linker.instance(&name("vu"))?;
    forward!(instance, "id" => vu::id());
    forward!(instance, "iteration" => vu::iteration());
    forward!(instance, "scenario" => vu::scenario());
    forward!(instance, "env" => vu::env(key: String));
    forward!(instance, "env-all" => vu::env_all());
    forward!(instance, "abort-test" => vu::abort_test(reason: String) -> ());
    forward!(instance, "scenario-iteration" => vu::scenario_iteration());
    forward!(instance, "active-vus" => vu::active_vus());
    forward!(instance, "stop" => vu::stop() -> ());
    instance.func_wrap_async("sleep", |mut store: Store<'_>, (ms,): (f64,)| {
        Box::new(async move { vu::Host::sleep(store.data_mut(), ms).await })
    })?;

    add_http(linker.instance(&name("http"))?)?;
    add_data(linker.instance(&name("data"))?)?;
    add_sql(linker.instance(&name("sql"))?)
}

fn add_http(mut instance: LinkerInstance<'_, VuState>) -> Result<()> {
    forward!(instance, "settle" => http::settle(id: u32, failed: bool));
    forward!(instance, "cookies-for" => http::cookies_for(url: String));
    forward!(instance, "set-cookie" => http::set_cookie(url: String, set_cookie: String));
    forward!(instance, "clear-cookies" => http::clear_cookies(url: String, name: Option<String>) -> ());
    instance.func_wrap_async("send", |mut store: Store<'_>, (request,): (http::Request,)| {
        Box::new(async move { Ok((http::Host::send(store.data_mut(), request).await?.map_err(HttpError::from),)) })
    })?;
    instance.func_wrap_async("send-unsettled", |mut store: Store<'_>, (request,): (http::Request,)| {
        Box::new(
            async move { Ok((http::Host::send_unsettled(store.data_mut(), request).await?.map_err(HttpError::from),)) },
        )
    })?;
    instance.func_wrap_async("batch", |mut store: Store<'_>, (requests,): (Vec<http::Request>,)| {
        Box::new(async move {
            let results = http::Host::batch(store.data_mut(), requests).await?;
            Ok((results.into_iter().map(|result| result.map_err(HttpError::from)).collect::<Vec<_>>(),))
        })
    })
}

/// Links data function `$wit` to the 0.2 call `$call` on a set (and
/// `$arg`s), its error made the 0.1 one.
macro_rules! data_call {
    ($instance:ident, $wit:literal => $call:ident($($arg:ident: $ty:ty),*) -> $ok:ty) => {
        $instance.func_wrap($wit, |mut store: Store<'_>, (set, $($arg,)*): (String, $($ty,)*)| {
            let result: std::result::Result<$ok, _> = data::Host::$call(store.data_mut(), set.clone() $(, $arg)*)?;
            Ok((result.map_err(|error| DataError::of(&set, error)),))
        })?
    };
}

fn add_data(mut instance: LinkerInstance<'_, VuState>) -> Result<()> {
    data_call!(instance, "columns" => columns() -> Vec<String>);
    data_call!(instance, "len" => len() -> u32);
    data_call!(instance, "get" => get(index: u32) -> Vec<String>);
    data_call!(instance, "for-vu" => for_vu() -> Vec<String>);
    data_call!(instance, "random" => random() -> Vec<String>);
    Ok(())
}

/// Links async sql function `$wit` to the 0.2 call `$trait::$call`, its
/// error made the 0.1 one.
macro_rules! sql_call {
    ($instance:ident, $wit:literal => $trait:ident::$call:ident($($arg:ident: $ty:ty),*)) => {
        $instance.func_wrap_async($wit, |mut store: Store<'_>, ($($arg,)*): ($($ty,)*)| {
            Box::new(async move { Ok((sql::$trait::$call(store.data_mut() $(, $arg)*).await?.map_err(SqlError::from),)) })
        })?
    };
}

fn add_sql(mut instance: LinkerInstance<'_, VuState>) -> Result<()> {
    instance.resource_async("transaction", ResourceType::host::<OpenTransaction>(), |mut store, rep| {
        Box::new(async move { sql::HostTransaction::drop(store.data_mut(), Resource::new_own(rep)).await })
    })?;
    type Tx = Resource<OpenTransaction>;
    sql_call!(instance, "query" => Host::query(datasource: String, statement: sql::Statement));
    sql_call!(instance, "execute" => Host::execute(datasource: String, statement: sql::Statement));
    sql_call!(instance, "begin" => Host::begin(datasource: String));
    sql_call!(instance, "[method]transaction.query" => HostTransaction::query(tx: Tx, statement: sql::Statement));
    sql_call!(instance, "[method]transaction.execute" => HostTransaction::execute(tx: Tx, statement: sql::Statement));
    sql_call!(instance, "[method]transaction.commit" => HostTransaction::commit(tx: Tx));
    sql_call!(instance, "[method]transaction.rollback" => HostTransaction::rollback(tx: Tx));
    Ok(())
}
