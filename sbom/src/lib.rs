//! SBOM ingestion for provgate: streaming readers that turn SPDX, CycloneDX and syft JSON documents into
//! records of SHA-256 digests with the path and package they belong to, and a writer of
//! file-level SBOMs.
//!
//! Only SHA-256 digests make records, the only kind the allowlist takes; other algorithms are
//! checked, kept on the record and counted. Memory does not grow with the document except for
//! the SPDX package index (bounded by [`Limits::max_index_bytes`]). The crate reads from the
//! reader it is given and never prints; it logs through `tracing`.
mod algorithm;
mod candidate;
mod collector;
mod cyclonedx;
mod cyclonedx_json;
mod cyclonedx_xml;
mod detect;
mod error;
pub mod generate;
mod index;
mod json;
mod limits;
mod passes;
mod record;
mod spdx3;
mod spdx_json;
mod spdx_tag;
mod summary;
mod syft_json;

use std::io::{Read, Seek};

pub use algorithm::{Algorithm, DigestError};
pub use candidate::{CANDIDATE_HELP, MAGIC_BYTES, is_candidate};
pub use detect::detect;
pub use error::{Location, SbomError};
pub use limits::Limits;
pub use record::{DigestRecord, OtherDigest, PackageRef, Record, RecordKind, Sha256, Sha256Error};
pub use summary::{Format, Problem, SbomFamily, Summary};

use collector::Collector;

/// Detects the format of `input` and reads it, handing each record to `sink` as soon as it is
/// complete. Records already handed over stay valid if an error follows; callers that store
/// records should store nothing unless this returns `Ok`.
pub fn read<R: Read + Seek>(
    input: &mut R,
    limits: &Limits,
    sink: &mut dyn FnMut(Record),
) -> Result<Summary, SbomError> {
    let (format, start) = detect(input, limits)?;
    read_as(format, input, start, limits, sink)
}

/// Reads `input` as `format`, starting at byte `start`.
pub fn read_as<R: Read + Seek>(
    format: Format,
    input: &mut R,
    start: u64,
    limits: &Limits,
    sink: &mut dyn FnMut(Record),
) -> Result<Summary, SbomError> {
    let mut out = Collector::new(format, limits, sink);
    passes::rewind(input, start)?;
    match format {
        Format::SpdxJson => spdx_json::parse(input, start, limits, &mut out)?,
        Format::SpdxTagValue => spdx_tag::parse(input, start, limits, &mut out)?,
        Format::Spdx3JsonLd => spdx3::parse(input, start, limits, &mut out)?,
        Format::CyclonedxJson => cyclonedx_json::parse(input, limits, &mut out)?,
        Format::CyclonedxXml => cyclonedx_xml::parse(input, limits, &mut out)?,
        Format::SyftJson => syft_json::parse(input, start, limits, &mut out)?,
    }
    let summary = out.into_summary();
    tracing::debug!(format = %summary.format, records = summary.sha256_digests, files = summary.files, "SBOM read");
    Ok(summary)
}
