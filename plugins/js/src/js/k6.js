// k6: check, sleep, group, fail, randomSeed.
import { native, state, tagsWith } from 'vespid:state';
import { check as nativeCheck } from 'vespid:native';

export function check(value, sets, tags) {
  let all = true;
  const merged = state.group || state.vuTagged ? tagsWith(tags) : tags;
  const names = Object.keys(sets);
  for (let i = 0; i < names.length; i++) {
    const condition = sets[names[i]];
    const passed = typeof condition === 'function' ? !!condition(value) : !!condition;
    if (!nativeCheck(names[i], passed, merged)) all = false;
  }
  return all;
}

export function sleep(seconds) {
  native.sleep(Number(seconds) * 1000);
}

export function group(name, body) {
  if (String(name).includes('::')) throw new Error("group and check names may not contain '::'");
  const parent = state.group;
  state.group = `${parent}::${name}`;
  const start = now();
  try {
    return body();
  } finally {
    native.trendAdd('group_duration', now() - start, tagsWith(undefined));
    state.group = parent;
  }
}

/** Milliseconds, as finely as the runtime tells them. */
const now = globalThis.performance && performance.now ? () => performance.now() : () => Date.now();

export function fail(message) {
  throw new Error(message);
}

/** Makes Math.random repeatable (a xorshift generator seeded by `seed`). */
export function randomSeed(seed) {
  let x = (Number(seed) >>> 0) || 0x9e3779b9;
  Math.random = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

export default { check, sleep, group, fail, randomSeed };
