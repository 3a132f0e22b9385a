//! The trust policy: which signers may vouch for code, and with which kinds of statement.
//! Cryptography says who signed; only the policy says whether that is enough. Without a policy
//! nothing is trusted.
mod file;
mod matcher;

pub use file::PolicyError;
pub use matcher::ValueMatcher;

use crate::{
    key::PublicKey,
    rejection::{Check, Rejection},
    signer::{CertificateSigner, Signer},
};

/// Constraints on the Fulcio CI claims (extensions 1.3.6.1.4.1.57264.1.*), e.g. those GitHub
/// Actions sets. Each one set must match; a claim the certificate lacks matches nothing.
#[derive(Debug, Clone, Default)]
pub struct ClaimRules {
    /// Source Repository URI (`.1.12`), e.g. `https://github.com/acme/app`.
    pub repository: Option<ValueMatcher>,
    /// Source Repository Ref (`.1.14`), e.g. `refs/heads/main`.
    pub git_ref: Option<ValueMatcher>,
    /// Build Config URI (`.1.18`): the workflow that ran, with its ref.
    pub workflow: Option<ValueMatcher>,
    /// Build Trigger (`.1.20`), e.g. `push`.
    pub trigger: Option<ValueMatcher>,
    /// Runner Environment (`.1.11`), `github-hosted` or `self-hosted`.
    pub runner_environment: Option<ValueMatcher>,
}

impl ClaimRules {
    /// `(claim, matcher)` for each claim constrained, in the policy file's words.
    pub fn constraints(&self) -> impl Iterator<Item = (&'static str, &ValueMatcher)> {
        [
            ("repository", &self.repository),
            ("ref", &self.git_ref),
            ("workflow", &self.workflow),
            ("trigger", &self.trigger),
            ("runner_environment", &self.runner_environment),
        ]
        .into_iter()
        .filter_map(|(name, matcher)| matcher.as_ref().map(|matcher| (name, matcher)))
    }
}

/// Who a rule is about.
#[derive(Debug, Clone)]
pub enum SignerPattern {
    Certificate { issuer: ValueMatcher, identity: ValueMatcher, claims: Box<ClaimRules> },
    Key(PublicKey),
}

/// What a signer may vouch with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MayVouch {
    /// Anything: for `verify-bundle`, which checks a signer, not what it may vouch for.
    Anything,
    Only {
        predicate_types: Vec<String>,
        artifact_signatures: bool,
    },
}

#[derive(Debug, Clone)]
pub struct SignerRule {
    pub name: String,
    pub signer: SignerPattern,
    pub may_vouch: MayVouch,
}

/// What a verified bundle vouches with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vouching<'a> {
    /// A signature directly over an artifact.
    ArtifactSignature,
    /// An in-toto statement of this predicate type.
    Statement { predicate_type: &'a str },
}

impl std::fmt::Display for Vouching<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Vouching::ArtifactSignature => f.write_str("an artifact signature"),
            Vouching::Statement { predicate_type } => write!(f, "predicate type {predicate_type}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct TrustPolicy {
    origin: String,
    signers: Vec<SignerRule>,
}

impl TrustPolicy {
    /// No policy: every signer is refused.
    pub fn nothing_trusted() -> Self {
        Self { origin: "no trust policy".into(), signers: Vec::new() }
    }

    /// One certificate identity and issuer, matched exactly, vouching for anything: what
    /// `verify-bundle --certificate-identity I --certificate-oidc-issuer U` expects.
    pub fn exact_identity(identity: &str, issuer: &str) -> Self {
        Self::single(
            "the command line",
            SignerPattern::Certificate {
                issuer: ValueMatcher::Exact(issuer.to_owned()),
                identity: ValueMatcher::Exact(identity.to_owned()),
                claims: Box::default(),
            },
        )
    }

    /// One public key, vouching for anything: what `verify-bundle --key K` expects.
    pub fn single_key(key: PublicKey) -> Self {
        Self::single("the command line", SignerPattern::Key(key))
    }

    fn single(origin: &str, signer: SignerPattern) -> Self {
        Self {
            origin: origin.into(),
            signers: vec![SignerRule { name: origin.into(), signer, may_vouch: MayVouch::Anything }],
        }
    }

