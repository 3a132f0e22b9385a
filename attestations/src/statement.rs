//! In-toto statements (v0.1 and v1): which artifacts (subjects, by digest) a signer makes a
//! claim about, and the claim (the predicate), kept as the exact bytes that were signed.
use std::collections::BTreeMap;

use provgate_sbom::Sha256;
use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

use crate::{
    digests::{ArtifactDigests, Sha512},
    limits::{self, LimitError, MAX_BUNDLE_BYTES, MAX_STATEMENT_DEPTH},
    predicate::Predicate,
};

pub const STATEMENT_V0_1: &str = "https://in-toto.io/Statement/v0.1";
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// A statement listing more subjects than this is not one we register from.
pub const MAX_SUBJECTS: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementVersion {
    V0_1,
    V1,
}

#[derive(Debug, Error)]
pub enum StatementError {
    #[error("DSSE payload type is {0:?}, not an in-toto statement (application/vnd.in-toto+json)")]
    PayloadType(String),
    #[error("statement too big: {0}")]
    Limit(#[from] LimitError),
    #[error("not an in-toto statement: {0}")]
    Json(#[from] serde_json::Error),
    #[error("statement type {0:?} is neither {STATEMENT_V0_1} nor {STATEMENT_V1}")]
    UnknownType(String),
    #[error("statement has no subjects")]
    NoSubjects,
    #[error("statement has {0} subjects, more than the {MAX_SUBJECTS} allowed")]
    TooManySubjects(usize),
    #[error("subject {index} has no digest")]
    SubjectWithoutDigest { index: usize },
    #[error("subject {index}: {algorithm} digest {value:?} is not {expected} hex characters")]
    BadDigest { index: usize, algorithm: String, value: String, expected: usize },
    #[error("statement has an empty predicateType")]
    NoPredicateType,
    #[error("{predicate_type} predicate: {problem}")]
    Predicate { predicate_type: String, problem: String },
}

/// An artifact the statement is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub name: Option<String>,
    /// Algorithm → lowercase hex. Algorithms we do not know are kept as given.
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    pub fn sha256(&self) -> Option<Sha256> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(self.digest.get("sha256")?, &mut out).ok()?;
        Some(Sha256(out))
    }

    pub fn sha512(&self) -> Option<Sha512> {
        let mut out = [0u8; 64];
        hex::decode_to_slice(self.digest.get("sha512")?, &mut out).ok()?;
        Some(Sha512(out))
    }

