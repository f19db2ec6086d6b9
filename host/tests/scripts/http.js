// k6/http: every method, params, responses, batch, expected statuses and
// the name tag. One iteration per VU; the test counts each path.
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;

export const options = {
  scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 1 } },
  thresholds: {
    'http_req_duration{name:foo}': ['count==2'],
    'http_reqs{custom:yes}': ['count==2'],
    'http_reqs{method:PUT}': ['count==2'],
  },
};

const echoed = (r) => (r.status === 200 ? r.json() : {});
const header = (r, name) => (echoed(r).headers || []).filter(([k]) => k === name).map(([, v]) => v);

export default function () {
  const get = http.get(`${BASE}/json`, { headers: { 'X-Test': 'one' }, tags: { name: 'foo', custom: 'yes' } });
  check(get, {
    'status 200': (r) => r.status === 200,
    'body is the document': (r) => r.body === '{"id":1,"name":"vespid","items":[1,2,3]}',
    'json()': (r) => r.json().name === 'vespid',
    'json(selector)': (r) => r.json('items.1') === 2 && r.json('items.#') === 3,
    'headers': (r) => r.headers['Content-Type'] === 'application/json',
    'url': (r) => r.url === `${BASE}/json`,
    'timings': (r) => r.timings.duration > 0 && r.timings.waiting > 0 && typeof r.timings.blocked === 'number',
  });

  const json = http.post(`${BASE}/echo`, JSON.stringify({ a: 1 }), { headers: { 'Content-Type': 'application/json' } });
  check(json, {
    'POST JSON body': (r) => echoed(r).method === 'POST' && echoed(r).body === '{"a":1}',
    'POST JSON content type': (r) => header(r, 'content-type')[0] === 'application/json',
  });
  const form = http.post(`${BASE}/echo`, { user: 'ann lee', n: 2 });
  check(form, {
    'form body': (r) => echoed(r).body === 'user=ann%20lee&n=2',
    'form content type': (r) => header(r, 'content-type')[0] === 'application/x-www-form-urlencoded',
  });
  const methods = [
    ['PUT', http.put(`${BASE}/echo`, 'p')],
    ['PATCH', http.patch(`${BASE}/echo`, 'q')],
    ['DELETE', http.del(`${BASE}/echo`)],
    ['OPTIONS', http.options(`${BASE}/echo`)],
    ['PROPFIND', http.request('PROPFIND', `${BASE}/echo`)],
  ];
  check(methods, { 'every method reached the server': (ms) => ms.every(([m, r]) => echoed(r).method === m) });
  check(http.head(`${BASE}/json`), { 'HEAD has no body': (r) => r.status === 200 && !r.body });

  const slow = http.get(`${BASE}/delay/3000`, { timeout: '200ms' });
  check(slow, { 'timeout is error 1050': (r) => r.status === 0 && r.error_code === 1050 && r.error !== '' });
  check(http.get(`${BASE}/redirect/1`, { redirects: 0 }), { 'redirects: 0': (r) => r.status === 302 });
  const binary = http.get(`${BASE}/bytes/4`, { responseType: 'binary' });
  check(binary, {
    'binary body': (r) => r.body instanceof ArrayBuffer && r.body.byteLength === 4 && new Uint8Array(r.body)[0] === 118,
  });
  const cookie = http.get(`${BASE}/cookies/set/flavour/lemon`);
  check(cookie, { 'response cookies': (r) => r.cookies.flavour[0].value === 'lemon' && r.cookies.flavour[0].path === '/' });

  const list = http.batch([`${BASE}/status/201`, ['POST', `${BASE}/echo`, 'b'], { method: 'GET', url: `${BASE}/status/202` }]);
  check(list, { 'batch array': (rs) => rs.length === 3 && rs[0].status === 201 && rs[1].json().body === 'b' && rs[2].status === 202 });
  const byKey = http.batch({ one: `${BASE}/status/203`, two: `${BASE}/status/204` });
  check(byKey, { 'batch object': (rs) => rs.one.status === 203 && rs.two.status === 204 });

  for (const id of [205, 206]) {
    check(http.get(http.url`${BASE}/status/${id}`), { 'tagged url': (r) => r.status === id });
  }
}
