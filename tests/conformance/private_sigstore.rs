//! `provgate verify-bundle` against a private Sigstore made here: the messages an operator sees
//! for the identity, expiry and tampering cases the official suite does not phrase.
use libtest_mimic::{Failed, Trial};
use provgate_attestations_testkit::{Identity, LeafOptions, PrivateSigstore};
use provgate_test_support::{Provgate, Run};

const ARTIFACT: &[u8] = b"#!/bin/sh\necho hello\n";

fn verify_bundle(pg: &Provgate, bundle: &serde_json::Value, signer_args: &[&str]) -> Run {
    let bundle_path = pg.write("bundle.json", bundle.to_string());
    Run::of(
        pg.command()
            .arg("verify-bundle")
            .arg("--bundle")
            .arg(&bundle_path)
            .args(signer_args)
            .arg("--trusted-root")
            .arg(pg.path("trusted_root.json"))
            .arg(pg.path("artifact")),
    )
}

fn setup() -> (Provgate, PrivateSigstore) {
    let pg = crate::provgate();
    let sigstore = PrivateSigstore::new();
    pg.write("trusted_root.json", sigstore.trusted_root().to_string());
    pg.write("artifact", ARTIFACT);
    (pg, sigstore)
}

fn check(condition: bool, run: &Run, what: &str) -> Result<(), Failed> {
    if condition { Ok(()) } else { Err(format!("{what}\n{run}").into()) }
}

/// Signs [`ARTIFACT`] as `identity` (with a certificate valid per `leaf`, or for the ten minutes
/// around now) and runs `verify-bundle` expecting `expected_identity` from `expected_issuer`.
fn verify_keyless(
    identity: &Identity,
    leaf: Option<LeafOptions>,
    expected_identity: &str,
    expected_issuer: &str,
) -> (Provgate, Run) {
    let (pg, mut sigstore) = setup();
    let signer = match leaf {
        Some(leaf) => sigstore.keyless_with(identity, &leaf),
        None => sigstore.keyless(identity),
    };
    let bundle = sigstore.sign_artifact(&signer, ARTIFACT, &sigstore.default_options());
    let run = verify_bundle(
        &pg,
        &bundle,
        &["--certificate-identity", expected_identity, "--certificate-oidc-issuer", expected_issuer],
    );
    (pg, run)
}

fn username_identity_verifies() -> Result<(), Failed> {
    let identity = Identity::username("foo!oidc.local", "https://oidc.local");
    let (_, run) = verify_keyless(&identity, None, "foo!oidc.local", "https://oidc.local");
    check(run.code == 0 && run.stdout.contains("signed by foo!oidc.local"), &run, "must verify")
}

fn identity_mismatch_says_expected_and_found() -> Result<(), Failed> {
    let identity = Identity::email("mallory@evil.example", "https://accounts.google.com");
    let (_, run) = verify_keyless(&identity, None, "release@acme.example", "https://accounts.google.com");
    let expected = "identity check failed: expected identity \"release@acme.example\", found \"mallory@evil.example\"";
    check(run.code == 1 && run.stderr.contains(expected), &run, expected)
}

fn expired_certificate_is_named() -> Result<(), Failed> {
    let now = jiff::Timestamp::now();
    let hour = jiff::SignedDuration::from_hours(1);
    let leaf = LeafOptions { not_before: now - hour, not_after: now - hour / 2, sct: true };
    let identity = Identity::email("release@acme.example", "https://accounts.google.com");
    let (pg, run) = verify_keyless(&identity, Some(leaf), "release@acme.example", "https://accounts.google.com");
    let expected = format!("provgate: {}: certificate chain check failed:", pg.path("bundle.json").display());
    check(run.code == 1 && run.stderr.starts_with(&expected) && run.stderr.contains("CertExpired"), &run, &expected)
}

fn managed_key_verifies() -> Result<(), Failed> {
    let (pg, mut sigstore) = setup();
    let signer = PrivateSigstore::managed_key();
    let key = pg.write("key.pub", signer.key.public_pem());
    let bundle = sigstore.sign_artifact(&signer, ARTIFACT, &sigstore.rekor_v2_options());
    let run = verify_bundle(&pg, &bundle, &["--key", key.to_str().expect("UTF-8 path")]);
    check(run.code == 0 && run.stdout.contains("signed by key sha256:"), &run, "must verify")
}

pub fn trials() -> Vec<Trial> {
    vec![
        Trial::test("private_sigstore::username_identity_verifies", username_identity_verifies),
        Trial::test(
            "private_sigstore::identity_mismatch_says_expected_and_found",
            identity_mismatch_says_expected_and_found,
        ),
        Trial::test("private_sigstore::expired_certificate_is_named", expired_certificate_is_named),
        Trial::test("private_sigstore::managed_key_verifies", managed_key_verifies),
    ]
}
