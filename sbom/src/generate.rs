//! Writes a file-level SBOM as it goes, one file at a time, so that a build output of any size
//! is described in constant memory. Only serialization lives here; walking and hashing the
//! files is the caller's business.
use std::io::{self, Write};

use serde::Serialize;

use crate::record::Sha256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OutputFormat {
    /// SPDX 2.3 JSON: SHA-256 for the allowlist plus the SHA-1 that SPDX 2 requires per file.
    SpdxJson,
    /// CycloneDX 1.6 JSON: `file` components with SHA-256 (and SHA-1 when given).
    CyclonedxJson,
}

#[derive(Clone, Debug)]
pub struct DocumentInfo {
    pub name: String,
    /// A UUID, for the SPDX document namespace or the CycloneDX serial number.
    pub uuid: String,
    /// RFC 3339, e.g. from [`rfc3339`].
    pub created: String,
    pub tool_version: String,
}

pub struct SbomWriter<W: Write> {
    out: W,
    format: OutputFormat,
    files: u64,
}

fn json<W: Write, T: Serialize + ?Sized>(out: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer(out, value).map_err(io::Error::from)
}

impl<W: Write> SbomWriter<W> {
    pub fn start(mut out: W, format: OutputFormat, info: &DocumentInfo) -> io::Result<Self> {
        match format {
            OutputFormat::SpdxJson => {
                let namespace = format!("https://spdx.org/spdxdocs/provgate-{}", info.uuid);
                write!(
                    out,
                    r#"{{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"#
                )?;
                json(&mut out, &info.name)?;
                write!(out, r#","documentNamespace":"#)?;
                json(&mut out, &namespace)?;
                write!(out, r#","creationInfo":{{"created":"#)?;
                json(&mut out, &info.created)?;
                write!(out, r#","creators":["#)?;
                json(&mut out, &format!("Tool: provgate-{}", info.tool_version))?;
                write!(out, "]}},\n\"files\":[")?;
            }
            OutputFormat::CyclonedxJson => {
                write!(out, r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"#)?;
                json(&mut out, &format!("urn:uuid:{}", info.uuid))?;
                write!(out, r#","version":1,"metadata":{{"timestamp":"#)?;
                json(&mut out, &info.created)?;
                write!(out, r#","tools":{{"components":[{{"type":"application","name":"provgate","version":"#)?;
                json(&mut out, &info.tool_version)?;
                write!(out, r#"}}]}},"component":{{"type":"application","bom-ref":"root","name":"#)?;
                json(&mut out, &info.name)?;
                write!(out, "}}}},\n\"components\":[")?;
            }
        }
        Ok(Self { out, format, files: 0 })
    }

    pub fn add_file(&mut self, path: &str, sha256: &Sha256, sha1: Option<&[u8; 20]>) -> io::Result<()> {
        self.files += 1;
        let n = self.files;
        let separator = if n == 1 { "\n" } else { ",\n" };
        match self.format {
            OutputFormat::SpdxJson => {
                write!(self.out, r#"{separator}{{"SPDXID":"SPDXRef-File-{n}","fileName":"#)?;
                json(&mut self.out, path)?;
                write!(self.out, r#","checksums":[{{"algorithm":"SHA256","checksumValue":"{}"}}"#, sha256.to_hex())?;
                if let Some(sha1) = sha1 {
                    write!(self.out, r#",{{"algorithm":"SHA1","checksumValue":"{}"}}"#, hex::encode(sha1))?;
                }
                write!(self.out, "]}}")?;
            }
            OutputFormat::CyclonedxJson => {
                write!(self.out, r#"{separator}{{"type":"file","bom-ref":"file-{n}","name":"#)?;
                json(&mut self.out, path)?;
                write!(self.out, r#","hashes":[{{"alg":"SHA-256","content":"{}"}}"#, sha256.to_hex())?;
                if let Some(sha1) = sha1 {
                    write!(self.out, r#",{{"alg":"SHA-1","content":"{}"}}"#, hex::encode(sha1))?;
                }
                write!(self.out, "]}}")?;
            }
        }
        Ok(())
    }

    /// Closes the document. SPDX gets one `DESCRIBES` relationship per file, which SPDX 2.3
    /// asks of a document that describes files rather than a package.
    pub fn finish(mut self) -> io::Result<W> {
        match self.format {
            OutputFormat::SpdxJson => {
                write!(self.out, "\n],\n\"relationships\":[")?;
                for n in 1..=self.files {
                    let separator = if n == 1 { "\n" } else { ",\n" };
                    write!(
                        self.out,
                        r#"{separator}{{"spdxElementId":"SPDXRef-DOCUMENT","relationshipType":"DESCRIBES","relatedSpdxElement":"SPDXRef-File-{n}"}}"#
                    )?;
                }
                writeln!(self.out, "\n]}}")?;
            }
            OutputFormat::CyclonedxJson => writeln!(self.out, "\n]}}")?,
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

/// `YYYY-MM-DDThh:mm:ssZ` for seconds since the epoch (UTC), without a date library.
pub fn rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
    }
}
