// k6/crypto: hashes, HMACs and random bytes. The digests are computed in
// Rust (`native.digest`); this module only shapes k6's API and encodes.
import { native } from 'vespid:state';
import { b64encode } from 'k6/encoding';

/** Strings pass as UTF-8 text; typed arrays and DataViews as their bytes. */
function input(data) {
  if (typeof data === 'string' || data instanceof ArrayBuffer) return data;
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  return String(data);
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A digest (an ArrayBuffer) in one of k6's output encodings. */
function encode(digest, encoding) {
  switch (encoding) {
    case 'binary':
      return digest;
    case 'hex': {
      let out = '';
      for (const byte of new Uint8Array(digest)) out += HEX[byte];
      return out;
    }
    case 'base64':
      return b64encode(digest, 'std');
    case 'base64url':
      return b64encode(digest, 'url');
    case 'base64rawurl':
      return b64encode(digest, 'rawurl');
    default:
      throw new TypeError(`unsupported output encoding ${JSON.stringify(encoding)}: use hex, base64, base64url, base64rawurl or binary`);
  }
}

/** k6's Hasher: `update` any number of times, then `digest(encoding)`. */
class Hasher {
  constructor(algorithm, key) {
    this.algorithm = String(algorithm);
    this.key = key === undefined ? undefined : input(key);
    this.parts = [];
  }
  update(data) {
    this.parts.push(input(data));
    return this;
  }
  digest(encoding) {
    return encode(native.digest(this.algorithm, this.parts, this.key), encoding);
  }
}

export const createHash = (algorithm) => new Hasher(algorithm);
export const createHMAC = (algorithm, secret) => new Hasher(algorithm, secret);

export function hmac(algorithm, secret, data, encoding) {
  return encode(native.digest(String(algorithm), [input(data)], input(secret)), encoding);
}

const hash = (algorithm) => (data, encoding) => encode(native.digest(algorithm, [input(data)]), encoding);
export const md5 = hash('md5');
export const sha1 = hash('sha1');
export const sha256 = hash('sha256');
export const sha384 = hash('sha384');
export const sha512 = hash('sha512');
export const sha512_224 = hash('sha512_224');
export const sha512_256 = hash('sha512_256');

/** `n` cryptographically secure random bytes (WASI random), as an ArrayBuffer. */
export function randomBytes(n) {
  return native.randomBytes(Number(n) >>> 0);
}

export default {
  createHash, createHMAC, hmac, md5, sha1, sha256, sha384, sha512, sha512_224, sha512_256, randomBytes,
};