    pub(crate) fn new(origin: String, signers: Vec<SignerRule>) -> Self {
        Self { origin, signers }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn signers(&self) -> &[SignerRule] {
        &self.signers
    }

    /// The managed keys the policy trusts: a key bundle is verified with each in turn.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.signers.iter().filter_map(|rule| match &rule.signer {
            SignerPattern::Key(key) => Some(key),
            SignerPattern::Certificate { .. } => None,
        })
    }

    /// The rule that lets `signer` vouch with `vouching`, or why none does: an identity
    /// rejection lists, per rule, what was expected and what was found.
    pub fn authorize(&self, signer: &Signer, vouching: Vouching<'_>) -> Result<&SignerRule, Rejection> {
        if self.signers.is_empty() {
            return Err(Rejection::new(Check::Identity, format!("{}: nothing is trusted", self.origin)));
        }
        let mut mismatches = Vec::new();
        let mut not_allowed = Vec::new();
        for rule in &self.signers {
            let differences = rule.differences(signer);
            if !differences.is_empty() {
                mismatches.push((rule, differences.join("; ")));
            } else if rule.may_vouch.allows(vouching) {
                tracing::debug!(rule = rule.name, signer = signer.identity(), "signer authorized");
                return Ok(rule);
            } else {
                not_allowed.push(rule);
            }
        }
        if !not_allowed.is_empty() {
            let rules: Vec<String> = not_allowed
                .iter()
                .map(|rule| format!("signer {:?} may vouch with {}", rule.name, rule.may_vouch))
                .collect();
            return Err(Rejection::new(
                Check::Policy,
                format!("{} does not let this signer vouch with {vouching}: {}", self.origin, rules.join("; ")),
            ));
        }
        let detail = match mismatches.as_slice() {
            [(_, only)] if self.signers.len() == 1 => only.clone(),
            _ => {
                let per_rule: Vec<String> =
                    mismatches.iter().map(|(rule, why)| format!("signer {:?}: {why}", rule.name)).collect();
                format!("no signer of {} matches: {}", self.origin, per_rule.join(" | "))
            }
        };
        Err(Rejection::new(Check::Identity, detail))
    }
}

impl SignerRule {
    /// "expected …, found …" for each way `signer` differs from this rule; empty if it matches.
    fn differences(&self, signer: &Signer) -> Vec<String> {
        match (&self.signer, signer) {
            (SignerPattern::Certificate { issuer, identity, claims }, Signer::Certificate(found)) => {
                certificate_differences(issuer, identity, claims, found)
            }
            (SignerPattern::Key(expected), Signer::Key(found)) => {
                let expected = expected.as_signer();
                if expected == *found {
                    Vec::new()
                } else {
                    vec![format!("expected key {}, found key {}", expected.fingerprint(), found.fingerprint())]
                }
            }
            (SignerPattern::Key(expected), Signer::Certificate(found)) => vec![format!(
                "expected key {}, found a certificate for {}",
                expected.as_signer().fingerprint(),
                Signer::Certificate(found.clone()).identity()
            )],
            (SignerPattern::Certificate { identity, .. }, Signer::Key(found)) => {
                vec![format!("expected a certificate for identity {identity}, found key {}", found.fingerprint())]
            }
        }
    }
}

fn certificate_differences(
    issuer: &ValueMatcher,
    identity: &ValueMatcher,
    claims: &ClaimRules,
    found: &CertificateSigner,
) -> Vec<String> {
    let mut differences = Vec::new();
    if !found.identities.iter().any(|san| identity.matches(san.value())) {
        let found_identities: Vec<String> = found.identities.iter().map(|san| format!("{:?}", san.value())).collect();
        let found_identities =
            if found_identities.is_empty() { "no identity".to_owned() } else { found_identities.join(", ") };
        differences.push(format!("expected identity {identity}, found {found_identities}"));
    }
    let mut check = |what: &str, expected: Option<&ValueMatcher>, value: Option<&str>| {
        if let Some(expected) = expected
            && !value.is_some_and(|value| expected.matches(value))
        {
            differences.push(format!(
                "expected {what} {expected}, found {}",
                value.map_or("none".into(), |v| format!("{v:?}"))
            ));
        }
    };
    check("issuer", Some(issuer), found.issuer.as_deref());
    check("repository", claims.repository.as_ref(), found.claims.repository.as_deref());
    check("ref", claims.git_ref.as_ref(), found.claims.git_ref.as_deref());
    check("workflow", claims.workflow.as_ref(), found.claims.workflow.as_deref());
    check("trigger", claims.trigger.as_ref(), found.claims.trigger.as_deref());
    check("runner environment", claims.runner_environment.as_ref(), found.claims.runner_environment.as_deref());
    differences
}

impl MayVouch {
    fn allows(&self, vouching: Vouching<'_>) -> bool {
        match (self, vouching) {
            (MayVouch::Anything, _) => true,
            (MayVouch::Only { artifact_signatures, .. }, Vouching::ArtifactSignature) => *artifact_signatures,
            (MayVouch::Only { predicate_types, .. }, Vouching::Statement { predicate_type }) => {
                predicate_types.iter().any(|allowed| allowed == predicate_type)
            }
        }
    }
}

impl std::fmt::Display for MayVouch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MayVouch::Anything => f.write_str("anything"),
            MayVouch::Only { predicate_types, artifact_signatures } => {
                let mut kinds: Vec<&str> = predicate_types.iter().map(String::as_str).collect();
                if *artifact_signatures {
                    kinds.push("artifact signatures");
                }
                if kinds.is_empty() { f.write_str("nothing") } else { f.write_str(&kinds.join(", ")) }
            }
        }
    }
}

#[cfg(test)]
mod tests;
