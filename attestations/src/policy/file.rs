//! The trust policy file (TOML), read strictly: unknown keys, unanchored patterns, predicate
//! types provgate does not understand and signers that could match anyone are errors, each
//! reported with the file and the line.
use std::{
    collections::HashMap,
    ops::Range,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Deserializer, de};
use thiserror::Error;
use toml::Spanned;

use super::{ClaimRules, MayVouch, SignerPattern, SignerRule, TrustPolicy, ValueMatcher};
use crate::{
    key::PublicKey,
    limits::{self, MAX_POLICY_BYTES},
    predicate::{
        CYCLONEDX_BOM, NPM_PUBLISH_V0_1, PYPI_PUBLISH_V1, PredicateKind, SLSA_PROVENANCE_V0_2, SLSA_PROVENANCE_V1,
        SPDX_DOCUMENT,
    },
};

/// The only format version so far; the file must say which it is written for.
pub const POLICY_VERSION: i64 = 1;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{origin}{}: {problem}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    pub origin: String,
    pub line: Option<usize>,
    pub problem: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyDocument {
    version: Spanned<i64>,
    #[serde(default, rename = "signer")]
    signers: Vec<SignerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignerEntry {
    name: Spanned<String>,
    issuer: Option<Spanned<MatcherEntry>>,
    identity: Option<Spanned<MatcherEntry>>,
    public_key: Option<Spanned<String>>,
    #[serde(default)]
    predicate_types: Vec<Spanned<String>>,
    #[serde(default)]
    artifact_signatures: bool,
    claims: Option<ClaimsEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsEntry {
    repository: Option<Spanned<MatcherEntry>>,
    #[serde(rename = "ref")]
    git_ref: Option<Spanned<MatcherEntry>>,
    workflow: Option<Spanned<MatcherEntry>>,
    trigger: Option<Spanned<MatcherEntry>>,
    runner_environment: Option<Spanned<MatcherEntry>>,
}

/// `"exact value"` or `{ regex = "^...$" }`.
enum MatcherEntry {
    Exact(String),
    Regex(String),
}

impl<'de> Deserialize<'de> for MatcherEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = MatcherEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(r#"a string (matched exactly) or { regex = "^...$" }"#)
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<MatcherEntry, E> {
                Ok(MatcherEntry::Exact(value.to_owned()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<MatcherEntry, A::Error> {
                let mut regex = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "regex" if regex.is_none() => regex = Some(map.next_value::<String>()?),
                        "regex" => return Err(de::Error::duplicate_field("regex")),
                        other => return Err(de::Error::unknown_field(other, &["regex"])),
                    }
                }
                regex.map(MatcherEntry::Regex).ok_or_else(|| de::Error::missing_field("regex"))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl TrustPolicy {
    /// Reads a policy file. Public keys it names are read relative to its folder.
    pub fn from_file(path: &Path) -> Result<Self, PolicyError> {
        let origin = path.display().to_string();
        let bytes = limits::read_bounded(path, MAX_POLICY_BYTES).map_err(|e| PolicyError {
            origin: origin.clone(),
            line: None,
            problem: e.to_string(),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| PolicyError {
            origin: origin.clone(),
            line: None,
            problem: "not UTF-8 text".into(),
        })?;
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::from_toml(&origin, &text, &folder)
    }

    /// Reads policy text; `origin` names it in errors, `folder` anchors relative key paths.
    pub fn from_toml(origin: &str, text: &str, folder: &Path) -> Result<Self, PolicyError> {
        let reader = Reader { origin, text, folder };
        let document: PolicyDocument = toml::from_str(text).map_err(|e| reader.error(e.span(), e.message()))?;
        if *document.version.get_ref() != POLICY_VERSION {
            return Err(reader.error(
                Some(document.version.span()),
                &format!(
                    "unsupported policy version {} (this provgate reads version {POLICY_VERSION})",
                    document.version.get_ref()
                ),
            ));
        }
        let mut first_line_of_name = HashMap::new();
        let mut signers = Vec::with_capacity(document.signers.len());
        for entry in document.signers {
            let name = entry.name.get_ref().trim().to_owned();
            let line = reader.line(entry.name.span());
            if name.is_empty() {
                return Err(reader.at(line, "a signer's name must not be empty"));
            }
            if let Some(first) = first_line_of_name.insert(name.clone(), line) {
                return Err(reader.at(line, &format!("signer name {name:?} is already used at line {first}")));
            }
            signers.push(reader.signer(name, line, entry)?);
        }
        if signers.is_empty() {
            tracing::warn!(policy = origin, "the trust policy lists no signers: nothing is trusted");
        }
        Ok(TrustPolicy::new(origin.to_owned(), signers))
    }
}

struct Reader<'a> {
    origin: &'a str,
    text: &'a str,
    folder: &'a Path,
}

impl Reader<'_> {
    fn line(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn at(&self, line: usize, problem: &str) -> PolicyError {
        PolicyError { origin: self.origin.to_owned(), line: Some(line), problem: problem.to_owned() }
    }

    fn error(&self, span: Option<Range<usize>>, problem: &str) -> PolicyError {
        PolicyError {
            origin: self.origin.to_owned(),
            line: span.map(|span| self.line(span)),
            problem: problem.trim_end().to_owned(),
        }
    }

    fn signer(&self, name: String, line: usize, entry: SignerEntry) -> Result<SignerRule, PolicyError> {
        let signer = match (entry.public_key, entry.issuer, entry.identity) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(self
                    .at(line, &format!("signer {name:?}: give either public_key, or issuer and identity, not both")));
            }
            (Some(path), None, None) => {
                if entry.claims.is_some() {
                    return Err(
                        self.at(line, &format!("signer {name:?}: claims apply to certificates, not to a public key"))
                    );
                }
                let key_line = self.line(path.span());
                let key_path: PathBuf = self.folder.join(path.get_ref());
                let key = PublicKey::from_file(&key_path).map_err(|e| self.at(key_line, &e.to_string()))?;
                SignerPattern::Key(key)
            }
            (None, Some(issuer), Some(identity)) => SignerPattern::Certificate {
                issuer: self.matcher(issuer)?,
                identity: self.matcher(identity)?,
                claims: Box::new(entry.claims.map(|claims| self.claims(claims)).transpose()?.unwrap_or_default()),
            },
            (None, Some(_), None) => {
                return Err(self.at(
                    line,
                    &format!(
                        "signer {name:?} has an issuer but no identity: anyone that issuer certifies would be trusted \
                         (name the identity, or a regular expression ^...$ for several)"
                    ),
                ));
            }
            (None, None, _) => {
                return Err(self.at(
                    line,
                    &format!(
                        "signer {name:?} needs issuer and identity (a certificate signer) or public_key (a managed key)"
                    ),
                ));
            }
        };
        let mut predicate_types = Vec::with_capacity(entry.predicate_types.len());
        for predicate_type in entry.predicate_types {
            if !PredicateKind::of(predicate_type.get_ref()).is_known() {
                return Err(self.error(
                    Some(predicate_type.span()),
                    &format!(
                        "predicate type {:?} is not one provgate understands, so it cannot vouch for code \
                         (known: {SPDX_DOCUMENT}[/vN], {CYCLONEDX_BOM}[/vN], {SLSA_PROVENANCE_V0_2}, {SLSA_PROVENANCE_V1}, \
                         {NPM_PUBLISH_V0_1}, {PYPI_PUBLISH_V1})",
                        predicate_type.get_ref()
                    ),
                ));
            }
            predicate_types.push(predicate_type.into_inner());
        }
        if predicate_types.is_empty() && !entry.artifact_signatures {
            return Err(self.at(
                line,
                &format!(
                    "signer {name:?} may vouch for nothing: list predicate_types, or set artifact_signatures = true"
                ),
            ));
        }
        Ok(SignerRule {
            name,
            signer,
            may_vouch: MayVouch::Only { predicate_types, artifact_signatures: entry.artifact_signatures },
        })
    }

    fn claims(&self, claims: ClaimsEntry) -> Result<ClaimRules, PolicyError> {
        let matcher = |entry: Option<Spanned<MatcherEntry>>| entry.map(|entry| self.matcher(entry)).transpose();
        Ok(ClaimRules {
            repository: matcher(claims.repository)?,
            git_ref: matcher(claims.git_ref)?,
            workflow: matcher(claims.workflow)?,
            trigger: matcher(claims.trigger)?,
            runner_environment: matcher(claims.runner_environment)?,
        })
    }

    fn matcher(&self, entry: Spanned<MatcherEntry>) -> Result<ValueMatcher, PolicyError> {
        let span = entry.span();
        match entry.into_inner() {
            MatcherEntry::Exact(value) if value.is_empty() => {
                Err(self.error(Some(span), "an empty value matches nothing"))
            }
            MatcherEntry::Exact(value) => Ok(ValueMatcher::Exact(value)),
            MatcherEntry::Regex(pattern) => {
                ValueMatcher::regex(&pattern).map_err(|problem| self.error(Some(span), &problem))
            }
        }
    }
}
