//! What a document is and what was found in it.
use std::collections::BTreeMap;

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    SpdxJson,
    SpdxTagValue,
    Spdx3JsonLd,
    CyclonedxJson,
    CyclonedxXml,
    /// syft's own JSON (`syft -o syft-json`).
    SyftJson,
}

impl Format {
    pub fn family(self) -> SbomFamily {
        match self {
            Self::SpdxJson | Self::SpdxTagValue | Self::Spdx3JsonLd => SbomFamily::Spdx,
            Self::CyclonedxJson | Self::CyclonedxXml => SbomFamily::CycloneDx,
            Self::SyftJson => SbomFamily::Syft,
        }
    }
}

/// The two SBOM standards, each with several document formats; in-toto predicate types name a
/// standard, not a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SbomFamily {
    /// `https://spdx.dev/Document` (bare or versioned).
    Spdx,
    /// `https://cyclonedx.org/bom` (bare or versioned).
    CycloneDx,
    /// `https://syft.dev/bom`, what `syft attest` and `cosign attest --type` name syft's JSON by.
    Syft,
}

impl SbomFamily {
    pub fn name(self) -> &'static str {
        match self {
            SbomFamily::Spdx => "SPDX",
            SbomFamily::CycloneDx => "CycloneDX",
            SbomFamily::Syft => "syft JSON",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::SpdxJson => "SPDX JSON",
            Self::SpdxTagValue => "SPDX tag-value",
            Self::Spdx3JsonLd => "SPDX 3 JSON-LD",
            Self::CyclonedxJson => "CycloneDX JSON",
            Self::CyclonedxXml => "CycloneDX XML",
            Self::SyftJson => "syft JSON",
        })
    }
}

/// Something worth a warning that does not make the document unusable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub place: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.message)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub format: Format,
    /// `SPDX-2.3`, `3.0.1`, `1.6`, syft's schema `16.0.18`.
    pub spec_version: Option<String>,
    pub name: Option<String>,
    /// SPDX `documentNamespace`, the SPDX 3 document's `spdxId`, CycloneDX `serialNumber`, or the id
    /// of what syft scanned (`source.id`).
    pub namespace: Option<String>,
    pub files: u64,
    pub packages: u64,
    /// Records yielded: files, and packages the document names a file for, with a SHA-256.
    pub sha256_digests: u64,
    /// Package entries with a SHA-256 that are not files (an image's manifest digest, a
    /// component known by name or purl): never records, never allowed.
    pub packages_not_files: u64,
    /// Digests in other algorithms, by algorithm: kept as metadata, never allowed.
    pub skipped_algorithms: BTreeMap<&'static str, u64>,
    pub problems: Vec<Problem>,
    /// Problems beyond `Limits::max_problems`, counted only.
    pub problems_not_shown: u64,
}

impl Summary {
    pub(crate) fn new(format: Format) -> Self {
        Self {
            format,
            spec_version: None,
            name: None,
            namespace: None,
            files: 0,
            packages: 0,
            sha256_digests: 0,
            packages_not_files: 0,
            skipped_algorithms: BTreeMap::new(),
            problems: Vec::new(),
            problems_not_shown: 0,
        }
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped_algorithms.values().sum()
    }
}
