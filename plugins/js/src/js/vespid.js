// vespid: the whole scenario world for JavaScript with the Rust SDK's
// shape (http, metrics, log, vu, data, sql, check, sleep), for scripts written
// for Vespid rather than carried over from k6. sdk/js/vespid.d.ts
// documents it.
import { native, refuseInInitContext, wire as wireRequest, headerObject, keep } from 'vespid:state';

/** A request that got no response: `kind` names the WIT error case. */
export class HttpError extends Error {
  // Made by the host (`vespid:native`), like Response.
  constructor(spec, message, code, kind) {
    super(message);
    this.name = 'HttpError';
    /** 'timeout', 'connectionRefused', 'connectionReset', 'dns', 'tls', 'invalidUrl', 'tooManyRedirects', 'other' or 'denied'. */
    this.kind = kind;
    /** k6's error code for the same failure (1050 for a timeout, ...). */
    this.code = code;
  }
}

class Response {
  // Made by the host (`vespid:native`): headers arrive as lines, made an
  // object on first use.
  constructor(spec, status, body, url, headers, blocked, connecting, tls_handshaking, sending, waiting, receiving, duration) {
    this.status = status;
    this.body = body === null ? '' : body; // discarded: '' here, null in k6
    this.url = url;
    this.timings = { blocked, connecting, tls_handshaking, sending, waiting, receiving, duration };
    this._headers = headers;
  }

  get headers() {
    return keep(this, 'headers', headerObject(this._headers));
  }

  /** The value of header `name`, whatever its case (repeated headers joined by ', '). */
  header(name) {
    const lower = String(name).toLowerCase();
    const key = Object.keys(this.headers).find((header) => header.toLowerCase() === lower);
    return key === undefined ? undefined : this.headers[key];
  }

  json() {
    return JSON.parse(this.body);
  }
}

/** A status range in any of the accepted forms: 404, [200, 299] or { min, max }. */
function statusRange(range) {
  if (typeof range === 'number') return [range, range];
  if (Array.isArray(range)) return [range[0], range[1]];
  if (range && typeof range === 'object') return [range.min, range.max];
  throw new TypeError('expectedStatuses takes status codes, [min, max] pairs and { min, max } ranges');
}

/** The request as `vespid:native` takes it. */
function wire(request) {
  if (!request || !request.url) throw new TypeError('a request needs at least a url');
  const headers = Array.isArray(request.headers)
    ? request.headers.map(([name, value]) => [String(name), String(value)])
    : Object.entries(request.headers || {}).map(([name, value]) => [name, String(value)]);
  let body = request.body;
  if (request.json !== undefined) {
    body = JSON.stringify(request.json);
    if (!headers.some(([name]) => name.toLowerCase() === 'content-type')) headers.push(['Content-Type', 'application/json']);
  }
  return wireRequest(
    String(request.method || 'GET').toUpperCase(),
    String(request.url),
    headers,
    body,
    request.name,
    request.tags,
    request.timeoutMs,
    request.maxRedirects,
    request.expectedStatuses && request.expectedStatuses.map(statusRange),
    !!request.discardBody,
    !!request.binary,
  );
}

export const http = {
  /** Sends one request; throws an HttpError when no response came. */
  send(request) {
    refuseInInitContext();
    const outcome = native.send(wire(request), Response, HttpError);
    if (outcome instanceof HttpError) throw outcome;
    return outcome;
  },
  /**
   * Sends one request, leaving to the script whether its answer failed:
   * returns [response, verdict]; `verdict.success()` or `verdict.failure()`
   * decides, else its status when the iteration ends. Throws an HttpError
   * when no response came (always failed).
   */
  sendUnsettled(request) {
    refuseInInitContext();
    const outcome = native.sendUnsettled(wire(request), Response, HttpError);
    if (outcome instanceof HttpError) throw outcome;
    const [response, id] = outcome;
    return [response, { success: () => native.settle(id, false), failure: () => native.settle(id, true) }];
  },
  /** Sends requests concurrently; each entry is a response or an HttpError (not thrown). */
  batch(requests) {
    refuseInInitContext();
    return native.batch(requests.map(wire), Response, HttpError);
  },
  get(url, options) {
    return http.send(Object.assign({}, options, { method: 'GET', url }));
  },
  post(url, body, options) {
    return http.send(Object.assign({}, options, { method: 'POST', url, body }));
  },
};

