// The benchmark's VU start time and memory runs: get-check.js's GET and
// check, then one second of think time, so 1,000 VUs stay mostly idle and
// the load generator's memory is the VUs' own.
import http from 'k6/http';
import { check, sleep } from 'k6';

const url = `${__ENV.BASE_URL}/`;

export default function () {
  const res = http.get(url);
  check(res, { 'status is 200': (r) => r.status === 200 });
  sleep(1);
}
