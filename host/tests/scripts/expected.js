// Which statuses count as failed: the default (200-399), a per-request
// responseCallback, and http.setResponseCallback for the rest.
import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.BASE_URL;

export const options = { iterations: 1 };

export default function () {
  http.get(`${BASE}/status/404`); // failed
  http.get(`${BASE}/status/404`, { responseCallback: http.expectedStatuses(404) }); // not failed
  http.get(`${BASE}/status/409`, { responseCallback: http.expectedStatuses({ min: 400, max: 409 }) }); // not failed
  http.setResponseCallback(http.expectedStatuses(200, 500));
  http.get(`${BASE}/status/500`); // not failed
  http.get(`${BASE}/status/201`); // failed
  const refused = http.get(`http://127.0.0.1:${__ENV.CLOSED_PORT}/`); // failed
  check(refused, { 'refused is status 0 and 1212': (r) => r.status === 0 && r.error_code === 1212 });
  check(true, { 'the iteration went on': (v) => v });
}