export const metrics = {
  counter: (name, value, tags) => native.counterAdd(name, value, tags),
  gauge: (name, value, tags) => native.gaugeSet(name, value, tags),
  trend: (name, value, tags) => native.trendAdd(name, value, tags),
  rate: (name, passed, tags) => native.rateAdd(name, !!passed, tags),
  check: (name, passed, tags) => native.check(name, !!passed, tags),
};

/** Records check `name` and returns `passed`, so a script can branch on it. */
export const check = metrics.check;

const level = (number) => (message) => native.log(number, String(message));
export const log = { trace: level(0), debug: level(1), info: level(2), warn: level(3), error: level(4) };

/** Pauses this VU for `ms` milliseconds (think time) without holding a thread. */
export const sleep = (ms) => native.sleep(Number(ms));

export const vu = {
  id: () => native.vuId(),
  iteration: () => native.iteration(),
  scenarioIteration: () => native.scenarioIteration(),
  activeVus: () => native.activeVus(),
  abortTest: (reason) => native.abortTest(reason === undefined ? '' : String(reason)),
  stop: () => native.stopVu(),
  scenario: () => native.scenario(),
  env: (key) => __ENV[key],
  envAll: () => Object.assign({}, __ENV),
  sleep,
};

/** A data set's value, or a ReferenceError naming the set. */
function known(set, value) {
  if (value === undefined) throw new ReferenceError(`no data set named ${JSON.stringify(set)}`);
  return value;
}

export const data = {
  columns: (set) => known(set, native.dataColumns(set)),
  len: (set) => known(set, native.dataLen(set)),
  get: (set, index) => native.dataGet(set, index),
  forVu: (set) => native.dataForVu(set),
  random: (set) => native.dataRandom(set),
};

/** A statement or transaction that failed: `kind` names the WIT case, `code` is the SQLSTATE. */
export class SqlError extends Error {
  constructor([kind, message, code]) {
    super(message);
    this.name = 'SqlError';
    /** 'unknown-datasource', 'connection', 'query', 'constraint-violation', 'timeout', 'pool-exhausted', 'transaction-finished', 'unsupported-type' or 'denied'. */
    this.kind = kind;
    /** The database's SQLSTATE (PostgreSQL) or result code (SQLite), when it gave one. */
    this.code = code === null ? undefined : code;
  }
}

/** The value of a native SQL call, or its SqlError thrown. */
function sqlAnswer([ok, value]) {
  if (!ok) throw new SqlError(value);
  return value;
}

/** Rows as objects by column name, with `columns` in order. */
function sqlRows([columns, rows]) {
  const objects = rows.map((values) => Object.fromEntries(columns.map((column, i) => [column, values[i]])));
  objects.columns = columns;
  return objects;
}

const sqlArgs = (params, options) => [Array.from(params || []), options && options.name];

/** An open transaction; `sql.transaction` ends it for you. */
class Transaction {
  constructor(handle) {
    this._handle = handle;
  }
  query(statement, params, options) {
    return sqlRows(sqlAnswer(native.sqlInTransaction(this._handle, 'query', statement, ...sqlArgs(params, options))));
  }
  execute(statement, params, options) {
    return sqlAnswer(native.sqlInTransaction(this._handle, 'execute', statement, ...sqlArgs(params, options)));
  }
  commit() {
    sqlAnswer(native.sqlInTransaction(this._handle, 'commit'));
  }
  rollback() {
    sqlAnswer(native.sqlInTransaction(this._handle, 'rollback'));
  }
}

export const sql = {
  /** Runs a statement (`$1`, `$2`… placeholders) and returns its rows. */
  query: (datasource, statement, params, options) =>
    sqlRows(sqlAnswer(native.sqlRun(datasource, 'query', statement, ...sqlArgs(params, options)))),
  /** Runs a statement and returns how many rows it changed. */
  execute: (datasource, statement, params, options) =>
    sqlAnswer(native.sqlRun(datasource, 'execute', statement, ...sqlArgs(params, options))),
  /** Begins a transaction; left open, it is rolled back when the iteration ends. */
  begin: (datasource) => new Transaction(sqlAnswer(native.sqlBegin(datasource))),
  /** Runs `body(tx)` in a transaction: committed when it returns, rolled back when it throws. */
  transaction(datasource, body) {
    const tx = sql.begin(datasource);
    let value;
    try {
      value = body(tx);
    } catch (error) {
      try {
        tx.rollback();
      } catch (_) {
        // the body's error is the one to see
      }
      throw error;
    }
    tx.commit();
    return value;
  },
};

export default { http, metrics, log, vu, data, sql, check, sleep, HttpError, SqlError };
