// VUs started from the runtime's snapshot are independent: each has its own
// Math.random sequence, __VU, __ENV, module state, global object and
// built-in module objects (k6 and k6/http are in the snapshot), and a
// performance clock that starts with it.
import exec from 'k6/execution';
import http from 'k6/http';
import { check } from 'k6';

let calls = 0;
const draws = [Math.random(), Math.random(), Math.random()];
exec.vu.tags.owner = __VU;
http.claimedBy = http.claimedBy === undefined ? __VU : 0;
globalThis.claimedBy = globalThis.claimedBy === undefined ? `${__VU}` : `${globalThis.claimedBy},${__VU}`;
console.log(`snapshot vu=${__VU} env=${__ENV.SNAPSHOT_TEST} draws=${draws.join(',')} perf=${performance.now()}`);

export default function () {
  calls += 1;
  check(null, {
    "module state is the VU's": () => calls === exec.vu.iterationInInstance + 1,
    "built-in module objects are the VU's": () => http.claimedBy === __VU
      && exec.vu.tags.owner === String(__VU) && Object.keys(exec.vu.tags).join() === 'owner',
    "globals are the VU's": () => globalThis.claimedBy === `${__VU}`,
    'performance.now() counts from the VU start': () => performance.now() >= 0 && performance.now() < 60000,
  });
}
