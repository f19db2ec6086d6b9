// The globals every k6 script sees: console, open, __ITER, and __ENV and
// __VU, which `startVu` sets: this module may be evaluated once for all VUs,
// in the runtime's snapshot, where no host call is allowed.
import * as native from 'vespid:native';

function text(args) {
  return args
    .map((arg) => {
      if (typeof arg === 'string') return arg;
      if (arg instanceof Error) return `${arg.name}: ${arg.message}`;
      try {
        const json = JSON.stringify(arg);
        return json === undefined ? String(arg) : json;
      } catch (_) {
        return String(arg);
      }
    })
    .join(' ');
}

globalThis.console = {
  log: (...args) => native.log(2, text(args)),
  info: (...args) => native.log(2, text(args)),
  debug: (...args) => native.log(1, text(args)),
  trace: (...args) => native.log(0, text(args)),
  warn: (...args) => native.log(3, text(args)),
  error: (...args) => native.log(4, text(args)),
};

globalThis.open = (path, mode) => native.readFile(String(path), mode === 'b');
Object.defineProperty(globalThis, '__ITER', { get: () => native.iteration(), configurable: true });

/** Sets this VU's globals; the runtime calls it before the script loads. */
export function startVu() {
  globalThis.__ENV = native.env();
  globalThis.__VU = native.vuId();
}
