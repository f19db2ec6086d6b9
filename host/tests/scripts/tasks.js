// Weighted tasks and the per-VU init of a Vespid-native script: each task
// requests its own path, so the server's per-path counts show the weights.
import { http, metrics } from 'vespid';

export const tasks = { browse: 3, buy: 1 };

let base;

export function init() {
  base = __ENV.BASE_URL;
  metrics.counter('vu_inits', 1);
}

export function browse() {
  http.get(`${base}/json`);
}

export function buy() {
  http.get(`${base}/`);
}

/** Exported but not in `tasks`: weight 0, never picked. */
export function audit() {
  http.get(`${base}/status/500`);
}
