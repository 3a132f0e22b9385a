use std::path::{Path, PathBuf};

use super::*;
use crate::signer::{CertificateSigner, CiClaims, KeySigner, SanIdentity};

const GITHUB: &str = "https://token.actions.githubusercontent.com";
const RELEASE: &str = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3";
const SLSA: &str = "https://slsa.dev/provenance/v1";
const SPDX: &str = "https://spdx.dev/Document";

fn certificate(identity: SanIdentity, issuer: &str, claims: CiClaims) -> Signer {
    Signer::Certificate(CertificateSigner {
        identities: vec![identity],
        issuer: Some(issuer.to_owned()),
        claims,
        not_before: jiff::Timestamp::UNIX_EPOCH,
        not_after: jiff::Timestamp::UNIX_EPOCH,
    })
}

fn release_claims() -> CiClaims {
    CiClaims {
        repository: Some("https://github.com/acme/app".into()),
        git_ref: Some("refs/tags/v1.2.3".into()),
        commit: Some("0123".into()),
        workflow: Some(RELEASE.into()),
        trigger: Some("push".into()),
        runner_environment: Some("github-hosted".into()),
    }
}

fn release() -> Signer {
    certificate(SanIdentity::Uri(RELEASE.into()), GITHUB, release_claims())
}

fn policy(text: &str) -> Result<TrustPolicy, PolicyError> {
    TrustPolicy::from_toml("policy.toml", text, Path::new("/nonexistent"))
}

