//! Random tokens, digests and keyed hashes. Secrets are compared in constant time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `bytes` random bytes from the OS generator, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    rand::rng().fill_bytes(&mut buf);
    buf
}

/// SHA-256, for session tokens: they are 256-bit random, so a plain digest is enough.
pub fn sha256(data: &str) -> Vec<u8> {
    Sha256::digest(data.as_bytes()).to_vec()
}

/// HMAC-SHA256 under the server's hash key, for client secrets.
pub fn keyed_hash(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_long() {
        let a = random_token(32);
        let b = random_token(32);
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }

    #[test]
    fn keyed_hash_depends_on_key() {
        let h1 = keyed_hash(b"k1", "secret");
        assert_eq!(h1, keyed_hash(b"k1", "secret"));
        assert_ne!(h1, keyed_hash(b"k2", "secret"));
        assert!(ct_eq(&h1, &keyed_hash(b"k1", "secret")));
        assert!(!ct_eq(&h1, &keyed_hash(b"k1", "secreT")));
    }
}
