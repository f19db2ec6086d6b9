// Lifecycle: the init context per VU, setup data passed as a copy to every
// VU and to teardown, an async default function.
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;
console.log(`init context of VU ${__VU}`);
let iterationsHere = 0;

export const options = {
  scenarios: { main: { executor: 'per-vu-iterations', vus: 3, iterations: 4 } },
};

export function setup() {
  http.get(`${BASE}/status/201`);
  return { token: 'abc', items: [1, 2, 3] };
}

export default async function (data) {
  iterationsHere += 1;
  const awaited = await Promise.resolve(41).then((n) => n + 1);
  check(awaited, { 'awaited a promise': (n) => n === 42 });
  check(data, {
    'setup data arrived': (d) => d.token === 'abc' && d.items.length === 3 + (d.mark === undefined ? 0 : 1),
    // Only this VU ever wrote its copy.
    'setup data is this VU\'s copy': (d) => d.mark === undefined || d.mark === __VU,
  });
  if (data.mark === undefined) {
    data.mark = __VU;
    data.items.push(__VU);
  }
  check(iterationsHere, { 'module state lives across iterations': (n) => n === __ITER + 1 });
  http.get(`${BASE}/status/200`);
}

export function teardown(data) {
  check(data, { 'teardown sees setup data unchanged': (d) => d.token === 'abc' && d.items.length === 3 && d.mark === undefined });
  http.get(`${BASE}/status/202`);
}
