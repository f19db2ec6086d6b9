//! Ed25519 signatures over a bundle's manifest (which holds the digest of
//! every other part), and keys as OpenSSL writes them: PKCS#8 PEM for the
//! private key, SubjectPublicKeyInfo PEM for the public one
//! (`openssl genpkey -algorithm ed25519`, or `vespid bundle keygen`).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::BundleError;

/// The `signature.toml` entry: who signed, and the signature of `manifest.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// The public key, base64 of its 32 bytes.
    pub key: String,
    /// Base64 of the 64-byte signature.
    pub signature: String,
}

impl Seal {
    /// Signs `manifest` with `key`.
    pub fn new(key: &SigningKey, manifest: &[u8]) -> Seal {
        Seal {
            key: STANDARD.encode(key.verifying_key().as_bytes()),
            signature: STANDARD.encode(key.sign(manifest).to_bytes()),
        }
    }

    /// The key that made this seal, if the seal holds for `manifest`.
    pub fn check(&self, manifest: &[u8]) -> Result<VerifyingKey, BundleError> {
        let bad = |why: &str| BundleError::Signature(why.to_string());
        let key: [u8; 32] = decode(&self.key).ok_or_else(|| bad("its key is not 32 bytes of base64"))?;
        let key = VerifyingKey::from_bytes(&key).map_err(|_| bad("its key is not an ed25519 public key"))?;
        let signature: [u8; 64] = decode(&self.signature).ok_or_else(|| bad("it is not 64 bytes of base64"))?;
        key.verify(manifest, &Signature::from_bytes(&signature))
            .map_err(|_| bad("it does not match the manifest: the bundle was changed after it was signed"))?;
        Ok(key)
    }
}

fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

/// A short name of a public key: the first 16 hex digits of its bytes' SHA-256.
pub fn fingerprint(key: &VerifyingKey) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

pub fn read_signing_key(path: &Path) -> Result<SigningKey, BundleError> {
    let text = read(path)?;
    SigningKey::from_pkcs8_pem(&text)
        .map_err(|e| key_error(path, format!("not an ed25519 private key (PKCS#8 PEM): {e}")))
}

pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, BundleError> {
    let text = read(path)?;
    VerifyingKey::from_public_key_pem(&text)
        .map_err(|e| key_error(path, format!("not an ed25519 public key (PEM): {e}")))
}

/// A new key pair as (private PEM, public PEM).
pub fn generate() -> Result<(String, String), BundleError> {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    let private = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| BundleError::Signature(e.to_string()))?;
    let public =
        key.verifying_key().to_public_key_pem(LineEnding::LF).map_err(|e| BundleError::Signature(e.to_string()))?;
    Ok((private.to_string(), public))
}

fn read(path: &Path) -> Result<String, BundleError> {
    std::fs::read_to_string(path).map_err(|e| key_error(path, e.to_string()))
}

fn key_error(path: &Path, message: String) -> BundleError {
    BundleError::Key { path: path.to_path_buf(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seal_holds_for_its_manifest_only() {
        let (private, public) = generate().unwrap();
        let key = SigningKey::from_pkcs8_pem(&private).unwrap();
        let public = VerifyingKey::from_public_key_pem(&public).unwrap();
        let seal = Seal::new(&key, b"name = \"a\"");
        assert_eq!(seal.check(b"name = \"a\"").unwrap(), public);
        let err = seal.check(b"name = \"b\"").unwrap_err().to_string();
        assert!(err.contains("changed after it was signed"), "{err}");
        let forged = Seal { key: STANDARD.encode([7u8; 31]), ..seal };
        assert!(forged.check(b"name = \"a\"").unwrap_err().to_string().contains("not 32 bytes"));
    }
}
