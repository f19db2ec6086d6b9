// One GET of BASE_URL + '/' per iteration, checking for a 200
// (examples/rust/hello in JavaScript).
import { check, http, vu } from 'vespid';

let url;

export function init() {
  const base = vu.env('BASE_URL') || 'http://127.0.0.1:7878';
  url = `${base.replace(/\/+$/, '')}/`;
}

export default function () {
  const res = http.get(url);
  check('status is 200', res.status === 200);
}
