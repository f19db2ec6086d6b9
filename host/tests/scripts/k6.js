// k6: check (tags, return value), group, sleep, fail, randomSeed.
import http from 'k6/http';
import { check, group, sleep, fail, randomSeed } from 'k6';

const BASE = __ENV.BASE_URL;

export const options = {
  scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 3 } },
  thresholds: {
    'checks{area:tagged}': ['rate==1'],
    'checks{group:::outer::inner}': ['rate==1'],
    'http_reqs{group:::outer}': ['count==6'],
    'group_duration{group:::outer}': ['count==6'],
    'group_duration{group:::outer::inner}': ['count==6'],
  },
};

export default function () {
  const both = check(1, { 'one is one': (v) => v === 1, 'one is two': (v) => v === 2 });
  const all = check(1, { 'tagged check': (v) => v === 1 }, { area: 'tagged' });
  check([both, all], { 'check returns false on any failure, true when all pass': ([b, a]) => b === false && a === true });

  const inner = group('outer', () => {
    http.get(`${BASE}/status/201`);
    return group('inner', () => {
      check(true, { 'inside a group': (v) => v });
      return 'returned';
    });
  });
  check(inner, { 'group returns the body\'s value': (v) => v === 'returned' });
  http.get(`${BASE}/status/202`);

  sleep(0.01);
  randomSeed(7);
  const first = [Math.random(), Math.random()];
  randomSeed(7);
  const again = [Math.random(), Math.random()];
  check([first, again], { 'randomSeed repeats Math.random': ([a, b]) => a[0] === b[0] && a[1] === b[1] && a[0] !== a[1] });

  if (__ITER === 1) fail(`planned failure of VU ${__VU}`);
  http.get(`${BASE}/status/203`);
}
