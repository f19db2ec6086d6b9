import http from 'k6/http';

export const options = { iterations: 1, rps: 10 };

export default function () {
  http.get(`${__ENV.BASE_URL}/status/200`);
}
