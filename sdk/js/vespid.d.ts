// TypeScript declarations of the `vespid` module: Vespid-native JavaScript
// scenarios, run by `vespid run script.js` on the built-in QuickJS runtime.

/**
 * The `vespid` module: every capability of the scenario world (HTTP,
 * metrics, log, VU facts, shared data sets, SQL) under JavaScript names.
 *
 * A script's lifecycle, by its exports:
 * - top-level code runs once per VU while the script loads (no requests there);
 * - `export function setup()` runs once per run; its JSON-able result is
 *   handed to `init`, every task and `teardown`;
 * - `export function init(data)` runs once per VU after the script loads
 *   (Locust's `on_start`);
 * - `export default function (data)` is the iteration, unless
 *   `export const tasks = { browse: 3, buy: 1 }` names exported functions
 *   and their weights: each iteration then runs one of them, picked by weight
 *   (an exported function left out weighs 0; a name that is no exported
 *   function stops the run while the script loads);
 * - `export function vuEnd(data)` runs once when a VU ends with its state
 *   intact (Locust's `on_stop`): at the end of its scenario, or after
 *   `vu.stop()`;
 * - `export function teardown(data)` runs once at the end.
 */
declare module 'vespid' {
  /** Status codes that count as expected: a code, `[min, max]` or `{ min, max }` (both included). */
  export type StatusRange = number | [number, number] | { min: number; max: number };

  /** One request. Only `url` is required. */
  export interface Request {
    /** GET unless set; any token is accepted (e.g. "PROPFIND"). */
    method?: string;
    /** An absolute `http://` or `https://` URL. */
    url: string;
    /** Header fields, as an object or as ordered `[name, value]` pairs (names may repeat). */
    headers?: Record<string, string | number> | [string, string][];
    /** The body: text (sent as UTF-8) or bytes. */
    body?: string | ArrayBuffer;
    /** A value sent as JSON; sets `Content-Type: application/json` unless a header says otherwise. */
    json?: unknown;
    /** The `name` tag of the request's metrics; default: the URL without its query string. */
    name?: string;
    /** Extra tags for the request's metrics. */
    tags?: Record<string, string | number | boolean>;
    /** Timeout of each hop in milliseconds; default: the run's `--http-timeout` (60 s). */
    timeoutMs?: number;
    /** Redirects to follow; default: the run's `--max-redirects` (10). 0 returns the 3xx itself. */
    maxRedirects?: number;
    /** Statuses that do not count in `http_req_failed`; default 200–399. */
    expectedStatuses?: StatusRange[];
    /** Read the body but do not hand it to the script (k6's `discardResponseBodies`): `body` is ''. */
    discardBody?: boolean;
    /** Hand the body over as an ArrayBuffer rather than text. */
    binary?: boolean;
  }

  /** k6's request phases, in milliseconds. */
  export interface Timings {
    blocked: number;
    connecting: number;
    tls_handshaking: number;
    sending: number;
    waiting: number;
    receiving: number;
    /** sending + waiting + receiving. */
    duration: number;
  }

  /** The final response, after any redirects. */
  export interface Response {
    status: number;
    /** Headers by canonical name (`Content-Type`); a repeated header's values joined by ', '. */
    headers: Record<string, string>;
    /** Text, an ArrayBuffer when the request asked for `binary`, '' when it asked to discard it. */
    body: string | ArrayBuffer;
    /** The request's URL, or where redirects led. */
    url: string;
    timings: Timings;
    /** A header's value, whatever the case of `name`. */
    header(name: string): string | undefined;
    /** The body parsed as JSON. */
    json(): any;
  }

  /** Why a request got no response. */
  export type HttpErrorKind =
    | 'timeout'
    | 'connectionRefused'
    | 'connectionReset'
    | 'dns'
    | 'tls'
    | 'invalidUrl'
    | 'tooManyRedirects'
    | 'other'
    /** The run does not grant the origin (`allowed-hosts`), or a redirect's; nothing was sent. */
    | 'denied';

  /** Thrown by `http.send` (and returned in `http.batch`'s list) when no response came. */
  export class HttpError extends Error {
    readonly kind: HttpErrorKind;
    /** k6's error code for the same failure (1050 timeout, 1212 connection refused, 1111 denied, ...). */
    readonly code: number;
  }

  /** HTTP made and measured by the host (k6's `http_req_*` metrics); each VU has its own connections and cookie jar. */
  export const http: {
    /** Sends one request; throws an HttpError when no response came. */
    send(request: Request): Response;
    /**
     * Sends one request, leaving to the script whether its answer failed
     * (WIT 0.1.2 `send-unsettled`): its metrics wait for the verdict's
     * `success()` or `failure()` (false when already given), else its status
     * decides when the iteration ends. Throws an HttpError when no response came.
     */
    sendUnsettled(request: Request): [Response, { success(): boolean; failure(): boolean }];
    /** Sends requests concurrently on extra connections of this VU; results in order. */
    batch(requests: Request[]): (Response | HttpError)[];
    /** `send({ ...options, method: 'GET', url })`. */
    get(url: string, options?: Omit<Request, 'url' | 'method'>): Response;
    /** `send({ ...options, method: 'POST', url, body })`. */
    post(url: string, body?: string | ArrayBuffer, options?: Omit<Request, 'url' | 'method' | 'body'>): Response;
  };

  /** Metric tags; the host adds `scenario`. */
  export type Tags = Record<string, string | number | boolean>;

