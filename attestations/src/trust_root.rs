//! Trusted roots: the CAs, transparency logs, CT logs and timestamp authorities of one Sigstore
//! deployment, read from a `trusted_root.json`. Nothing is fetched: keeping the file current
//! (TUF, or a private deployment's own distribution) is the operator's job.
use std::path::Path;

use sigstore_verify::trust_root::{SIGSTORE_PRODUCTION_TRUSTED_ROOT, SIGSTORE_STAGING_TRUSTED_ROOT, TrustedRoot};
use thiserror::Error;

use crate::limits::{self, MAX_TRUST_ROOT_BYTES};

#[derive(Debug, Error)]
#[error("trusted root {origin}: {problem}")]
pub struct TrustRootError {
    pub origin: String,
    pub problem: String,
}

/// A parsed trusted root and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct TrustRoot {
    pub(crate) root: TrustedRoot,
    origin: String,
}

impl TrustRoot {
    pub fn from_file(path: &Path) -> Result<Self, TrustRootError> {
        let origin = path.display().to_string();
        let bytes = limits::read_bounded(path, MAX_TRUST_ROOT_BYTES)
            .map_err(|e| TrustRootError { origin: origin.clone(), problem: e.to_string() })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| TrustRootError { origin: origin.clone(), problem: "not UTF-8 text".into() })?;
        Self::from_json(origin, &text)
    }

    pub fn from_json(origin: impl Into<String>, json: &str) -> Result<Self, TrustRootError> {
        let origin = origin.into();
        let root = TrustedRoot::from_json(json)
            .map_err(|e| TrustRootError { origin: origin.clone(), problem: e.to_string() })?;
        Ok(Self { root, origin })
    }

    /// The Sigstore public-good instance's root as shipped in sigstore-verify 0.15.1.
    pub fn public_good() -> Self {
        Self::from_json("public-good (built in)", SIGSTORE_PRODUCTION_TRUSTED_ROOT).expect("the built-in root parses")
    }

    /// The Sigstore staging instance's root as shipped in sigstore-verify 0.15.1.
    pub fn staging() -> Self {
        Self::from_json("staging (built in)", SIGSTORE_STAGING_TRUSTED_ROOT).expect("the built-in root parses")
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_roots_parse() {
        assert!(!TrustRoot::public_good().root.tlogs.is_empty());
        assert!(!TrustRoot::staging().root.certificate_authorities.is_empty());
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trusted_root.json");
        std::fs::write(&path, "{").unwrap();
        let err = TrustRoot::from_file(&path).unwrap_err();
        assert!(err.to_string().starts_with(&format!("trusted root {}: ", path.display())), "{err}");
        let missing = TrustRoot::from_file(&dir.path().join("absent.json")).unwrap_err();
        assert!(missing.to_string().contains("absent.json"), "{missing}");
    }
}
