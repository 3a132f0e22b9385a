//! Verification and authorization together, as `register` will use them: a trust policy file,
//! real signed bundles from a private Sigstore, and the digests that reach the allowlist.
mod common;

use std::{cell::RefCell, path::Path};

use common::{ARTIFACT, SLSA_V1, World, parse, public_key, release_workflow, slsa_v1};
use provgate_attestations::Sha256;
use provgate_attestations::{
    ArtifactDigests, ArtifactRef, Check, DigestRecord, SbomFamily, SbomReader, TrustPolicy, verify_and_authorize,
};
use provgate_attestations_testkit::{Identity, PrivateSigstore, statement};
use serde_json::json;

fn sha256(bytes: &[u8]) -> Sha256 {
    Sha256::of(bytes)
}

const POLICY: &str = r#"
version = 1

[[signer]]
name = "release workflow"
issuer = "https://token.actions.githubusercontent.com"
identity = { regex = '^https://github\.com/acme/app/\.github/workflows/release\.yml@refs/heads/main$' }
predicate_types = ["https://slsa.dev/provenance/v1", "https://spdx.dev/Document"]
artifact_signatures = true
[signer.claims]
repository = "https://github.com/acme/app"
ref = "refs/heads/main"
trigger = "push"
"#;

fn policy() -> TrustPolicy {
    TrustPolicy::from_toml("policy.toml", POLICY, Path::new("/nonexistent")).unwrap()
}

/// Records what it was handed and answers with one file: the seam to `provgate-sbom`, whose
/// real reader replaces this after the SBOM branch is merged.
#[derive(Default)]
struct RecordingSbomReader {
    seen: RefCell<Vec<(SbomFamily, String)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("no SBOM today")]
struct NoSbom;

impl SbomReader for RecordingSbomReader {
    type Error = NoSbom;
    fn files(&self, format: SbomFamily, document: &str) -> Result<Vec<DigestRecord>, NoSbom> {
        self.seen.borrow_mut().push((format, document.to_owned()));
        Ok(vec![DigestRecord {
            sha256: sha256(ARTIFACT),
            path: Some("/usr/bin/app".into()),
            package: Some("app".into()),
        }])
    }
}

struct FailingSbomReader;

impl SbomReader for FailingSbomReader {
    type Error = NoSbom;
    fn files(&self, _: SbomFamily, _: &str) -> Result<Vec<DigestRecord>, NoSbom> {
        Err(NoSbom)
    }
}

/// A statement naming its subject by SHA-512 only, as npm's do.
fn sha512_statement(content: &[u8]) -> Vec<u8> {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": "pkg:npm/app@1.0.0", "digest": { "sha512": ArtifactDigests::of(content).sha512.to_hex() } }],
        "predicateType": SLSA_V1,
        "predicate": slsa_v1(),
    })
    .to_string()
    .into_bytes()
}

#[test]
fn sha512_subjects_are_matched_by_the_artifact_or_both_its_digests() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let bundle = world.sigstore.sign_statement(&signer, &sha512_statement(ARTIFACT), &world.sigstore.default_options());
    let bundle = parse(&bundle);
    let verify = |artifact| verify_and_authorize(&world.verifier, &policy(), &bundle, artifact);
    // The file itself, or both digests (what a source keeps to verify it again), match it.
    assert!(verify(Some(ArtifactRef::Bytes(ARTIFACT))).is_ok());
    let verified = verify(Some(ArtifactRef::Digests(ArtifactDigests::of(ARTIFACT)))).unwrap();
    // Its subjects name no SHA-256: alone, it vouches for nothing on the allowlist.
    assert!(verified.allowlist(&RecordingSbomReader::default()).unwrap().is_empty());
    // Without an artifact the signature is still checked, against the SHA-512 subject.
    assert!(verify(None).is_ok());
    // Another artifact, by bytes or by both digests, is refused; a SHA-256 alone cannot match.
    for artifact in [
        ArtifactRef::Bytes(b"another tarball"),
        ArtifactRef::Digests(ArtifactDigests::of(b"another tarball")),
        ArtifactRef::Sha256(sha256(ARTIFACT)),
    ] {
        assert_eq!(verify(Some(artifact)).unwrap_err().check, Check::Artifact, "{artifact:?}");
    }
    let rejection = verify(Some(ArtifactRef::Sha256(sha256(ARTIFACT)))).unwrap_err();
    assert!(rejection.detail.contains("SHA-512 only"), "{rejection}");
}

