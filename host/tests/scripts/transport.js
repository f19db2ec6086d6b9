// Client options: insecureSkipTLSVerify, userAgent, maxRedirects, batch limits.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  iterations: 2,
  insecureSkipTLSVerify: __ENV.INSECURE === '1',
  userAgent: 'vespid-js-test/1.0',
  maxRedirects: 2,
  batch: 2,
  batchPerHost: 1,
};

export default function () {
  const base = __ENV.BASE_URL;
  const echo = http.get(`${base}/echo`);
  check(echo, {
    'reached over the wire': (r) => r.status === 200,
    'user agent sent': (r) => r.status === 200 && r.json('headers').some(([k, v]) => k === 'user-agent' && v === 'vespid-js-test/1.0'),
  });
  if (__ENV.INSECURE !== '1' && echo.status === 0) return;
  check(http.get(`${base}/redirect/2`), { 'two redirects followed': (r) => r.status === 200 && r.body === 'done' });
  // vespid's documented difference (docs/k6.md): past maxRedirects the
  // request fails (k6 returns the last 3xx).
  check(http.get(`${base}/redirect/3`), { 'past maxRedirects the request fails': (r) => r.status === 0 && /redirects/.test(r.error) });
  const responses = http.batch([`${base}/status/201`, `${base}/status/202`, `${base}/status/203`]);
  check(responses, { 'batch answered in order': (rs) => rs.map((r) => r.status).join() === '201,202,203' });
}
