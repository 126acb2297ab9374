//! JSON Web Tokens on the build's crypto provider (`ring` or `aws-lc-rs`, [`crate::crypto`]): [`Signer`] issues RS*/PS*/ES* tokens (the control plane's access
//! tokens, the gateway's backend JWT), [`verify`] checks a token against a key manager's JWKS,
//! and [`TokenCache`] lets the gateway skip the signature check for a token it has seen.
//!
//! The verifying key is chosen by the JWK (its `kty`, `crv` and `alg`), never by the header
//! alone: `none`, `HS*` and an `alg` that does not fit the key are refused.
//!
//! ```
//! use gateway::jwt::{self, KeySet, Signer, Validation};
//! use serde_json::json;
//!
//! let (signer, _pkcs8_der) = Signer::generate_es256("key-1").unwrap();
//! let token = signer
//!     .sign(&json!({"iss": "https://cp.example", "sub": "alice", "exp": 2_000_000_000}))
//!     .unwrap();
//!
//! let keys = KeySet::from_jwks(&jwt::jwks([&signer])).unwrap();
//! let validation = Validation { issuer: Some("https://cp.example".into()), ..Validation::default() };
//! let verified = jwt::verify(&token, &keys, &validation, 1_700_000_000).unwrap();
//! assert_eq!(verified.claim_str("sub"), Some("alice"));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::crypto::lib::rand::SystemRandom;
use crate::crypto::lib::signature::{
    self, EcdsaKeyPair, KeyPair as _, RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE_NO_PAD,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Tokens longer than this are refused before any decoding (a JWT is a header line, not a body).
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// JWK fields are read leniently (some publishers pad); token segments strictly (RFC 7515 says
/// no padding, and a strict decoder keeps one token from having two spellings).
const JWK_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a token or key was refused. Every variant is a 401 for a client; the text is for logs.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JwtError {
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("unsupported or mismatched algorithm: {0}")]
    UnsupportedAlgorithm(String),
    #[error("no key with kid {0:?}")]
    UnknownKey(String),
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    #[error("invalid claim {0}")]
    InvalidClaim(&'static str),
    /// A signing key or JWKS could not be used.
    #[error("key: {0}")]
    Key(String),
    /// The claims given to [`Signer::sign`] did not serialise to a JSON object.
    #[error("claims: {0}")]
    Encode(String),
}

/// The JWS algorithms we sign and verify. HMAC and `none` are deliberately absent.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    PS384,
    PS512,
    ES256,
    ES384,
}

impl Algorithm {
    pub const ALL: [Algorithm; 8] = [
        Self::RS256,
        Self::RS384,
        Self::RS512,
        Self::PS256,
        Self::PS384,
        Self::PS512,
        Self::ES256,
        Self::ES384,
    ];

