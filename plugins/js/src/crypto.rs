//! k6/crypto's hashes, HMACs and random bytes in Rust (RustCrypto), for
//! `vespid:native`: hashing in JavaScript would cost a VU tens of
//! microseconds per digest. Output encodings are left to `js/k6-crypto.js`.

use hmac::digest::core_api::BlockSizeUser;
use hmac::{Mac, SimpleHmac};
use rquickjs::function::Opt;
use rquickjs::{Array, ArrayBuffer, Ctx, Exception, Result, Value};
use sha2::Digest;

use crate::native::copy_bytes;

/// The algorithms `createHash` and `hmac` accept, by k6's names.
pub const ALGORITHMS: [&str; 7] = ["md5", "sha1", "sha256", "sha384", "sha512", "sha512_224", "sha512_256"];

/// The digest of `parts` (strings as UTF-8, or ArrayBuffers) with
/// `algorithm`, keyed as an HMAC when `key` is given.
pub fn digest<'js>(
    ctx: Ctx<'js>,
    algorithm: String,
    parts: Array<'js>,
    key: Opt<Value<'js>>,
) -> Result<ArrayBuffer<'js>> {
    let parts = parts.iter::<Value>().map(|part| bytes(&ctx, &part?)).collect::<Result<Vec<_>>>()?;
    let key = key.0.filter(|key| !key.is_undefined()).map(|key| bytes(&ctx, &key)).transpose()?;
    let key = key.as_deref();
    let output = match algorithm.to_ascii_lowercase().replace('-', "").as_str() {
        "md5" => run::<md5::Md5>(key, &parts),
        "sha1" => run::<sha1::Sha1>(key, &parts),
        "sha256" => run::<sha2::Sha256>(key, &parts),
        "sha384" => run::<sha2::Sha384>(key, &parts),
        "sha512" => run::<sha2::Sha512>(key, &parts),
        "sha512_224" => run::<sha2::Sha512_224>(key, &parts),
        "sha512_256" => run::<sha2::Sha512_256>(key, &parts),
        _ => {
            return Err(Exception::throw_type(
                &ctx,
                &format!("unsupported hash algorithm {algorithm:?}; use one of {}", ALGORITHMS.join(", ")),
            ));
        }
    };
    ArrayBuffer::new(ctx, output)
}

fn run<D: Digest + BlockSizeUser>(key: Option<&[u8]>, parts: &[Vec<u8>]) -> Vec<u8> {
    match key {
        None => {
            let mut hasher = D::new();
            parts.iter().for_each(|part| Digest::update(&mut hasher, part));
            hasher.finalize().to_vec()
        }
        Some(key) => {
            let mut mac = <SimpleHmac<D> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
            parts.iter().for_each(|part| Mac::update(&mut mac, part));
            mac.finalize().into_bytes().to_vec()
        }
    }
}

/// A string's UTF-8 bytes or a copy of an ArrayBuffer's.
fn bytes<'js>(ctx: &Ctx<'js>, value: &Value<'js>) -> Result<Vec<u8>> {
    if let Some(text) = value.as_string() {
        return Ok(text.to_string()?.into_bytes());
    }
    match ArrayBuffer::from_value(value.clone()) {
        Some(buffer) => Ok(copy_bytes(&buffer)),
        None => Err(Exception::throw_type(ctx, "crypto input must be a string, an ArrayBuffer or a typed array")),
    }
}

/// `n` cryptographically secure random bytes, from WASI's `random` interface.
pub fn random_bytes(ctx: Ctx<'_>, n: u32) -> Result<ArrayBuffer<'_>> {
    let mut buffer = vec![0u8; n as usize];
    getrandom::fill(&mut buffer).map_err(|err| Exception::throw_internal(&ctx, &format!("no random bytes: {err}")))?;
    ArrayBuffer::new(ctx, buffer)
}
