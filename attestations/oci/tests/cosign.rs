//! Cosign's legacy signatures and attestations, verified for real against a private Sigstore:
//! each check a signature passes (binding to the image, signature, certificate chain, identity,
//! Rekor entry and its signed entry timestamp, validity) is made to fail once.
use std::collections::BTreeMap;

use provgate_attestations::{BundleVerifier, Check, Rejection, TrustPolicy, TrustRoot, VerifiedProvenance};
use provgate_attestations_testkit::{Identity, LeafOptions, PrivateSigstore, Signer};
use provgate_oci::{
    Digest,
    signed::{self, Artifact, Binding, Location, Signed},
};
use provgate_oci_testkit::{Blob, cosign};
use serde_json::json;

const REPOSITORY: &str = "registry.example/acme/app";
const SLSA: &str = "https://slsa.dev/provenance/v1";

struct World {
    sigstore: PrivateSigstore,
    verifier: BundleVerifier,
    policy: TrustPolicy,
    image: Digest,
    _dir: tempfile::TempDir,
    key: Signer,
}

fn release() -> Identity {
    Identity::github_actions("acme/app", ".github/workflows/release.yml", "refs/heads/main", "push")
}

impl World {
    fn new() -> Self {
        let sigstore = PrivateSigstore::new();
        let root = TrustRoot::from_json("test root", &sigstore.trusted_root().to_string()).unwrap();
        let verifier = BundleVerifier::new(&root).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateSigstore::managed_key();
        std::fs::write(dir.path().join("release.pub"), key.key.public_pem()).unwrap();
        let policy = format!(
            r#"version = 1
[[signer]]
name = "release workflow"
issuer = "https://token.actions.githubusercontent.com"
identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
predicate_types = ["{SLSA}", "https://spdx.dev/Document"]
artifact_signatures = true

[[signer]]
name = "release key"
public_key = "release.pub"
artifact_signatures = true

[[signer]]
name = "SBOM bot"
issuer = "https://accounts.example"
identity = "sbom@acme.example"
predicate_types = ["https://spdx.dev/Document"]
"#
        );
        let policy = TrustPolicy::from_toml("policy.toml", &policy, dir.path()).unwrap();
        Self { sigstore, verifier, policy, image: Digest::of(b"the image manifest"), _dir: dir, key }
    }

    fn location() -> Location {
        Location::CosignTag { tag: "sha256-x.sig".into(), layer: 0 }
    }

    /// A `.sig` layer by `signer` for this world's image.
    fn signature(&mut self, signer: &Signer) -> Blob {
        let options = self.sigstore.default_options();
        cosign::signature_layer(&mut self.sigstore, signer, REPOSITORY, &self.image.to_string(), &options)
    }

    fn verify(&self, layer: &Blob) -> Result<VerifiedProvenance, Rejection> {
        let signed = signed::legacy_signature(&Self::location(), self.image, &layer.bytes, &layer.annotations)
            .expect("about this image")
            .map_err(|why| Rejection::new(Check::Bundle, why))?;
        let Signed::Signature { bundle, artifact, statement } = signed else { panic!("a signature") };
        assert!(matches!(artifact, Artifact::Payload(_)) && !statement);
        signed::verify_signature(&self.verifier, &self.policy, &bundle, &artifact, statement, self.image)
    }

    fn rejection(&self, layer: &Blob) -> Rejection {
        match self.verify(layer) {
            Ok(verified) => panic!("must be refused, was accepted: {:?}", verified.bundle.signer),
            Err(rejection) => rejection,
        }
    }
}

#[test]
fn a_keyless_signature_verifies_with_its_log_entry() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    let layer = world.signature(&signer);
    let verified = world.verify(&layer).unwrap();
    assert_eq!(verified.authorized_by, "release workflow");
    assert_eq!(
        verified.bundle.signer.identity(),
        "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
    );
    let entry = &verified.bundle.log_entries[0];
    assert_eq!(entry.kind, "hashedrekord/0.0.1");
    assert_eq!(entry.log_index, world.sigstore.rekor_v1.len() - 1);
    assert_eq!(entry.integrated_time, Some(world.sigstore.default_options().signed_at));
}

