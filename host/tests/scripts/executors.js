// All six executors in one script, each on its own path, with startTime,
// gracefulStop, env and tags.
import http from 'k6/http';

const BASE = __ENV.BASE_URL;

export const options = {
  scenarios: {
    constant: { executor: 'constant-vus', vus: 2, duration: '1s', exec: 'hit', env: { CODE: '201' }, tags: { kind: 'constant' } },
    ramping: {
      executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '500ms', target: 2 }, { duration: '500ms', target: 0 }],
      gracefulRampDown: '0s', exec: 'hit', env: { CODE: '202' }, tags: { kind: 'ramping' },
    },
    pervu: { executor: 'per-vu-iterations', vus: 2, iterations: 3, exec: 'hit', env: { CODE: '203' }, tags: { kind: 'pervu' }, startTime: '500ms', gracefulStop: '5s' },
    shared: { executor: 'shared-iterations', vus: 3, iterations: 7, exec: 'hit', env: { CODE: '204' }, tags: { kind: 'shared' } },
    arrival: {
      executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '1s', preAllocatedVUs: 2, maxVUs: 4,
      exec: 'hit', env: { CODE: '205' }, tags: { kind: 'arrival' },
    },
    rampingArrival: {
      executor: 'ramping-arrival-rate', startRate: 0, timeUnit: '1s', preAllocatedVUs: 2, maxVUs: 4,
      stages: [{ duration: '1s', target: 20 }], exec: 'hit', env: { CODE: '206' }, tags: { kind: 'rampingArrival' },
    },
  },
  thresholds: {
    'http_reqs{kind:constant}': ['count>0'],
    'http_reqs{kind:ramping}': ['count>0'],
    'http_reqs{kind:pervu}': ['count==6'],
    'http_reqs{kind:shared}': ['count==7'],
    'http_reqs{kind:arrival}': ['count>0'],
    'http_reqs{kind:rampingArrival}': ['count>0'],
  },
};

export function hit() {
  http.get(`${BASE}/status/${__ENV.CODE}`);
}
