// http.cookieJar(): cookies set by the script reach the server; the jar
// reads, deletes and clears what the server set.
import { check } from 'k6';
import http from 'k6/http';

export const options = { iterations: 1 };

const BASE = __ENV.BASE_URL;

export default function () {
  const jar = http.cookieJar();
  jar.set(BASE, 'flavour', 'mint');
  jar.set(BASE, 'scoped', 'yes', { path: '/echo', http_only: true });
  http.get(`${BASE}/echo`);
  http.get(`${BASE}/cookies/set/session/abc`);
  check(jar, {
    'sees the server cookie': (j) => JSON.stringify(j.cookiesForURL(BASE).session) === '["abc"]',
    'sees its own cookie': (j) => JSON.stringify(j.cookiesForURL(BASE).flavour) === '["mint"]',
    'path scopes a cookie': (j) => j.cookiesForURL(`${BASE}/echo`).scoped !== undefined && j.cookiesForURL(BASE).scoped === undefined,
    'one jar per VU': (j) => j === http.cookieJar() && new http.CookieJar().cookiesForURL(BASE).flavour !== undefined,
  });
  jar.delete(BASE, 'session');
  check(jar, { 'delete removes one': (j) => !('session' in j.cookiesForURL(BASE)) && 'flavour' in j.cookiesForURL(BASE) });
  jar.clear(`${BASE}/echo`);
  check(jar, { 'clear removes all': (j) => Object.keys(j.cookiesForURL(`${BASE}/echo`)).length === 0 });
  // The second echo carries no Cookie header; params.jar is accepted.
  http.get(`${BASE}/echo`, { jar });
}
