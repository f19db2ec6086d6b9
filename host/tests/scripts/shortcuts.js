// Top-level vus/duration/iterations/stages, chosen by SHAPE (from -e), so
// the options are computed from __ENV in the init context.
import http from 'k6/http';
import { check } from 'k6';

const shapes = {
  iterations: { vus: 2, iterations: 5 },
  duration: { vus: 2, duration: '1s' },
  stages: { stages: [{ duration: '500ms', target: 2 }, { duration: '500ms', target: 0 }] },
  scenarios: { scenarios: { only: { executor: 'shared-iterations', vus: 2, iterations: 9 } } },
};

export const options = shapes[__ENV.SHAPE || 'iterations'];

export default function () {
  check(__ENV, { 'env in iterations': (env) => env.MARK === 'seen' });
  http.get(`${__ENV.BASE_URL}/status/200`);
}
