// k6-summary from its jslib URL: textSummary and jUnit on handleSummary-shaped data.
import { check } from 'k6';
import { jUnit, textSummary } from 'https://jslib.k6.io/k6-summary/0.1.0/index.js';

export const options = { iterations: 1 };

const data = {
  root_group: {
    name: '',
    checks: [
      { name: 'status is 200', passes: 10, fails: 0 },
      { name: 'body is json', passes: 5, fails: 5 },
    ],
    groups: [{ name: 'login', checks: [{ name: 'token issued', passes: 3, fails: 0 }], groups: [] }],
  },
  metrics: {
    http_reqs: { type: 'counter', contains: 'default', values: { count: 10, rate: 2.5 } },
    http_req_duration: {
      type: 'trend',
      contains: 'time',
      values: { avg: 1.5, min: 0.25, med: 1.25, max: 1500, 'p(90)': 3, 'p(95)': 4 },
      thresholds: { 'p(95)<500': { ok: true } },
    },
    'http_req_duration{name:login}': {
      type: 'trend',
      contains: 'time',
      values: { avg: 2, min: 1, med: 2, max: 3, 'p(90)': 3, 'p(95)': 3 },
      thresholds: { 'p(95)<1': { ok: false } },
    },
    checks: { type: 'rate', contains: 'default', values: { rate: 0.75, passes: 15, fails: 5 } },
    data_received: { type: 'counter', contains: 'data', values: { count: 123000, rate: 30864 } },
    vus: { type: 'gauge', contains: 'default', values: { value: 2, min: 1, max: 2 } },
  },
};

export default function () {
  const text = textSummary(data, { indent: ' ', enableColors: false });
  const lines = text.split('\n');
  const line = (start) => lines.find((l) => l.trimStart().startsWith(start)) || '';
  const colored = textSummary(data, { enableColors: true });
  const xml = jUnit(data, { name: 'api thresholds', classname: 'perf' });
  check(text, {
    'passing check listed': () => lines.includes('     ✓ status is 200'),
    'failing check with its share': () => text.includes('     ✗ body is json\n      ↳  50% — ✓ 5 / ✗ 5'),
    'group and its check': () => text.includes('     █ login\n') && lines.includes('       ✓ token issued'),
    'http_reqs count and rate': () => /^ {5}http_reqs\.+: 10 +2\.5\/s$/.test(line('http_reqs')),
    'trend stats humanized': () => /avg=1\.5ms +min=250µs +med=1\.25ms +max=1\.5s +p\(90\)=3ms +p\(95\)=4ms/.test(text),
    'threshold marks': () => line('✓ http_req_duration').length > 0 && line('✗ { name:login }').length > 0,
    'submetric indented': () => lines.some((l) => l.startsWith('     ✗ { name:login }')),
    'rate as percent': () => /checks\.+: 75\.00% +✓ 15 +✗ 5/.test(text),
    'bytes humanized': () => /data_received\.+: 123 kB +31 kB\/s/.test(text),
    'names aligned': () => {
      const colons = lines.filter((l) => l.includes('...')).map((l) => l.indexOf('.:'));
      return colons.length === 6 && colons.every((at) => at === colons[0]);
    },
    'colors on request': () => colored.includes('\x1b[32m') && !text.includes('\x1b['),
    'junit counts': () => xml.includes('<testsuite name="api thresholds" tests="2" failures="1">'),
    'junit cases': () =>
      xml.includes('<testcase name="http_req_duration - p(95)&#60;500" classname="perf" />') &&
      xml.includes('<testcase name="http_req_duration{name:login} - p(95)&#60;1" classname="perf"><failure message="failed" /></testcase>'),
  });
}
