//! Bundle verification against a private Sigstore made by each test: every bundle shape
//! verifies, and each way a bundle can be wrong is rejected by the check it breaks.
mod common;

use common::{ARTIFACT, SLSA_V1, World, b64, public_key, release_workflow, slsa_v1, trust_root, unb64};
use provgate_attestations::Sha256;
use provgate_attestations::{ArtifactRef, BundleVerifier, Check, SanIdentity, SignedContent, Signer};
use provgate_attestations_testkit::{Identity, MediaType, PrivateSigstore, RekorVersion, statement};
use serde_json::json;

fn sha256(bytes: &[u8]) -> Sha256 {
    Sha256::of(bytes)
}

#[test]
fn every_bundle_version_log_and_content_kind_verifies() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let statement = statement(SLSA_V1, &[("app", ARTIFACT)], slsa_v1());
    let mut shapes = 0;
    for media_type in [MediaType::V0_1, MediaType::V0_2, MediaType::V0_3, MediaType::V0_3Legacy] {
        for (log, timestamp) in [(RekorVersion::V1, false), (RekorVersion::V1, true), (RekorVersion::V2, true)] {
            if media_type == MediaType::V0_1 && log == RekorVersion::V2 {
                continue; // v0.1 bundles need an inclusion promise, which Rekor v2 does not give
            }
            let options = provgate_attestations_testkit::SignOptions {
                media_type,
                log: Some(log),
                timestamp,
                ..world.sigstore.default_options()
            };
            let signature = world.sigstore.sign_artifact(&signer, ARTIFACT, &options);
            let attestation = world.sigstore.sign_statement(&signer, &statement, &options);
            for artifact in [ArtifactRef::Bytes(ARTIFACT), ArtifactRef::Sha256(sha256(ARTIFACT))] {
                let shape = format!("{media_type:?} {log:?} timestamp={timestamp} {artifact:?}");
                let verified =
                    world.verify(&signature, Some(artifact), None).unwrap_or_else(|e| panic!("{shape}: {e}"));
                assert!(
                    matches!(verified.content, SignedContent::ArtifactSignature { sha256: d } if d == sha256(ARTIFACT)),
                    "{shape}"
                );
                let verified =
                    world.verify(&attestation, Some(artifact), None).unwrap_or_else(|e| panic!("{shape} (DSSE): {e}"));
                assert!(
                    matches!(&verified.content, SignedContent::Statement(s) if s.predicate_type == SLSA_V1),
                    "{shape}"
                );
                // Rekor v1 gives an integrated time; a timestamp adds its own signing time.
                let expected_times = usize::from(log == RekorVersion::V1) + usize::from(timestamp);
                assert_eq!(verified.signing_times.len(), expected_times, "{shape}");
                assert!(verified.log_index().is_some(), "{shape}");
                shapes += 2;
            }
        }
    }
    assert_eq!(shapes, 44);
}

#[test]
fn the_signer_is_read_from_the_certificate_with_its_ci_claims() {
    let mut world = World::new();
    let (_, bundle) = world.release_signature();
    let verified = world.verify(&bundle, Some(ArtifactRef::Bytes(ARTIFACT)), None).unwrap();
    let Signer::Certificate(certificate) = &verified.signer else { panic!("keyless") };
    assert_eq!(
        certificate.identities,
        [SanIdentity::Uri("https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main".into())]
    );
    assert_eq!(certificate.issuer.as_deref(), Some("https://token.actions.githubusercontent.com"));
    assert_eq!(certificate.claims.repository.as_deref(), Some("https://github.com/acme/app"));
    assert_eq!(certificate.claims.git_ref.as_deref(), Some("refs/heads/main"));
    assert_eq!(certificate.claims.trigger.as_deref(), Some("push"));
    assert_eq!(certificate.claims.runner_environment.as_deref(), Some("github-hosted"));
}

