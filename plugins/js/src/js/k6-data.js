// k6/data: SharedArray. The array is built once, when vespid loads the
// script for its options, and kept by the host as a data set every VU
// reads in place, so memory does not grow with VUs. An array first built
// later (in a VU) is that VU's own copy.
import { native } from 'vespid:state';

const PREFIX = 'shared-array:';

export class SharedArray {
  constructor(name, build) {
    if (typeof build !== 'function') throw new TypeError('SharedArray needs a function that returns an array');
    const set = PREFIX + name;
    const length = native.dataLen(set);
    if (length !== undefined) return view(set, length);
    const items = build();
    if (!Array.isArray(items)) throw new TypeError(`SharedArray ${JSON.stringify(name)}: the function must return an array`);
    native.share(set, items.map((item) => JSON.stringify(item)));
    return Object.freeze(items.slice());
  }
}

/** A read-only array over the host's data set. */
function view(set, length) {
  const item = (index) => JSON.parse(native.dataGet(set, index)[0]);
  const target = [];
  return new Proxy(target, {
    get(_, key) {
      if (key === 'length') return length;
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        const index = Number(key);
        return index < length ? item(index) : undefined;
      }
      if (key === Symbol.iterator) {
        return function* () {
          for (let i = 0; i < length; i++) yield item(i);
        };
      }
      const method = Array.prototype[key];
      if (typeof method === 'function') {
        return (...args) => method.apply(Array.from({ length }, (_, i) => item(i)), args);
      }
      return undefined;
    },
    has(_, key) {
      return key === 'length' || (typeof key === 'string' && /^\d+$/.test(key) && Number(key) < length);
    },
    set() {
      throw new TypeError('a SharedArray is read-only');
    },
  });
}

export default { SharedArray };
