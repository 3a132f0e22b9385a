//! Managed public keys: bundles signed with a long-lived key instead of a Fulcio certificate.
use std::path::Path;

use sigstore_verify::{crypto::KeyAlgorithm, types::DerPublicKey};
use thiserror::Error;

use crate::{
    limits::{self, MAX_PUBLIC_KEY_BYTES},
    signer::KeySigner,
};

#[derive(Debug, Error)]
#[error("public key {origin}: {problem}")]
pub struct KeyError {
    pub origin: String,
    pub problem: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) der: DerPublicKey,
}

impl PublicKey {
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let origin = path.display().to_string();
        let problem = |problem: String| KeyError { origin: origin.clone(), problem };
        let bytes = limits::read_bounded(path, MAX_PUBLIC_KEY_BYTES).map_err(|e| problem(e.to_string()))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| problem("not a PEM file".into()))?;
        Self::from_pem(text).map_err(|e| problem(e.problem))
    }

    /// A PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of an algorithm Sigstore signs with.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let problem = |problem: String| KeyError { origin: "(PEM)".into(), problem };
        let der = DerPublicKey::from_pem(pem).map_err(|e| problem(e.to_string()))?;
        KeyAlgorithm::from_spki(&der).map_err(|e| problem(e.to_string()))?;
        Ok(Self { der })
    }

    pub fn spki_der(&self) -> &[u8] {
        self.der.as_bytes()
    }

    pub fn as_signer(&self) -> KeySigner {
        KeySigner { spki_der: self.spki_der().to_vec() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_public_key() {
        let err = PublicKey::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap_err();
        assert!(err.problem.contains("expected PUBLIC KEY"), "{err}");
        let err = PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nYWJjZA==\n-----END PUBLIC KEY-----\n").unwrap_err();
        assert!(err.problem.contains("SPKI"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = PublicKey::from_file(&dir.path().join("none.pub")).unwrap_err();
        assert!(err.to_string().starts_with(&format!("public key {}", dir.path().join("none.pub").display())), "{err}");
    }
}