/// Private deployments issue username identities as an OtherName SAN, which sigstore-verify
/// 0.15.1 does not read: its identity check fails on them. Ours reads them.
#[test]
fn username_identities_in_an_other_name_san_are_read() {
    let mut world = World::new();
    let identity = Identity::username("foo!oidc.local", "https://oidc.local");
    let signer = world.sigstore.keyless(&identity);
    let bundle = world.sigstore.sign_artifact(&signer, ARTIFACT, &world.sigstore.default_options());
    let verified = world.verify(&bundle, Some(ArtifactRef::Bytes(ARTIFACT)), None).unwrap();
    let Signer::Certificate(certificate) = &verified.signer else { panic!("keyless") };
    assert_eq!(certificate.identities, [SanIdentity::Username("foo!oidc.local".into())]);

    let upstream = sigstore_verify::Verifier::new(
        &sigstore_verify::trust_root::TrustedRoot::from_json(&world.sigstore.trusted_root().to_string()).unwrap(),
    )
    .unwrap()
    .verify(
        ARTIFACT,
        &sigstore_verify::types::Bundle::from_json(&bundle.to_string()).unwrap(),
        &sigstore_verify::VerificationPolicy::new("foo!oidc.local", "https://oidc.local"),
    );
    assert!(
        matches!(upstream, Err(sigstore_verify::Error::IdentityMismatch { actual: None, .. })),
        "sigstore-verify now reads OtherName SANs; the gap filled by signer::san_identities may be closed: {upstream:?}"
    );
}

#[test]
fn managed_key_bundles_verify_with_their_key_only() {
    let mut world = World::new();
    let signer = PrivateSigstore::managed_key();
    let key = public_key(&signer);
    for options in [world.sigstore.default_options(), world.sigstore.rekor_v2_options()] {
        let bundle = world.sigstore.sign_artifact(&signer, ARTIFACT, &options);
        let verified = world.verify(&bundle, Some(ArtifactRef::Bytes(ARTIFACT)), Some(&key)).unwrap();
        assert_eq!(verified.signer, Signer::Key(key.as_signer()));

        let other = public_key(&PrivateSigstore::managed_key());
        let wrong = world.verify(&bundle, Some(ArtifactRef::Bytes(ARTIFACT)), Some(&other)).unwrap_err();
        assert_eq!(wrong.check, Check::Signature, "{wrong}");
        let none = world.verify(&bundle, Some(ArtifactRef::Bytes(ARTIFACT)), None).unwrap_err();
        assert_eq!(none.check, Check::Identity, "{none}");
        assert!(none.detail.contains("no public key was given"), "{none}");
    }
}

#[test]
fn an_expired_certificate_is_rejected() {
    let mut world = World::new();
    // Valid for ten minutes an hour ago; the signature is logged a minute ago.
    let signer = world.sigstore.keyless_with(&release_workflow(), &world.leaf(-60, -50, true));
    let bundle = world.sign(&signer);
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Chain, "{rejection}");
    assert!(rejection.detail.contains("CertExpired"), "{rejection}");
}

#[test]
fn a_certificate_not_yet_valid_at_signing_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless_with(&release_workflow(), &world.leaf(5, 15, true));
    let bundle = world.sign(&signer);
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Chain, "{rejection}");
    assert!(rejection.detail.contains("CertNotValidYet"), "{rejection}");
}

#[test]
fn a_certificate_from_another_ca_is_rejected() {
    let mut world = World::new();
    let mut other = PrivateSigstore::new();
    let signer = other.keyless(&release_workflow());
    let foreign = other.sign_artifact(&signer, ARTIFACT, &world.sigstore.default_options());
    // Logged in our log, so only the certificate is foreign.
    let bundle = world.sign(&signer);
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Chain, "{rejection}");
    // Entirely from another deployment: its log is unknown too.
    let rejection = world.rejection(&foreign);
    assert_eq!(rejection.check, Check::InclusionPromise, "{rejection}");
    assert!(rejection.detail.contains("No log key"), "{rejection}");
}

#[test]
fn a_certificate_without_a_trusted_sct_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless_with(&release_workflow(), &world.leaf(-2, 8, false));
    let bundle = world.sign(&signer);
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Sct, "{rejection}");

    // With an SCT, but from a CT log the trusted root does not list.
    let (_, bundle) = world.release_signature();
    let mut root = world.sigstore.trusted_root();
    root["ctlogs"] = PrivateSigstore::new().trusted_root()["ctlogs"].clone();
    let verifier = BundleVerifier::new(&trust_root(&root)).unwrap();
    let rejection = verifier.verify(&common::parse(&bundle), Some(ArtifactRef::Bytes(ARTIFACT)), None).unwrap_err();
    assert_eq!(rejection.check, Check::Sct, "{rejection}");
}

