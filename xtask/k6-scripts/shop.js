// `cargo xtask compare-k6`: groups, several paths, a POST with a JSON body,
// custom Counter and Trend metrics, thresholds (one of which fails on
// purpose), and two scenarios whose executors make every count exact
// (shared-iterations, per-vu-iterations). The custom Trend only ever gets
// values fixed by the server's replies, so its min, max and avg are exact too.
import http from 'k6/http';
import { check, group } from 'k6';
import { Counter, Trend } from 'k6/metrics';

const BASE = __ENV.BASE_URL;
const logins = new Counter('logins');
const orderCount = new Trend('order_count');

export const options = {
  scenarios: {
    shoppers: { executor: 'shared-iterations', vus: 4, iterations: 40, exec: 'shop', maxDuration: '60s' },
    browsers: { executor: 'per-vu-iterations', vus: 3, iterations: 5, exec: 'browse', maxDuration: '60s' },
  },
  thresholds: {
    logins: ['count==40'],
    checks: ['rate>0.5'],
    http_req_failed: ['rate<0.5'],
    'http_reqs{scenario:browsers}': ['count==45'],
    'http_req_duration{group:::login}': ['p(95)<5000'],
    // Fails: every order list has 2 entries.
    order_count: ['avg<1'],
  },
};

export function shop() {
  group('login', () => {
    const res = http.post(`${BASE}/login`, JSON.stringify({ user: `user${__VU}` }), {
      headers: { 'Content-Type': 'application/json' },
    });
    const ok = check(res, {
      'login status is 200': (r) => r.status === 200,
      'login returns a token': (r) => typeof r.json('token') === 'string',
    });
    if (!ok) return;
    logins.add(1);
    const token = res.json('token');
    group('orders', () => {
      const orders = http.get(`${BASE}/orders`, { headers: { Authorization: `Bearer ${token}` } });
      check(orders, { 'orders status is 200': (r) => r.status === 200 });
      orderCount.add(orders.json('orders').length);
    });
  });
  // The session cookie /login set, in this iteration's jar.
  const me = http.get(`${BASE}/me`);
  check(me, { 'me knows the user': (r) => r.status === 200 && r.json('user') === `user${__VU}` });
}

export function browse() {
  group('browse', () => {
    const doc = http.get(`${BASE}/json`);
    check(doc, { 'json has 3 items': (r) => r.json('items').length === 3 });
    // Fails on purpose: a 404 is not a 200 (and counts in http_req_failed).
    const missing = http.get(`${BASE}/status/404`, { tags: { name: 'missing' } });
    check(missing, { 'missing page is 200': (r) => r.status === 200 });
  });
  http.get(`${BASE}/echo`, { tags: { name: 'echo' } });
}
