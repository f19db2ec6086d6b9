// k6/metrics: custom Counter, Gauge, Rate and Trend, recorded by the host
// beside the built-in metrics (and usable in thresholds).
import { native, tagsWith } from 'vespid:state';

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;

class Metric {
  constructor(name, record) {
    if (!NAME.test(String(name))) {
      throw new Error(`invalid metric name ${JSON.stringify(name)}: letters, digits and _, starting with a letter, at most 128`);
    }
    this.name = String(name);
    this.record = record;
  }
  add(value, tags) {
    this.record(this.name, value, tagsWith(tags));
    return true;
  }
}

export class Counter extends Metric {
  constructor(name) {
    super(name, (n, v, t) => native.counterAdd(n, Number(v), t));
  }
}

export class Gauge extends Metric {
  constructor(name) {
    super(name, (n, v, t) => native.gaugeSet(n, Number(v), t));
  }
}

export class Rate extends Metric {
  constructor(name) {
    super(name, (n, v, t) => native.rateAdd(n, !!v, t));
  }
}

export class Trend extends Metric {
  constructor(name, isTime) {
    super(name, (n, v, t) => native.trendAdd(n, Number(v), t));
    this.isTime = !!isTime;
  }
}

export default { Counter, Gauge, Rate, Trend };