    /// Whether this subject is the artifact: by every algorithm both sides have, and at least
    /// one. A subject naming two digests must match both, or it is about something else.
    pub fn is(&self, artifact: &ArtifactDigests) -> bool {
        let sha256 = self.digest.contains_key("sha256").then(|| self.sha256() == Some(artifact.sha256));
        let sha512 = self.digest.contains_key("sha512").then(|| self.sha512() == Some(artifact.sha512));
        match (sha256, sha512) {
            (None, None) => false,
            (a, b) => a.unwrap_or(true) && b.unwrap_or(true),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub version: StatementVersion,
    pub subjects: Vec<Subject>,
    pub predicate_type: String,
    predicate: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct RawStatement {
    #[serde(rename = "_type")]
    statement_type: String,
    subject: Vec<RawSubject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    #[serde(default)]
    predicate: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct RawSubject {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    digest: BTreeMap<String, String>,
}

/// Hex lengths of the digest algorithms subjects must spell correctly: the ones a subject can
/// be matched by. Others (gitCommit, dirHash, …) are kept unchecked.
fn expected_hex_len(algorithm: &str) -> Option<usize> {
    match algorithm {
        "sha256" => Some(64),
        "sha384" => Some(96),
        "sha512" => Some(128),
        _ => None,
    }
}

impl Statement {
    /// Parses a DSSE payload. Bounded in size and depth before serde sees it.
    pub fn from_slice(payload: &[u8]) -> Result<Self, StatementError> {
        limits::check_json(payload, MAX_BUNDLE_BYTES, MAX_STATEMENT_DEPTH)?;
        let raw: RawStatement = serde_json::from_slice(payload)?;
        let version = match raw.statement_type.as_str() {
            STATEMENT_V0_1 => StatementVersion::V0_1,
            STATEMENT_V1 => StatementVersion::V1,
            _ => return Err(StatementError::UnknownType(raw.statement_type)),
        };
        if raw.subject.is_empty() {
            return Err(StatementError::NoSubjects);
        }
        if raw.subject.len() > MAX_SUBJECTS {
            return Err(StatementError::TooManySubjects(raw.subject.len()));
        }
        if raw.predicate_type.is_empty() {
            return Err(StatementError::NoPredicateType);
        }
        let subjects = raw
            .subject
            .into_iter()
            .enumerate()
            .map(|(index, subject)| validate_subject(index, subject))
            .collect::<Result<_, _>>()?;
        Ok(Self { version, subjects, predicate_type: raw.predicate_type, predicate: raw.predicate })
    }

    /// The predicate's JSON exactly as signed, if there is one.
    pub fn predicate_json(&self) -> Option<&str> {
        self.predicate.as_deref().map(RawValue::get)
    }

    /// The predicate, read according to its type.
    pub fn predicate(&self) -> Result<Predicate<'_>, StatementError> {
        Predicate::read(&self.predicate_type, self.predicate_json())
    }

    /// The subject that is `artifact`, if any.
    pub fn subject_matching(&self, artifact: &ArtifactDigests) -> Option<&Subject> {
        self.subjects.iter().find(|subject| subject.is(artifact))
    }

    /// The SHA-256 digests of the subjects that have one.
    pub fn subject_sha256s(&self) -> impl Iterator<Item = Sha256> + '_ {
        self.subjects.iter().filter_map(Subject::sha256)
    }
}

fn validate_subject(index: usize, subject: RawSubject) -> Result<Subject, StatementError> {
    if subject.digest.is_empty() {
        return Err(StatementError::SubjectWithoutDigest { index });
    }
    let mut digest = BTreeMap::new();
    for (algorithm, value) in subject.digest {
        let value = match expected_hex_len(&algorithm) {
            Some(expected) if value.len() != expected || !value.bytes().all(|b| b.is_ascii_hexdigit()) => {
                return Err(StatementError::BadDigest { index, algorithm, value, expected });
            }
            Some(_) => value.to_ascii_lowercase(),
            None => value,
        };
        digest.insert(algorithm, value);
    }
    Ok(Subject { name: subject.name, digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";

    fn statement(statement_type: &str, subjects: &str, predicate: &str) -> String {
        format!(
            r#"{{"_type":"{statement_type}","subject":{subjects},"predicateType":"https://example.com/p","predicate":{predicate}}}"#
        )
    }

    #[test]
    fn reads_v1_and_v0_1() {
        let subjects = format!(r#"[{{"name":"a.txt","digest":{{"sha256":"{}"}}}}]"#, DIGEST.to_uppercase());
        for (t, v) in [(STATEMENT_V1, StatementVersion::V1), (STATEMENT_V0_1, StatementVersion::V0_1)] {
            let s = Statement::from_slice(statement(t, &subjects, r#"{"k": [1, 2]}"#).as_bytes()).unwrap();
            assert_eq!(s.version, v);
            assert_eq!(s.subjects[0].name.as_deref(), Some("a.txt"));
            assert_eq!(s.subjects[0].sha256().unwrap().to_hex(), DIGEST, "hex is normalised to lowercase");
            assert_eq!(s.predicate_json(), Some(r#"{"k": [1, 2]}"#), "the predicate is kept byte for byte");
        }
    }

    #[test]
    fn refuses_what_is_not_a_statement() {
        let good_subjects = format!(r#"[{{"digest":{{"sha256":"{DIGEST}"}}}}]"#);
        let cases = [
            (statement("https://in-toto.io/Statement/v9", &good_subjects, "{}"), "statement type"),
            (statement(STATEMENT_V1, "[]", "{}"), "no subjects"),
            (statement(STATEMENT_V1, r#"[{"name":"x"}]"#, "{}"), "subject 0 has no digest"),
            (statement(STATEMENT_V1, r#"[{"digest":{"sha256":"abc"}}]"#, "{}"), "not 64 hex characters"),
            (statement(STATEMENT_V1, &good_subjects, "{"), "not an in-toto statement"),
            (
                format!(r#"{{"_type":"{STATEMENT_V1}","subject":{good_subjects},"predicateType":""}}"#),
                "empty predicateType",
            ),
        ];
        for (json, expected) in cases {
            let err = Statement::from_slice(json.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(expected), "{json}: {err}");
        }
    }

    #[test]
    fn duplicate_keys_are_refused() {
        // Two parsers reading the same payload must not see two different subjects.
        let json = format!(
            r#"{{"_type":"{STATEMENT_V1}","subject":[{{"digest":{{"sha256":"{DIGEST}"}}}}],"subject":[],"predicateType":"p"}}"#
        );
        assert!(Statement::from_slice(json.as_bytes()).is_err());
    }

    #[test]
    fn subjects_are_matched_by_the_algorithms_they_name() {
        let artifact = ArtifactDigests::of(b"package");
        let other = ArtifactDigests::of(b"another package");
        let subjects = format!(
            r#"[{{"name":"other","digest":{{"sha512":"{}"}}}},{{"name":"pkg","digest":{{"sha512":"{}"}}}}]"#,
            other.sha512.to_hex(),
            artifact.sha512.to_hex().to_uppercase()
        );
        let s = Statement::from_slice(statement(STATEMENT_V1, &subjects, "{}").as_bytes()).unwrap();
        assert_eq!(s.subject_matching(&artifact).and_then(|s| s.name.as_deref()), Some("pkg"));
        assert_eq!(s.subject_sha256s().count(), 0, "sha512 subjects name no SHA-256");
        assert!(s.subject_matching(&ArtifactDigests::of(b"x")).is_none());

        // Both digests named: both must be the artifact's.
        let both = |sha256: &str, sha512: &str| {
            let subjects = format!(r#"[{{"digest":{{"sha256":"{sha256}","sha512":"{sha512}"}}}}]"#);
            Statement::from_slice(statement(STATEMENT_V1, &subjects, "{}").as_bytes()).unwrap()
        };
        assert!(both(&artifact.sha256.to_hex(), &artifact.sha512.to_hex()).subject_matching(&artifact).is_some());
        assert!(both(&artifact.sha256.to_hex(), &other.sha512.to_hex()).subject_matching(&artifact).is_none());
        assert!(both(&other.sha256.to_hex(), &artifact.sha512.to_hex()).subject_matching(&artifact).is_none());

        // Algorithms provgate cannot compute match nothing.
        let git = Statement::from_slice(statement(STATEMENT_V1, r#"[{"digest":{"gitCommit":"ab"}}]"#, "{}").as_bytes());
        assert!(git.unwrap().subject_matching(&artifact).is_none());
    }

    #[test]
    fn unknown_digest_algorithms_are_kept_unchecked() {
        let subjects = r#"[{"digest":{"gitCommit":"deadbeef"}}]"#;
        let s = Statement::from_slice(statement(STATEMENT_V1, subjects, "{}").as_bytes()).unwrap();
        assert_eq!(s.subjects[0].digest["gitCommit"], "deadbeef");
        assert_eq!(s.subject_sha256s().count(), 0);
    }
}
