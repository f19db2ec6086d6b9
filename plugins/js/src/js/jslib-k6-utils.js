// https://jslib.k6.io/k6-utils/<any version>/index.js, built in: random
// values, findBetween and normalDistributionStages, written for vespid
// (nothing is fetched at run time).
import { randomBytes } from 'k6/crypto';

/** An integer in [min, max], both included. */
export function randomIntBetween(min, max) {
  return Math.floor(Math.random() * (max - min + 1) + min);
}

export function randomItem(items) {
  return items[Math.floor(Math.random() * items.length)];
}

export function randomString(length, charset = 'abcdefghijklmnopqrstuvwxyz') {
  let out = '';
  for (let i = 0; i < length; i++) out += charset[Math.floor(Math.random() * charset.length)];
  return out;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A version 4 UUID; `secure` draws its bits from WASI random rather than Math.random. */
export function uuidv4(secure = false) {
  const bytes = secure
    ? new Uint8Array(randomBytes(16))
    : Uint8Array.from({ length: 16 }, () => Math.floor(Math.random() * 256));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => HEX[byte]).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The text between `left` and `right` ('' if absent), or every such text when `repeat`. */
export function findBetween(content, left, right, repeat = false) {
  const found = [];
  let from = 0;
  for (;;) {
    const start = content.indexOf(left, from);
    if (start < 0) break;
    const end = content.indexOf(right, start + left.length);
    if (end < 0) break;
    found.push(content.substring(start + left.length, end));
    if (!repeat) break;
    from = end + right.length;
  }
  return repeat ? found : found.length ? found[0] : '';
}

/**
 * Stages whose targets follow a bell curve peaking at `maxVus`: a ramp-up
 * over 1/6 of `durationSeconds`, `numberOfStages` stages over 4/6 sampling
 * the curve from -2 to +2 standard deviations, a ramp-down over the last 1/6.
 */
export function normalDistributionStages(maxVus, durationSeconds, numberOfStages = 10) {
  const ramp = `${Math.ceil(durationSeconds / 6)}s`;
  const step = `${Math.ceil((durationSeconds * 4) / 6 / numberOfStages)}s`;
  const target = (i) => {
    const x = -2 + (4 * i) / numberOfStages;
    return Math.round(maxVus * Math.exp(-0.5 * x * x));
  };
  const stages = [{ duration: ramp, target: target(0) }];
  for (let i = 1; i <= numberOfStages; i++) stages.push({ duration: step, target: target(i) });
  stages.push({ duration: ramp, target: 0 });
  return stages;
}

/** Exported so imports of them load; vespid does not expose the current stage to scripts. */
function unsupported(name) {
  return () => {
    throw new Error(`${name} from k6-utils is not supported by vespid`);
  };
}
export const getCurrentStageIndex = unsupported('getCurrentStageIndex');
export const tagWithCurrentStageIndex = unsupported('tagWithCurrentStageIndex');
export const tagWithCurrentStageProfile = unsupported('tagWithCurrentStageProfile');
