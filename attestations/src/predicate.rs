//! What a statement claims, by predicate type: an SBOM (whose files the `provgate-sbom` crate
//! reads), SLSA provenance, or a type we do not understand, kept but never trusted.
use provgate_sbom::SbomFamily;

use crate::{
    slsa::{SlsaProvenance, SlsaVersion},
    statement::StatementError,
};

pub const SPDX_DOCUMENT: &str = "https://spdx.dev/Document";
pub const CYCLONEDX_BOM: &str = "https://cyclonedx.org/bom";
/// syft's own JSON, as `syft attest` and `cosign attest --type https://syft.dev/bom` name it.
pub const SYFT_BOM: &str = "https://syft.dev/bom";
pub const SLSA_PROVENANCE_V0_2: &str = "https://slsa.dev/provenance/v0.2";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// npm's publish attestation: the registry's word (signed with its key) that this package
/// version, by this digest, was published to it.
pub const NPM_PUBLISH_V0_1: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";
/// PyPI's publish attestation (PEP 740): signed by the Trusted Publisher's workflow identity,
/// that it uploaded this distribution file, by this digest.
pub const PYPI_PUBLISH_V1: &str = "https://docs.pypi.org/attestations/publish/v1";

/// How a predicate type is understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredicateKind {
    Sbom(SbomFamily),
    SlsaProvenance(SlsaVersion),
    /// A registry's publish attestation: its subjects, the published files, and nothing more.
    Publish,
    Unknown,
}

impl PredicateKind {
    /// SBOM types come bare (`https://spdx.dev/Document`) or with the document version
    /// (`https://spdx.dev/Document/v2.3`, `https://cyclonedx.org/bom/v1.6`).
    pub fn of(predicate_type: &str) -> Self {
        let versioned = |base: &str| {
            predicate_type == base
                || predicate_type.strip_prefix(base).and_then(|rest| rest.strip_prefix("/v")).is_some_and(|version| {
                    !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                })
        };
        match predicate_type {
            SLSA_PROVENANCE_V0_2 => Self::SlsaProvenance(SlsaVersion::V0_2),
            SLSA_PROVENANCE_V1 => Self::SlsaProvenance(SlsaVersion::V1),
            NPM_PUBLISH_V0_1 | PYPI_PUBLISH_V1 => Self::Publish,
            SYFT_BOM => Self::Sbom(SbomFamily::Syft),
            _ if versioned(SPDX_DOCUMENT) => Self::Sbom(SbomFamily::Spdx),
            _ if versioned(CYCLONEDX_BOM) => Self::Sbom(SbomFamily::CycloneDx),
            _ => Self::Unknown,
        }
    }

    pub fn is_known(self) -> bool {
        self != Self::Unknown
    }
}

#[derive(Debug, Clone)]
pub enum Predicate<'a> {
    /// An SBOM document, as signed, for `provgate-sbom` to read.
    Sbom {
        format: SbomFamily,
        document: &'a str,
    },
    SlsaProvenance(SlsaProvenance),
    /// A publish attestation; what it says beyond its subjects (package name, version,
    /// registry) is not needed to vouch for them.
    Publish,
    /// Kept for the record; its subjects vouch for nothing.
    Unknown {
        predicate_type: &'a str,
        json: Option<&'a str>,
    },
}

impl<'a> Predicate<'a> {
    pub(crate) fn read(predicate_type: &'a str, json: Option<&'a str>) -> Result<Self, StatementError> {
        let problem =
            |problem: String| StatementError::Predicate { predicate_type: predicate_type.to_owned(), problem };
        match PredicateKind::of(predicate_type) {
            PredicateKind::Sbom(format) => {
                let document = json.ok_or_else(|| problem("the statement carries no SBOM".into()))?;
                Ok(Self::Sbom { format, document })
            }
            PredicateKind::SlsaProvenance(version) => {
                let json = json.ok_or_else(|| problem("the statement carries no provenance".into()))?;
                SlsaProvenance::from_json(version, json).map(Self::SlsaProvenance).map_err(|e| problem(e.to_string()))
            }
            PredicateKind::Publish => Ok(Self::Publish),
            PredicateKind::Unknown => Ok(Self::Unknown { predicate_type, json }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicate_types_are_classified() {
        assert_eq!(PredicateKind::of("https://spdx.dev/Document"), PredicateKind::Sbom(SbomFamily::Spdx));
        assert_eq!(PredicateKind::of("https://spdx.dev/Document/v2.3"), PredicateKind::Sbom(SbomFamily::Spdx));
        assert_eq!(PredicateKind::of("https://cyclonedx.org/bom/v1.6"), PredicateKind::Sbom(SbomFamily::CycloneDx));
        assert_eq!(PredicateKind::of(SLSA_PROVENANCE_V1), PredicateKind::SlsaProvenance(SlsaVersion::V1));
        assert_eq!(PredicateKind::of(SLSA_PROVENANCE_V0_2), PredicateKind::SlsaProvenance(SlsaVersion::V0_2));
        assert_eq!(PredicateKind::of(NPM_PUBLISH_V0_1), PredicateKind::Publish);
        assert_eq!(PredicateKind::of(PYPI_PUBLISH_V1), PredicateKind::Publish);
        assert_eq!(PredicateKind::of(SYFT_BOM), PredicateKind::Sbom(SbomFamily::Syft));
        for unknown in [
            "https://spdx.dev/Documentary",
            "https://spdx.dev/Document/v",
            "https://spdx.dev/Document/vX",
            "https://cyclonedx.org/bom/v1.6/extra",
            "https://slsa.dev/provenance/v1.1",
            "https://example.com/predicate",
            "https://docs.pypi.org/attestations/publish/v2",
        ] {
            assert_eq!(PredicateKind::of(unknown), PredicateKind::Unknown, "{unknown}");
        }
    }

    #[test]
    fn sbom_predicates_are_passed_on_as_signed() {
        let json = r#"{"spdxVersion": "SPDX-2.3"}"#;
        match Predicate::read(SPDX_DOCUMENT, Some(json)).unwrap() {
            Predicate::Sbom { format, document } => {
                assert_eq!(format, SbomFamily::Spdx);
                assert_eq!(document, json);
            }
            other => panic!("{other:?}"),
        }
        assert!(Predicate::read(CYCLONEDX_BOM, None).unwrap_err().to_string().contains("carries no SBOM"));
    }
}