#[test]
fn a_payload_for_another_image_refuses_the_image() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    let other = Digest::of(b"another image");
    let options = world.sigstore.default_options();
    let layer = cosign::signature_layer(&mut world.sigstore, &signer, REPOSITORY, &other.to_string(), &options);
    let Err(binding) = signed::legacy_signature(&World::location(), world.image, &layer.bytes, &layer.annotations)
    else {
        panic!("must be refused")
    };
    assert_eq!(binding, Binding { location: World::location(), subject: world.image, about: other.to_string() });
    assert!(binding.to_string().contains("replayed or attached to the wrong image"), "{binding}");
}

#[test]
fn a_signature_over_other_bytes_fails_the_signature_check() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    let mut layer = world.signature(&signer);
    // The payload re-serialised with a space: same meaning, other bytes than were signed.
    let mut payload: serde_json::Value = serde_json::from_slice(&layer.bytes).unwrap();
    payload["optional"] = json!({ "note": "added later" });
    layer.bytes = payload.to_string().into_bytes();
    let rejection = world.rejection(&layer);
    assert_eq!(rejection.check, Check::Signature, "{rejection}");
}

#[test]
fn a_certificate_from_another_ca_fails_the_chain_check() {
    let mut world = World::new();
    let stranger = PrivateSigstore::new();
    // The same identity, certified by a CA the trusted root does not know, logged in the
    // trusted log: only the chain is wrong. The chain annotation names the stranger's CA,
    // which changes nothing: the trusted root decides.
    let signer = stranger.keyless(&release());
    let mut layer = world.signature(&signer);
    let chain: String = stranger
        .fulcio
        .chain()
        .iter()
        .map(|der| provgate_attestations_testkit::keys::pem("CERTIFICATE", der))
        .collect();
    layer.annotations.insert("dev.sigstore.cosign/chain".into(), chain);
    assert_eq!(world.rejection(&layer).check, Check::Chain);
}

#[test]
fn an_identity_outside_the_policy_is_refused() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&Identity::github_actions(
        "evil/fork",
        ".github/workflows/release.yml",
        "refs/heads/main",
        "push",
    ));
    let layer = world.signature(&signer);
    let rejection = world.rejection(&layer);
    assert_eq!(rejection.check, Check::Identity);
    assert!(
        rejection
            .detail
            .contains("found \"https://github.com/evil/fork/.github/workflows/release.yml@refs/heads/main\""),
        "{rejection}"
    );
    // A trusted identity that may not sign images (no artifact_signatures).
    let signer = world.sigstore.keyless(&Identity::email("sbom@acme.example", "https://accounts.example"));
    let layer = world.signature(&signer);
    let rejection = world.rejection(&layer);
    assert_eq!(rejection.check, Check::Policy, "{rejection}");
}

fn edit_rekor(layer: &mut Blob, edit: impl FnOnce(&mut serde_json::Value)) {
    let annotation = layer.annotations.get_mut("dev.sigstore.cosign/bundle").unwrap();
    let mut rekor: serde_json::Value = serde_json::from_str(annotation).unwrap();
    edit(&mut rekor);
    *annotation = rekor.to_string();
}

