// k6/metrics with tags, k6/execution and k6/encoding.
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import exec from 'k6/execution';
import encoding from 'k6/encoding';

const orders = new Counter('orders');
const queue = new Gauge('queue_depth');
const good = new Rate('good_answers');
const latency = new Trend('order_latency', true);

export const options = {
  scenarios: { named: { executor: 'per-vu-iterations', vus: 3, iterations: 2 } },
  thresholds: {
    'orders{kind:big}': ['count==6'],
    'good_answers{kind:big}': ['rate==1'],
    'order_latency{kind:big}': ['count==6'],
    'orders{tier:gold}': ['count==9'],
    'http_reqs{tier:gold}': ['count==3'],
  },
};

/** Whether reading `read()` throws an error saying vespid does not support it. */
function refused(read) {
  try {
    read();
    return false;
  } catch (err) {
    return /is not supported by vespid/.test(err.message);
  }
}

export default function () {
  orders.add(2);
  orders.add(1, { kind: 'big' });
  queue.add(__VU * 10);
  good.add(true, { kind: 'big' });
  good.add(false);
  latency.add(12.5, { kind: 'big' });
  check(exec, {
    'vu.idInTest': (e) => e.vu.idInTest === __VU && __VU >= 1 && __VU <= 3,
    'scenario.name': (e) => e.scenario.name === 'named',
    'vu.iterationInScenario': (e) => e.vu.iterationInScenario === __ITER,
    'instance.vusActive': (e) => e.instance.vusActive >= 1 && e.instance.vusActive <= 3,
    'test.options': (e) => e.test.options.scenarios.named.iterations === 2,
    'unsupported facts': (e) => refused(() => e.instance.iterationsCompleted)
      && refused(() => { e.vu.metrics.metadata.trace = 'x'; }),
  });
  const text = 'héllo wörld?>~ 😀';
  check(text, {
    'b64 std': (t) => encoding.b64decode(encoding.b64encode(t), 'std', 's') === t && encoding.b64encode('hi?>') === 'aGk/Pg==',
    'b64 rawstd': (t) => encoding.b64encode('hi?>', 'rawstd') === 'aGk/Pg' && encoding.b64decode(encoding.b64encode(t, 'rawstd'), 'rawstd', 's') === t,
    'b64 url': (t) => encoding.b64encode('hi?>', 'url') === 'aGk_Pg==' && encoding.b64decode(encoding.b64encode(t, 'url'), 'url', 's') === t,
    'b64 rawurl': (t) => encoding.b64encode('hi?>', 'rawurl') === 'aGk_Pg' && encoding.b64decode(encoding.b64encode(t, 'rawurl'), 'rawurl', 's') === t,
    'b64 bytes': () => new Uint8Array(encoding.b64decode('AAEC/w==')).join() === '0,1,2,255',
  });
  // Each of the scenario's 6 iterations has its own number: the server
  // sees /bytes/0 … /bytes/5 once each. The second iteration of each VU
  // carries the VU tag set in its first.
  http.get(`${__ENV.BASE_URL}/bytes/${exec.scenario.iterationInTest}`, { tags: { name: 'bytes' } });
  exec.vu.tags.tier = 'gold';
}
