// k6/execution: facts about the running VU, its scenario and the test.
import { native, state } from 'vespid:state';

/** A property k6 has and vespid does not: reading it is an error, not undefined. */
function unsupported(object, names, where) {
  for (const name of names) {
    Object.defineProperty(object, name, {
      get() {
        throw new Error(`${where}.${name} is not supported by vespid`);
      },
    });
  }
  return object;
}

/**
 * k6's `exec.vu.tags`: tags set here go on every metric the script records
 * from then on (requests, checks, custom metrics, group_duration).
 */
const vuTags = new Proxy(state.vuTags, {
  set(tags, key, value) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      throw new TypeError(`exec.vu.tags: the value of tag ${String(key)} must be a string, number or boolean`);
    }
    tags[key] = String(value);
    state.vuTagged = true;
    return true;
  },
});

const metadata = new Proxy({}, {
  set() {
    throw new Error('exec.vu.metrics.metadata is not supported by vespid');
  },
});

export const vu = {
  get idInTest() { return native.vuId(); },
  get idInInstance() { return native.vuId(); },
  get iterationInInstance() { return native.iteration(); },
  get iterationInScenario() { return native.iteration(); },
  tags: vuTags,
  metrics: { tags: vuTags, metadata },
};

export const scenario = unsupported({
  get name() { return native.scenario(); },
  get iterationInTest() { return native.scenarioIteration(); },
  get iterationInInstance() { return native.scenarioIteration(); },
}, ['executor', 'startTime', 'progress'], 'exec.scenario');

export const instance = unsupported({
  get vusActive() { return native.activeVus(); },
}, ['iterationsCompleted', 'iterationsInterrupted', 'vusInitialized', 'currentTestRunDuration'], 'exec.instance');

/** Thrown once the host was told to end the test, so the calling code stops here. */
export class TestAbort extends Error {}

export const test = {
  abort(message) {
    const reason = message === undefined ? '' : String(message);
    native.abortTest(reason);
    throw new TestAbort(reason === '' ? 'test aborted' : `test aborted: ${reason}`);
  },
  /** The script's own `options` (k6 shows them merged with its flags). */
  get options() { return state.options; },
};

export default { vu, scenario, instance, test };