#[test]
fn the_signed_entry_timestamp_is_checked_against_the_trusted_logs() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    // A byte of the SET flipped.
    let mut layer = world.signature(&signer);
    edit_rekor(&mut layer, |rekor| {
        let set = rekor["SignedEntryTimestamp"].as_str().unwrap();
        let mut bytes = base64_decode(set);
        let n = bytes.len();
        bytes[n - 3] ^= 1;
        rekor["SignedEntryTimestamp"] = base64_encode(&bytes).into();
    });
    assert_eq!(world.rejection(&layer).check, Check::InclusionPromise);
    // The integrated time moved: the SET no longer signs it.
    let mut layer = world.signature(&signer);
    edit_rekor(&mut layer, |rekor| {
        rekor["Payload"]["integratedTime"] = json!(rekor["Payload"]["integratedTime"].as_i64().unwrap() - 30)
    });
    assert_eq!(world.rejection(&layer).check, Check::InclusionPromise);
    // Logged by a log the trusted root does not know.
    let mut stranger = PrivateSigstore::new();
    let options = stranger.default_options();
    let logged_elsewhere =
        cosign::signature_layer(&mut stranger, &signer, REPOSITORY, &world.image.to_string(), &options);
    let mut layer = world.signature(&signer);
    layer.annotations.insert(
        "dev.sigstore.cosign/bundle".into(),
        logged_elsewhere.annotations["dev.sigstore.cosign/bundle"].clone(),
    );
    let rejection = world.rejection(&layer);
    assert_eq!(rejection.check, Check::InclusionPromise, "{rejection}");
    assert!(rejection.detail.contains("No log key"), "{rejection}");
}

#[test]
fn the_log_entry_must_be_this_signatures() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    let layer = world.signature(&signer);
    // A genuine entry of the trusted log, for another signature by the same signer.
    let options = world.sigstore.default_options();
    let other =
        cosign::signature_layer(&mut world.sigstore, &signer, REPOSITORY, &Digest::of(b"other").to_string(), &options);
    let mut swapped = layer.clone();
    swapped
        .annotations
        .insert("dev.sigstore.cosign/bundle".into(), other.annotations["dev.sigstore.cosign/bundle"].clone());
    let rejection = world.rejection(&swapped);
    assert_eq!(rejection.check, Check::Artifact, "{rejection}");
    assert!(rejection.detail.contains("hashedrekord entry"), "{rejection}");
}

#[test]
fn a_keyless_signature_needs_its_log_entry() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    let mut layer = world.signature(&signer);
    layer.annotations.remove("dev.sigstore.cosign/bundle");
    let why = signed::legacy_signature(&World::location(), world.image, &layer.bytes, &layer.annotations)
        .unwrap()
        .err()
        .expect("unusable");
    assert!(why.starts_with("neither a Rekor entry"), "{why}");
}

#[test]
fn a_certificate_expired_when_logged_is_refused() {
    let mut world = World::new();
    let now = world.sigstore.now;
    let minutes = jiff::SignedDuration::from_mins;
    // Valid for ten minutes an hour ago; logged a minute ago.
    let signer = world.sigstore.keyless_with(
        &release(),
        &LeafOptions { not_before: now - minutes(60), not_after: now - minutes(50), sct: true },
    );
    let layer = world.signature(&signer);
    let rejection = world.rejection(&layer);
    assert_eq!(rejection.check, Check::Chain, "{rejection}");
    assert!(rejection.detail.contains("CertExpired"), "{rejection}");
}

#[test]
fn managed_keys_verify_against_the_keys_the_policy_trusts() {
    let mut world = World::new();
    let key = Signer {
        key: std::mem::replace(&mut world.key.key, provgate_attestations_testkit::Keypair::p256()),
        certificate: None,
    };
    let layer = world.signature(&key);
    assert!(!layer.annotations.contains_key("dev.sigstore.cosign/certificate"));
    let verified = world.verify(&layer).unwrap();
    assert_eq!(verified.authorized_by, "release key");
    let unknown = PrivateSigstore::managed_key();
    let layer = world.signature(&unknown);
    let rejection = world.rejection(&layer);
    assert_eq!(rejection.check, Check::Signature, "{rejection}");
}

fn attestation(world: &mut World, signer: &Signer, about: Digest, predicate_type: &str) -> Blob {
    let statement = cosign::image_statement(
        REPOSITORY,
        &about.to_string(),
        predicate_type,
        json!({ "buildDefinition": {}, "runDetails": {} }),
    );
    let options = world.sigstore.default_options();
    cosign::attestation_layer(&mut world.sigstore, signer, &statement, &options)
}

