// An exception in some iterations: the run goes on.
import http from 'k6/http';

export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 2, iterations: 4 } } };

function deeper() {
  throw new Error('planned iteration error');
}

export default function () {
  http.get(`${__ENV.BASE_URL}/status/200`);
  if (__ITER % 2 === 1) deeper();
}