fn slsa<'a>() -> Vouching<'a> {
    Vouching::Statement { predicate_type: SLSA }
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

#[test]
fn no_policy_trusts_nothing() {
    let rejection = TrustPolicy::nothing_trusted().authorize(&release(), slsa()).unwrap_err();
    assert_eq!(rejection.check, Check::Identity);
    assert!(rejection.detail.contains("nothing is trusted"), "{rejection}");
    // A policy file listing no signer is the same.
    let empty = policy("version = 1\n").unwrap();
    assert_eq!(empty.authorize(&release(), slsa()).unwrap_err().detail, "policy.toml: nothing is trusted");
}

#[test]
fn an_exact_identity_matches_only_itself_and_says_what_it_found() {
    let policy = TrustPolicy::exact_identity(RELEASE, GITHUB);
    assert_eq!(policy.authorize(&release(), slsa()).unwrap().name, "the command line");

    let other = certificate(SanIdentity::Uri(format!("{RELEASE}-fork")), GITHUB, release_claims());
    let rejection = policy.authorize(&other, slsa()).unwrap_err();
    assert_eq!(rejection.check, Check::Identity);
    assert_eq!(rejection.detail, format!("expected identity {RELEASE:?}, found \"{RELEASE}-fork\""));

    let wrong_issuer =
        certificate(SanIdentity::Uri(RELEASE.into()), "https://accounts.google.com", CiClaims::default());
    let rejection = policy.authorize(&wrong_issuer, slsa()).unwrap_err();
    assert_eq!(rejection.detail, format!("expected issuer {GITHUB:?}, found \"https://accounts.google.com\""));
}

#[test]
fn identity_kinds_do_not_matter_but_values_do() {
    let policy = TrustPolicy::exact_identity("foo!oidc.local", "https://oidc.local");
    let username =
        certificate(SanIdentity::Username("foo!oidc.local".into()), "https://oidc.local", CiClaims::default());
    assert!(policy.authorize(&username, slsa()).is_ok());
    let email = certificate(SanIdentity::Email("foo@oidc.local".into()), "https://oidc.local", CiClaims::default());
    assert!(policy.authorize(&email, slsa()).is_err());
}

const REGEX_POLICY: &str = r#"
version = 1
[[signer]]
name = "release"
issuer = "https://token.actions.githubusercontent.com"
identity = { regex = '^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v[0-9.]+$' }
predicate_types = ["https://slsa.dev/provenance/v1"]
"#;

#[test]
fn a_regex_identity_matches_whole_values_only() {
    let policy = policy(REGEX_POLICY).unwrap();
    assert_eq!(policy.authorize(&release(), slsa()).unwrap().name, "release");
    for identity in [
        "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
        "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3/../../evil",
        "https://github.com/evil/acme/app/.github/workflows/release.yml@refs/tags/v1",
    ] {
        let signer = certificate(SanIdentity::Uri(identity.into()), GITHUB, CiClaims::default());
        let rejection = policy.authorize(&signer, slsa()).unwrap_err();
        assert_eq!(rejection.check, Check::Identity);
        assert!(rejection.detail.contains("expected identity a match of /^https://github"), "{rejection}");
        assert!(rejection.detail.contains(&format!("found {identity:?}")), "{rejection}");
    }
}

#[test]
fn an_unanchored_regex_is_refused_with_file_and_line() {
    let text = REGEX_POLICY.replace(r#"{ regex = '^https"#, r#"{ regex = 'https"#);
    let err = policy(&text).unwrap_err();
    assert_eq!((err.origin.as_str(), err.line), ("policy.toml", Some(6)), "{err}");
    assert!(err.problem.contains("is not anchored"), "{err}");
    assert!(err.to_string().starts_with("policy.toml:6: regular expression"), "{err}");
}

#[test]
fn github_claims_must_all_match() {
    let text = format!(
        r#"{REGEX_POLICY}
[signer.claims]
repository = "https://github.com/acme/app"
ref = {{ regex = '^refs/tags/v[0-9.]+$' }}
workflow = "{RELEASE}"
trigger = "push"
runner_environment = "github-hosted"
"#
    );
    let policy = policy(&text).unwrap();
    assert!(policy.authorize(&release(), slsa()).is_ok());

    type Change = fn(&mut CiClaims);
    let cases: [(&str, Change); 5] = [
        ("expected repository \"https://github.com/acme/app\", found \"https://github.com/evil/app\"", |c| {
            c.repository = Some("https://github.com/evil/app".into())
        }),
        ("expected ref a match of /^refs/tags/v[0-9.]+$/, found \"refs/heads/feature\"", |c| {
            c.git_ref = Some("refs/heads/feature".into())
        }),
        ("expected workflow", |c| {
            c.workflow = Some("https://github.com/acme/app/.github/workflows/other.yml@refs/tags/v1.2.3".into())
        }),
        ("expected trigger \"push\", found \"pull_request_target\"", |c| {
            c.trigger = Some("pull_request_target".into())
        }),
        ("expected runner environment \"github-hosted\", found none", |c| c.runner_environment = None),
    ];
    for (expected, change) in cases {
        let mut claims = release_claims();
        change(&mut claims);
        let signer = certificate(SanIdentity::Uri(RELEASE.into()), GITHUB, claims);
        let rejection = policy.authorize(&signer, slsa()).unwrap_err();
        assert_eq!(rejection.check, Check::Identity);
        assert!(rejection.detail.contains(expected), "{expected}: {rejection}");
    }
}

#[test]
fn each_signer_vouches_only_with_its_predicate_types() {
    let text = format!(
        r#"{REGEX_POLICY}
[[signer]]
name = "sbom bot"
issuer = "https://token.actions.githubusercontent.com"
identity = "https://github.com/acme/app/.github/workflows/sbom.yml@refs/heads/main"
predicate_types = ["https://spdx.dev/Document"]
"#
    );
    let policy = policy(&text).unwrap();
    assert_eq!(policy.authorize(&release(), slsa()).unwrap().name, "release");
    let rejection = policy.authorize(&release(), Vouching::Statement { predicate_type: SPDX }).unwrap_err();
    assert_eq!(rejection.check, Check::Policy);
    assert!(
        rejection.detail.contains("predicate type https://spdx.dev/Document")
            && rejection.detail.contains("signer \"release\" may vouch with https://slsa.dev/provenance/v1"),
        "{rejection}"
    );
    let rejection = policy.authorize(&release(), Vouching::ArtifactSignature).unwrap_err();
    assert_eq!(rejection.check, Check::Policy, "artifact signatures were not allowed: {rejection}");

    let sbom_bot = certificate(
        SanIdentity::Uri("https://github.com/acme/app/.github/workflows/sbom.yml@refs/heads/main".into()),
        GITHUB,
        CiClaims::default(),
    );
    assert_eq!(policy.authorize(&sbom_bot, Vouching::Statement { predicate_type: SPDX }).unwrap().name, "sbom bot");
    let rejection = policy.authorize(&sbom_bot, slsa()).unwrap_err();
    assert_eq!(rejection.check, Check::Policy, "{rejection}");
}

#[test]
fn with_several_signers_each_says_why_it_did_not_match() {
    let text = format!(
        r#"{REGEX_POLICY}
[[signer]]
name = "human"
issuer = "https://accounts.google.com"
identity = "release@acme.example"
predicate_types = ["https://slsa.dev/provenance/v1"]
"#
    );
    let stranger = certificate(
        SanIdentity::Email("mallory@evil.example".into()),
        "https://accounts.google.com",
        CiClaims::default(),
    );
    let rejection = policy(&text).unwrap().authorize(&stranger, slsa()).unwrap_err();
    assert!(
        rejection.detail.starts_with("no signer of policy.toml matches: signer \"release\": expected identity"),
        "{rejection}"
    );
    assert!(
        rejection
            .detail
            .contains("signer \"human\": expected identity \"release@acme.example\", found \"mallory@evil.example\""),
        "{rejection}"
    );
}

#[test]
fn keys_match_keys_and_not_certificates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(examples().join("release-signing-key.pub"), dir.path().join("release.pub")).unwrap();
    let text = r#"
version = 1
[[signer]]
name = "offline key"
public_key = "release.pub"
artifact_signatures = true
"#;
    let policy = TrustPolicy::from_toml("policy.toml", text, dir.path()).unwrap();
    let key = policy.keys().next().expect("one key").clone();
    assert_eq!(
        policy.authorize(&Signer::Key(key.as_signer()), Vouching::ArtifactSignature).unwrap().name,
        "offline key"
    );
    let other = Signer::Key(KeySigner { spki_der: vec![1, 2, 3] });
    assert!(policy.authorize(&other, Vouching::ArtifactSignature).unwrap_err().detail.contains("expected key sha256:"));
    let rejection = policy.authorize(&release(), Vouching::ArtifactSignature).unwrap_err();
    assert!(rejection.detail.contains("found a certificate for https://github.com/acme/app"), "{rejection}");
}

#[test]
fn the_example_policy_reads() {
    let policy = TrustPolicy::from_file(&examples().join("trust-policy.toml")).unwrap();
    let names: Vec<&str> = policy.signers().iter().map(|rule| rule.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "acme/app release workflow",
            "SLSA generator for acme",
            "release manager",
            "acme PyPI trusted publisher",
            "offline release key"
        ]
    );
    assert_eq!(policy.authorize(&release(), slsa()).unwrap().name, "acme/app release workflow");
    let alice = certificate(
        SanIdentity::Username("alice!oidc.internal.example".into()),
        "https://oidc.internal.example",
        CiClaims::default(),
    );
    assert_eq!(
        policy.authorize(&alice, Vouching::Statement { predicate_type: "https://cyclonedx.org/bom" }).unwrap().name,
        "release manager"
    );
}

