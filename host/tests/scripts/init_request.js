// A request in the init context (top-level code) is refused, as in k6.
import http from 'k6/http';

const warmup = http.get(`${__ENV.BASE_URL}/`);

export default function () {
  return warmup;
}
