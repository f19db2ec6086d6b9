// k6/http on the host's measured HTTP client: every request is made,
// timed and recorded by the host with k6's metric names and tags.
import {
  native, parseDuration, refuseInInitContext, state, tagsWith, wire, headerObject, keep,
  WIRE_METHOD, WIRE_URL, WIRE_HEADERS, WIRE_BODY,
} from 'vespid:state';
import { send as nativeSend } from 'vespid:native';
import { b64encode } from 'k6/encoding';

/** An `http.expectedStatuses(...)` result: status ranges as [min, max]. */
class ExpectedStatuses {
  constructor(ranges) {
    this.ranges = ranges;
  }
}

export function expectedStatuses(...statuses) {
  const ranges = statuses.map((status) => {
    if (typeof status === 'number') return [status, status];
    if (status && typeof status.min === 'number' && typeof status.max === 'number') return [status.min, status.max];
    throw new TypeError('expectedStatuses takes status codes and {min, max} ranges');
  });
  return new ExpectedStatuses(ranges);
}

/** Which statuses count as expected for http_req_failed; null: every one. */
export function setResponseCallback(callback) {
  state.expected = expectedRanges(callback);
}

function expectedRanges(callback) {
  if (callback === null) return [[0, 65535]];
  if (callback === undefined) return undefined;
  if (callback instanceof ExpectedStatuses) return callback.ranges;
  throw new TypeError('a response callback must come from http.expectedStatuses (or be null)');
}

/** A template-tagged URL: the name tag is the template with ${} for each value. */
class TaggedURL {
  constructor(url, name) {
    this.url = url;
    this.name = name;
  }
  toString() {
    return this.url;
  }
}

export function url(strings, ...values) {
  let text = strings[0];
  let name = strings[0];
  values.forEach((value, index) => {
    text += String(value) + strings[index + 1];
    name += '${}' + strings[index + 1];
  });
  return new TaggedURL(text, name);
}

/** k6's `http.file`: a file part for a multipart body. */
export function file(data, filename, contentType) {
  return { data, filename: filename || 'file', content_type: contentType || 'application/octet-stream', __file: true };
}

