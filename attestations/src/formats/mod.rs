//! The files attestations arrive in, each read into the Sigstore bundles it holds: a bundle
//! itself, JSON lines of bundles (`gh attestation download`, slsa-github-generator from v2.1),
//! npm's registry attestations response, a PEP 740 attestation object, PyPI's provenance object
//! and cosign's `sign-blob --bundle` file. A bare DSSE envelope (slsa-github-generator's
//! `.intoto.jsonl` before v2.1) is refused by name: it holds no transparency-log entry, so
//! nothing offline shows that its short-lived certificate was used while valid.
//! Which one a file is follows from its top-level keys; every reader is
//! bounded in size, depth and count before serde sees the input, and says which attestation of
//! the file each bundle is, so a caller can report on each.
pub mod cosign;
mod npm;
mod pep740;

use std::path::Path;

use serde_json::Value;
use thiserror::Error;

use crate::{
    Bundle,
    limits::{self, LimitError, MAX_ATTESTATIONS, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH},
};

pub use pep740::to_bundle as pep740_to_bundle;

/// What kind of file held the bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A Sigstore bundle, as given.
    Bundle,
    /// npm's attestations response (`{"attestations":[{"predicateType","bundle"}]}`).
    NpmAttestations,
    /// One PEP 740 attestation object.
    Pep740Attestation,
    /// PyPI's provenance object (`{"version":1,"attestation_bundles":[...]}`).
    PypiProvenance,
    /// Bundles one per line (`gh attestation download` writes `sha256:<hex>.jsonl`).
    JsonLines,
    /// `cosign sign-blob --bundle` output (`{"base64Signature","cert","rekorBundle"}`).
    CosignBlobBundle,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Container::Bundle => "Sigstore bundle",
            Container::NpmAttestations => "npm attestations response",
            Container::Pep740Attestation => "PEP 740 attestation",
            Container::PypiProvenance => "PyPI provenance object",
            Container::JsonLines => "JSON lines of bundles",
            Container::CosignBlobBundle => "cosign blob bundle",
        }
    }
}

/// One bundle of a file, with where it was in it.
#[derive(Debug, Clone)]
pub struct Attestation {
    /// Which attestation of the file: `attestations[1] (https://slsa.dev/provenance/v1)`.
    pub label: String,
    /// A Sigstore bundle's JSON, converted when the file held another form.
    pub bundle: Value,
}

