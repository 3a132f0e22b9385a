//! Errors name the place in the document: a JSON path, an XML element path, a line, or a byte.
use std::fmt;

use thiserror::Error;

use crate::{algorithm::DigestError, summary::Format};

/// Where in the document something was found. Fields the format cannot give are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// `$.files[3].checksums[0]` in JSON, `/bom/components/component[2]` in XML.
    pub path: Option<String>,
    pub line: Option<u64>,
    pub column: Option<u32>,
    pub byte: Option<u64>,
}

impl Location {
    pub fn path(path: impl Into<String>) -> Self {
        Self { path: Some(path.into()), ..Self::default() }
    }

    pub fn line(line: u64) -> Self {
        Self { line: Some(line), ..Self::default() }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(path) = &self.path {
            parts.push(path.clone());
        }
        match (self.line, self.column) {
            // Errors found once an element is read whole point just past it: "near".
            (Some(l), Some(c)) => parts.push(format!("near line {l}, column {c}")),
            (Some(l), None) => parts.push(format!("line {l}")),
            _ => {}
        }
        if let Some(b) = self.byte {
            parts.push(format!("byte {b}"));
        }
        if parts.is_empty() { f.write_str("at the start") } else { write!(f, "at {}", parts.join(", ")) }
    }
}

#[derive(Debug, Error)]
pub enum SbomError {
    #[error("cannot read the document")]
    Read(#[source] std::io::Error),
    #[error(
        "not an SBOM this reader knows ({0}); expected SPDX 2.x JSON or tag-value, SPDX 3.0 JSON-LD, or CycloneDX JSON or XML"
    )]
    UnknownFormat(String),
    #[error("{format} version {version:?} is not supported ({location}); supported: {supported}")]
    UnsupportedVersion { format: Format, version: String, supported: &'static str, location: Location },
    #[error("the document ends early, {location}: {message} (truncated?)")]
    Truncated { location: Location, message: String },
    #[error("malformed {format} {location}: {message}")]
    Syntax { format: Format, location: Location, message: String },
    #[error("{location}: {digest}")]
    Digest { location: Location, digest: Box<DigestError> },
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
    #[error("{location}: {what} exceeds the limit of {limit}")]
    Limit { location: Location, what: &'static str, limit: u64 },
}

/// The `location` field of any variant that has one, by reference or mutable reference.
macro_rules! location_of {
    ($error:expr) => {
        match $error {
            SbomError::Read(_) | SbomError::UnknownFormat(_) => None,
            SbomError::UnsupportedVersion { location, .. }
            | SbomError::Truncated { location, .. }
            | SbomError::Syntax { location, .. }
            | SbomError::Digest { location, .. }
            | SbomError::Invalid { location, .. }
            | SbomError::Limit { location, .. } => Some(location),
        }
    };
}

impl SbomError {
    /// The place the error names, for callers that add the file name in front.
    pub fn location(&self) -> Option<&Location> {
        location_of!(self)
    }

    pub(crate) fn location_mut(&mut self) -> Option<&mut Location> {
        location_of!(self)
    }

    pub(crate) fn invalid(location: Location, message: impl Into<String>) -> Self {
        Self::Invalid { location, message: message.into() }
    }
}