function encodeForm(fields) {
  return Object.keys(fields)
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(fields[key])}`)
    .join('&');
}

function multipart(fields, headers) {
  const boundary = `----vespid${Math.random().toString(16).slice(2)}${Math.random().toString(16).slice(2)}`;
  let body = '';
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    body += `--${boundary}\r\n`;
    if (value && value.__file) {
      const data = typeof value.data === 'string' ? value.data : String.fromCharCode(...new Uint8Array(value.data));
      body += `Content-Disposition: form-data; name="${key}"; filename="${value.filename}"\r\n`;
      body += `Content-Type: ${value.content_type}\r\n\r\n${data}\r\n`;
    } else {
      body += `Content-Disposition: form-data; name="${key}"\r\n\r\n${value}\r\n`;
    }
  }
  body += `--${boundary}--\r\n`;
  headers.push(['Content-Type', `multipart/form-data; boundary=${boundary}`]);
  return body;
}

function hasHeader(headers, name) {
  const lower = name.toLowerCase();
  return headers.some(([key]) => key.toLowerCase() === lower);
}

/**
 * The request the host sends (state.js `wire`), from k6's (method, url,
 * body, params). `params.jar` needs nothing: the VU's one jar is always used.
 */
function spec(method, target, body, params) {
  // Every step costs in an interpreter: a request without params reads no
  // params at all.
  let address = target;
  let name;
  if (typeof address !== 'string') {
    if (target instanceof TaggedURL) {
      address = target.url;
      name = target.name;
    }
    address = String(address);
  }
  const headers = [];
  let tags;
  let timeout;
  let redirects;
  let responseType = state.responseType;
  let expected = state.expected;
  if (params) {
    if (params.headers) for (const key in params.headers) headers.push([key, String(params.headers[key])]);
    if (params.cookies) {
      const pairs = Object.keys(params.cookies).map((key) => {
        const cookie = params.cookies[key];
        return `${key}=${cookie && typeof cookie === 'object' ? cookie.value : cookie}`;
      });
      if (pairs.length) headers.push(['Cookie', pairs.join('; ')]);
    }
    tags = params.tags;
    if (tags && tags.name !== undefined) {
      name = String(tags.name);
      tags = Object.assign({}, tags);
      delete tags.name;
    }
    if (params.responseType) responseType = params.responseType;
    if (params.responseCallback !== undefined) expected = expectedRanges(params.responseCallback);
    if (params.timeout !== undefined) timeout = parseDuration(params.timeout);
    redirects = params.redirects;
  }
  const credentials = address.includes('@') && /^(https?:\/\/)([^/@]*)@/.exec(address);
  if (credentials) {
    address = credentials[1] + address.slice(credentials[0].length);
    if (!hasHeader(headers, 'authorization')) {
      headers.push(['Authorization', `Basic ${b64encode(decodeURIComponent(credentials[2]))}`]);
    }
  }
  if (body !== null && body !== undefined && typeof body === 'object' && !(body instanceof ArrayBuffer)) {
    const hasFile = Object.keys(body).some((key) => body[key] && body[key].__file);
    if (hasFile) {
      body = multipart(body, headers);
    } else {
      body = encodeForm(body);
      if (!hasHeader(headers, 'content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
    }
  }
  if (state.group || state.vuTagged) tags = tagsWith(tags);
  return wire(
    method, address, headers, body, name, tags, timeout, redirects, expected,
    responseType === 'none', responseType === 'binary',
  );
}

/** A parsed `Set-Cookie` header: k6's `response.cookies` entry. */
function parseSetCookie(line) {
  const [pair, ...attributes] = line.split(';');
  const at = pair.indexOf('=');
  const cookie = {
    name: pair.slice(0, at).trim(),
    value: pair.slice(at + 1).trim(),
    domain: '',
    path: '',
    expires: '',
    max_age: 0,
    secure: false,
    http_only: false,
  };
  for (const attribute of attributes) {
    const [key, ...rest] = attribute.split('=');
    const value = rest.join('=').trim();
    switch (key.trim().toLowerCase()) {
      case 'domain': cookie.domain = value; break;
      case 'path': cookie.path = value; break;
      case 'expires': cookie.expires = value; break;
      case 'max-age': cookie.max_age = Number(value); break;
      case 'secure': cookie.secure = true; break;
      case 'httponly': cookie.http_only = true; break;
    }
  }
  return cookie;
}

/** A GJSON-like path (`a.b.0.c`, `items.#`) into a parsed JSON value. */
function select(value, selector) {
  for (const part of String(selector).split('.')) {
    if (value === null || value === undefined) return undefined;
    value = part === '#' && Array.isArray(value) ? value.length : value[part];
  }
  return value;
}

/**
 * The response of a request, made by the host (`vespid:native` calls the
 * constructor). Adding a property to an object is among the dearest steps
 * of the interpreter, so only the fields every script reads are own
 * properties; the rest (timings, headers, request, cookies) wait in one
 * array and are built on first use.
 */
class Response {
  constructor(spec, status, body, url, headers, blocked, connecting, tls_handshaking, sending, waiting, receiving, duration) {
    this.status = status;
    this.body = body;
    this.url = url;
    this._raw = [spec, headers, blocked, connecting, tls_handshaking, sending, waiting, receiving, duration];
  }

  get timings() {
    const [, , blocked, connecting, tls_handshaking, sending, waiting, receiving, duration] = this._raw;
    return keep(this, 'timings', { blocked, connecting, tls_handshaking, sending, waiting, receiving, duration });
  }

  get headers() {
    return keep(this, 'headers', headerObject(this._raw[1]));
  }

  get request() {
    const spec = this._raw[0];
    const body = spec[WIRE_BODY];
    const request = {
      method: spec[WIRE_METHOD],
      url: spec[WIRE_URL],
      headers: Object.fromEntries(spec[WIRE_HEADERS].map(([key, value]) => [key, [value]])),
      body: typeof body === 'string' ? body : '',
    };
    return keep(this, 'request', request, false);
  }

  get status_text() {
    return this.status ? String(this.status) : '';
  }

  get proto() {
    return this.status ? 'HTTP/1.1' : '';
  }

  get cookies() {
    const cookies = {};
    const header = this.headers['Set-Cookie'];
    if (header) {
      // Joined with ', '; an Expires date holds ', ' too.
      for (const line of header.split(/, (?=[^;=,]+=)/)) {
        const cookie = parseSetCookie(line);
        (cookies[cookie.name] = cookies[cookie.name] || []).push(cookie);
      }
    }
    return keep(this, 'cookies', cookies, false);
  }