    /// The JOSE name, as in a token header or a JWK's `alg`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
            Self::PS384 => "PS384",
            Self::PS512 => "PS512",
            Self::ES256 => "ES256",
            Self::ES384 => "ES384",
        }
    }

    /// Exact, case-sensitive match on the JOSE name (RFC 7515 names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    fn is_rsa(self) -> bool {
        !matches!(self, Self::ES256 | Self::ES384)
    }

    fn rsa_signing(self) -> Option<&'static dyn signature::RsaEncoding> {
        Some(match self {
            Self::RS256 => &signature::RSA_PKCS1_SHA256,
            Self::RS384 => &signature::RSA_PKCS1_SHA384,
            Self::RS512 => &signature::RSA_PKCS1_SHA512,
            Self::PS256 => &signature::RSA_PSS_SHA256,
            Self::PS384 => &signature::RSA_PSS_SHA384,
            Self::PS512 => &signature::RSA_PSS_SHA512,
            Self::ES256 | Self::ES384 => return None,
        })
    }

    fn rsa_verification(self) -> Option<&'static signature::RsaParameters> {
        Some(match self {
            Self::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Self::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Self::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Self::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            Self::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            Self::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
            Self::ES256 | Self::ES384 => return None,
        })
    }

    fn curve(self) -> Option<Curve> {
        match self {
            Self::ES256 => Some(Curve::P256),
            Self::ES384 => Some(Curve::P384),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = JwtError;

    fn from_str(name: &str) -> Result<Self, JwtError> {
        Self::from_name(name).ok_or_else(|| unsupported(name))
    }
}

fn unsupported(name: &str) -> JwtError {
    JwtError::UnsupportedAlgorithm(clip(name))
}

/// Header values are untrusted and may be kilobytes long: keep error texts (and logs) short.
fn clip(text: &str) -> String {
    let end = text.char_indices().nth(64).map_or(text.len(), |(i, _)| i);
    text[..end].to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

impl Curve {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "P-256" => Some(Self::P256),
            "P-384" => Some(Self::P384),
            _ => None,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
        }
    }

    /// Bytes in one coordinate.
    const fn size(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }

    const fn algorithm(self) -> Algorithm {
        match self {
            Self::P256 => Algorithm::ES256,
            Self::P384 => Algorithm::ES384,
        }
    }

    fn signing(self) -> &'static signature::EcdsaSigningAlgorithm {
        match self {
            Self::P256 => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            Self::P384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        }
    }

    /// The fixed (r || s) form JWS uses, not DER.
    fn verification(self) -> &'static signature::EcdsaVerificationAlgorithm {
        match self {
            Self::P256 => &signature::ECDSA_P256_SHA256_FIXED,
            Self::P384 => &signature::ECDSA_P384_SHA384_FIXED,
        }
    }

    fn agreement(self) -> &'static crate::crypto::lib::agreement::Algorithm {
        match self {
            Self::P256 => &crate::crypto::lib::agreement::ECDH_P256,
            Self::P384 => &crate::crypto::lib::agreement::ECDH_P384,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Signing

enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A private key that issues tokens with header `{"alg","typ":"JWT","kid"}`.
pub struct Signer {
    kid: String,
    alg: Algorithm,
    key: SigningKey,
    /// The encoded header never changes, so it is built once.
    header_b64: String,
    rng: SystemRandom,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Loads a PKCS#8 DER private key: RSA (2048–4096 bits, ring's limit for private keys) for
    /// RS*/PS*, EC P-256 for ES256, EC P-384 for ES384.
    pub fn from_pkcs8(kid: &str, alg: Algorithm, der: &[u8]) -> Result<Signer, JwtError> {
        let key = match alg.curve() {
            None => SigningKey::Rsa(RsaKeyPair::from_pkcs8(der).map_err(|e| key_error(alg, e))?),
            Some(curve) => SigningKey::Ec(
                crate::crypto::compat::ecdsa_from_pkcs8(curve.signing(), der)
                    .map_err(|e| key_error(alg, e))?,
            ),
        };
        let header = json!({"alg": alg.as_str(), "typ": "JWT", "kid": kid});
        Ok(Signer {
            kid: kid.to_owned(),
            alg,
            key,
            header_b64: URL_SAFE_NO_PAD.encode(header.to_string()),
            rng: SystemRandom::new(),
        })
    }

    /// Loads a PEM `PRIVATE KEY` block (PKCS#8, as `openssl genpkey` writes it).
    pub fn from_pkcs8_pem(kid: &str, alg: Algorithm, pem: &str) -> Result<Signer, JwtError> {
        const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
        const END: &str = "-----END PRIVATE KEY-----";
        let body = pem
            .split_once(BEGIN)
            .and_then(|(_, rest)| rest.split_once(END))
            .map(|(body, _)| body)
            .ok_or_else(|| {
                JwtError::Key(
                    "no PKCS#8 `BEGIN PRIVATE KEY` block (convert with `openssl pkcs8 -topk8 -nocrypt`)".into(),
                )
            })?;
        let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = STANDARD
            .decode(b64)
            .map_err(|_| JwtError::Key("bad base64 in PEM".into()))?;
        Self::from_pkcs8(kid, alg, &der)
    }

    /// A fresh P-256 key; the PKCS#8 DER is returned so the caller can store it.
    pub fn generate_es256(kid: &str) -> Result<(Signer, Vec<u8>), JwtError> {
        let doc = EcdsaKeyPair::generate_pkcs8(Curve::P256.signing(), &SystemRandom::new())
            .map_err(|_| JwtError::Key("P-256 key generation failed".into()))?;
        let der = doc.as_ref().to_vec();
        Ok((Self::from_pkcs8(kid, Algorithm::ES256, &der)?, der))
    }

    /// Signs `claims` (which must serialise to a JSON object) into a compact JWS.
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, JwtError> {
        let payload = serde_json::to_vec(claims).map_err(|e| JwtError::Encode(e.to_string()))?;
        if payload.first() != Some(&b'{') {
            return Err(JwtError::Encode(
                "claims must serialise to a JSON object".into(),
            ));
        }
        // header.payload.signature, with room for a 4096-bit RSA signature.
        let mut token = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 700);
        token.push_str(&self.header_b64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let failed = |_| JwtError::Key(format!("{} signing failed", self.alg));
        match &self.key {
            SigningKey::Rsa(key) => {
                let padding = self
                    .alg
                    .rsa_signing()
                    .ok_or_else(|| unsupported(self.alg.as_str()))?;
                let mut sig = vec![0; crate::crypto::compat::rsa_modulus_len(key)];
                key.sign(padding, &self.rng, token.as_bytes(), &mut sig)
                    .map_err(failed)?;
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(&sig, &mut token);
            }
            SigningKey::Ec(key) => {
                let sig = key.sign(&self.rng, token.as_bytes()).map_err(failed)?;
                token.push('.');
                URL_SAFE_NO_PAD.encode_string(sig.as_ref(), &mut token);
            }
        }
        Ok(token)
    }

    /// The public half as a JWK (`kty`, `use: sig`, `alg`, `kid`, and `n`/`e` or `crv`/`x`/`y`).
    pub fn public_jwk(&self) -> Value {
        let (alg, kid) = (self.alg.as_str(), self.kid.as_str());
        match &self.key {
            SigningKey::Rsa(key) => {
                let public = crate::crypto::compat::rsa_public(key);
                json!({
                    "kty": "RSA", "use": "sig", "alg": alg, "kid": kid,
                    "n": URL_SAFE_NO_PAD.encode(&public.n), "e": URL_SAFE_NO_PAD.encode(&public.e),
                })
            }
            SigningKey::Ec(key) => {
                // ring gives the uncompressed point: 0x04 || x || y.
                let point = key.public_key().as_ref();
                let (x, y) = point[1..].split_at((point.len() - 1) / 2);
                let crv = self.alg.curve().map_or("", Curve::name);
                json!({
                    "kty": "EC", "use": "sig", "alg": alg, "kid": kid, "crv": crv,
                    "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                })
            }
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn key_error(alg: Algorithm, err: crate::crypto::lib::error::KeyRejected) -> JwtError {
    JwtError::Key(format!("not a usable PKCS#8 key for {alg}: {err}"))
}

/// A JWKS document (`{"keys": [...]}`) publishing the signers' public keys.
pub fn jwks<'a>(signers: impl IntoIterator<Item = &'a Signer>) -> Value {
    let keys: Vec<Value> = signers.into_iter().map(Signer::public_jwk).collect();
    json!({ "keys": keys })
}

// ---------------------------------------------------------------------------------------------
// Public keys

enum Material {
    /// Big-endian, without leading zeros (what ring wants).
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Uncompressed point 0x04 || x || y, checked to be on the curve when loaded.
    Ec { curve: Curve, point: Vec<u8> },
}

struct PublicKey {
    kid: Option<String>,
    /// The JWK's own `alg`, which pins the key to that one algorithm.
    alg: Option<Algorithm>,
    material: Material,
}

impl PublicKey {
    fn fits(&self, alg: Algorithm) -> bool {
        let by_type = match &self.material {
            Material::Rsa { .. } => alg.is_rsa(),
            Material::Ec { curve, .. } => curve.algorithm() == alg,
        };
        by_type && self.alg.is_none_or(|pinned| pinned == alg)
    }

    /// Only called after `fits`, so the algorithm families agree.
    fn verify(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> bool {
        match &self.material {
            Material::Rsa { n, e } => alg.rsa_verification().is_some_and(|params| {
                RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .verify(params, message, sig)
                .is_ok()
            }),
            Material::Ec { curve, point } => {
                signature::UnparsedPublicKey::new(curve.verification(), point)
                    .verify(message, sig)
                    .is_ok()
            }
        }
    }
}

/// The verifying keys of one issuer, read from its JWKS.
///
/// Key choice: a token's `kid` must name a key here (else [`JwtError::UnknownKey`]) whose type
/// and pinned `alg` fit the token's `alg` (else [`JwtError::UnsupportedAlgorithm`]). A token
/// without `kid` is tried against every fitting key, kid-less keys first, so its cost grows
/// with the JWKS; issuers that rotate keys set `kid`.
pub struct KeySet {
    keys: Vec<PublicKey>,
    skipped: Vec<String>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<Option<&str>> = self.keys.iter().map(|k| k.kid.as_deref()).collect();
        f.debug_struct("KeySet")
            .field("kids", &kids)
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl KeySet {
    /// Reads RSA (`n`, `e`; 2048–8192 bits) and EC P-256/P-384 (`crv`, `x`, `y`) keys. Keys we
    /// cannot use (`oct`, other curves, unknown `alg`, `use` other than `sig`, weak or broken
    /// keys) are skipped and listed in [`KeySet::skipped`]; a JWKS with no usable key is an error.
    pub fn from_jwks(jwks: &Value) -> Result<KeySet, JwtError> {
        let entries = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JwtError::Key("JWKS has no `keys` array".into()))?;
        let mut set = KeySet {
            keys: Vec::new(),
            skipped: Vec::new(),
        };
        for (index, jwk) in entries.iter().enumerate() {
            match parse_jwk(jwk) {
                Ok(key) => set.keys.push(key),
                Err(why) => {
                    let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or("");
                    set.skipped
                        .push(format!("key {index} (kid {kid:?}): {why}"));
                }
            }
        }
        if set.keys.is_empty() {
            let why = if set.skipped.is_empty() {
                "the JWKS is empty".to_owned()
            } else {
                set.skipped.join("; ")
            };
            return Err(JwtError::Key(format!("no usable key: {why}")));
        }
        Ok(set)
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Why each unusable JWK was left out, for the log.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    fn verify(
        &self,
        alg: Algorithm,
        kid: Option<&str>,
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), JwtError> {
        let mut tried = false;
        match kid {
            Some(kid) => {
                let mut named = false;
                for key in self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)) {
                    named = true;
                    if key.fits(alg) {
                        tried = true;
                        if key.verify(alg, message, sig) {
                            return Ok(());
                        }
                    }
                }
                if !named {
                    return Err(JwtError::UnknownKey(clip(kid)));
                }
            }
            None => {
                let kidless = self.keys.iter().filter(|k| k.kid.is_none());
                let named = self.keys.iter().filter(|k| k.kid.is_some());
                for key in kidless.chain(named).filter(|k| k.fits(alg)) {
                    tried = true;
                    if key.verify(alg, message, sig) {
                        return Ok(());
                    }
                }
            }
        }
        if tried {
            Err(JwtError::BadSignature)
        } else {
            Err(JwtError::UnsupportedAlgorithm(format!(
                "{alg} does not fit the key"
            )))
        }
    }
}

fn parse_jwk(jwk: &Value) -> Result<PublicKey, String> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        let text = field(name).ok_or_else(|| format!("no `{name}`"))?;
        JWK_BASE64
            .decode(text)
            .map_err(|_| format!("`{name}` is not base64url"))
    };
    if !jwk.is_object() {
        return Err("not an object".into());
    }
    if let Some(usage) = jwk.get("use")
        && usage.as_str() != Some("sig")
    {
        return Err(format!("use {usage} is not sig"));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err("key_ops lacks verify".into());
        }
    }
    let alg = match jwk.get("alg") {
        None => None,
        Some(name) => Some(
            name.as_str()
                .and_then(Algorithm::from_name)
                .ok_or_else(|| format!("alg {name} is not supported"))?,
        ),
    };
    let material = match field("kty") {
        Some("RSA") => {
            let n = strip_leading_zeros(bytes("n")?);
            let e = strip_leading_zeros(bytes("e")?);
            let bits = n
                .first()
                .map_or(0, |top| n.len() * 8 - top.leading_zeros() as usize);
            if !(2048..=8192).contains(&bits) {
                return Err(format!(
                    "RSA modulus of {bits} bits (2048 to 8192 accepted)"
                ));
            }
            // ring's limits: odd, at least 3, at most 2^33 - 1.
            let exponent =
                (e.len() <= 8).then(|| e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)));
            if !exponent.is_some_and(|e| e >= 3 && e % 2 == 1 && e < 1 << 33) {
                return Err("unusable RSA exponent".into());
            }
            Material::Rsa { n, e }
        }
        Some("EC") => {
            let crv = field("crv").unwrap_or("");
            let curve =
                Curve::from_name(crv).ok_or_else(|| format!("curve {crv:?} is not supported"))?;
            let mut point = Vec::with_capacity(1 + 2 * curve.size());
            point.push(0x04);
            for name in ["x", "y"] {
                let coordinate = strip_leading_zeros(bytes(name)?);
                if coordinate.len() > curve.size() {
                    return Err(format!("`{name}` too long for {crv}"));
                }
                // RFC 7518 wants full-length coordinates; left-pad the ones that are not.
                point.resize(point.len() + curve.size() - coordinate.len(), 0);
                point.extend_from_slice(&coordinate);
            }
            if !on_curve(curve, &point) {
                return Err(format!("point is not on {crv}"));
            }
            Material::Ec { curve, point }
        }
        Some(kty) => return Err(format!("kty {kty:?} is not supported")),
        None => return Err("no kty".into()),
    };
    let key = PublicKey {
        kid: field("kid").map(str::to_owned),
        alg,
        material,
    };
    match key.alg {
        Some(alg) if !key.fits(alg) => Err(format!("alg {alg} does not fit the key type")),
        _ => Ok(key),
    }
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

/// ring checks a point only when it is used; an ECDH with a throwaway key makes that use happen
/// at load, so a broken JWK is reported once instead of failing every token as a bad signature.
fn on_curve(curve: Curve, point: &[u8]) -> bool {
    crate::crypto::compat::agrees(curve.agreement(), point)
}

// ---------------------------------------------------------------------------------------------
// Verification

/// What to check besides the signature. `exp` is always required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    /// When set, `iss` must equal it.
    pub issuer: Option<String>,
    /// When not empty, `aud` (a string or an array) must contain one of these.
    pub audiences: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway_seconds: u64,
}