fn verify_attestation(world: &World, layer: &Blob) -> Result<Result<VerifiedProvenance, Rejection>, Binding> {
    let location = Location::CosignTag { tag: "sha256-x.att".into(), layer: 0 };
    let signed =
        signed::legacy_attestation(&location, world.image, &layer.bytes, &layer.annotations)?.expect("readable");
    let Signed::Attestation { bundle, .. } = signed else { panic!("an attestation") };
    Ok(signed::verify_attestation(&world.verifier, &world.policy, &bundle, world.image))
}

#[test]
fn attestations_verify_and_are_authorized_by_predicate_type() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    let image = world.image;
    let layer = attestation(&mut world, &signer, image, SLSA);
    let verified = verify_attestation(&world, &layer).unwrap().unwrap();
    assert_eq!(
        (verified.authorized_by.as_str(), verified.bundle.log_entries[0].kind.as_str()),
        ("release workflow", "dsse/0.0.1")
    );
    // The SBOM bot may attest SBOMs, not provenance.
    let bot = world.sigstore.keyless(&Identity::email("sbom@acme.example", "https://accounts.example"));
    let layer = attestation(&mut world, &bot, image, SLSA);
    assert_eq!(verify_attestation(&world, &layer).unwrap().unwrap_err().check, Check::Policy);
    // The envelope's payload altered after signing.
    let mut layer = attestation(&mut world, &signer, image, SLSA);
    let mut envelope: serde_json::Value = serde_json::from_slice(&layer.bytes).unwrap();
    let statement = cosign::image_statement(REPOSITORY, &image.to_string(), SLSA, json!({ "forged": true }));
    envelope["payload"] = base64_encode(&statement).into();
    layer.bytes = envelope.to_string().into_bytes();
    let rejection = verify_attestation(&world, &layer).unwrap().unwrap_err();
    assert_eq!(rejection.check, Check::Signature, "{rejection}");
}

#[test]
fn an_attestation_about_another_image_refuses_the_image() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    let other = Digest::of(b"another image");
    let layer = attestation(&mut world, &signer, other, SLSA);
    let binding = verify_attestation(&world, &layer).expect_err("must be refused");
    assert_eq!(binding.about, other.to_string());
}

#[test]
fn cosign_3_statement_signatures_are_image_signatures() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    let statement =
        cosign::image_statement(REPOSITORY, &world.image.to_string(), cosign::COSIGN_SIGN_PREDICATE, json!({}));
    let options = world.sigstore.rekor_v2_options();
    let bundle = world.sigstore.sign_statement(&signer, &statement, &options);
    let bundle = provgate_attestations::Bundle::from_slice(bundle.to_string().as_bytes()).unwrap();
    let verified =
        signed::verify_signature(&world.verifier, &world.policy, &bundle, &Artifact::Manifest, true, world.image)
            .unwrap();
    assert_eq!(verified.authorized_by, "release workflow");
    // The same statement from a signer that may only attest SBOMs does not sign images.
    let bot = world.sigstore.keyless(&Identity::email("sbom@acme.example", "https://accounts.example"));
    let bundle = world.sigstore.sign_statement(&bot, &statement, &options);
    let bundle = provgate_attestations::Bundle::from_slice(bundle.to_string().as_bytes()).unwrap();
    let rejection =
        signed::verify_signature(&world.verifier, &world.policy, &bundle, &Artifact::Manifest, true, world.image)
            .unwrap_err();
    assert_eq!(rejection.check, Check::Policy);
}

#[test]
fn unreadable_annotations_make_a_signature_unusable() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release());
    let mut layer = world.signature(&signer);
    layer.annotations.insert(
        "dev.sigstore.cosign/certificate".into(),
        "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----".into(),
    );
    let result = signed::legacy_signature(&World::location(), world.image, &layer.bytes, &layer.annotations).unwrap();
    let why = result.err().expect("unusable");
    assert!(why.contains("annotation dev.sigstore.cosign/certificate: PEM certificate is not base64"), "{why}");
    let _: BTreeMap<String, String> = layer.annotations;
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