  json(selector) {
    if (typeof this.body !== 'string') throw new Error('the response has no text body to parse as JSON');
    const value = JSON.parse(this.body);
    return selector === undefined ? value : select(value, selector);
  }

  html() {
    throw new Error('response.html() is not supported by vespid: parse the body with a regular expression or JSON');
  }
}
Response.prototype.error = '';
Response.prototype.error_code = 0;

/** A request that got no response: k6's status 0 with `error` and `error_code`. */
class FailedResponse extends Response {
  constructor(spec, error, error_code) {
    super(spec, 0, null, spec[WIRE_URL], '', 0, 0, 0, 0, 0, 0, 0);
    this.error = error;
    this.error_code = error_code;
  }
}

/**
 * k6's cookie jar. Each VU has exactly one jar, kept by the host (which
 * sends its cookies with every request), so every CookieJar object,
 * `new http.CookieJar()` included, is a view of that jar.
 */
export class CookieJar {
  /** The cookies the jar would send to `url`, as `{ name: [values] }`. */
  cookiesForURL(url) {
    const cookies = {};
    for (const [name, value] of native.cookiesFor(String(url))) (cookies[name] = cookies[name] || []).push(value);
    return cookies;
  }

  /** Stores a cookie as if a response from `url` had set it. */
  set(url, name, value, options) {
    const settings = options || {};
    let line = `${name}=${value}`;
    if (settings.domain) line += `; Domain=${settings.domain}`;
    if (settings.path) line += `; Path=${settings.path}`;
    if (settings.expires) {
      const expires = settings.expires instanceof Date ? settings.expires : new Date(settings.expires);
      line += `; Expires=${isNaN(expires) ? settings.expires : expires.toUTCString()}`;
    }
    if (settings.max_age) line += `; Max-Age=${settings.max_age}`;
    if (settings.secure) line += '; Secure';
    if (settings.http_only) line += '; HttpOnly';
    native.setCookie(String(url), line);
  }

  /** Removes every cookie the jar would send to `url`. */
  clear(url) {
    native.clearCookies(String(url));
  }

  /** Removes the cookie `name` the jar would send to `url`. */
  delete(url, name) {
    native.clearCookies(String(url), String(name));
  }
}

const vuJar = new CookieJar();

export function cookieJar() {
  return vuJar;
}

export function request(method, target, body, params) {
  return send(String(method).toUpperCase(), target, body, params);
}

/** `request` with the method already in capitals. */
function send(method, target, body, params) {
  if (state.initContext) refuseInInitContext();
  return nativeSend(spec(method, target, body, params), Response, FailedResponse);
}

export const get = (target, params) => send('GET', target, null, params);
export const head = (target, params) => send('HEAD', target, null, params);
export const options = (target, body, params) => send('OPTIONS', target, body, params);
export const post = (target, body, params) => send('POST', target, body, params);
export const put = (target, body, params) => send('PUT', target, body, params);
export const patch = (target, body, params) => send('PATCH', target, body, params);
export const del = (target, body, params) => send('DELETE', target, body, params);

/** One `batch` entry in any of k6's forms. */
function batchSpec(entry) {
  if (typeof entry === 'string' || entry instanceof TaggedURL) return spec('GET', entry, null, undefined);
  if (Array.isArray(entry)) {
    const [method, target, body, params] = entry;
    return spec(String(method).toUpperCase(), target, body, params);
  }
  return spec(String(entry.method || 'GET').toUpperCase(), entry.url, entry.body, entry.params);
}

export function batch(requests) {
  refuseInInitContext();
  const keys = Array.isArray(requests) ? null : Object.keys(requests);
  const entries = keys ? keys.map((key) => requests[key]) : requests;
  const specs = entries.map(batchSpec);
  const responses = native.batch(specs, Response, FailedResponse);
  if (!keys) return responses;
  const byKey = {};
  keys.forEach((key, index) => (byKey[key] = responses[index]));
  return byKey;
}

export default {
  request, get, head, options, post, put, patch, del, batch, url, file, expectedStatuses, setResponseCallback,
  cookieJar, CookieJar,
};