/// A token whose signature and time window checked out.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub header_kid: Option<String>,
    pub alg: Algorithm,
    pub claims: Map<String, Value>,
    /// `exp` in whole seconds (fractions rounded down).
    pub exp: i64,
}

impl Verified {
    /// A string claim, such as `sub`, `scope` or `client_id`.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// The parts of a token read without verifying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeked {
    pub alg: String,
    pub kid: Option<String>,
    pub iss: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    /// Any `crit` names an extension we do not implement, which RFC 7515 says must be refused.
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

struct Segments<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
    /// `header.payload`, the bytes the signature covers.
    signed: &'a str,
}

fn split(token: &str) -> Result<Segments<'_>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::Malformed("token too long"));
    }
    let (signed, signature) = token
        .rsplit_once('.')
        .ok_or(JwtError::Malformed("not three segments"))?;
    let (header, payload) = signed
        .split_once('.')
        .ok_or(JwtError::Malformed("not three segments"))?;
    if payload.contains('.') {
        return Err(JwtError::Malformed("not three segments"));
    }
    Ok(Segments {
        header,
        payload,
        signature,
        signed,
    })
}

fn decode_header(segment: &str) -> Result<Header, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwtError::Malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&bytes)
        .map_err(|_| JwtError::Malformed("header is not a JSON object with alg"))?;
    if header.crit.is_some() {
        return Err(JwtError::Malformed(
            "crit header extensions are not supported",
        ));
    }
    Ok(header)
}

/// Checks the signature with a key from `keys`, then `exp` (required), `nbf`, `iss` and `aud`.
///
/// Header fields that point at other keys (`jku`, `jwk`, `x5u`, `x5c`) are ignored: only keys in
/// `keys` are ever used.
pub fn verify(
    token: &str,
    keys: &KeySet,
    validation: &Validation,
    now_unix: i64,
) -> Result<Verified, JwtError> {
    let segments = split(token)?;
    let header = decode_header(segments.header)?;
    let alg = Algorithm::from_name(&header.alg).ok_or_else(|| unsupported(&header.alg))?;
    let sig = URL_SAFE_NO_PAD
        .decode(segments.signature)
        .map_err(|_| JwtError::Malformed("signature is not base64url"))?;
    keys.verify(alg, header.kid.as_deref(), segments.signed.as_bytes(), &sig)?;

    // Only now is the payload trusted enough to interpret.
    let payload = URL_SAFE_NO_PAD
        .decode(segments.payload)
        .map_err(|_| JwtError::Malformed("payload is not base64url"))?;
    let claims: Map<String, Value> = serde_json::from_slice(&payload)
        .map_err(|_| JwtError::Malformed("payload is not a JSON object"))?;
    let exp = check_claims(&claims, validation, now_unix)?;
    Ok(Verified {
        header_kid: header.kid,
        alg,
        claims,
        exp,
    })
}

