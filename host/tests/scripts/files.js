// open() of text and binary files next to the script, local modules,
// SharedArray from a JSON file.
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { greeting, loud } from './lib/helpers.js';

const text = open('./data/greeting.txt');
const bytes = open('data/bytes.bin', 'b');
let built = 0;
const users = new SharedArray('users', () => {
  built += 1;
  console.log('building the shared array');
  return JSON.parse(open('./data/users.json'));
});
let outside = 'not refused';
try {
  open(__ENV.OUTSIDE);
} catch (err) {
  outside = String(err);
}

export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 4, iterations: 2 } } };

export default function () {
  check(text, { 'open text': (t) => t === 'hello from a file\n' });
  check(bytes, { 'open binary': (b) => b instanceof ArrayBuffer && new Uint8Array(b).join() === '0,1,2,255' });
  check(outside, { 'a file outside is refused': (o) => o !== 'not refused' });
  check(loud(greeting), { 'local modules': (v) => v === 'HI!' });
  check(users, {
    'every VU reads all items': (u) => u.length === 5 && u[0].name === 'ann' && u[4].n === 5 && u.map((x) => x.n).join() === '1,2,3,4,5',
    'the array is read-only': (u) => { try { u[0] = 1; return false; } catch (_) { return true; } },
  });
  http.get(`${__ENV.BASE_URL}/status/200`);
}
