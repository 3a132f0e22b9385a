//! `provgate verify-bundle` against a private Sigstore made here: the messages an operator sees
//! for the identity, expiry and tampering cases the official suite does not phrase.
use std::{path::Path, process::Command};

use libtest_mimic::{Failed, Trial};
use provgate_attestations_testkit::{Identity, LeafOptions, PrivateSigstore};

const ARTIFACT: &[u8] = b"#!/bin/sh\necho hello\n";

struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

fn verify_bundle(dir: &Path, bundle: &serde_json::Value, signer_args: &[&str]) -> Run {
    let bundle_path = dir.join("bundle.json");
    std::fs::write(&bundle_path, bundle.to_string()).expect("write bundle");
    let output = Command::new(env!("CARGO_BIN_EXE_provgate"))
        .env("RUST_LOG", "warn")
        .arg("verify-bundle")
        .arg("--bundle")
        .arg(&bundle_path)
        .args(signer_args)
        .arg("--trusted-root")
        .arg(dir.join("trusted_root.json"))
        .arg(dir.join("artifact"))
        .output()
        .expect("run provgate");
    Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn setup() -> (tempfile::TempDir, PrivateSigstore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let sigstore = PrivateSigstore::new();
    std::fs::write(dir.path().join("trusted_root.json"), sigstore.trusted_root().to_string()).expect("write root");
    std::fs::write(dir.path().join("artifact"), ARTIFACT).expect("write artifact");
    (dir, sigstore)
}

fn check(condition: bool, run: &Run, what: &str) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(format!("{what}\nstatus {:?}\nstdout: {}\nstderr: {}", run.status, run.stdout, run.stderr).into())
    }
}

/// Signs [`ARTIFACT`] as `identity` (with a certificate valid per `leaf`, or for the ten minutes
/// around now) and runs `verify-bundle` expecting `expected_identity` from `expected_issuer`.
fn verify_keyless(
    identity: &Identity,
    leaf: Option<LeafOptions>,
    expected_identity: &str,
    expected_issuer: &str,
) -> (tempfile::TempDir, Run) {
    let (dir, mut sigstore) = setup();
    let signer = match leaf {
        Some(leaf) => sigstore.keyless_with(identity, &leaf),
        None => sigstore.keyless(identity),
    };
    let bundle = sigstore.sign_artifact(&signer, ARTIFACT, &sigstore.default_options());
    let run = verify_bundle(
        dir.path(),
        &bundle,
        &["--certificate-identity", expected_identity, "--certificate-oidc-issuer", expected_issuer],
    );
    (dir, run)
}

fn username_identity_verifies() -> Result<(), Failed> {
    let identity = Identity::username("foo!oidc.local", "https://oidc.local");
    let (_, run) = verify_keyless(&identity, None, "foo!oidc.local", "https://oidc.local");
    check(run.status == Some(0) && run.stdout.contains("signed by foo!oidc.local"), &run, "must verify")
}

fn identity_mismatch_says_expected_and_found() -> Result<(), Failed> {
    let identity = Identity::email("mallory@evil.example", "https://accounts.google.com");
    let (_, run) = verify_keyless(&identity, None, "release@acme.example", "https://accounts.google.com");
    let expected = "identity check failed: expected identity \"release@acme.example\", found \"mallory@evil.example\"";
    check(run.status == Some(1) && run.stderr.contains(expected), &run, expected)
}

fn expired_certificate_is_named() -> Result<(), Failed> {
    let now = jiff::Timestamp::now();
    let hour = jiff::SignedDuration::from_hours(1);
    let leaf = LeafOptions { not_before: now - hour, not_after: now - hour / 2, sct: true };
    let identity = Identity::email("release@acme.example", "https://accounts.google.com");
    let (dir, run) = verify_keyless(&identity, Some(leaf), "release@acme.example", "https://accounts.google.com");
    let expected = format!("provgate: {}: certificate chain check failed:", dir.path().join("bundle.json").display());
    check(
        run.status == Some(1) && run.stderr.starts_with(&expected) && run.stderr.contains("CertExpired"),
        &run,
        &expected,
    )
}

fn managed_key_verifies() -> Result<(), Failed> {
    let (dir, mut sigstore) = setup();
    let signer = PrivateSigstore::managed_key();
    std::fs::write(dir.path().join("key.pub"), signer.key.public_pem()).expect("write key");
    let bundle = sigstore.sign_artifact(&signer, ARTIFACT, &sigstore.rekor_v2_options());
    let key = dir.path().join("key.pub");
    let run = verify_bundle(dir.path(), &bundle, &["--key", key.to_str().expect("UTF-8 path")]);
    check(run.status == Some(0) && run.stdout.contains("signed by key sha256:"), &run, "must verify")
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
