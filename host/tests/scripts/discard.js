// discardResponseBodies: bodies are not kept (null), still counted as received.
import http from 'k6/http';
import { check } from 'k6';

export const options = { iterations: 3, discardResponseBodies: true };

export default function () {
  const discarded = http.get(`${__ENV.BASE_URL}/bytes/1000`);
  check(discarded, { 'body discarded': (r) => r.body === null && r.status === 200 });
  const kept = http.get(`${__ENV.BASE_URL}/bytes/10`, { responseType: 'text' });
  check(kept, { 'text body on request': (r) => r.body === 'vvvvvvvvvv' });
}