fn check_claims(
    claims: &Map<String, Value>,
    validation: &Validation,
    now: i64,
) -> Result<i64, JwtError> {
    let leeway = i64::try_from(validation.leeway_seconds).unwrap_or(i64::MAX);
    let exp = claims.get("exp").ok_or(JwtError::MissingClaim("exp"))?;
    let exp = numeric_date(exp).ok_or(JwtError::InvalidClaim("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(JwtError::Expired);
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = numeric_date(nbf).ok_or(JwtError::InvalidClaim("nbf"))?;
        if now.saturating_add(leeway) < nbf {
            return Err(JwtError::NotYetValid);
        }
    }
    if let Some(issuer) = &validation.issuer {
        match claims.get("iss") {
            None => return Err(JwtError::MissingClaim("iss")),
            Some(Value::String(iss)) if iss == issuer => {}
            Some(_) => return Err(JwtError::WrongIssuer),
        }
    }
    if !validation.audiences.is_empty() {
        let wanted = |aud: &str| validation.audiences.iter().any(|a| a == aud);
        let found = match claims.get("aud") {
            None => return Err(JwtError::MissingClaim("aud")),
            Some(Value::String(aud)) => wanted(aud),
            Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(wanted),
            Some(_) => return Err(JwtError::InvalidClaim("aud")),
        };
        if !found {
            return Err(JwtError::WrongAudience);
        }
    }
    Ok(exp)
}

/// RFC 7519 NumericDate: seconds, possibly fractional. Values outside i64 are refused.
fn numeric_date(value: &Value) -> Option<i64> {
    if let Some(seconds) = value.as_i64() {
        return Some(seconds);
    }
    let seconds = value.as_f64()?;
    // `i64::MAX as f64` rounds up to 2^63, so `<` keeps the cast exact.
    (seconds.is_finite() && seconds >= i64::MIN as f64 && seconds < i64::MAX as f64)
        .then(|| seconds.floor() as i64)
}

/// Reads the header's `alg` and `kid` and the payload's `iss` without checking anything, so the
/// gateway can pick the key manager whose keys will then [`verify`] the token.
pub fn peek(token: &str) -> Result<Peeked, JwtError> {
    #[derive(Deserialize)]
    struct Issuer {
        #[serde(default)]
        iss: Option<Value>,
    }
    let segments = split(token)?;
    let header = decode_header(segments.header)?;
    let payload = URL_SAFE_NO_PAD
        .decode(segments.payload)
        .map_err(|_| JwtError::Malformed("payload is not base64url"))?;
    let payload: Issuer = serde_json::from_slice(&payload)
        .map_err(|_| JwtError::Malformed("payload is not a JSON object"))?;
    let iss = match payload.iss {
        Some(Value::String(iss)) => Some(iss),
        _ => None,
    };
    Ok(Peeked {
        alg: header.alg,
        kid: header.kid,
        iss,
    })
}

// ---------------------------------------------------------------------------------------------
// Verified-token cache

const SHARDS: usize = 16;

struct Entry<T> {
    expires_at: i64,
    value: Arc<T>,
}

type Shard<T> = HashMap<[u8; 32], Entry<T>>;

/// Verified tokens keyed by the SHA-256 of the token, each kept until its `exp` and never longer
/// than the max age (so a revoked key stops working within that time even if nobody calls
/// [`TokenCache::clear`]). A hit costs one hash and one lock of one of 16 shards.
///
/// Only the token is the key: store what the signature proves (the claims) and apply per-API
/// checks such as audience or scope to the cached value on every request.
pub struct TokenCache<T> {
    shards: Box<[Mutex<Shard<T>>]>,
    per_shard: usize,
    max_age_seconds: i64,
}

impl<T> fmt::Debug for TokenCache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("max_age_seconds", &self.max_age_seconds)
            .finish()
    }
}

