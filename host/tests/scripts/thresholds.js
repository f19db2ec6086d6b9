// Thresholds in k6's forms: a string, a list, the long form with
// abortOnFail; VERDICT (from -e) picks which should fail.
import http from 'k6/http';

const failing = {
  pass: {},
  fail: { iterations: 'count>1000' },
  abort: { http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }] },
}[__ENV.VERDICT];

export const options = {
  scenarios: __ENV.VERDICT === 'abort'
    ? { s: { executor: 'constant-vus', vus: 2, duration: '30s' } }
    : { s: { executor: 'shared-iterations', vus: 2, iterations: 10 } },
  thresholds: Object.assign({
    http_reqs: 'count>0',
    'http_req_duration{scenario:s}': ['p(95)<10000', 'max<20000'],
    'http_req_failed': [{ threshold: 'rate<=1', abortOnFail: false }],
  }, failing),
};

export default function () {
  http.get(`${__ENV.BASE_URL}/status/${__ENV.VERDICT === 'abort' ? 500 : 200}`);
}
