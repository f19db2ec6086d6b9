// k6/execution: facts about the running VU, its scenario and the test.
import { native } from 'vespid:state';

export const vu = {
  get idInTest() { return native.vuId(); },
  get idInInstance() { return native.vuId(); },
  get iterationInInstance() { return native.iteration(); },
  get iterationInScenario() { return native.iteration(); },
  tags: {},
  metrics: { tags: {}, metadata: {} },
};

export const scenario = {
  get name() { return native.scenario(); },
  get iterationInTest() { return native.iteration(); },
  get iterationInInstance() { return native.iteration(); },
};

export const instance = {
  get vusActive() { return 0; },
};

/** Thrown once the host was told to end the test, so the calling code stops here. */
export class TestAbort extends Error {}

export const test = {
  abort(message) {
    const reason = message === undefined ? '' : String(message);
    native.abortTest(reason);
    throw new TestAbort(reason === '' ? 'test aborted' : `test aborted: ${reason}`);
  },
  get options() { return {}; },
};

export default { vu, scenario, instance, test };
