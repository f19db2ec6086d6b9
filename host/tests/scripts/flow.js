// The JS twin of examples/rust/flow: log in (a session cookie and a token),
// read the profile with the cookie, list orders with the token.
import http from 'k6/http';
import { check, fail } from 'k6';

const base = (__ENV.BASE_URL || 'http://127.0.0.1:7878').replace(/\/+$/, '');
const user = `vu-${__VU}`;

export default function () {
  const login = http.post(`${base}/login`, JSON.stringify({ user }), { headers: { 'Content-Type': 'application/json' } });
  if (!check(login, { 'logged in': (r) => r.status === 200 })) {
    fail(`login answered ${login.status}`);
  }
  const token = login.json('token');

  const me = http.get(`${base}/me`);
  let profile;
  try {
    profile = me.json();
  } catch (_) {
    profile = undefined;
  }
  check(profile, { 'session is mine': (p) => p !== undefined && p.user === user });

  const orders = http.get(`${base}/orders?page=1`, { headers: { authorization: `Bearer ${token}` }, tags: { name: 'orders' } });
  check(orders, { 'orders listed': (r) => r.status === 200 });
}
