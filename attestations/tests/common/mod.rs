//! Shared by the integration tests: a private Sigstore and a verifier that trusts it.
#![allow(dead_code)] // each test binary uses its own part

use provgate_attestations::{ArtifactRef, Bundle, BundleVerifier, PublicKey, Rejection, TrustRoot, VerifiedBundle};
use provgate_attestations_testkit::{Identity, LeafOptions, PrivateSigstore, Signer};
use serde_json::Value;

pub const ARTIFACT: &[u8] = b"#!/bin/sh\necho release 1.0\n";
pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";

pub struct World {
    pub sigstore: PrivateSigstore,
    pub root: TrustRoot,
    pub verifier: BundleVerifier,
}

impl World {
    pub fn new() -> Self {
        let sigstore = PrivateSigstore::new();
        let root = trust_root(&sigstore.trusted_root());
        let verifier = BundleVerifier::new(&root).expect("the private root is usable");
        Self { sigstore, root, verifier }
    }

    pub fn verify(
        &self,
        bundle: &Value,
        artifact: Option<ArtifactRef<'_>>,
        key: Option<&PublicKey>,
    ) -> Result<VerifiedBundle, Rejection> {
        self.verifier.verify(&parse(bundle), artifact, key)
    }

    /// Why `bundle`, a keyless signature over [`ARTIFACT`], is rejected.
    pub fn rejection(&self, bundle: &Value) -> Rejection {
        match self.verify(bundle, Some(ArtifactRef::Bytes(ARTIFACT)), None) {
            Ok(verified) => panic!("must be rejected, but verified: {verified:?}"),
            Err(rejection) => rejection,
        }
    }

    /// The release workflow's signature over [`ARTIFACT`], in a v0.3 bundle logged in Rekor v1.
    pub fn release_signature(&mut self) -> (Signer, Value) {
        let signer = self.sigstore.keyless(&release_workflow());
        let bundle = self.sigstore.sign_artifact(&signer, ARTIFACT, &self.sigstore.default_options());
        (signer, bundle)
    }

    /// A leaf certificate valid from `from` to `until` minutes after [`PrivateSigstore::now`].
    pub fn leaf(&self, from: i64, until: i64, sct: bool) -> LeafOptions {
        let now = self.sigstore.now;
        LeafOptions {
            not_before: now + jiff::SignedDuration::from_mins(from),
            not_after: now + jiff::SignedDuration::from_mins(until),
            sct,
        }
    }

    /// `signer`'s signature over [`ARTIFACT`] with the default options.
    pub fn sign(&mut self, signer: &Signer) -> Value {
        let options = self.sigstore.default_options();
        self.sigstore.sign_artifact(signer, ARTIFACT, &options)
    }
}

pub fn trust_root(json: &Value) -> TrustRoot {
    TrustRoot::from_json("private test root", &json.to_string()).expect("trusted root parses")
}

pub fn parse(bundle: &Value) -> Bundle {
    Bundle::from_slice(bundle.to_string().as_bytes()).expect("bundle parses")
}

/// The release workflow of acme/app, on main, run by a push.
pub fn release_workflow() -> Identity {
    Identity::github_actions("acme/app", ".github/workflows/release.yml", "refs/heads/main", "push")
}

pub fn public_key(signer: &Signer) -> PublicKey {
    PublicKey::from_pem(&signer.key.public_pem()).expect("PEM public key")
}

pub fn slsa_v1() -> Value {
    serde_json::json!({
        "buildDefinition": { "buildType": "https://actions.github.io/buildtypes/workflow/v1", "externalParameters": {} },
        "runDetails": { "builder": { "id": "https://github.com/actions/runner/github-hosted" } },
    })
}

/// Base64 of `bytes`, as bundles write binary fields.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(text: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text.as_str().expect("a base64 string")).expect("base64")
}
