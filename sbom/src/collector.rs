//! The one path every parser's files and packages take: digest checks, counting, problems, and
//! handing records to the caller.
use crate::{
    algorithm::{Algorithm, DigestError, decode_sha256},
    limits::{Limits, MAX_DIGESTS_PER_ENTRY},
    record::{OtherDigest, PackageRef, Record, RecordKind, Sha256},
    summary::{Format, Problem, Summary},
};

/// A file or package being read, before it becomes a record.
#[derive(Debug)]
pub(crate) struct Entry {
    pub kind: RecordKind,
    pub path: Option<String>,
    pub package: Option<PackageRef>,
    sha256: Option<Sha256>,
    others: Vec<OtherDigest>,
}

impl Entry {
    pub fn new(kind: RecordKind) -> Self {
        Self { kind, path: None, package: None, sha256: None, others: Vec::new() }
    }

    /// Checks one digest of the entry. SHA-256 becomes the record's digest; others are kept.
    pub fn add_digest(&mut self, label: &str, value: &str) -> Result<(), DigestError> {
        let algorithm = Algorithm::from_label(label)?;
        algorithm.check(value)?;
        if algorithm != Algorithm::Sha256 {
            if self.others.len() < MAX_DIGESTS_PER_ENTRY {
                self.others.push(OtherDigest { algorithm: algorithm.name(), value: value.to_ascii_lowercase() });
            }
            return Ok(());
        }
        let bytes = decode_sha256(value);
        match self.sha256 {
            Some(first) if first.0 != bytes => {
                Err(DigestError::Conflict { first: first.to_hex(), second: value.to_ascii_lowercase() })
            }
            _ => {
                self.sha256 = Some(Sha256(bytes));
                Ok(())
            }
        }
    }
}

pub(crate) struct Collector<'s> {
    sink: &'s mut dyn FnMut(Record),
    summary: Summary,
    max_problems: usize,
}

impl<'s> Collector<'s> {
    pub fn new(format: Format, limits: &Limits, sink: &'s mut dyn FnMut(Record)) -> Self {
        Self { sink, summary: Summary::new(format), max_problems: limits.max_problems }
    }

    pub fn summary_mut(&mut self) -> &mut Summary {
        &mut self.summary
    }

    pub fn problem(&mut self, place: impl Into<String>, message: impl Into<String>) {
        if self.summary.problems.len() < self.max_problems {
            self.summary.problems.push(Problem { place: place.into(), message: message.into() });
        } else {
            self.summary.problems_not_shown += 1;
        }
    }

    /// Counts the entry and yields its record when it has a SHA-256. `place` is only rendered
    /// when there is a problem to report.
    pub fn finish(&mut self, entry: Entry, place: impl FnOnce() -> String) {
        for other in &entry.others {
            *self.summary.skipped_algorithms.entry(other.algorithm).or_default() += 1;
        }
        match entry.kind {
            RecordKind::File => self.summary.files += 1,
            RecordKind::Package => self.summary.packages += 1,
        }
        // A package entry is allowed only as the file the document names for it (SPDX's
        // packageFileName: an archive, a .deb). One named only by name, purl or digest (an image's
        // manifest digest, a CycloneDX component) is not a file anything could run: counted apart.
        if entry.kind == RecordKind::Package && entry.path.is_none() {
            if entry.sha256.is_some() {
                self.summary.packages_not_files += 1;
            }
            return;
        }
        let Some(sha256) = entry.sha256 else {
            if entry.kind == RecordKind::File {
                let what = match &entry.path {
                    Some(path) => format!("file {:?} has no SHA-256 digest", crate::algorithm::truncated(path)),
                    None => "file has no SHA-256 digest".to_owned(),
                };
                self.problem(place(), format!("{what}; it cannot be allowed"));
            }
            return;
        };
        self.summary.sha256_digests += 1;
        (self.sink)(Record {
            sha256,
            kind: entry.kind,
            path: entry.path,
            package: entry.package.filter(|p| !p.is_empty()),
            other_digests: entry.others,
        });
    }

    pub fn into_summary(mut self) -> Summary {
        if self.summary.sha256_digests == 0 {
            let skipped = self.summary.skipped_total();
            let not_files = self.summary.packages_not_files;
            let message = if not_files > 0 {
                format!(
                    "no file with a SHA-256 digest in the document ({not_files} package entries with one are not \
                     files and are never allowed): nothing in it can be allowed"
                )
            } else if skipped > 0 {
                format!(
                    "no SHA-256 digest in the document ({skipped} digests in other algorithms): nothing in it can be allowed"
                )
            } else {
                "no SHA-256 digest in the document: nothing in it can be allowed".to_owned()
            };
            self.problem("document", message);
        }
        self.summary
    }
}
