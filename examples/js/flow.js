// A user journey that carries data from one response to the next request:
// log in (the server sets a session cookie and returns a token), read the
// profile with the cookie, then list orders with the token
// (examples/rust/flow in JavaScript).
import { check, http, vu } from 'vespid';

let base;
let user;

export function init() {
  base = (vu.env('BASE_URL') || 'http://127.0.0.1:7878').replace(/\/+$/, '');
  user = `vu-${vu.id()}`;
}

export default function () {
  const login = http.send({ method: 'POST', url: `${base}/login`, json: { user } });
  if (!check('logged in', login.status === 200)) {
    throw new Error(`login answered ${login.status}`);
  }
  const token = login.json().token;

  // The session cookie from /login goes back automatically: the jar is this VU's own.
  const me = http.get(`${base}/me`);
  let profile;
  try {
    profile = me.json();
  } catch (_) {
    profile = undefined;
  }
  check('session is mine', profile !== undefined && profile.user === user);

  const orders = http.send({
    url: `${base}/orders?page=1`,
    headers: { authorization: `Bearer ${token}` },
    name: 'orders',
  });
  check('orders listed', orders.status === 200);
}
