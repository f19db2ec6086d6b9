// State the built-in modules share within one VU: whether the script is
// still loading (k6's init context), the group the code runs in (k6's
// `group` tag) and the script's options, set once it has loaded.
import * as native from 'vespid:native';

export const state = {
  /** True while the script's top level runs (k6's init context): no requests then. */
  initContext: true,
  /** '' at the top level, '::outer::inner' inside groups. */
  group: '',
  /** The script's `options` (k6's `export const options`), or {}. */
  options: {},
  /** The responseType of a request that names none: 'none' under discardResponseBodies. */
  responseType: 'text',
  /** Statuses http_req_failed treats as expected, from setResponseCallback. */
  expected: undefined,
  /** Tags the script set on its VU (k6's `exec.vu.tags`), as strings. */
  vuTags: {},
  /** Whether `vuTags` ever got one: `tagsWith` has to add them. */
  vuTagged: false,
};

/** Called by the runtime once the script's module has been evaluated. */
export function scriptLoaded(options) {
  state.options = options || {};
  state.responseType = state.options.discardResponseBodies ? 'none' : 'text';
  state.initContext = false;
}

/** Refuses a request made while the script loads, with k6's message. */
export function refuseInInitContext() {
  if (state.initContext) throw new Error('Making http requests in the init context is not supported');
}

/**
 * `extra` tags (an object or undefined) over the VU's tags and the group
 * tag, or undefined. `extra` itself unless `state.group || state.vuTagged`,
 * which the hot paths test before calling.
 */
export function tagsWith(extra) {
  if (!state.group && !state.vuTagged) return extra;
  const tags = {};
  for (const key in state.vuTags) tags[key] = state.vuTags[key];
  if (state.group) tags.group = state.group;
  if (extra) for (const key in extra) tags[key] = extra[key];
  return tags;
}

/** A duration as k6 writes it (a number of ms, or '1m30s', '500ms') in ms. */
export function parseDuration(value) {
  if (typeof value === 'number') return value;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  let total = 0;
  let rest = text;
  const units = { h: 3600000, m: 60000, s: 1000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };
  while (rest.length) {
    const match = /^(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/.exec(rest);
    if (!match) throw new TypeError(`invalid duration ${JSON.stringify(text)}`);
    total += Number(match[1]) * units[match[2]];
    rest = rest.slice(match[0].length);
  }
  return total;
}

/**
 * A request as `vespid:native` takes it: positions, not property names, so
 * the host looks nothing up per request (native.rs `wire` reads this order).
 */
export function wire(method, url, headers, body, name, tags, timeout, redirects, expected, discard, binary) {
  return [method, url, headers, body, name, tags, timeout, redirects, expected, discard, binary];
}

/** The positions in a `wire` request that the modules read back. */
export const WIRE_METHOD = 0;
export const WIRE_URL = 1;
export const WIRE_HEADERS = 2;
export const WIRE_BODY = 3;

/**
 * Response headers as an object, from the host's `Name: value` lines
 * (repeated headers joined by ', ', as k6 shows them). The host hands
 * over one string so that a script which never reads headers pays for
 * no object.
 */
/**
 * Makes `value` the own property `name` of `object` and returns it: a
 * response field built on its first read (from a getter of the same name)
 * and kept, so that later reads cost nothing.
 */
export function keep(object, name, value, enumerable = true) {
  Object.defineProperty(object, name, { value, enumerable });
  return value;
}

const hasOwn = Object.prototype.hasOwnProperty;

export function headerObject(lines) {
  const headers = {};
  if (!lines) return headers;
  for (const line of lines.split('\n')) {
    const at = line.indexOf(': ');
    if (at < 0) continue;
    const name = line.slice(0, at);
    const value = line.slice(at + 2);
    headers[name] = hasOwn.call(headers, name) ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

export { native };
