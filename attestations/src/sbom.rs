//! The seam to the SBOM readers. An SBOM statement names the files of a release by digest;
//! reading SPDX and CycloneDX documents is the reader's job (provgate's trust module reads them
//! with `provgate-sbom`, and refuses a document that is not of the format its predicate type
//! names). This crate hands over the predicate exactly as it was signed, and takes back the
//! records it lists.
use provgate_sbom::{DigestRecord, SbomFamily};

/// Reads the files an SBOM document lists.
pub trait SbomReader {
    type Error: std::error::Error + Send + Sync + 'static;

    /// `document` is the statement's predicate JSON, byte for byte as signed.
    fn files(&self, format: SbomFamily, document: &str) -> Result<Vec<DigestRecord>, Self::Error>;
}