#[test]
fn slsa_provenance_vouches_for_its_subjects() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let signed = statement(SLSA_V1, &[("app", ARTIFACT), ("app.sig", b"other file")], slsa_v1());
    let bundle = world.sigstore.sign_statement(&signer, &signed, &world.sigstore.rekor_v2_options());
    let verified = verify_and_authorize(&world.verifier, &policy(), &parse(&bundle), None).unwrap();
    assert_eq!(verified.authorized_by, "release workflow");
    assert!(verified.bundle.signed_at().is_some());
    let detail = verified.detail();
    assert_eq!(detail["authorized_by"], "release workflow");
    assert_eq!(detail["signer"], "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main");
    assert_eq!(detail["claims"]["repository"], "https://github.com/acme/app");
    assert_eq!(detail["predicate_type"], SLSA_V1);
    assert_eq!(detail["subjects"], 2);
    assert_eq!(detail["log_entries"][0]["kind"], "hashedrekord/0.0.2");
    let digests = verified.allowlist(&RecordingSbomReader::default()).unwrap();
    assert_eq!(
        digests,
        [
            DigestRecord { sha256: sha256(ARTIFACT), path: Some("app".into()), package: None },
            DigestRecord { sha256: sha256(b"other file"), path: Some("app.sig".into()), package: None },
        ]
    );
}

#[test]
fn an_sbom_reaches_its_reader_exactly_as_signed() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let sbom = json!({ "spdxVersion": "SPDX-2.3", "name": "app", "files": [] });
    let signed = statement("https://spdx.dev/Document", &[("app.tar", b"tarball")], sbom.clone());
    let bundle = world.sigstore.sign_statement(&signer, &signed, &world.sigstore.default_options());
    let verified = verify_and_authorize(&world.verifier, &policy(), &parse(&bundle), None).unwrap();
    let reader = RecordingSbomReader::default();
    let digests = verified.allowlist(&reader).unwrap();
    assert_eq!(reader.seen.borrow().as_slice(), [(SbomFamily::Spdx, sbom.to_string())]);
    assert_eq!(digests.len(), 2, "the subject and the SBOM's file: {digests:?}");
    assert_eq!(
        digests[1],
        DigestRecord { sha256: sha256(ARTIFACT), path: Some("/usr/bin/app".into()), package: Some("app".into()) }
    );

    let err = verified.allowlist(&FailingSbomReader).unwrap_err();
    assert_eq!(err.to_string(), "reading the SPDX SBOM: no SBOM today");
}

#[test]
fn a_plain_signature_vouches_for_its_artifact() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let bundle = world.sigstore.sign_artifact(&signer, ARTIFACT, &world.sigstore.default_options());
    let verified =
        verify_and_authorize(&world.verifier, &policy(), &parse(&bundle), Some(ArtifactRef::Sha256(sha256(ARTIFACT))))
            .unwrap();
    let digests = verified.allowlist(&RecordingSbomReader::default()).unwrap();
    assert_eq!(digests, [DigestRecord { sha256: sha256(ARTIFACT), path: None, package: None }]);
}

#[test]
fn statements_of_unknown_predicate_types_vouch_for_nothing() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let signed = statement("https://example.com/custom/v1", &[("app", ARTIFACT)], json!({ "anything": true }));
    let bundle = world.sigstore.sign_statement(&signer, &signed, &world.sigstore.default_options());
    // The file policy does not let any signer vouch with it.
    let rejection = verify_and_authorize(&world.verifier, &policy(), &parse(&bundle), None).unwrap_err();
    assert_eq!(rejection.check, Check::Policy, "{rejection}");
    // verify-bundle accepts the signature, yet the statement still vouches for nothing.
    let identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
    let anything = TrustPolicy::exact_identity(identity, "https://token.actions.githubusercontent.com");
    let verified = verify_and_authorize(&world.verifier, &anything, &parse(&bundle), None).unwrap();
    assert_eq!(verified.allowlist(&RecordingSbomReader::default()).unwrap(), []);
}