#[derive(Debug, Error)]
pub enum FormatError {
    #[error("cannot read: {0}")]
    Read(#[from] limits::ReadError),
    #[error("too big: {0}")]
    Limit(#[from] LimitError),
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "neither a Sigstore bundle (mediaType), JSON lines of bundles, npm's attestations response \
         (attestations), a PEP 740 attestation (envelope, verification_material), PyPI's provenance \
         object (attestation_bundles) nor cosign's blob bundle (base64Signature)"
    )]
    Unknown,
    #[error(
        "{at} is a bare DSSE envelope (slsa-github-generator's .intoto.jsonl before v2.1): it carries a \
         certificate but no transparency-log entry, so it cannot be verified offline; verify it with \
         slsa-verifier (which looks the entry up in Rekor), or take the provenance as a Sigstore bundle \
         (slsa-github-generator v2.1 and later write one; `gh attestation download` for GitHub's attestations)"
    )]
    BareEnvelope { at: String },
    #[error("{container}: {problem}")]
    Malformed { container: &'static str, problem: String },
    #[error(transparent)]
    Bundle(#[from] crate::BundleError),
    #[error("{container}: holds no attestation")]
    Empty { container: &'static str },
    #[error("{container}: {count} attestations, more than the {MAX_ATTESTATIONS} allowed")]
    TooMany { container: &'static str, count: usize },
}

impl FormatError {
    pub(crate) fn malformed(container: Container, problem: impl std::fmt::Display) -> Self {
        Self::Malformed { container: container.name(), problem: problem.to_string() }
    }
}

/// The bundles a file holds.
#[derive(Debug, Clone)]
pub struct Attestations {
    pub container: Container,
    pub attestations: Vec<Attestation>,
}

impl Attestations {
    pub fn from_file(path: &Path) -> Result<Self, FormatError> {
        Self::from_slice(&limits::read_bounded(path, MAX_BUNDLE_BYTES)?)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, FormatError> {
        let lines: Vec<(usize, &[u8])> = bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, line)| !line.trim_ascii().is_empty())
            .map(|(i, line)| (i + 1, line))
            .collect();
        // Several lines each holding a whole JSON object are JSON lines; one document spread over
        // lines (pretty-printed) has lines that are not.
        if lines.len() > 1 && lines.iter().all(|(_, line)| is_one_object(line)) {
            return Self::json_lines(&lines);
        }
        // The containers wrap a bundle in at most four more levels.
        limits::check_json(bytes, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH + 4)?;
        let value: Value = serde_json::from_slice(bytes)?;
        let object = value.as_object().ok_or(FormatError::Unknown)?;
        let has = |key: &str| object.contains_key(key);
        if is_bare_envelope(object) {
            return Err(FormatError::BareEnvelope { at: "the file".into() });
        }
        let (container, attestations) = if has("mediaType") {
            (Container::Bundle, vec![Attestation { label: "the bundle".into(), bundle: value }])
        } else if has("attestation_bundles") {
            (Container::PypiProvenance, pep740::provenance(&value)?)
        } else if has("envelope") && has("verification_material") {
            let bundle = pep740::to_bundle(&value)?;
            (Container::Pep740Attestation, vec![Attestation { label: "the attestation".into(), bundle }])
        } else if has("attestations") {
            (Container::NpmAttestations, npm::attestations(&value)?)
        } else if has("base64Signature") {
            (Container::CosignBlobBundle, cosign::blob_bundle(&value)?)
        } else {
            return Err(FormatError::Unknown);
        };
        match attestations.len() {
            0 => Err(FormatError::Empty { container: container.name() }),
            count if count > MAX_ATTESTATIONS => Err(FormatError::TooMany { container: container.name(), count }),
            _ => Ok(Self { container, attestations }),
        }
    }
}

/// One bundle, as `verify-bundle` takes it: a Sigstore bundle as it is, or cosign's blob bundle
/// converted to the bundle it amounts to. Other containers are not one bundle.
pub fn single_bundle(path: &Path) -> Result<Bundle, FormatError> {
    let bytes = limits::read_bounded(path, MAX_BUNDLE_BYTES)?;
    limits::check_json(&bytes, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH)?;
    #[derive(serde::Deserialize)]
    struct Head {
        #[serde(rename = "base64Signature")]
        signature: Option<serde::de::IgnoredAny>,
    }
    // A bundle's own errors (no mediaType, malformed JSON) are its reader's to tell.
    if serde_json::from_slice::<Head>(&bytes).is_ok_and(|head| head.signature.is_some()) {
        let value: Value = serde_json::from_slice(&bytes)?;
        let [converted] =
            <[Attestation; 1]>::try_from(cosign::blob_bundle(&value)?).expect("a blob bundle is one bundle");
        return Ok(Bundle::from_slice(converted.bundle.to_string().as_bytes())?);
    }
    Ok(Bundle::from_slice(&bytes)?)
}

impl Attestations {
    fn json_lines(lines: &[(usize, &[u8])]) -> Result<Self, FormatError> {
        let container = Container::JsonLines;
        if lines.len() > MAX_ATTESTATIONS {
            return Err(FormatError::TooMany { container: container.name(), count: lines.len() });
        }
        let attestations = lines
            .iter()
            .map(|(number, line)| {
                limits::check_json(line, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH)?;
                let bundle: Value = serde_json::from_slice(line)?;
                if bundle.as_object().is_some_and(is_bare_envelope) {
                    return Err(FormatError::BareEnvelope { at: format!("line {number}") });
                }
                if bundle.get("mediaType").is_none() {
                    return Err(FormatError::malformed(container, format!("line {number} is not a Sigstore bundle")));
                }
                Ok(Attestation { label: format!("line {number}"), bundle })
            })
            .collect::<Result<_, FormatError>>()?;
        Ok(Self { container, attestations })
    }
}

/// A DSSE envelope alone, not inside a bundle: `{"payloadType","payload","signatures"}`.
fn is_bare_envelope(object: &serde_json::Map<String, Value>) -> bool {
    ["payloadType", "payload", "signatures"].iter().all(|key| object.contains_key(*key))
        && !object.contains_key("mediaType")
}

/// Whether `line` is one JSON object and nothing else (bounded before it is parsed).
fn is_one_object(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    line.starts_with(b"{")
        && limits::check_json(line, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH).is_ok()
        && serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_one_bundle_per_line() {
        let bundle = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
        let text = format!("{bundle}\n\n{bundle}\n");
        let read = Attestations::from_slice(text.as_bytes()).unwrap();
        assert_eq!(read.container, Container::JsonLines);
        let labels: Vec<&str> = read.attestations.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(labels, ["line 1", "line 3"]);
        let wrong = format!("{bundle}\n{{\"attestations\":[]}}\n");
        let err = Attestations::from_slice(wrong.as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "JSON lines of bundles: line 2 is not a Sigstore bundle");
        // A pretty-printed bundle is one document, not lines.
        let pretty = "{\n  \"mediaType\": \"application/vnd.dev.sigstore.bundle.v0.3+json\"\n}\n";
        assert_eq!(Attestations::from_slice(pretty.as_bytes()).unwrap().container, Container::Bundle);
    }

    #[test]
    fn the_container_is_told_by_its_keys() {
        let bundle = br#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}"#;
        let read = Attestations::from_slice(bundle).unwrap();
        assert_eq!(read.container, Container::Bundle);
        assert_eq!(read.attestations.len(), 1);
        for unknown in [&br#"{"foo":1}"#[..], b"[1]", b"\"x\""] {
            assert!(matches!(Attestations::from_slice(unknown), Err(FormatError::Unknown)));
        }
        assert!(matches!(Attestations::from_slice(b"{"), Err(FormatError::Json(_))));
        let empty = Attestations::from_slice(br#"{"attestations":[]}"#).unwrap_err();
        assert_eq!(empty.to_string(), "npm attestations response: holds no attestation");
    }

    #[test]
    fn deep_input_is_refused_before_parsing() {
        let mut json = String::from(r#"{"attestations": "#);
        json.push_str(&"[".repeat(64));
        assert!(matches!(Attestations::from_slice(json.as_bytes()), Err(FormatError::Limit(_))));
    }
}
