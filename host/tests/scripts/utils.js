// k6-utils from its jslib URL, served by vespid's built-in copy.
import { check } from 'k6';
import {
  findBetween,
  normalDistributionStages,
  randomIntBetween,
  randomItem,
  randomString,
  uuidv4,
} from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';

export const options = { iterations: 1 };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function draws(n, draw) {
  return Array.from({ length: n }, draw);
}

export default function () {
  check(null, {
    'randomIntBetween covers the range inclusively': () => {
      const seen = new Set(draws(300, () => randomIntBetween(1, 3)));
      return seen.size === 3 && [1, 2, 3].every((n) => seen.has(n));
    },
    'randomItem picks members': () => draws(50, () => randomItem(['a', 'b'])).every((x) => x === 'a' || x === 'b'),
    'randomString defaults to lower-case letters': () => /^[a-z]{12}$/.test(randomString(12)),
    'randomString takes a charset': () => /^[xy]{8}$/.test(randomString(8, 'xy')),
    'uuidv4 is version 4': () => UUID.test(uuidv4()),
    'uuidv4(secure) is version 4': () => UUID.test(uuidv4(true)) && uuidv4(true) !== uuidv4(true),
    'findBetween finds the first': () => findBetween('<b>1</b><b>2</b>', '<b>', '</b>') === '1',
    'findBetween repeats': () => JSON.stringify(findBetween('<b>1</b><b>2</b>', '<b>', '</b>', true)) === '["1","2"]',
    'findBetween misses with empty': () => findBetween('nothing here', '<b>', '</b>') === '',
    'normalDistributionStages peaks at maxVus': () => {
      const stages = normalDistributionStages(10, 60, 4);
      const targets = stages.map((stage) => stage.target);
      return stages.length === 6 && Math.max(...targets) === 10 && targets[5] === 0 && stages[0].duration === '10s';
    },
  });
}
