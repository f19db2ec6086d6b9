// Custom metrics with tags: a counter, a trend, a rate and a gauge, next to
// the built-in HTTP metrics, with two weighted tasks
// (examples/rust/custom-metrics in JavaScript).
import { http, metrics, vu } from 'vespid';

export const tasks = { browse: 3, buy: 1 };

let base;

export function init() {
  base = (vu.env('BASE_URL') || 'http://127.0.0.1:7878').replace(/\/+$/, '');
}

function visit(task) {
  const res = http.send({ url: `${base}/json`, tags: { task } });
  const tags = { task };
  metrics.counter('shop_visits', 1, tags);
  metrics.trend('shop_server_time', res.timings.waiting, tags);
  metrics.rate('shop_fast', res.timings.duration < 200, tags);
  metrics.gauge('shop_body_bytes', res.body.length, tags);
}

export function browse() {
  visit('browse');
}

export function buy() {
  visit('buy');
  metrics.counter('shop_orders', 1);
}
