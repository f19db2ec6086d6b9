// k6/crypto against published test vectors (RFC 1321, FIPS 180, RFC 4231-style HMACs).
import { check } from 'k6';
import crypto from 'k6/crypto';
import { hmac, md5, sha256 } from 'k6/crypto';

export const options = { iterations: 1 };

const FOX = 'The quick brown fox jumps over the lazy dog';
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

export default function () {
  check(null, {
    'md5 empty': () => md5('', 'hex') === 'd41d8cd98f00b204e9800998ecf8427e',
    'md5 abc': () => md5('abc', 'hex') === '900150983cd24fb0d6963f7d28e17f72',
    'sha1 abc': () => crypto.sha1('abc', 'hex') === 'a9993e364706816aba3e25717850c26c9cd0d89d',
    'sha256 abc': () => sha256('abc', 'hex') === SHA256_ABC,
    'sha384 abc': () =>
      crypto.sha384('abc', 'hex') ===
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    'sha512 abc': () =>
      crypto.sha512('abc', 'hex') ===
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    'sha512_256 abc': () =>
      crypto.sha512_256('abc', 'hex') === '53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23',
    'utf-8 input': () => md5('é', 'hex') === md5(new Uint8Array([0xc3, 0xa9]), 'hex'),
    'base64': () => sha256('abc', 'base64') === 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=',
    'base64url': () => sha256('abc', 'base64url') === 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0=',
    'base64rawurl': () => sha256('abc', 'base64rawurl') === 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0',
    'binary': () => {
      const digest = sha256('abc', 'binary');
      return digest instanceof ArrayBuffer && digest.byteLength === 32 && new Uint8Array(digest)[0] === 0xba;
    },
    'typed array input': () => md5(new Uint8Array([97, 98, 99]), 'hex') === md5('abc', 'hex'),
    'createHash in parts': () => crypto.createHash('sha256').update('a').update('bc').digest('hex') === SHA256_ABC,
    'hmac sha256': () =>
      hmac('sha256', 'key', FOX, 'hex') === 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    'hmac md5': () => hmac('md5', 'key', FOX, 'hex') === '80070713463e7749b90c2dc24911e275',
    'createHMAC sha1': () =>
      crypto.createHMAC('sha1', 'key').update('The quick brown ').update('fox jumps over the lazy dog').digest('hex') ===
      'de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9',
    'randomBytes': () => {
      const a = new Uint8Array(crypto.randomBytes(32));
      const b = new Uint8Array(crypto.randomBytes(32));
      return a.length === 32 && a.some((byte, i) => byte !== b[i]);
    },
    'unknown algorithm throws': () => {
      try {
        crypto.createHash('md4').digest('hex');
        return false;
      } catch (err) {
        return err instanceof TypeError && err.message.includes('md4');
      }
    },
  });
}
