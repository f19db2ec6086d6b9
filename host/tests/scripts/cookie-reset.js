// The cookie jar: emptied after each iteration as in k6, unless noCookiesReset.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 3 } },
  noCookiesReset: __ENV.KEEP === '1',
};

export default function () {
  const before = http.get(`${__ENV.BASE_URL}/me`);
  check(before, { 'no session at the start': (r) => r.status === 401 });
  const login = http.post(`${__ENV.BASE_URL}/login`, { user: `vu${__VU}` });
  check(login, { 'session cookie received': (r) => r.cookies.session && r.cookies.session[0].value.length === 32 });
  const me = http.get(`${__ENV.BASE_URL}/me`);
  check(me, { 'session sent back': (r) => r.status === 200 && r.json('user') === `vu${__VU}` });
}
