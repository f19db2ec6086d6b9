// One GET and one check per iteration: the script of the issue-16 benchmark
// (k6 against vespid, requests per load-generator CPU-second) and the first
// script of `cargo xtask compare-k6`. BASE_URL is the demo target's address.
// No `options`: the VUs, duration or iterations come from the command line
// (k6 keeps a script's `iterations` beside a `--duration` flag).
import http from 'k6/http';
import { check } from 'k6';

const url = `${__ENV.BASE_URL}/`;

export default function () {
  const res = http.get(url);
  check(res, { 'status is 200': (r) => r.status === 200 });
}
