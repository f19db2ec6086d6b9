// setupTimeout: a setup slower than it allows fails the run.
import http from 'k6/http';

export const options = { iterations: 1, setupTimeout: '300ms' };

export function setup() {
  http.get(`${__ENV.BASE_URL}/delay/3000`);
}

export default function () {
  http.get(`${__ENV.BASE_URL}/status/200`);
}
