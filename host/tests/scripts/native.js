// The vespid module against the demo target: every request option, typed
// errors, an answer the script judges, batch, metrics, log, vu facts and data sets.
import vespid, { check, data, http, log, metrics, vu } from 'vespid';
import { threw } from './lib/threw.js';

let base;
let row;

export function init() {
  base = vu.env('BASE_URL');
  row = data.forVu('users');
}

// Once per VU, when it ends.
export function vuEnd() {
  http.get(`${base}/status/251`);
}

export default function () {
  const json = http.send({ url: `${base}/json`, name: 'doc', tags: { part: 'read' } });
  check('json status', json.status === 200);
  check('json parsed', json.json().name === 'vespid');
  check('header any case', json.header('content-type') === 'application/json');
  check('timings', json.timings.duration >= json.timings.waiting && json.url === `${base}/json`);

  const echo = http.send({
    method: 'post',
    url: `${base}/echo`,
    headers: [['X-Row', row[0]], ['X-Row', row[1]]],
    json: { vu: vu.id() },
  });
  const echoed = echo.json();
  check('json body sent', echoed.body === JSON.stringify({ vu: vu.id() }) && echoed.method === 'POST');
  check('repeated headers kept', echoed.headers.filter(([name]) => name === 'x-row').length === 2);

  const missing = http.send({ url: `${base}/status/404`, expectedStatuses: [404, [200, 299]] });
  check('expected 404', missing.status === 404);

  const hop = http.send({ url: `${base}/redirect/2`, maxRedirects: 0 });
  check('redirect not followed', hop.status === 302);

  const discarded = http.send({ url: `${base}/bytes/100`, discardBody: true });
  check('body discarded', discarded.status === 200 && discarded.body === '');

  const slow = threw(() => http.send({ url: `${base}/delay/2000`, timeoutMs: 50 }));
  check('timeout is typed', slow instanceof vespid.HttpError && slow.kind === 'timeout' && slow.code === 1050);

  const refused = threw(() => http.get('http://127.0.0.1:1/'));
  check('refusal is typed', refused !== undefined && refused.kind === 'connectionRefused');

  const [judged, verdict] = http.sendUnsettled({ url: `${base}/status/500`, name: 'judged' });
  check('judged a success', judged.status === 500 && verdict.success() && !verdict.failure());

  const [first, second] = http.batch([{ url: `${base}/` }, { url: 'http://127.0.0.1:1/' }]);
  check('batch answers in order', first.status === 200 && second.kind === 'connectionRefused');

  metrics.counter('native_rows', 1, { user: row[0] });
  metrics.gauge('native_vu', vu.id());
  metrics.trend('native_wait', json.timings.waiting);
  metrics.rate('native_ok', json.status === 200);
  log.info(`vu ${vu.id()} iteration ${vu.iteration()} of ${vu.scenario()}`);
  check('data set', data.len('users') === 3 && data.columns('users').join() === 'name,role' && data.get('users', 2)[0] === 'carol');
  check('unknown set throws', threw(() => data.len('nope')) instanceof ReferenceError);
  check('env', vu.envAll().BASE_URL === base && vu.env('NOPE') === undefined);
}
