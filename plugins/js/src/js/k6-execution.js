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

/** Thrown to stop the run; the host ends the test and reports it. */
export class TestAbort extends Error {}

export const test = {
  abort(message) {
    throw new TestAbort(message === undefined ? 'test aborted' : String(message));
  },
  get options() { return {}; },
};

export default { vu, scenario, instance, test };