#[test]
fn signers_the_policy_does_not_name_are_refused() {
    let mut world = World::new();
    let fork = Identity::github_actions("evil/app", ".github/workflows/release.yml", "refs/heads/main", "push");
    let feature_branch =
        Identity::github_actions("acme/app", ".github/workflows/release.yml", "refs/heads/feature", "push");
    let signed = statement(SLSA_V1, &[("app", ARTIFACT)], slsa_v1());
    for (identity, expected) in [
        (fork, "found \"https://github.com/evil/app/.github/workflows/release.yml@refs/heads/main\""),
        (feature_branch, "expected ref \"refs/heads/main\", found \"refs/heads/feature\""),
    ] {
        let signer = world.sigstore.keyless(&identity);
        let bundle = world.sigstore.sign_statement(&signer, &signed, &world.sigstore.default_options());
        let rejection = verify_and_authorize(&world.verifier, &policy(), &parse(&bundle), None).unwrap_err();
        assert_eq!(rejection.check, Check::Identity, "{rejection}");
        assert!(rejection.detail.contains(expected), "{rejection}");
    }
}

#[test]
fn a_statement_must_be_about_the_artifact_given() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let signed = statement(SLSA_V1, &[("app", ARTIFACT)], slsa_v1());
    let bundle = world.sigstore.sign_statement(&signer, &signed, &world.sigstore.default_options());
    let rejection =
        verify_and_authorize(&world.verifier, &policy(), &parse(&bundle), Some(ArtifactRef::Bytes(b"not the app")))
            .unwrap_err();
    assert_eq!(rejection.check, Check::Artifact, "{rejection}");
}

#[test]
fn managed_key_bundles_are_verified_with_the_policy_keys() {
    let mut world = World::new();
    let trusted = PrivateSigstore::managed_key();
    let also_trusted = PrivateSigstore::managed_key();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.pub"), also_trusted.key.public_pem()).unwrap();
    std::fs::write(dir.path().join("b.pub"), trusted.key.public_pem()).unwrap();
    let text = r#"
version = 1
[[signer]]
name = "key a"
public_key = "a.pub"
artifact_signatures = true
[[signer]]
name = "key b"
public_key = "b.pub"
artifact_signatures = true
"#;
    let policy = TrustPolicy::from_toml("policy.toml", text, dir.path()).unwrap();
    let bundle = world.sigstore.sign_artifact(&trusted, ARTIFACT, &world.sigstore.default_options());
    let verified =
        verify_and_authorize(&world.verifier, &policy, &parse(&bundle), Some(ArtifactRef::Bytes(ARTIFACT))).unwrap();
    assert_eq!(verified.authorized_by, "key b");
    assert_eq!(verified.bundle.signer.identity(), format!("key {}", public_key(&trusted).as_signer().fingerprint()));

    let stranger = PrivateSigstore::managed_key();
    let bundle = world.sigstore.sign_artifact(&stranger, ARTIFACT, &world.sigstore.default_options());
    let rejection = verify_and_authorize(&world.verifier, &policy, &parse(&bundle), Some(ArtifactRef::Bytes(ARTIFACT)))
        .unwrap_err();
    assert_eq!(rejection.check, Check::Signature, "{rejection}");
    assert!(rejection.detail.contains("none of the 2 public keys"), "{rejection}");

    // A keyless signer is not a key the policy trusts.
    let keyless = world.sigstore.keyless(&release_workflow());
    let bundle = world.sigstore.sign_artifact(&keyless, ARTIFACT, &world.sigstore.default_options());
    let rejection = verify_and_authorize(&world.verifier, &policy, &parse(&bundle), Some(ArtifactRef::Bytes(ARTIFACT)))
        .unwrap_err();
    assert_eq!(rejection.check, Check::Identity, "{rejection}");
}

#[test]
fn a_username_identity_of_a_private_deployment_is_authorized() {
    let mut world = World::new();
    let signer =
        world.sigstore.keyless(&Identity::username("alice!oidc.internal.example", "https://oidc.internal.example"));
    let bundle = world.sigstore.sign_statement(
        &signer,
        &statement("https://cyclonedx.org/bom", &[("app.tar", b"tarball")], json!({ "bomFormat": "CycloneDX" })),
        &world.sigstore.default_options(),
    );
    let example =
        TrustPolicy::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/trust-policy.toml")).unwrap();
    let verified = verify_and_authorize(&world.verifier, &example, &parse(&bundle), None).unwrap();
    assert_eq!(verified.authorized_by, "release manager");
}
