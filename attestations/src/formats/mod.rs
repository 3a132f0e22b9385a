//! The files attestations arrive in, each read into the Sigstore bundles it holds: a bundle
//! itself, npm's registry attestations response, a PEP 740 attestation object, and PyPI's
//! provenance object. Which one a file is follows from its top-level keys; every reader is
//! bounded in size, depth and count before serde sees the input, and says which attestation of
//! the file each bundle is, so a caller can report on each.
mod npm;
mod pep740;

use std::path::Path;

use serde_json::Value;
use thiserror::Error;

use crate::limits::{self, LimitError, MAX_ATTESTATIONS, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH};

pub use pep740::to_bundle as pep740_to_bundle;

/// What kind of file held the bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A Sigstore bundle, as given.
    Bundle,
    /// npm's attestations response (`{"attestations":[{"predicateType","bundle"}]}`).
    NpmAttestations,
    /// One PEP 740 attestation object.
    Pep740Attestation,
    /// PyPI's provenance object (`{"version":1,"attestation_bundles":[...]}`).
    PypiProvenance,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Container::Bundle => "Sigstore bundle",
            Container::NpmAttestations => "npm attestations response",
            Container::Pep740Attestation => "PEP 740 attestation",
            Container::PypiProvenance => "PyPI provenance object",
        }
    }
}

/// One bundle of a file, with where it was in it.
#[derive(Debug, Clone)]
pub struct Attestation {
    /// Which attestation of the file: `attestations[1] (https://slsa.dev/provenance/v1)`.
    pub label: String,
    /// A Sigstore bundle's JSON, converted when the file held another form.
    pub bundle: Value,
}

#[derive(Debug, Error)]
pub enum FormatError {
    #[error("cannot read: {0}")]
    Read(#[from] limits::ReadError),
    #[error("too big: {0}")]
    Limit(#[from] LimitError),
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "neither a Sigstore bundle (mediaType), npm's attestations response (attestations), a PEP 740 \
         attestation (envelope, verification_material) nor PyPI's provenance object (attestation_bundles)"
    )]
    Unknown,
    #[error("{container}: {problem}")]
    Malformed { container: &'static str, problem: String },
    #[error("{container}: holds no attestation")]
    Empty { container: &'static str },
    #[error("{container}: {count} attestations, more than the {MAX_ATTESTATIONS} allowed")]
    TooMany { container: &'static str, count: usize },
}

impl FormatError {
    pub(crate) fn malformed(container: Container, problem: impl std::fmt::Display) -> Self {
        Self::Malformed { container: container.name(), problem: problem.to_string() }
    }
}

/// The bundles a file holds.
#[derive(Debug, Clone)]
pub struct Attestations {
    pub container: Container,
    pub attestations: Vec<Attestation>,
}

impl Attestations {
    pub fn from_file(path: &Path) -> Result<Self, FormatError> {
        Self::from_slice(&limits::read_bounded(path, MAX_BUNDLE_BYTES)?)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, FormatError> {
        // The containers wrap a bundle in at most four more levels.
        limits::check_json(bytes, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH + 4)?;
        let value: Value = serde_json::from_slice(bytes)?;
        let object = value.as_object().ok_or(FormatError::Unknown)?;
        let has = |key: &str| object.contains_key(key);
        let (container, attestations) = if has("mediaType") {
            (Container::Bundle, vec![Attestation { label: "the bundle".into(), bundle: value }])
        } else if has("attestation_bundles") {
            (Container::PypiProvenance, pep740::provenance(&value)?)
        } else if has("envelope") && has("verification_material") {
            let bundle = pep740::to_bundle(&value)?;
            (Container::Pep740Attestation, vec![Attestation { label: "the attestation".into(), bundle }])
        } else if has("attestations") {
            (Container::NpmAttestations, npm::attestations(&value)?)
        } else {
            return Err(FormatError::Unknown);
        };
        match attestations.len() {
            0 => Err(FormatError::Empty { container: container.name() }),
            count if count > MAX_ATTESTATIONS => Err(FormatError::TooMany { container: container.name(), count }),
            _ => Ok(Self { container, attestations }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_container_is_told_by_its_keys() {
        let bundle = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
        let read = Attestations::from_slice(bundle).unwrap();
        assert_eq!(read.container, Container::Bundle);
        assert_eq!(read.attestations.len(), 1);
        for unknown in [&br#"{"foo":1}"#[..], b"[1]", b"\"x\""] {
            assert!(matches!(Attestations::from_slice(unknown), Err(FormatError::Unknown)));
        }
        assert!(matches!(Attestations::from_slice(b"{"), Err(FormatError::Json(_))));
        let empty = Attestations::from_slice(br#"{"attestations":[]}"#).unwrap_err();
        assert_eq!(empty.to_string(), "npm attestations response: holds no attestation");
    }

    #[test]
    fn deep_input_is_refused_before_parsing() {
        let mut json = String::from(r#"{"attestations": "#);
        json.push_str(&"[".repeat(64));
        assert!(matches!(Attestations::from_slice(json.as_bytes()), Err(FormatError::Limit(_))));
    }
}
