//! A signed package vouches for its files: when the artifact a signature or an attestation
//! vouches for is a package archive, its members are read (provgate-archive: streamed, bounded,
//! never extracted) and each becomes a record of the same source, with its path in the package
//! and the package's name and version. The archive is read after its signature was verified, and
//! its contents count only if they come from the very bytes that were verified.
use std::path::Path;

use provgate_archive::{Limits, PackageFormat, read_package};
use provgate_sbom::{DigestRecord, Sha256};
use serde_json::json;

use super::Refusal;

/// The records of a package's files, what the source's detail says of the package, and a line
/// for the user.
pub struct PackageContents {
    pub records: Vec<DigestRecord>,
    pub about: serde_json::Value,
    pub summary: String,
}

/// The files of `file`, whose SHA-256 `verified` a signature vouched for, if its name says it
/// is a package archive; `None` if it is not one (its digest alone is then vouched for). Any
/// problem refuses the whole registration: a package is trusted with all its files or not at all.
pub fn contents(file: &Path, verified: Sha256, limits: &Limits) -> Result<Option<PackageContents>, Refusal> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let Some(format) = PackageFormat::of_name(&name) else {
        return Ok(None);
    };
    let started = std::time::Instant::now();
    let package = read_package(file, format, limits)
        .map_err(|e| Refusal(format!("{}: reading the {}: {e}", file.display(), format.name())))?;
    if package.sha256 != verified {
        return Err(Refusal(format!(
            "{}: changed after its signature was verified (now {}, verified {verified})",
            file.display(),
            package.sha256
        )));
    }
    let label = package.label();
    tracing::debug!(
        file = %file.display(), package = label.as_deref().unwrap_or("?"), files = package.files.len(),
        seconds = started.elapsed().as_secs_f64(), "package contents read"
    );
    let records = package
        .files
        .iter()
        .map(|f| DigestRecord { sha256: f.sha256, path: Some(f.path.clone()), package: label.clone() })
        .collect();
    let about = json!({
        "format": package.format,
        "name": package.name,
        "version": package.version,
        "files": package.files.len(),
        "members": package.members,
        "compressed_bytes": package.compressed_bytes,
        "uncompressed_bytes": package.uncompressed_bytes,
    });
    let summary = format!(
        "{} {}: {} files ({} bytes uncompressed) vouched for with the archive",
        package.format.name(),
        label.as_deref().unwrap_or("of unknown name"),
        package.files.len(),
        package.uncompressed_bytes
    );
    Ok(Some(PackageContents { records, about, summary }))
}
