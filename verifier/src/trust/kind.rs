//! What kind of evidence a source was admitted on; stored as text in the `sources` table.
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// `allow`: files an admin vouches for by hand.
    Manual,
    /// `baseline`: what was installed, trusted on first use.
    Baseline,
    /// `approve`: one digest, on an admin's word after a denial.
    Approval,
    /// `register --sbom --unsigned`.
    SbomUnsigned,
    /// `register --sbom --bundle`.
    Sbom,
    /// `register --attestation`.
    Attestation,
    /// `register --artifact --bundle`.
    Artifact,
    /// `image add`.
    Image,
    /// `os trust`: an installed package, from its archive's signed index.
    OsPackage,
}

impl SourceKind {
    pub const ALL: [SourceKind; 9] = [
        SourceKind::Manual,
        SourceKind::Baseline,
        SourceKind::Approval,
        SourceKind::SbomUnsigned,
        SourceKind::Sbom,
        SourceKind::Attestation,
        SourceKind::Artifact,
        SourceKind::Image,
        SourceKind::OsPackage,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            SourceKind::Manual => "manual",
            SourceKind::Baseline => "baseline",
            SourceKind::Approval => "approval",
            SourceKind::SbomUnsigned => "sbom-unsigned",
            SourceKind::Sbom => "sbom",
            SourceKind::Attestation => "attestation",
            SourceKind::Artifact => "artifact",
            SourceKind::Image => "image",
            SourceKind::OsPackage => "os-package",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl serde::Serialize for SourceKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl rusqlite::types::FromSql for SourceKind {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        Self::parse(text)
            .ok_or_else(|| rusqlite::types::FromSqlError::Other(format!("unknown source kind {text:?}").into()))
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::SourceKind;

    #[test]
    fn every_kind_reads_back() {
        for kind in SourceKind::ALL {
            assert_eq!(SourceKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(SourceKind::parse("sbom-signed"), None);
    }
}