#[test]
fn a_signature_by_another_key_is_rejected() {
    let mut world = World::new();
    let (_, mut bundle) = world.release_signature();
    let impostor = PrivateSigstore::managed_key();
    bundle["messageSignature"]["signature"] = json!(b64(&impostor.key.sign(ARTIFACT)));
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Signature, "{rejection}");
}

#[test]
fn a_bundle_for_another_artifact_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let signature = world.sigstore.sign_artifact(&signer, ARTIFACT, &world.sigstore.default_options());
    let attestation = world.sigstore.sign_statement(
        &signer,
        &statement(SLSA_V1, &[("app", ARTIFACT)], slsa_v1()),
        &world.sigstore.default_options(),
    );
    let other = b"#!/bin/sh\nrm -rf /\n";
    for bundle in [&signature, &attestation] {
        for artifact in [ArtifactRef::Bytes(other), ArtifactRef::Sha256(sha256(other))] {
            let rejection = world.verify(bundle, Some(artifact), None).unwrap_err();
            assert_eq!(rejection.check, Check::Artifact, "{rejection}");
        }
    }
}

#[test]
fn a_tampered_sbom_statement_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let sbom = json!({ "spdxVersion": "SPDX-2.3", "files": [{ "fileName": "./bin/app", "checksums": [{ "algorithm": "SHA256", "checksumValue": sha256(ARTIFACT).to_hex() }] }] });
    let signed = statement("https://spdx.dev/Document", &[("app.tar", b"tarball")], sbom);
    for options in [world.sigstore.default_options(), world.sigstore.rekor_v2_options()] {
        let mut bundle = world.sigstore.sign_statement(&signer, &signed, &options);
        world.verify(&bundle, None, None).expect("untouched, it verifies");
        // Swap the file digest for an attacker's binary.
        let tampered =
            String::from_utf8(signed.clone()).unwrap().replace(&sha256(ARTIFACT).to_hex(), &sha256(b"evil").to_hex());
        bundle["dsseEnvelope"]["payload"] = json!(b64(tampered.as_bytes()));
        let rejection = world.verify(&bundle, None, None).unwrap_err();
        assert_eq!(rejection.check, Check::Signature, "{options:?}: {rejection}");
    }
}

#[test]
fn a_corrupted_inclusion_proof_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    for options in [world.sigstore.default_options(), world.sigstore.rekor_v2_options()] {
        let mut bundle = world.sigstore.sign_artifact(&signer, ARTIFACT, &options);
        let proof = &mut bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
        let mut hash = unb64(&proof["hashes"][0]);
        hash[0] ^= 1;
        proof["hashes"][0] = json!(b64(&hash));
        let rejection = world.rejection(&bundle);
        assert_eq!(rejection.check, Check::InclusionProof, "{rejection}");
    }
}

#[test]
fn a_checkpoint_not_signed_by_the_log_is_rejected() {
    let mut world = World::new();
    let (_, mut bundle) = world.release_signature();
    // The same tree head, signed by another log's key under our log's key hint.
    let entry = &bundle["verificationMaterial"]["tlogEntries"][0];
    let size: u64 = entry["inclusionProof"]["treeSize"].as_str().unwrap().parse().unwrap();
    let root: [u8; 32] = unb64(&entry["inclusionProof"]["rootHash"]).try_into().unwrap();
    let mut impostor = provgate_attestations_testkit::TransparencyLog::new(RekorVersion::V1);
    impostor.origin = world.sigstore.rekor_v1.origin.clone();
    let forged = impostor.checkpoint(size, &root);
    let hint_of_ours = b64(&world.sigstore.rekor_v1.log_id()[..4]);
    let hint_of_theirs = b64(&impostor.log_id()[..4]);
    assert_ne!(hint_of_ours, hint_of_theirs);
    let forged = forged.replace(&hint_of_theirs[..4], &hint_of_ours[..4]);
    bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"] = json!(forged);
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Checkpoint, "{rejection}");
}

