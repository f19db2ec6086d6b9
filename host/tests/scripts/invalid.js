import http from 'k6/http';

export const options = { vus: 1, duration: 'soon' };

export default function () {
  http.get(`${__ENV.BASE_URL}/status/200`);
}
