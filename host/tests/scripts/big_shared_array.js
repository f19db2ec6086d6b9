// A SharedArray far larger than a VU's memory (the test runs it with
// --vu-memory-limit 16MiB): built once, while vespid loads the script,
// and read in place by every VU.
import { check } from 'k6';
import { SharedArray } from 'k6/data';

const COUNT = 200000;
const items = new SharedArray('big', () => {
  console.log('building the big array');
  return Array.from({ length: COUNT }, (_, id) => ({ id, pad: 'x'.repeat(120) }));
});

export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 4, iterations: 2 } } };

export default function () {
  check(items, {
    'the whole array is there': (a) => a.length === COUNT,
    'items are read in place': (a) => a[COUNT - 1].id === COUNT - 1 && a[__VU * 1000].id === __VU * 1000,
  });
}
