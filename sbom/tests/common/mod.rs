//! Helpers shared by the reader tests.
#![allow(dead_code)]
use std::io::Cursor;

use provgate_sbom::{Limits, Record, SbomError, Summary};

pub fn read_with(doc: &[u8], limits: &Limits) -> Result<(Summary, Vec<Record>), SbomError> {
    let mut records = Vec::new();
    let summary = provgate_sbom::read(&mut Cursor::new(doc), limits, &mut |r| records.push(r))?;
    Ok((summary, records))
}

pub fn read(doc: &str) -> Result<(Summary, Vec<Record>), SbomError> {
    read_with(doc.as_bytes(), &Limits::default())
}

/// A distinct, valid lower-case SHA-256 for test documents.
pub fn sha256(seed: u8) -> String {
    format!("{:02x}", seed).repeat(32)
}

pub fn sha1(seed: u8) -> String {
    format!("{:02x}", seed).repeat(20)
}

/// (sha256 hex, path, package label) per record, in document order.
pub fn triples(records: &[Record]) -> Vec<(String, Option<String>, Option<String>)> {
    records.iter().map(|r| (r.sha256.to_hex(), r.path.clone(), r.package.as_ref().and_then(|p| p.label()))).collect()
}
