//! The one way provgate reads an SBOM as evidence: SBOM files given to `register` and the SBOM
//! predicates of attestations (registered, or attached to images) alike. A predicate must be a
//! document of the format its predicate type names, since its signer was authorized for that
//! type.
use std::{
    fs::File,
    io::{Cursor, Seek as _},
    path::Path,
};

use anyhow::Context as _;
use provgate_attestations::{CYCLONEDX_BOM, DigestRecord, SPDX_DOCUMENT, SYFT_BOM, SbomFamily, SbomReader};
use provgate_sbom::{Format, Limits, Record, Sha256, Summary};

use crate::{file_stamp::FileStamp, hashing::sha256_reader};

/// An SBOM read whole: its summary and the SHA-256 of the exact bytes that were read.
pub struct ReadSbom {
    pub summary: Summary,
    pub file_sha256: Sha256,
}

/// Reads the SBOM at `path`, handing records to `sink`; errors name the file and the place. The
/// file must not change while it is read (it is read twice for SPDX and hashed once).
pub fn read_sbom(path: &Path, sink: &mut dyn FnMut(Record)) -> anyhow::Result<ReadSbom> {
    let name = path.display();
    let mut file = File::open(path).with_context(|| format!("{name}"))?;
    let stamp = |file: &File| file.metadata().map(|m| FileStamp::of(&m)).with_context(|| format!("{name}"));
    let before = stamp(&file)?;
    anyhow::ensure!(file.metadata()?.is_file(), "{name}: not a regular file");
    let summary = provgate_sbom::read(&mut file, &Limits::default(), sink).with_context(|| format!("{name}"))?;
    file.rewind().with_context(|| format!("{name}"))?;
    let file_sha256 = sha256_reader(&file).with_context(|| format!("{name}"))?;
    anyhow::ensure!(stamp(&file)? == before, "{name}: changed while it was being read");
    Ok(ReadSbom { summary, file_sha256 })
}

/// The warnings worth printing for a summary, one line each.
pub fn problem_lines(path: &Path, summary: &Summary) -> Vec<String> {
    let mut lines: Vec<String> =
        summary.problems.iter().map(|p| format!("{}: {}: {}", path.display(), p.place, p.message)).collect();
    if summary.problems_not_shown > 0 {
        lines.push(format!("{}: {} more problems not shown", path.display(), summary.problems_not_shown));
    }
    lines
}

/// The predicate type a signer must be allowed to vouch with to vouch for an SBOM file.
pub fn predicate_type(format: Format) -> &'static str {
    match format.family() {
        SbomFamily::Spdx => SPDX_DOCUMENT,
        SbomFamily::CycloneDx => CYCLONEDX_BOM,
        SbomFamily::Syft => SYFT_BOM,
    }
}

/// The format of the SBOM file at `path`, detected from its content.
pub fn detect_file(path: &Path) -> Result<Format, String> {
    let mut file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    provgate_sbom::detect(&mut file, &Limits::default())
        .map(|(format, _)| format)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads SBOM predicates, refusing a document of another format than its predicate type says.
pub struct PredicateReader;

#[derive(Debug, thiserror::Error)]
pub enum PredicateError {
    #[error(transparent)]
    Read(#[from] provgate_sbom::SbomError),
    #[error("the statement's predicate type says {claimed}, but the document is {found}")]
    Format { claimed: &'static str, found: Format },
}

impl SbomReader for PredicateReader {
    type Error = PredicateError;

    fn files(&self, format: SbomFamily, document: &str) -> Result<Vec<DigestRecord>, Self::Error> {
        let limits = Limits::default();
        let (found, _) = provgate_sbom::detect(&mut Cursor::new(document.as_bytes()), &limits)?;
        if found.family() != format {
            return Err(PredicateError::Format { claimed: format.name(), found });
        }
        let mut records = Vec::new();
        provgate_sbom::read(&mut Cursor::new(document.as_bytes()), &limits, &mut |r| records.push(r.into()))?;
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use provgate_attestations::{SbomFamily, SbomReader as _};

    use super::{PredicateError, PredicateReader};

    const SPDX: &str = r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","files":[{"fileName":"./a","SPDXID":"SPDXRef-a","checksums":[{"algorithm":"SHA256","checksumValue":"a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"}]}]}"#;

    #[test]
    fn a_predicate_is_read_only_as_the_format_it_claims() {
        let records = PredicateReader.files(SbomFamily::Spdx, SPDX).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].path.as_deref(), Some("./a"));
        let refused = PredicateReader.files(SbomFamily::CycloneDx, SPDX).unwrap_err();
        assert!(matches!(refused, PredicateError::Format { claimed: "CycloneDX", .. }), "{refused}");
    }
}
