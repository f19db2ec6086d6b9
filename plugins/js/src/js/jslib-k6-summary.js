// https://jslib.k6.io/k6-summary/<any version>/index.js, built in:
// textSummary (k6's end-of-test text layout) and jUnit (thresholds as
// JUnit XML), from handleSummary's data, written for vespid.

const PASS = '✓';
const FAIL = '✗';
const GROUP = '█';
const DETAIL = '↳';
const COLOR = { faint: 2, red: 31, green: 32, cyan: 36 };
const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];

/** The columns a string takes on a terminal: ANSI colour codes take none. */
function width(text) {
  return Array.from(text.replace(/\x1b\[[0-9;]*m/g, '')).length;
}

function pad(text, columns) {
  return text + ' '.repeat(Math.max(0, columns - width(text)));
}

/** A number with at most `digits` decimals, trailing zeros dropped. */
function trimmed(value, digits) {
  return String(parseFloat(value.toFixed(digits)));
}

/** `value` cut (not rounded) to `digits` decimals, trailing zeros dropped. */
function truncated(value, digits) {
  const scale = 10 ** digits;
  return trimmed(Math.trunc(value * scale) / scale, digits);
}

function bytes(value) {
  if (value < 10) return `${value} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  const power = Math.min(units.length - 1, Math.floor(Math.log10(value) / 3));
  const scaled = Math.round((value / 1000 ** power) * 10) / 10;
  return `${scaled.toFixed(scaled < 10 ? 1 : 0)} ${units[power]}`;
}

/** Milliseconds as k6 prints them: 812.5µs, 12.34ms, 1.5s, 2m3s, 1h2m3s. */
function duration(ms, unit) {
  const fixed = { s: [0.001, 's'], ms: [1, 'ms'], us: [1000, 'µs'] }[unit];
  if (fixed) return `${(ms * fixed[0]).toFixed(2)}${fixed[1]}`;
  if (ms === 0) return '0s';
  if (ms < 0.001) return `${Math.trunc(ms * 1e6)}ns`;
  if (ms < 1) return `${truncated(ms * 1000, 2)}µs`;
  if (ms < 1000) return `${truncated(ms, 2)}ms`;
  const minutes = Math.trunc(ms / 60000);
  const seconds = `${truncated((ms % 60000) / 1000, minutes ? 0 : 2)}s`;
  if (!minutes) return seconds;
  if (minutes < 60) return `${minutes}m${seconds}`;
  return `${Math.trunc(minutes / 60)}h${minutes % 60}m${seconds}`;
}

function humanize(value, metric, unit) {
  if (value === undefined || value === null) return '-';
  if (metric.type === 'rate') return `${(Math.trunc(value * 10000) / 100).toFixed(2)}%`;
  if (metric.contains === 'data') return bytes(value);
  if (metric.contains === 'time') return duration(value, unit);
  return trimmed(value, 6);
}

/** A threshold's verdict: k6's `{ ok }`, or a summary export's boolean "failed". */
function passed(verdict) {
  return typeof verdict === 'boolean' ? !verdict : !!(verdict && verdict.ok);
}

function list(items) {
  if (!items) return [];
  return Array.isArray(items) ? items : Object.values(items);
}

function checkLines(indent, check, paint) {
  if (!check.fails) return [paint(`${indent}${PASS} ${check.name}`, COLOR.green)];
  const share = Math.floor((100 * check.passes) / (check.passes + check.fails));
  const detail = `${indent} ${DETAIL}  ${share}% — ${PASS} ${check.passes} / ${FAIL} ${check.fails}`;
  return [paint(`${indent}${FAIL} ${check.name}\n${detail}`, COLOR.red)];
}

function groupLines(indent, group, paint) {
  const lines = [];
  if (group.name) {
    lines.push(`${indent}${GROUP} ${group.name}\n`);
    indent += '  ';
  }
  const checks = list(group.checks);
  for (const check of checks) lines.push(...checkLines(indent, check, paint));
  if (checks.length) lines.push('');
  for (const child of list(group.groups)) lines.push(...groupLines(indent, child, paint));
  return lines;
}

/** A submetric `http_req_duration{name:x}` shows as `{ name:x }`, indented under its metric. */
function label(name) {
  const brace = name.indexOf('{');
  return brace < 0 ? { indent: '', shown: name } : { indent: '  ', shown: `{ ${name.slice(brace + 1, -1)} }` };
}

/** The value columns of one metric, before alignment. */
function columns(metric, options) {
  const values = metric.values || {};
  const show = (value) => humanize(value, metric, options.summaryTimeUnit);
  switch (metric.type) {
    case 'trend':
      return options.summaryTrendStats.map((stat) => `${stat}=${stat === 'count' ? String(values[stat]) : show(values[stat])}`);
    case 'counter':
      return [show(values.count), `${show(values.rate)}/s`];
    case 'gauge':
      return [show(values.value), `min=${show(values.min)}`, `max=${show(values.max)}`];
    case 'rate':
      return [show(values.rate), `${PASS} ${values.passes}`, `${FAIL} ${values.fails}`];
    default:
      return ['[no data]'];
  }
}

function metricLines(data, options, paint) {
  const names = Object.keys(data.metrics || {}).sort();
  const rows = names.map((name) => {
    const metric = data.metrics[name];
    return { metric, ...label(name), kind: metric.type === 'trend' ? 'trend' : 'other', cells: columns(metric, options) };
  });
  const nameWidth = Math.max(0, ...rows.map((row) => width(row.indent + row.shown)));
  // Trends align their stats with each other; the other kinds with each other.
  const widths = { trend: [], other: [] };
  for (const row of rows) row.cells.forEach((cell, at) => (widths[row.kind][at] = Math.max(widths[row.kind][at] || 0, width(cell))));
  return rows.map(({ metric, indent, shown, kind, cells }) => {
    const verdicts = Object.values(metric.thresholds || {});
    let mark = ' ';
    if (verdicts.length) mark = verdicts.every(passed) ? paint(PASS, COLOR.green) : paint(FAIL, COLOR.red);
    const dots = paint(`${'.'.repeat(nameWidth - width(indent + shown) + 3)}:`, COLOR.faint);
    const painted = cells.map((cell, at) => {
      // A trend's stat names stay plain; the first value of the others is bright, the rest faint.
      const text =
        kind === 'trend'
          ? cell.replace(/=(.*)$/, (_, value) => `=${paint(value, COLOR.cyan)}`)
          : at === 0
            ? paint(cell, COLOR.cyan)
            : paint(cell, COLOR.cyan, COLOR.faint);
      return at === cells.length - 1 ? text : pad(text, widths[kind][at]);
    });
    return `${options.indent}  ${indent}${mark} ${shown}${dots} ${painted.join(' ')}`;
  });
}

/** k6's end-of-test text summary of handleSummary's `data`. */
export function textSummary(data, options) {
  const merged = Object.assign(
    { indent: ' ', enableColors: false, summaryTimeUnit: null, summaryTrendStats: TREND_STATS },
    data.options || {},
    options || {},
  );
  if (!merged.summaryTrendStats) merged.summaryTrendStats = TREND_STATS;
  const paint = merged.enableColors
    ? (text, ...codes) => `\x1b[${codes.join(';')}m${text}\x1b[0m`
    : (text) => text;
  // k6's data has checks under root_group; vespid's summary export also lists them flat.
  const root = data.root_group || { name: '', checks: data.checks || [], groups: [] };
  return [...groupLines(`${merged.indent}    `, root, paint), ...metricLines(data, merged, paint)].join('\n');
}

function xml(text) {
  return String(text).replace(/[&<>'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Every threshold of handleSummary's `data` as a JUnit test case. */
export function jUnit(data, options) {
  const settings = options || {};
  const classname = settings.classname === undefined ? '' : ` classname="${xml(settings.classname)}"`;
  const cases = [];
  let failures = 0;
  for (const [metric, entry] of Object.entries(data.metrics || {})) {
    for (const [threshold, verdict] of Object.entries(entry.thresholds || {})) {
      const name = `name="${xml(metric)} - ${xml(threshold)}"${classname}`;
      if (passed(verdict)) {
        cases.push(`<testcase ${name} />`);
      } else {
        failures++;
        cases.push(`<testcase ${name}><failure message="failed" /></testcase>`);
      }
    }
  }
  const suite = xml(settings.name || 'k6 thresholds');
  const counts = `tests="${cases.length}" failures="${failures}"`;
  return `<?xml version="1.0"?>\n<testsuites ${counts}>\n<testsuite name="${suite}" ${counts}>\n${cases.join('\n')}\n</testsuite>\n</testsuites>\n`;
}

export default { textSummary, jUnit };
