//! The seam to the `provgate-sbom` crate. An SBOM statement names the files of a release by
//! digest; reading SPDX and CycloneDX documents is that crate's job, not this one's. This crate
//! hands over the predicate exactly as it was signed, and takes back the files it lists.
//!
//! After the SBOM branch is merged, `provgate-sbom` (or the CLI) implements [`SbomReader`] and
//! `register` passes it to [`crate::VerifiedProvenance::allowlist`].

/// The SBOM document formats in-toto statements carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SbomFormat {
    /// `https://spdx.dev/Document` (bare or versioned).
    Spdx,
    /// `https://cyclonedx.org/bom` (bare or versioned).
    CycloneDx,
}

impl SbomFormat {
    pub fn name(self) -> &'static str {
        match self {
            SbomFormat::Spdx => "SPDX",
            SbomFormat::CycloneDx => "CycloneDX",
        }
    }
}

/// One file an SBOM lists, with the digest it vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomFile {
    pub sha256: [u8; 32],
    /// The file's path as the SBOM names it.
    pub path: Option<String>,
    /// The package the SBOM places it in.
    pub package: Option<String>,
}

/// Reads the files an SBOM document lists.
pub trait SbomReader {
    type Error: std::error::Error + Send + Sync + 'static;

    /// `document` is the statement's predicate JSON, byte for byte as signed.
    fn files(&self, format: SbomFormat, document: &str) -> Result<Vec<SbomFile>, Self::Error>;
}
