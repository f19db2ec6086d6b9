//! The built-in metrics, with k6's names, kinds and units. Their ids are
//! fixed: the registry is seeded with [`BUILTIN`] in this order.

use super::{MetricId, MetricKind, Unit};

macro_rules! builtins {
    ($($id:ident = $index:literal: $name:literal, $kind:ident, $unit:ident;)*) => {
        $(
            #[doc = concat!("`", $name, "`")]
            pub const $id: MetricId = MetricId::new($index, MetricKind::$kind);
        )*
        /// Every built-in metric as (name, kind, unit), indexed by id.
        pub const BUILTIN: &[(&str, MetricKind, Unit)] = &[$(($name, MetricKind::$kind, Unit::$unit)),*];
    };
}

builtins! {
    HTTP_REQS = 0: "http_reqs", Counter, Plain;
    HTTP_REQ_DURATION = 1: "http_req_duration", Trend, Time;
    HTTP_REQ_BLOCKED = 2: "http_req_blocked", Trend, Time;
    HTTP_REQ_CONNECTING = 3: "http_req_connecting", Trend, Time;
    HTTP_REQ_TLS_HANDSHAKING = 4: "http_req_tls_handshaking", Trend, Time;
    HTTP_REQ_SENDING = 5: "http_req_sending", Trend, Time;
    HTTP_REQ_WAITING = 6: "http_req_waiting", Trend, Time;
    HTTP_REQ_RECEIVING = 7: "http_req_receiving", Trend, Time;
    HTTP_REQ_FAILED = 8: "http_req_failed", Rate, Plain;
    DATA_SENT = 9: "data_sent", Counter, Data;
    DATA_RECEIVED = 10: "data_received", Counter, Data;
    ITERATIONS = 11: "iterations", Counter, Plain;
    ITERATION_DURATION = 12: "iteration_duration", Trend, Time;
    ITERATIONS_FAILED = 13: "iterations_failed", Rate, Plain;
    VUS = 14: "vus", Gauge, Plain;
    VUS_MAX = 15: "vus_max", Gauge, Plain;
    CHECKS = 16: "checks", Rate, Plain;
    DROPPED_ITERATIONS = 17: "dropped_iterations", Counter, Plain;
    ITERATION_START_DELAY = 18: "iteration_start_delay", Trend, Time;
    INTERRUPTED_ITERATIONS = 19: "interrupted_iterations", Counter, Plain;
    SQL_QUERIES = 20: "sql_queries", Counter, Plain;
    SQL_QUERY_DURATION = 21: "sql_query_duration", Trend, Time;
    SQL_QUERY_FAILED = 22: "sql_query_failed", Rate, Plain;
    SQL_POOL_WAIT = 23: "sql_pool_wait", Trend, Time;
    SQL_ROWS = 24: "sql_rows", Counter, Plain;
    SQL_TRANSACTIONS = 25: "sql_transactions", Counter, Plain;
    SQL_TRANSACTION_DURATION = 26: "sql_transaction_duration", Trend, Time;
    PERMISSION_DENIALS = 27: "permission_denials", Counter, Plain;
    TCP_CONNECTIONS = 28: "tcp_connections", Counter, Plain;
    TCP_CONNECTING = 29: "tcp_connecting", Trend, Time;
    TCP_CONNECT_FAILED = 30: "tcp_connect_failed", Rate, Plain;
    TCP_SESSION_DURATION = 31: "tcp_session_duration", Trend, Time;
    TCP_DATA_SENT = 32: "tcp_data_sent", Counter, Data;
    TCP_DATA_RECEIVED = 33: "tcp_data_received", Counter, Data;
}

/// The tag that names a check in the `checks` rate.
pub const CHECK_TAG: &str = "check";

/// k6's tag on HTTP samples: "true" when the status was one the request
/// expected (`http_req_duration{expected_response:true}`).
pub const EXPECTED_RESPONSE_TAG: &str = "expected_response";

/// k6's group tag: the path of the groups a sample was made in
/// (`::outer::inner`), absent outside any group.
pub const GROUP_TAG: &str = "group";

/// The tag naming the plugin version (a digest of its file) a sample came
/// from, so results tell hot-reloaded versions apart.
pub const PLUGIN_VERSION_TAG: &str = "plugin_version";
