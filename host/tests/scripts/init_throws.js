import http from 'k6/http';

const config = JSON.parse('{"ok": true}');
if (config.ok) {
  throw new Error('the init context gave up');
}

export default function () {
  http.get('http://127.0.0.1:1/');
}