  /**
   * Custom metrics, aggregated by the host beside the built-in ones and
   * usable in thresholds. Names: ASCII letters, digits and `_`, starting
   * with a letter, at most 128 characters; a name keeps its first kind.
   */
  export const metrics: {
    /** Adds `value` to a counter (summary: count and rate per second). */
    counter(name: string, value: number, tags?: Tags): void;
    /** Sets a gauge (summary: last value, min and max). */
    gauge(name: string, value: number, tags?: Tags): void;
    /** Adds a sample (>= 0; times in ms) to a trend (summary: avg, min, med, max, p(90), p(95)). */
    trend(name: string, value: number, tags?: Tags): void;
    /** Adds a true/false sample to a rate (summary: share of true). */
    rate(name: string, passed: boolean, tags?: Tags): void;
    /** Records check `name` in the built-in `checks` rate; returns `passed`. */
    check(name: string, passed: boolean, tags?: Tags): boolean;
  };

  /** Records check `name` (`metrics.check`) and returns `passed`, so a script can branch on it. */
  export function check(name: string, passed: boolean, tags?: Tags): boolean;

  /** Log lines, printed by the host with the VU's id and scenario; lines below the run's level are dropped. */
  export const log: {
    trace(message: string): void;
    debug(message: string): void;
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
  };

  /** Pauses this VU for `ms` milliseconds without holding a thread (think time). */
  export function sleep(ms: number): void;

  /** Facts about the calling VU and the run's configuration. */
  export const vu: {
    /** This VU's number, from 1, unique within the run. */
    id(): number;
    /** This VU's current iteration, from 0. */
    iteration(): number;
    /** The current iteration's number within the scenario, from 0, unique across its VUs. */
    scenarioIteration(): number;
    /** VUs taking part in the run right now, over all scenarios. */
    activeVus(): number;
    /**
     * Stops the whole test: no VU starts another iteration, teardown runs
     * and the run exits with code 108 naming `reason`. The calling
     * iteration goes on until it returns.
     */
    abortTest(reason?: string): void;
    /** Ends this VU once the iteration returns (Locust's `StopUser`): no more iterations; `vuEnd` runs; the other VUs go on. */
    stop(): void;
    /** The name of the scenario the VU belongs to. */
    scenario(): string;
    /** A value the run supplied with `--env KEY=VALUE`; never the host's own environment. */
    env(key: string): string | undefined;
    /** Every run-supplied variable. */
    envAll(): Record<string, string>;
    /** Pauses this VU for `ms` milliseconds (same as `sleep`). */
    sleep(ms: number): void;
  };

  /** A row: a CSV row's fields in column order, or one JSON lines row's text. */
  export type Row = string[];

  /**
   * Read-only data sets the run declares (`--data NAME=FILE`, CSV or JSON
   * lines), loaded once by the host and shared by every VU. An unknown set
   * throws a ReferenceError; an index past the end a RangeError; a set the
   * run does not grant an Error named 'PermissionError' whose `permission`
   * is 'data'.
   */
  export const data: {
    /** The CSV header's column names; empty for JSON lines. */
    columns(set: string): string[];
    /** The number of rows (at least 1). */
    len(set: string): number;
    /** Row `index`, from 0. */
    get(set: string, index: number): Row;
    /** This VU's own row: row (id - 1) mod len. */
    forVu(set: string): Row;
    /** A row picked at random (each VU's generator is seeded from its id). */
    random(set: string): Row;
  };

  /** A SQL parameter or column value (timestamps, numerics, UUIDs and JSON come back as text; integers beyond 2^53 as BigInt). */
  export type SqlValue = null | boolean | number | bigint | string | ArrayBuffer;

  /** Rows as objects by column name, with the column names in order. */
  export type SqlRows = Record<string, SqlValue>[] & { columns: string[] };

  /** `name`: the `name` tag of the statement's metrics (default: its operation and first table). */
  export interface SqlOptions {
    name?: string;
  }

  /** A statement or transaction that failed. */
  export class SqlError extends Error {
    /** 'unknown-datasource', 'connection', 'query', 'constraint-violation', 'timeout', 'pool-exhausted', 'transaction-finished', 'unsupported-type' or 'denied' (a datasource the run does not grant). */
    readonly kind: string;
    /** The database's SQLSTATE (PostgreSQL) or result code (SQLite), when it gave one. */
    readonly code?: string;
  }

  /** An open transaction on one connection. */
  export interface SqlTransaction {
    query(statement: string, params?: SqlValue[], options?: SqlOptions): SqlRows;
    execute(statement: string, params?: SqlValue[], options?: SqlOptions): number;
    commit(): void;
    rollback(): void;
  }

  /**
   * Statements on the run's datasources (`[datasources.NAME]`, `--datasource
   * NAME=URL`), with `$1`, `$2`… placeholders; measured by the host
   * (`sql_queries`, `sql_query_duration`, …). Failures throw SqlError.
   */
  export const sql: {
    query(datasource: string, statement: string, params?: SqlValue[], options?: SqlOptions): SqlRows;
    /** Returns how many rows the statement changed. */
    execute(datasource: string, statement: string, params?: SqlValue[], options?: SqlOptions): number;
    /** Left open, a transaction is rolled back when the iteration ends. */
    begin(datasource: string): SqlTransaction;
    /** Runs `body` in a transaction: committed when it returns, rolled back when it throws. */
    transaction<T>(datasource: string, body: (tx: SqlTransaction) => T): T;
  };

  const vespid: {
    http: typeof http;
    metrics: typeof metrics;
    log: typeof log;
    vu: typeof vu;
    data: typeof data;
    sql: typeof sql;
    check: typeof check;
    sleep: typeof sleep;
    HttpError: typeof HttpError;
    SqlError: typeof SqlError;
  };
  export default vespid;
}
