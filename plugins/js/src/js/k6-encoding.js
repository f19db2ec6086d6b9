// k6/encoding: base64 in k6's four variants (std, rawstd, url, rawurl).
const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function utf8(text) {
  const bytes = [];
  for (const char of text) {
    let code = char.codePointAt(0);
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
  }
  return bytes;
}

function fromUtf8(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    let code;
    let size;
    if (b < 0x80) [code, size] = [b, 1];
    else if (b >= 0xf0) [code, size] = [b & 7, 4];
    else if (b >= 0xe0) [code, size] = [b & 15, 3];
    else if (b >= 0xc0) [code, size] = [b & 31, 2];
    else [code, size] = [0xfffd, 1];
    for (let k = 1; k < size; k++) code = (code << 6) | (bytes[i + k] & 63);
    text += String.fromCodePoint(code);
    i += size;
  }
  return text;
}

function bytesOf(input) {
  if (typeof input === 'string') return utf8(input);
  if (input instanceof ArrayBuffer) return Array.from(new Uint8Array(input));
  if (ArrayBuffer.isView(input)) return Array.from(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  return utf8(String(input));
}

export function b64encode(input, encoding) {
  const alphabet = encoding === 'url' || encoding === 'rawurl' ? URL_SAFE : STD;
  const pad = encoding !== 'rawstd' && encoding !== 'rawurl';
  const bytes = bytesOf(input);
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.length ? alphabet[(n >> 6) & 63] : pad ? '=' : '';
    out += i + 2 < bytes.length ? alphabet[n & 63] : pad ? '=' : '';
  }
  return out;
}

export function b64decode(input, encoding, format) {
  const text = String(input).replace(/=+$/, '');
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const char of text) {
    let index = STD.indexOf(char);
    if (index < 0) index = URL_SAFE.indexOf(char);
    if (index < 0) throw new Error(`b64decode: invalid base64 character ${JSON.stringify(char)}`);
    value = (value << 6) | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 255);
    }
  }
  if (format === 's') return fromUtf8(bytes);
  return new Uint8Array(bytes).buffer;
}

export default { b64encode, b64decode };
