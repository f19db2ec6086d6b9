// Two scenarios, each running its own exported function on its own executor.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

const BASE = __ENV.BASE_URL;

export const options = {
  scenarios: {
    logins: { executor: 'per-vu-iterations', vus: 2, iterations: 3, exec: 'login' },
    browsing: { executor: 'shared-iterations', vus: 3, iterations: 7, exec: 'browse' },
  },
};

export function login() {
  check(exec.scenario.name, { 'login runs in logins': (n) => n === 'logins' });
  http.get(`${BASE}/status/201`);
}

export function browse() {
  check(exec.scenario.name, { 'browse runs in browsing': (n) => n === 'browsing' });
  http.get(`${BASE}/status/202`);
}

export default function () {
  http.get(`${BASE}/status/500`);
}
