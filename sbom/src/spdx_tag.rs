//! SPDX 2.x tag-value. A file that follows a package belongs to it (as SPDX's own tools read
//! it), and `Relationship:` lines may say so anywhere in the document, so this reader too makes
//! an index pass and an emit pass.
use std::io::{BufRead, BufReader, Read, Seek};

use crate::{
    collector::{Collector, Entry},
    error::{Location, SbomError},
    index::PackageIndex,
    limits::{BoundedReader, LimitExceeded, Limits, MAX_DIGESTS_PER_ENTRY, Syntax},
    passes::{Pass, link_relationship, two_passes},
    record::{PackageRef, RecordKind},
    summary::Format,
};

const SUPPORTED: &str = "SPDX-2.0, SPDX-2.1, SPDX-2.2, SPDX-2.3";

pub(crate) fn parse<R: Read + Seek>(
    input: &mut R,
    start: u64,
    limits: &Limits,
    out: &mut Collector<'_>,
) -> Result<(), SbomError> {
    two_passes(input, start, limits, out, |pass, input, index, out| {
        let lines = Lines::new(BufReader::new(BoundedReader::new(input, Syntax::Lines, limits)), limits);
        Walk { pass, index, out, section: Section::Document, current_package: None }.run(lines)
    })
}

/// One `Tag: value` pair, with `<text>…</text>` values joined across lines.
struct Tagged {
    line: u64,
    tag: String,
    value: String,
}

struct Lines<R> {
    input: R,
    line: u64,
    buf: Vec<u8>,
    max_value: usize,
}

impl<R: BufRead> Lines<R> {
    fn new(input: R, limits: &Limits) -> Self {
        Self { input, line: 0, buf: Vec::new(), max_value: limits.max_string_bytes }
    }

    fn read_line(&mut self) -> Result<Option<String>, SbomError> {
        self.buf.clear();
        let n = self.input.read_until(b'\n', &mut self.buf).map_err(|e| match LimitExceeded::from_io(&e) {
            Some(l) => SbomError::Limit { location: Location::line(self.line + 1), what: l.what, limit: l.limit },
            None => SbomError::Read(e),
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        let text = std::str::from_utf8(&self.buf).map_err(|_| SbomError::Syntax {
            format: Format::SpdxTagValue,
            location: Location::line(self.line),
            message: "not UTF-8".into(),
        })?;
        Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned()))
    }

    fn next(&mut self) -> Result<Option<Tagged>, SbomError> {
        loop {
            let Some(line) = self.read_line()? else {
                return Ok(None);
            };
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let start = self.line;
            let Some((tag, value)) = line.split_once(':').filter(|(t, _)| is_tag(t.trim())) else {
                return Err(SbomError::Syntax {
                    format: Format::SpdxTagValue,
                    location: Location::line(start),
                    message: format!("expected `Tag: value`, found {:?}", crate::algorithm::truncated(trimmed)),
                });
            };
            let (tag, value) = (tag.trim().to_owned(), value.trim());
            let value = match value.strip_prefix("<text>") {
                Some(rest) => self.text_block(rest, start)?,
                None => value.to_owned(),
            };
            return Ok(Some(Tagged { line: start, tag, value }));
        }
    }

    fn text_block(&mut self, first: &str, start: u64) -> Result<String, SbomError> {
        let mut text = String::new();
        let mut piece = first.to_owned();
        loop {
            if let Some(end) = piece.find("</text>") {
                text.push_str(&piece[..end]);
                return Ok(text);
            }
            text.push_str(&piece);
            text.push('\n');
            if text.len() > self.max_value {
                return Err(SbomError::Limit {
                    location: Location::line(start),
                    what: "a <text> value",
                    limit: self.max_value as u64,
                });
            }
            piece = self.read_line()?.ok_or_else(|| SbomError::Truncated {
                location: Location::line(start),
                message: "<text> is never closed by </text>".into(),
            })?;
        }
    }
}

fn is_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

enum Section {
    Document,
    Package(Pending),
    File(Pending),
    /// Snippets, extracted licenses: nothing to record.
    Other,
}

#[derive(Default)]
struct Pending {
    line: u64,
    id: Option<String>,
    name: Option<String>,
    package: PackageRef,
    checksums: Vec<(u64, String)>,
}

struct Walk<'a, 's> {
    pass: Pass,
    index: &'a mut PackageIndex,
    out: &'a mut Collector<'s>,
    section: Section,
    /// The id of the last package seen: files that follow it belong to it.
    current_package: Option<String>,
}

