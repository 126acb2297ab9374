//! The crypto provider under TLS (rustls: backends, JWKS, OTLP, the control plane) and JWT
//! signing and verification: `ring` (default) or `aws-lc-rs` (`--features aws-lc-rs`; with
//! `--features fips`, AWS-LC's FIPS 140-3 module). One provider per build, so what a binary
//! signs and verifies with is what its TLS uses; `[gateway] crypto_provider` states which one
//! the deployment expects (a binary built with the other refuses to start, naming the key),
//! and the gateway reports it at start-up, in `GET /diagnostics` and in `gateway diagnose`.

/// The primitives JWT code uses (`signature`, `agreement`, `digest`, `hmac`, `rand`): aws-lc-rs
/// offers ring's API.
#[cfg(feature = "aws-lc-rs")]
pub use aws_lc_rs as lib;
#[cfg(all(feature = "jwt", not(feature = "aws-lc-rs")))]
pub use ring as lib;

/// Where the two libraries' APIs differ (JWT signing keys, ECDH).
#[cfg(feature = "jwt")]
pub(crate) mod compat {
    use super::lib::agreement;
    use super::lib::error::KeyRejected;
    use super::lib::signature::{EcdsaKeyPair, EcdsaSigningAlgorithm, RsaKeyPair};

    pub type RsaPublic = super::lib::signature::RsaPublicKeyComponents<Vec<u8>>;

    pub fn ecdsa_from_pkcs8(
        alg: &'static EcdsaSigningAlgorithm,
        der: &[u8],
    ) -> Result<EcdsaKeyPair, KeyRejected> {
        #[cfg(feature = "aws-lc-rs")]
        {
            EcdsaKeyPair::from_pkcs8(alg, der)
        }
        #[cfg(not(feature = "aws-lc-rs"))]
        {
            EcdsaKeyPair::from_pkcs8(alg, der, &super::lib::rand::SystemRandom::new())
        }
    }

    /// Bytes of an RSA signature by `key`.
    pub fn rsa_modulus_len(key: &RsaKeyPair) -> usize {
        #[cfg(feature = "aws-lc-rs")]
        {
            key.public_modulus_len()
        }
        #[cfg(not(feature = "aws-lc-rs"))]
        {
            key.public().modulus_len()
        }
    }

    /// `n` and `e` of `key`.
    pub fn rsa_public(key: &RsaKeyPair) -> RsaPublic {
        #[cfg(feature = "aws-lc-rs")]
        {
            use super::lib::signature::KeyPair as _;
            RsaPublic::from(key.public_key())
        }
        #[cfg(not(feature = "aws-lc-rs"))]
        {
            RsaPublic::from(key.public())
        }
    }

    /// The public key as DER (PKCS#1 `RSAPublicKey`).
    #[cfg(test)]
    pub fn rsa_public_der(key: &RsaKeyPair) -> Vec<u8> {
        #[cfg(feature = "aws-lc-rs")]
        {
            use super::lib::signature::KeyPair as _;
            key.public_key().as_ref().to_vec()
        }
        #[cfg(not(feature = "aws-lc-rs"))]
        {
            key.public().as_ref().to_vec()
        }
    }

    /// An ECDH with a throwaway key against `point`: whether the point is usable.
    pub fn agrees(alg: &'static agreement::Algorithm, point: &[u8]) -> bool {
        let rng = super::lib::rand::SystemRandom::new();
        let Ok(ephemeral) = agreement::EphemeralPrivateKey::generate(alg, &rng) else {
            return false;
        };
        let peer = agreement::UnparsedPublicKey::new(alg, point);
        #[cfg(feature = "aws-lc-rs")]
        {
            agreement::agree_ephemeral(ephemeral, peer, (), |_| Ok(())).is_ok()
        }
        #[cfg(not(feature = "aws-lc-rs"))]
        {
            agreement::agree_ephemeral(ephemeral, &peer, |_| ()).is_ok()
        }
    }
}

/// The provider this binary was built with.
pub const PROVIDER: &str = if cfg!(feature = "aws-lc-rs") {
    "aws-lc-rs"
} else {
    "ring"
};

/// The providers a build can have.
pub const PROVIDERS: [&str; 2] = ["ring", "aws-lc-rs"];

/// Whether the provider runs as a FIPS-validated module (a `fips` build whose self-tests
/// passed).
pub fn fips() -> bool {
    #[cfg(feature = "fips")]
    {
        aws_lc_rs::try_fips_mode().is_ok()
    }
    #[cfg(not(feature = "fips"))]
    {
        false
    }
}

/// `crypto_provider` from the settings against this build: `Err` says how to get a build with
/// the one asked for.
pub fn check(wanted: &str) -> Result<(), String> {
    if !PROVIDERS.contains(&wanted) {
        return Err(format!("must be one of {}", PROVIDERS.join(", ")));
    }
    if wanted != PROVIDER {
        let how = if wanted == "aws-lc-rs" {
            "cargo build -p gateway --features aws-lc-rs (or --features fips for the FIPS module)"
        } else {
            "cargo build -p gateway (without --features aws-lc-rs)"
        };
        return Err(format!(
            "`{wanted}` is not this binary's provider (it is built with {PROVIDER}): build it with {how}"
        ));
    }
    Ok(())
}

/// The rustls provider of this build: every TLS configuration is made with it (with both
/// compiled into rustls, its process default would be ambiguous).
#[cfg(feature = "runtime")]
pub fn rustls_provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    #[cfg(feature = "aws-lc-rs")]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(not(feature = "aws-lc-rs"))]
    let provider = rustls::crypto::ring::default_provider();
    std::sync::Arc::new(provider)
}

/// A TLS client configuration builder on this build's provider.
#[cfg(feature = "runtime")]
pub fn client_config() -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier> {
    rustls::ClientConfig::builder_with_provider(rustls_provider())
        .with_safe_default_protocol_versions()
        .expect("the provider supports TLS 1.2 and 1.3")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_must_name_this_builds_provider() {
        assert!(check(PROVIDER).is_ok());
        let other = PROVIDERS.iter().find(|p| **p != PROVIDER).unwrap();
        let err = check(other).unwrap_err();
        assert!(err.contains("cargo build -p gateway"), "{err}");
        assert!(err.contains(PROVIDER), "{err}");
        assert!(check("openssl").unwrap_err().contains("ring, aws-lc-rs"));
    }
}