#[test]
fn policy_errors_name_the_file_the_line_and_the_problem() {
    let signer = |body: &str| format!("version = 1\n[[signer]]\nname = \"s\"\n{body}\n");
    let certificate_signer = "issuer = \"https://i\"\nidentity = \"x\"\n";
    let cases = [
        ("version = 2\n".to_string(), 1, "unsupported policy version 2"),
        ("[[signer]]\nname = \"s\"\n".to_string(), 1, "missing field `version`"),
        (signer("colour = \"red\""), 4, "unknown field `colour`"),
        (
            signer("issuer = \"https://i\"\npredicate_types = [\"https://slsa.dev/provenance/v1\"]"),
            3,
            "has an issuer but no identity",
        ),
        (signer("predicate_types = [\"https://slsa.dev/provenance/v1\"]"), 3, "needs issuer and identity"),
        (signer(certificate_signer), 3, "may vouch for nothing"),
        (
            signer(&format!("{certificate_signer}predicate_types = [\"https://example.com/mine\"]")),
            6,
            "is not one provgate understands",
        ),
        (signer(&format!("{certificate_signer}artifact_signatures = true\npublic_key = \"k.pub\"")), 3, "not both"),
        (signer("public_key = \"absent.pub\"\nartifact_signatures = true"), 4, "absent.pub"),
        (
            signer(&format!("{certificate_signer}artifact_signatures = true\n[signer.claims]\nbranch = \"main\"")),
            8,
            "unknown field `branch`",
        ),
        (
            signer("issuer = \"https://i\"\nidentity = { regex = \"^a$\", flags = \"i\" }\nartifact_signatures = true"),
            5,
            "unknown field `flags`",
        ),
        (signer("issuer = \"\"\nidentity = \"x\"\nartifact_signatures = true"), 4, "an empty value matches nothing"),
        (
            signer("issuer = \"https://i\"\nidentity = { regex = \"^(a$\" }\nartifact_signatures = true"),
            5,
            "invalid regular expression",
        ),
        (
            format!(
                "{}\n[[signer]]\nname = \"s\"\n{certificate_signer}artifact_signatures = true\n",
                signer(&format!("{certificate_signer}artifact_signatures = true"))
            ),
            9,
            "already used at line 3",
        ),
        ("version = 1\n[[signer]\n".to_string(), 2, "unclosed array table"),
    ];
    for (text, line, problem) in cases {
        let err = policy(&text).unwrap_err();
        assert_eq!(err.origin, "policy.toml");
        assert!(err.problem.contains(problem), "{text}\nexpected {problem:?}, got: {err}");
        assert_eq!(err.line, Some(line), "{text}\n{err}");
        assert!(err.to_string().starts_with(&format!("policy.toml:{line}: ")), "{err}");
    }
}

#[test]
fn a_missing_policy_file_is_named() {
    let err = TrustPolicy::from_file(Path::new("/nonexistent/policy.toml")).unwrap_err();
    assert_eq!(err.origin, "/nonexistent/policy.toml");
    assert_eq!(err.line, None);
}