impl Walk<'_, '_> {
    fn run<R: BufRead>(mut self, mut lines: Lines<R>) -> Result<(), SbomError> {
        let mut saw_version = false;
        while let Some(Tagged { line, tag, value }) = lines.next()? {
            let pending = match &mut self.section {
                Section::Package(p) | Section::File(p) => Some(p),
                Section::Document | Section::Other => None,
            };
            match (tag.as_str(), pending) {
                ("SPDXVersion", _) => {
                    if !SUPPORTED.split(", ").any(|v| v == value) {
                        return Err(SbomError::UnsupportedVersion {
                            format: Format::SpdxTagValue,
                            version: value,
                            supported: SUPPORTED,
                            location: Location::line(line),
                        });
                    }
                    saw_version = true;
                    self.out.summary_mut().spec_version = Some(value);
                }
                ("DocumentName", _) => self.out.summary_mut().name = Some(value),
                ("DocumentNamespace", _) => self.out.summary_mut().namespace = Some(value),
                ("PackageName", _) => {
                    self.end_section()?;
                    let package = PackageRef { name: Some(value), ..PackageRef::default() };
                    self.section = Section::Package(Pending { line, package, ..Pending::default() });
                }
                ("FileName", _) => {
                    self.end_section()?;
                    self.section = Section::File(Pending { line, name: Some(value), ..Pending::default() });
                }
                ("SnippetSPDXID" | "LicenseID", _) => {
                    self.end_section()?;
                    self.section = Section::Other;
                }
                ("Relationship", _) if self.pass == Pass::Index => {
                    let parts: Vec<&str> = value.split_whitespace().collect();
                    let [from, kind, to] = parts[..] else {
                        let message = format!("expected `Relationship: FROM TYPE TO`, found {value:?}");
                        return Err(SbomError::invalid(Location::line(line), message));
                    };
                    link_relationship(self.index, from, kind, to);
                }
                ("SPDXID", Some(p)) => p.id = Some(value),
                ("PackageVersion", Some(p)) => p.package.version = Some(value),
                ("PackageFileName", Some(p)) => p.name = Some(value),
                ("ExternalRef", Some(p)) => {
                    let parts: Vec<&str> = value.split_whitespace().collect();
                    if let [category, "purl", locator] = parts[..]
                        && matches!(category, "PACKAGE-MANAGER" | "PACKAGE_MANAGER")
                        && p.package.purl.is_none()
                    {
                        p.package.purl = Some(locator.to_owned());
                    }
                }
                ("PackageChecksum" | "FileChecksum", Some(p)) if self.pass == Pass::Emit => {
                    if p.checksums.len() == MAX_DIGESTS_PER_ENTRY {
                        return Err(SbomError::invalid(Location::line(line), "too many checksums for one entry"));
                    }
                    p.checksums.push((line, value));
                }
                _ => {}
            }
        }
        if !saw_version {
            return Err(SbomError::invalid(Location::line(1), "no SPDXVersion tag"));
        }
        self.end_section()
    }

    fn end_section(&mut self) -> Result<(), SbomError> {
        let (kind, pending) = match std::mem::replace(&mut self.section, Section::Other) {
            Section::Package(p) => (RecordKind::Package, p),
            Section::File(p) => (RecordKind::File, p),
            Section::Document | Section::Other => return Ok(()),
        };
        match (self.pass, kind) {
            (Pass::Index, RecordKind::Package) => {
                if let Some(id) = &pending.id {
                    self.index.add_package(id, pending.package);
                }
                self.current_package = pending.id;
            }
            (Pass::Index, RecordKind::File) => {
                if let (Some(file), Some(package)) = (&pending.id, &self.current_package) {
                    let (file, package) = (self.index.key(file), self.index.key(package));
                    self.index.link_implied(file, package);
                }
            }
            (Pass::Emit, _) => {
                let mut entry = Entry::new(kind);
                entry.path = pending.name;
                entry.package = match kind {
                    RecordKind::Package => Some(pending.package),
                    RecordKind::File => pending.id.as_deref().and_then(|id| self.index.package_of(id)).cloned(),
                };
                for (line, checksum) in &pending.checksums {
                    let location = || Location::line(*line);
                    let Some((label, value)) = checksum.split_once(':') else {
                        let message =
                            format!("expected `ALGORITHM: value`, found {:?}", crate::algorithm::truncated(checksum));
                        return Err(SbomError::invalid(location(), message));
                    };
                    entry
                        .add_digest(label.trim(), value.trim())
                        .map_err(|digest| SbomError::Digest { location: location(), digest: Box::new(digest) })?;
                }
                let line = pending.line;
                self.out.finish(entry, || format!("line {line}"));
            }
        }
        Ok(())
    }
}