impl<T> TokenCache<T> {
    /// Holds at most `capacity` tokens, rounded up to a multiple of 16; 0 disables the cache.
    pub fn new(capacity: usize, max_age_seconds: u64) -> Self {
        TokenCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS),
            max_age_seconds: i64::try_from(max_age_seconds).unwrap_or(i64::MAX),
        }
    }

    pub fn get(&self, token: &str, now_unix: i64) -> Option<Arc<T>> {
        let key = digest(token);
        let mut shard = self.shard(&key);
        let entry = shard.get(&key)?;
        if entry.expires_at > now_unix {
            return Some(Arc::clone(&entry.value));
        }
        shard.remove(&key);
        None
    }

    /// Remembers a verified token until `min(exp, now + max age)`; an already expired one is
    /// not stored. A full shard drops its expired entries, then arbitrary ones down to half.
    pub fn insert(&self, token: &str, exp: i64, now_unix: i64, value: Arc<T>) {
        let expires_at = exp.min(now_unix.saturating_add(self.max_age_seconds));
        if expires_at <= now_unix || self.per_shard == 0 {
            return;
        }
        let key = digest(token);
        let mut shard = self.shard(&key);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.retain(|_, entry| entry.expires_at > now_unix);
            // Halving (not dropping one) keeps eviction at O(1) per insert on average.
            let keep = self.per_shard / 2;
            let mut kept = 0;
            shard.retain(|_, _| {
                kept += 1;
                kept <= keep
            });
        }
        shard.insert(key, Entry { expires_at, value });
    }

    /// Entries held, including expired ones not yet dropped.
    pub fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.lock(i).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// Drops everything, e.g. after a key manager's JWKS changed.
    pub fn clear(&self) {
        for i in 0..SHARDS {
            self.lock(i).clear();
        }
    }

    fn shard(&self, key: &[u8; 32]) -> MutexGuard<'_, Shard<T>> {
        self.lock(usize::from(key[0]) % SHARDS)
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard<T>> {
        // A panic elsewhere while holding the lock leaves a map that is still a valid cache.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn digest(token: &str) -> [u8; 32] {
    let mut key = [0; 32];
    key.copy_from_slice(
        crate::crypto::lib::digest::digest(&crate::crypto::lib::digest::SHA256, token.as_bytes())
            .as_ref(),
    );
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test-only RSA 2048 key (`openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048
    /// -outform DER`); never use it anywhere else.
    const RSA_PK8: &[u8] = include_bytes!("../tests/keys/rsa2048.pk8");
    /// Its public half, SubjectPublicKeyInfo PEM (what an attacker would use as an HMAC secret).
    const RSA_PUB_PEM: &str = include_str!("../tests/keys/rsa2048.pub.pem");
    /// Tokens and a JWKS made by Python `cryptography` 48 (independent of ring), exp in 2100.
    const INTEROP: &str = include_str!("../tests/keys/interop.json");

    const NOW: i64 = 1_700_000_000;

    fn rsa(alg: Algorithm) -> Signer {
        Signer::from_pkcs8("rsa-1", alg, RSA_PK8).unwrap()
    }

    fn keys_of(signers: &[&Signer]) -> KeySet {
        KeySet::from_jwks(&jwks(signers.iter().copied())).unwrap()
    }

    fn claims() -> Value {
        json!({"iss": "https://idp.example", "sub": "alice", "aud": "gatehouse", "exp": NOW + 600})
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Signs raw header and payload bytes with the test RSA key, bypassing `Signer`'s checks.
    fn rs256_raw(header: &str, payload: &[u8]) -> String {
        let key = RsaKeyPair::from_pkcs8(RSA_PK8).unwrap();
        let signed = format!("{}.{}", b64(header), b64(payload));
        let mut sig = vec![0; crate::crypto::compat::rsa_modulus_len(&key)];
        key.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signed.as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{signed}.{}", b64(sig))
    }

    fn hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
        let signed = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let key = crate::crypto::lib::hmac::Key::new(crate::crypto::lib::hmac::HMAC_SHA256, secret);
        let tag = crate::crypto::lib::hmac::sign(&key, signed.as_bytes());
        format!("{signed}.{}", b64(tag))
    }

    fn lenient() -> Validation {
        Validation::default()
    }

    #[test]
    fn rs256_round_trip_through_the_published_jwks() {
        let signer = rsa(Algorithm::RS256);
        let token = signer.sign(&claims()).unwrap();
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            header,
            json!({"alg": "RS256", "typ": "JWT", "kid": "rsa-1"})
        );

        let validation = Validation {
            issuer: Some("https://idp.example".into()),
            audiences: vec!["gatehouse".into()],
            leeway_seconds: 0,
        };
        let verified = verify(&token, &keys_of(&[&signer]), &validation, NOW).unwrap();
        assert_eq!(verified.header_kid.as_deref(), Some("rsa-1"));
        assert_eq!(verified.alg, Algorithm::RS256);
        assert_eq!(verified.exp, NOW + 600);
        assert_eq!(Value::Object(verified.claims), claims());
    }

    #[test]
    fn es256_round_trip_and_reload_from_pkcs8() {
        let (signer, der) = Signer::generate_es256("ec-1").unwrap();
        let reloaded = Signer::from_pkcs8("ec-1", Algorithm::ES256, &der).unwrap();
        assert_eq!(reloaded.public_jwk(), signer.public_jwk());

        let token = signer.sign(&claims()).unwrap();
        let sig = URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap();
        assert_eq!(sig.len(), 64, "JWS wants r || s, not DER");
        let keys = keys_of(&[&reloaded]);
        assert_eq!(
            verify(&token, &keys, &lenient(), NOW)
                .unwrap()
                .claim_str("sub"),
            Some("alice")
        );
        // ECDSA is randomised, but both signatures verify.
        let again = reloaded.sign(&claims()).unwrap();
        assert_ne!(again, token);
        verify(&again, &keys, &lenient(), NOW).unwrap();
    }

    #[test]
    fn every_algorithm_round_trips() {
        let p384 = EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap();
        for alg in Algorithm::ALL {
            let signer = match alg {
                Algorithm::ES256 => Signer::generate_es256("k").unwrap().0,
                Algorithm::ES384 => Signer::from_pkcs8("k", alg, p384.as_ref()).unwrap(),
                _ => Signer::from_pkcs8("k", alg, RSA_PK8).unwrap(),
            };
            assert_eq!(signer.algorithm(), alg);
            assert_eq!(signer.kid(), "k");
            let token = signer.sign(&claims()).unwrap();
            let verified = verify(&token, &keys_of(&[&signer]), &lenient(), NOW).unwrap();
            assert_eq!(verified.alg, alg);
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
        }
    }

    #[test]
    fn verifies_tokens_made_by_another_implementation() {
        let interop: Value = serde_json::from_str(INTEROP).unwrap();
        let keys = KeySet::from_jwks(&interop["jwks"]).unwrap();
        assert_eq!(keys.len(), 3);
        assert_eq!(
            keys.skipped().len(),
            2,
            "the oct key and the use=enc key: {:?}",
            keys.skipped()
        );
        let validation = Validation {
            issuer: Some("https://idp.example".into()),
            audiences: vec!["gatehouse".into()],
            leeway_seconds: 0,
        };
        let tokens = interop["tokens"].as_object().unwrap();
        assert_eq!(tokens.len(), 6);
        for (alg, token) in tokens {
            let verified = verify(token.as_str().unwrap(), &keys, &validation, NOW)
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(verified.alg.as_str(), alg);
            assert_eq!(Value::Object(verified.claims), interop["claims"]);
        }
        // Our RSA JWK encodes the same n and e as theirs.
        let ours = rsa(Algorithm::RS256).public_jwk();
        assert_eq!(ours["n"], interop["jwks"]["keys"][0]["n"]);
        assert_eq!(ours["e"], "AQAB");
    }

    #[test]
    fn public_jwk_shapes() {
        let jwk = rsa(Algorithm::PS256).public_jwk();
        assert_eq!(
            (
                jwk["kty"].as_str(),
                jwk["alg"].as_str(),
                jwk["use"].as_str()
            ),
            (Some("RSA"), Some("PS256"), Some("sig"))
        );
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["n"].as_str().unwrap())
                .unwrap()
                .len(),
            256
        );

        let (ec, _) = Signer::generate_es256("ec").unwrap();
        let jwk = ec.public_jwk();
        assert_eq!(
            (
                jwk["kty"].as_str(),
                jwk["crv"].as_str(),
                jwk["kid"].as_str()
            ),
            (Some("EC"), Some("P-256"), Some("ec"))
        );
        for coordinate in ["x", "y"] {
            assert_eq!(
                URL_SAFE_NO_PAD
                    .decode(jwk[coordinate].as_str().unwrap())
                    .unwrap()
                    .len(),
                32
            );
        }
        let set = jwks([&ec, &rsa(Algorithm::RS256)]);
        assert_eq!(set["keys"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn refuses_alg_none() {
        let keys = keys_of(&[&rsa(Algorithm::RS256)]);
        for alg in ["none", "None", "NONE", ""] {
            let token = format!(
                "{}.{}.",
                b64(json!({"alg": alg, "kid": "rsa-1"}).to_string()),
                b64(claims().to_string())
            );
            assert!(
                matches!(
                    verify(&token, &keys, &lenient(), NOW),
                    Err(JwtError::UnsupportedAlgorithm(_))
                ),
                "{alg}"
            );
        }
    }

    #[test]
    fn refuses_hs256_keyed_with_the_rsa_public_key() {
        let signer = rsa(Algorithm::RS256);
        let keys = keys_of(&[&signer]);
        let jwk = signer.public_jwk();
        let pkcs1 =
            crate::crypto::compat::rsa_public_der(&RsaKeyPair::from_pkcs8(RSA_PK8).unwrap());
        let spki_b64: String = RSA_PUB_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let spki = STANDARD.decode(&spki_b64).unwrap();
        let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
        let secrets: Vec<Vec<u8>> = vec![
            RSA_PUB_PEM.as_bytes().to_vec(),
            RSA_PUB_PEM.trim_end().as_bytes().to_vec(),
            spki,
            pkcs1,
            n,
            jwk["n"].as_str().unwrap().as_bytes().to_vec(),
            jwk.to_string().into_bytes(),
        ];
        for (i, secret) in secrets.iter().enumerate() {
            for alg in ["HS256", "HS384", "HS512"] {
                for header in [
                    json!({"alg": alg, "typ": "JWT", "kid": "rsa-1"}),
                    json!({"alg": alg}),
                ] {
                    let token = hs256(&header, &claims(), secret);
                    let result = verify(&token, &keys, &lenient(), NOW);
                    assert_eq!(
                        result,
                        Err(JwtError::UnsupportedAlgorithm(alg.into())),
                        "secret {i}, {header}"
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_an_alg_that_does_not_fit_the_key() {
        let rsa_signer = rsa(Algorithm::RS256);
        let (ec_signer, _) = Signer::generate_es256("ec-1").unwrap();
        let keys = keys_of(&[&rsa_signer, &ec_signer]);

        // RS256 header naming the EC key, signed with the RSA key.
        let token = rs256_raw(
            &json!({"alg": "RS256", "kid": "ec-1"}).to_string(),
            claims().to_string().as_bytes(),
        );
        assert!(matches!(
            verify(&token, &keys, &lenient(), NOW),
            Err(JwtError::UnsupportedAlgorithm(_))
        ));

        // ES256 header naming the RSA key, with a real ES256 signature from the EC key.
        let es = ec_signer.sign(&claims()).unwrap();
        let (_, rest) = es.split_once('.').unwrap();
        let forged = format!(
            "{}.{rest}",
            b64(json!({"alg": "ES256", "kid": "rsa-1"}).to_string())
        );
        assert!(matches!(
            verify(&forged, &keys, &lenient(), NOW),
            Err(JwtError::UnsupportedAlgorithm(_))
        ));

        // A JWK that says alg RS256 does not verify PS256 with the same RSA key.
        let ps = rsa(Algorithm::PS256).sign(&claims()).unwrap();
        assert!(matches!(
            verify(&ps, &keys, &lenient(), NOW),
            Err(JwtError::UnsupportedAlgorithm(_))
        ));
        // Without the pin, it does.
        let mut jwk = rsa_signer.public_jwk();
        jwk.as_object_mut().unwrap().remove("alg");
        let unpinned = KeySet::from_jwks(&json!({"keys": [jwk]})).unwrap();
        verify(&ps, &unpinned, &lenient(), NOW).unwrap();
    }

    #[test]
    fn checks_issuer_and_audience() {
        let signer = rsa(Algorithm::RS256);
        let keys = keys_of(&[&signer]);
        let token = signer.sign(&claims()).unwrap();
        let with = |issuer: Option<&str>, audiences: &[&str]| Validation {
            issuer: issuer.map(str::to_owned),
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            leeway_seconds: 0,
        };
        assert_eq!(
            verify(&token, &keys, &with(Some("https://evil.example"), &[]), NOW),
            Err(JwtError::WrongIssuer)
        );
        assert_eq!(
            verify(&token, &keys, &with(None, &["other"]), NOW),
            Err(JwtError::WrongAudience)
        );
        verify(&token, &keys, &with(None, &["other", "gatehouse"]), NOW).unwrap();

        let array = signer
            .sign(&json!({"aud": ["a", 7, "gatehouse"], "iss": 5, "exp": NOW + 60}))
            .unwrap();
        verify(&array, &keys, &with(None, &["gatehouse"]), NOW).unwrap();
        assert_eq!(
            verify(&array, &keys, &with(None, &["b"]), NOW),
            Err(JwtError::WrongAudience)
        );
        assert_eq!(
            verify(&array, &keys, &with(Some("5"), &[]), NOW),
            Err(JwtError::WrongIssuer)
        );

        let bare = signer.sign(&json!({"exp": NOW + 60})).unwrap();
        assert_eq!(
            verify(&bare, &keys, &with(Some("x"), &[]), NOW),
            Err(JwtError::MissingClaim("iss"))
        );
        assert_eq!(
            verify(&bare, &keys, &with(None, &["x"]), NOW),
            Err(JwtError::MissingClaim("aud"))
        );
        let odd = signer
            .sign(&json!({"exp": NOW + 60, "aud": {"x": 1}}))
            .unwrap();
        assert_eq!(
            verify(&odd, &keys, &with(None, &["x"]), NOW),
            Err(JwtError::InvalidClaim("aud"))
        );
    }

    #[test]
    fn checks_the_time_window_with_leeway() {
        let signer = rsa(Algorithm::RS256);
        let keys = keys_of(&[&signer]);
        let at = |exp: Value, nbf: Option<i64>| {
            let mut claims = json!({"exp": exp});
            if let Some(nbf) = nbf {
                claims["nbf"] = json!(nbf);
            }
            signer.sign(&claims).unwrap()
        };
        let leeway = |seconds| Validation {
            leeway_seconds: seconds,
            ..Validation::default()
        };

        assert_eq!(
            verify(&at(json!(NOW), None), &keys, &leeway(0), NOW),
            Err(JwtError::Expired)
        );
        assert_eq!(
            verify(&at(json!(NOW - 61), None), &keys, &leeway(60), NOW),
            Err(JwtError::Expired)
        );
        assert_eq!(
            verify(&at(json!(NOW - 30), None), &keys, &leeway(60), NOW)
                .unwrap()
                .exp,
            NOW - 30
        );
        assert_eq!(
            verify(&at(json!(NOW + 1), None), &keys, &leeway(0), NOW)
                .unwrap()
                .exp,
            NOW + 1
        );
        // Fractional NumericDate is allowed.
        assert_eq!(
            verify(&at(json!(NOW as f64 + 10.5), None), &keys, &leeway(0), NOW)
                .unwrap()
                .exp,
            NOW + 10
        );
        // Huge leeway saturates instead of overflowing.
        verify(&at(json!(i64::MAX), None), &keys, &leeway(u64::MAX), NOW).unwrap();

        assert_eq!(
            verify(
                &at(json!(NOW + 600), Some(NOW + 61)),
                &keys,
                &leeway(60),
                NOW
            ),
            Err(JwtError::NotYetValid)
        );
        verify(
            &at(json!(NOW + 600), Some(NOW + 59)),
            &keys,
            &leeway(60),
            NOW,
        )
        .unwrap();
        verify(&at(json!(NOW + 600), Some(NOW)), &keys, &leeway(0), NOW).unwrap();
    }

    #[test]
    fn requires_a_numeric_exp() {
        let signer = rsa(Algorithm::RS256);
        let keys = keys_of(&[&signer]);
        let missing = signer.sign(&json!({"sub": "alice"})).unwrap();
        assert_eq!(
            verify(&missing, &keys, &lenient(), NOW),
            Err(JwtError::MissingClaim("exp"))
        );
        for exp in [
            json!("2100-01-01"),
            json!(null),
            json!(u64::MAX),
            json!(1e300),
            json!(-1e300),
            json!([NOW + 60]),
        ] {
            let token = signer.sign(&json!({"exp": exp})).unwrap();
            assert_eq!(
                verify(&token, &keys, &lenient(), NOW),
                Err(JwtError::InvalidClaim("exp")),
                "{exp}"
            );
        }
        let token = signer
            .sign(&json!({"exp": NOW + 60, "nbf": "soon"}))
            .unwrap();
        assert_eq!(
            verify(&token, &keys, &lenient(), NOW),
            Err(JwtError::InvalidClaim("nbf"))
        );
    }

    #[test]
    fn refuses_tampering_and_foreign_signatures() {
        let signer = rsa(Algorithm::RS256);
        let keys = keys_of(&[&signer]);
        let token = signer.sign(&claims()).unwrap();
        let (header, rest) = token.split_once('.').unwrap();
        let (_, sig) = rest.split_once('.').unwrap();

        let mut admin = claims();
        admin["sub"] = json!("admin");
        let tampered = format!("{header}.{}.{sig}", b64(admin.to_string()));
        assert_eq!(
            verify(&tampered, &keys, &lenient(), NOW),
            Err(JwtError::BadSignature)
        );

        // Same kid, different key.
        let (other, _) = Signer::generate_es256("rsa-1").unwrap();
        let ec_keys = keys_of(&[&other]);
        assert_eq!(
            verify(&token, &ec_keys, &lenient(), NOW),
            Err(JwtError::UnsupportedAlgorithm(
                "RS256 does not fit the key".into()
            ))
        );
        let (impostor, _) = Signer::generate_es256("rsa-1").unwrap();
        let forged = impostor.sign(&claims()).unwrap();
        assert_eq!(
            verify(&forged, &ec_keys, &lenient(), NOW),
            Err(JwtError::BadSignature)
        );

        // Truncated, extended and empty signatures.
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        for bad in [&sig[..255], &[&sig[..], &[0]].concat(), &[]] {
            let token = format!("{header}.{}.{}", b64(claims().to_string()), b64(bad));
            assert_eq!(
                verify(&token, &keys, &lenient(), NOW),
                Err(JwtError::BadSignature),
                "{} bytes",
                bad.len()
            );
        }
    }

    #[test]
    fn chooses_keys_by_kid() {
        let a = rsa(Algorithm::RS256);
        let (b, _) = Signer::generate_es256("ec-b").unwrap();
        let keys = keys_of(&[&a, &b]);
        assert!(keys.has_kid("rsa-1") && keys.has_kid("ec-b") && !keys.has_kid("nope"));

        let (stranger, _) = Signer::generate_es256("nope").unwrap();
        let token = stranger.sign(&claims()).unwrap();
        assert_eq!(
            verify(&token, &keys, &lenient(), NOW),
            Err(JwtError::UnknownKey("nope".into()))
        );
        // A long kid from a header is clipped in the error.
        let (long, _) = Signer::generate_es256(&"é".repeat(5_000)).unwrap();
        let token = long.sign(&claims()).unwrap();
        assert_eq!(
            verify(&token, &keys, &lenient(), NOW),
            Err(JwtError::UnknownKey("é".repeat(64)))
        );

        // No kid in the token: every fitting key is tried.
        let no_kid = rs256_raw(r#"{"alg":"RS256"}"#, claims().to_string().as_bytes());
        assert_eq!(
            verify(&no_kid, &keys, &lenient(), NOW).unwrap().header_kid,
            None
        );
        // A kid-less JWK serves kid-less tokens, but not tokens that name a kid.
        let mut jwk = a.public_jwk();
        jwk.as_object_mut().unwrap().remove("kid");
        let kidless = KeySet::from_jwks(&json!({"keys": [jwk, b.public_jwk()]})).unwrap();
        assert!(!kidless.has_kid("rsa-1"));
        verify(&no_kid, &kidless, &lenient(), NOW).unwrap();
        let named = a.sign(&claims()).unwrap();
        assert_eq!(
            verify(&named, &kidless, &lenient(), NOW),
            Err(JwtError::UnknownKey("rsa-1".into()))
        );
        // Dropping the kid from a signed header breaks the signature it was covered by.
        let (_, rest) = named.split_once('.').unwrap();
        let stripped = format!("{}.{rest}", b64(r#"{"alg":"RS256","typ":"JWT"}"#));
        assert_eq!(
            verify(&stripped, &kidless, &lenient(), NOW),
            Err(JwtError::BadSignature)
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let keys = keys_of(&[&rsa(Algorithm::RS256)]);
        let header = b64(r#"{"alg":"RS256","kid":"rsa-1"}"#);
        let body = b64(claims().to_string());
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        let mut inputs: Vec<String> = [
            "",
            ".",
            "..",
            "...",
            "a",
            "a.b",
            "a.b.c",
            "a.b.c.d",
            "a.b.c.d.e",
            "é.é.é",
            "\0.\0.\0",
            "====.====.====",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        inputs.extend([
            huge,
            format!("{header}.{body}"),
            format!("{header}.{body}.!!!"),
            format!("{header}=.{body}.AAAA"),
            format!("{}.{body}.AAAA", b64("not json")),
            format!("{}.{body}.AAAA", b64("[1,2]")),
            format!("{}.{body}.AAAA", b64("{}")),
            format!("{}.{body}.AAAA", b64(r#"{"alg":256}"#)),
            format!("{}.{body}.AAAA", b64(r#"{"alg":"RS256","kid":7}"#)),
            format!("{}.{body}.AAAA", b64(r#"{"alg":"RS256","alg":"RS256"}"#)),
            format!("{}.{body}.AAAA", b64(r#"{"alg":"RS256","crit":["exp"]}"#)),
            format!(
                "{}.{body}.AAAA",
                b64(format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000)))
            ),
            format!(
                "{}.{body}.AAAA",
                b64(format!(r#"{{"alg":"{}"}}"#, "X".repeat(10_000)))
            ),
            format!("{header}.{body}."),
        ]);
        // Correctly signed, but the payload is not a claims object.
        for payload in [
            "",
            "null",
            "[]",
            "not json",
            "\"exp\"",
            "{\"exp\":1e999}",
            "{\"exp\":99999999999999999999999}",
        ] {
            inputs.push(rs256_raw(
                r#"{"alg":"RS256","kid":"rsa-1"}"#,
                payload.as_bytes(),
            ));
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        inputs.push(rs256_raw(
            r#"{"alg":"RS256","kid":"rsa-1"}"#,
            deep.as_bytes(),
        ));
        for input in &inputs {
            let shown = &input[..input.len().min(60)];
            assert!(verify(input, &keys, &lenient(), NOW).is_err(), "{shown}");
            let _ = peek(input);
        }
        assert_eq!(
            verify(&inputs[12], &keys, &lenient(), NOW),
            Err(JwtError::Malformed("token too long"))
        );
        assert_eq!(
            peek(&inputs[12]),
            Err(JwtError::Malformed("token too long"))
        );
    }

    #[test]
    fn every_single_character_change_is_refused() {
        let (signer, _) = Signer::generate_es256("ec").unwrap();
        let keys = keys_of(&[&signer]);
        let token = signer.sign(&claims()).unwrap();
        verify(&token, &keys, &lenient(), NOW).unwrap();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3_000 {
            // xorshift: deterministic, so a failure can be replayed.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut bytes = token.clone().into_bytes();
            let at = (state % bytes.len() as u64) as usize;
            let with = alphabet[(state >> 32) as usize % alphabet.len()];
            if bytes[at] == with {
                continue;
            }
            bytes[at] = with;
            let mutated = String::from_utf8(bytes).unwrap();
            assert!(
                verify(&mutated, &keys, &lenient(), NOW).is_err(),
                "{mutated}"
            );
        }
    }

    #[test]
    fn peek_reads_without_verifying() {
        let token = rs256_raw(
            r#"{"alg":"RS256","kid":"k1"}"#,
            br#"{"iss":"https://idp.example","exp":1}"#,
        );
        let peeked = peek(&token).unwrap();
        assert_eq!(
            peeked,
            Peeked {
                alg: "RS256".into(),
                kid: Some("k1".into()),
                iss: Some("https://idp.example".into())
            }
        );
        let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(r#"{"iss":7}"#));
        assert_eq!(
            peek(&unsigned).unwrap(),
            Peeked {
                alg: "none".into(),
                kid: None,
                iss: None
            }
        );
        assert!(matches!(peek("a.b.c"), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn reads_only_usable_keys_from_a_jwks() {
        let rsa_jwk = rsa(Algorithm::RS256).public_jwk();
        let (ec, _) = Signer::generate_es256("ec").unwrap();
        let ec_jwk = ec.public_jwk();
        let with = |base: &Value, field: &str, value: Value| {
            let mut jwk = base.clone();
            jwk[field] = value;
            jwk
        };
        let mut weak_n = vec![0x80];
        weak_n.resize(128, 1);
        let mut off_curve = URL_SAFE_NO_PAD
            .decode(ec_jwk["y"].as_str().unwrap())
            .unwrap();
        off_curve[31] ^= 1;
        let jwks = json!({"keys": [
            rsa_jwk,
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
            {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
            with(&ec_jwk, "crv", json!("P-521")),
            with(&ec_jwk, "y", json!(b64(off_curve))),
            with(&ec_jwk, "alg", json!("RS256")),
            with(&rsa_jwk, "alg", json!("HS256")),
            with(&rsa_jwk, "use", json!("enc")),
            with(&rsa_jwk, "key_ops", json!(["encrypt"])),
            with(&rsa_jwk, "n", json!(b64(weak_n))),
            with(&rsa_jwk, "e", json!("AQ")),
            with(&rsa_jwk, "n", json!("not base64!")),
            "not an object",
            {},
        ]});
        let keys = KeySet::from_jwks(&jwks).unwrap();
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert_eq!(keys.skipped().len(), 13, "{keys:?}");
        assert!(keys.has_kid("rsa-1"));

        // Leading zeros and padding, as some publishers write them, are accepted.
        let n = URL_SAFE_NO_PAD
            .decode(rsa_jwk["n"].as_str().unwrap())
            .unwrap();
        let padded = [&[0u8][..], &n].concat();
        let lenient_jwk = with(
            &rsa_jwk,
            "n",
            json!(base64::engine::general_purpose::URL_SAFE.encode(padded)),
        );
        let keys = KeySet::from_jwks(&json!({"keys": [lenient_jwk]})).unwrap();
        verify(
            &rsa(Algorithm::RS256).sign(&claims()).unwrap(),
            &keys,
            &lenient(),
            NOW,
        )
        .unwrap();

        for bad in [
            json!({}),
            json!({"keys": "x"}),
            json!({"keys": []}),
            json!({"keys": [{"kty": "oct"}]}),
            json!([1]),
        ] {
            assert!(
                matches!(KeySet::from_jwks(&bad), Err(JwtError::Key(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn signer_refuses_wrong_keys_and_non_object_claims() {
        assert!(matches!(
            Signer::from_pkcs8("k", Algorithm::ES256, RSA_PK8),
            Err(JwtError::Key(_))
        ));
        assert!(matches!(
            Signer::from_pkcs8("k", Algorithm::RS256, b"garbage"),
            Err(JwtError::Key(_))
        ));
        let (_, ec_der) = Signer::generate_es256("k").unwrap();
        assert!(matches!(
            Signer::from_pkcs8("k", Algorithm::RS256, &ec_der),
            Err(JwtError::Key(_))
        ));
        assert!(matches!(
            Signer::from_pkcs8("k", Algorithm::ES384, &ec_der),
            Err(JwtError::Key(_))
        ));

        let signer = rsa(Algorithm::RS256);
        assert!(matches!(
            signer.sign(&json!([1, 2])),
            Err(JwtError::Encode(_))
        ));
        assert!(matches!(signer.sign(&"text"), Err(JwtError::Encode(_))));
        let mut bad_keys = HashMap::new();
        bad_keys.insert((1, 2), 3);
        assert!(matches!(signer.sign(&bad_keys), Err(JwtError::Encode(_))));
    }

    #[test]
    fn loads_a_pem_private_key() {
        let body = STANDARD.encode(RSA_PK8);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            lines.join("\n")
        );
        let signer = Signer::from_pkcs8_pem("rsa-1", Algorithm::RS256, &pem).unwrap();
        assert_eq!(signer.public_jwk(), rsa(Algorithm::RS256).public_jwk());
        let pkcs1 = pem.replace("PRIVATE KEY", "RSA PRIVATE KEY");
        assert!(matches!(
            Signer::from_pkcs8_pem("k", Algorithm::RS256, &pkcs1),
            Err(JwtError::Key(_))
        ));
    }

    #[test]
    fn cache_hits_until_exp_or_max_age() {
        let cache = TokenCache::new(1_000, 300);
        let value = Arc::new("alice");
        cache.insert("token-a", NOW + 60, NOW, Arc::clone(&value));
        assert!(Arc::ptr_eq(&cache.get("token-a", NOW).unwrap(), &value));
        assert!(cache.get("token-a", NOW + 59).is_some());
        assert!(cache.get("token-b", NOW).is_none());
        assert!(
            cache.get("token-a", NOW + 60).is_none(),
            "a token is not served at its exp"
        );
        assert_eq!(cache.len(), 0, "the expired entry was dropped on the miss");

        // The max age caps a long-lived token.
        cache.insert("token-c", NOW + 86_400, NOW, Arc::clone(&value));
        assert!(cache.get("token-c", NOW + 299).is_some());
        assert!(cache.get("token-c", NOW + 300).is_none());

        // An already expired token is not stored.
        cache.insert("token-d", NOW - 1, NOW, Arc::clone(&value));
        assert!(cache.is_empty());

        cache.insert("token-e", NOW + 60, NOW, Arc::clone(&value));
        cache.clear();
        assert!(cache.get("token-e", NOW).is_none());

        let off = TokenCache::new(0, 300);
        off.insert("token-a", NOW + 60, NOW, value);
        assert!(off.get("token-a", NOW).is_none());
    }

    #[test]
    fn cache_stays_bounded() {
        let cache = TokenCache::new(1_000, 3_600);
        assert_eq!(cache.capacity(), 1_008);
        for i in 0..100_000 {
            cache.insert(&format!("token-{i}"), NOW + 600, NOW, Arc::new(i));
            assert!(cache.len() <= cache.capacity());
        }
        assert!(
            cache.len() >= cache.capacity() / 2,
            "eviction keeps half: {}",
            cache.len()
        );
        // The newest token is always there right after its insert.
        assert_eq!(*cache.get("token-99999", NOW).unwrap(), 99_999);

        // Expired entries go first: a shard full of live and expired tokens makes room by
        // dropping only the expired ones.
        let cache = TokenCache::new(8 * SHARDS, 3_600);
        let mut in_shard_0 = (0..)
            .map(|i| format!("token-{i}"))
            .filter(|t| usize::from(digest(t)[0]).is_multiple_of(SHARDS));
        let live: Vec<String> = in_shard_0.by_ref().take(4).collect();
        let short: Vec<String> = in_shard_0.by_ref().take(4).collect();
        let later: Vec<String> = in_shard_0.by_ref().take(4).collect();
        for token in &live {
            cache.insert(token, NOW + 600, NOW, Arc::new(1));
        }
        for token in &short {
            cache.insert(token, NOW + 1, NOW, Arc::new(2));
        }
        assert_eq!(cache.len(), 8);
        for token in &later {
            cache.insert(token, NOW + 600, NOW + 10, Arc::new(3));
        }
        assert_eq!(cache.len(), 8);
        assert!(
            live.iter()
                .chain(&later)
                .all(|t| cache.get(t, NOW + 10).is_some())
        );
        // Full of live tokens: down to half, then the new one.
        cache.insert(
            &in_shard_0.next().unwrap(),
            NOW + 600,
            NOW + 10,
            Arc::new(4),
        );
        assert_eq!(cache.len(), 5);
    }

    #[test]
    fn cache_is_shared_across_threads() {
        let cache = Arc::new(TokenCache::new(4_096, 3_600));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || {
                    let mut hits = 0;
                    for i in 0..2_000 {
                        let token = format!("t{t}-{i}");
                        cache.insert(&token, NOW + 600, NOW, Arc::new(i));
                        // Another thread may have evicted it since, but never swapped it.
                        if let Some(value) = cache.get(&token, NOW) {
                            assert_eq!(*value, i);
                            hits += 1;
                        }
                    }
                    hits
                })
            })
            .collect();
        let hits: i32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert!(hits > 8_000, "{hits} hits");
        assert!(cache.len() <= cache.capacity());
    }

    /// Prints signatures per second on this machine:
    /// `cargo test --release -p gateway --lib jwt::tests::throughput_report -- --ignored --nocapture`
    #[test]
    #[ignore = "a measurement, not a check"]
    fn throughput_report() {
        use std::time::{Duration, Instant};
        fn rate<T>(what: &str, mut f: impl FnMut() -> T) {
            let start = Instant::now();
            let mut n = 0u32;
            while start.elapsed() < Duration::from_secs(2) {
                f();
                n += 1;
            }
            println!(
                "{what:<28} {:>10.0} /s",
                f64::from(n) / start.elapsed().as_secs_f64()
            );
        }
        let claims = json!({"iss": "https://cp.example/oauth2/token", "sub": "alice@carbon.super",
            "aud": "3fWbqRZ8d0Q0fPv_client", "scope": "default read write", "client_id": "3fWbqRZ8d0Q0fPv_client",
            "iat": NOW, "exp": NOW + 3_600, "jti": "9b2b1f3e-5c43-4c0a-9a7e-2f2d1c1b0a99"});
        let rs = rsa(Algorithm::RS256);
        let (es, _) = Signer::generate_es256("ec").unwrap();
        let keys = keys_of(&[&rs, &es]);
        let rs_token = rs.sign(&claims).unwrap();
        let es_token = es.sign(&claims).unwrap();
        rate("RS256 sign", || {
            std::hint::black_box(rs.sign(&claims).unwrap())
        });
        rate("RS256 verify", || {
            std::hint::black_box(verify(&rs_token, &keys, &lenient(), NOW).unwrap())
        });
        rate("ES256 sign", || {
            std::hint::black_box(es.sign(&claims).unwrap())
        });
        rate("ES256 verify", || {
            std::hint::black_box(verify(&es_token, &keys, &lenient(), NOW).unwrap())
        });
        let cache = TokenCache::new(10_000, 300);
        cache.insert(&rs_token, NOW + 3_600, NOW, Arc::new(()));
        rate("cache hit", || {
            std::hint::black_box(cache.get(&rs_token, NOW).unwrap())
        });
    }
}