#[test]
fn a_tampered_integrated_time_breaks_the_inclusion_promise() {
    let mut world = World::new();
    let (_, mut bundle) = world.release_signature();
    let entry = &mut bundle["verificationMaterial"]["tlogEntries"][0];
    let time: i64 = entry["integratedTime"].as_str().unwrap().parse().unwrap();
    entry["integratedTime"] = json!((time - 30).to_string());
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::InclusionPromise, "{rejection}");
}

/// Replay: the log entry of one signing event carried into the bundle of another.
#[test]
fn a_log_entry_of_another_signature_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let options = world.sigstore.default_options();
    let first = world.sigstore.sign_artifact(&signer, ARTIFACT, &options);
    let mut second = world.sigstore.sign_artifact(&signer, b"another release", &options);
    second["verificationMaterial"]["tlogEntries"] = first["verificationMaterial"]["tlogEntries"].clone();
    let rejection = world.verify(&second, Some(ArtifactRef::Bytes(b"another release")), None).unwrap_err();
    // The entry records another artifact's digest.
    assert_eq!(rejection.check, Check::Artifact, "{rejection}");
    assert!(rejection.detail.contains("hashedrekord entry"), "{rejection}");
}

/// Replay: a valid statement signature moved onto a statement it did not sign.
#[test]
fn a_signature_moved_to_another_statement_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let options = world.sigstore.default_options();
    let genuine =
        world.sigstore.sign_statement(&signer, &statement(SLSA_V1, &[("app", ARTIFACT)], slsa_v1()), &options);
    let mut forged =
        world.sigstore.sign_statement(&signer, &statement(SLSA_V1, &[("app", b"evil")], slsa_v1()), &options);
    forged["dsseEnvelope"]["signatures"] = genuine["dsseEnvelope"]["signatures"].clone();
    let rejection = world.verify(&forged, None, None).unwrap_err();
    assert_eq!(rejection.check, Check::Signature, "{rejection}");
}

#[test]
fn rekor_v2_entries_need_a_trusted_timestamp() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let options = provgate_attestations_testkit::SignOptions { timestamp: false, ..world.sigstore.rekor_v2_options() };
    let bundle = world.sigstore.sign_artifact(&signer, ARTIFACT, &options);
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Timestamp, "{rejection}");

    // A timestamp from a TSA the root does not trust.
    let mut bundle = world.sigstore.sign_artifact(&signer, ARTIFACT, &world.sigstore.rekor_v2_options());
    let foreign =
        PrivateSigstore::new().tsa.timestamp(&unb64(&bundle["messageSignature"]["signature"]), world.sigstore.now);
    bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]["signedTimestamp"] =
        json!(b64(&foreign));
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Timestamp, "{rejection}");
}

#[test]
fn a_timestamp_outside_the_certificate_validity_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    // The certificate expires eight minutes from now; the timestamp says an hour from now.
    let options = provgate_attestations_testkit::SignOptions {
        signed_at: world.sigstore.now + jiff::SignedDuration::from_hours(1),
        ..world.sigstore.rekor_v2_options()
    };
    let bundle = world.sigstore.sign_artifact(&signer, ARTIFACT, &options);
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Chain, "{rejection}");
}

#[test]
fn a_bundle_without_a_log_entry_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let options =
        provgate_attestations_testkit::SignOptions { log: None, timestamp: true, ..world.sigstore.default_options() };
    let bundle = world.sigstore.sign_artifact(&signer, ARTIFACT, &options);
    let rejection = world.rejection(&bundle);
    assert_eq!(rejection.check, Check::Bundle, "{rejection}");
}

#[test]
fn a_plain_signature_needs_its_artifact() {
    let mut world = World::new();
    let (_, bundle) = world.release_signature();
    let rejection = world.verify(&bundle, None, None).unwrap_err();
    assert_eq!(rejection.check, Check::Artifact, "{rejection}");
}

#[test]
fn a_statement_that_is_not_in_toto_is_rejected() {
    let mut world = World::new();
    let signer = world.sigstore.keyless(&release_workflow());
    let bundle = world.sigstore.sign_statement(&signer, br#"{"hello":"world"}"#, &world.sigstore.default_options());
    let rejection = world.verify(&bundle, None, None).unwrap_err();
    assert_eq!(rejection.check, Check::Statement, "{rejection}");
}
