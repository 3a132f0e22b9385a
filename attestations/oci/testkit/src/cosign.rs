//! Signatures and attestations of images as cosign stores them, made by the private Sigstore:
//! the same signing, logging and certificates as its bundles, laid out in cosign's formats.
use std::collections::BTreeMap;

use provgate_attestations_testkit::{
    PrivateSigstore, SignOptions, Signer, cosign_rekor_bundle, keys::pem, leaf_certificate,
};
use serde_json::{Value, json};

use crate::oci::{Blob, Image, OCI_INDEX};

pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
pub const BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const COSIGN_SIGN_PREDICATE: &str = "https://sigstore.dev/cosign/sign/v1";

/// Cosign's simple-signing payload for `digest` in `repository`.
pub fn simple_signing(repository: &str, digest: &str) -> Vec<u8> {
    json!({
        "critical": {
            "identity": { "docker-reference": repository },
            "image": { "docker-manifest-digest": digest },
            "type": "cosign container image signature",
        },
        "optional": null,
    })
    .to_string()
    .into_bytes()
}

/// An in-toto v1 statement about the image `digest`.
pub fn image_statement(repository: &str, digest: &str, predicate_type: &str, predicate: Value) -> Vec<u8> {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{ "name": repository, "digest": { "sha256": digest.trim_start_matches("sha256:") } }],
        "predicateType": predicate_type,
        "predicate": predicate,
    })
    .to_string()
    .into_bytes()
}

/// The annotations cosign puts beside a layer, from the bundle the private Sigstore made for
/// it: signature, certificate, chain, and the Rekor v1 entry as cosign's bundle annotation.
fn annotations(sigstore: &PrivateSigstore, bundle: &Value) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    let signature = bundle["messageSignature"]["signature"].as_str().unwrap_or_default();
    annotations.insert("dev.cosignproject.cosign/signature".to_owned(), signature.to_owned());
    if let Some(der) = leaf_certificate(bundle) {
        annotations.insert("dev.sigstore.cosign/certificate".to_owned(), pem("CERTIFICATE", &der));
        let chain: String = sigstore.fulcio.chain().iter().map(|der| pem("CERTIFICATE", der)).collect();
        annotations.insert("dev.sigstore.cosign/chain".to_owned(), chain);
    }
    if let Some(rekor) = cosign_rekor_bundle(bundle) {
        annotations.insert("dev.sigstore.cosign/bundle".to_owned(), rekor.to_string());
    }
    annotations
}

/// A `.sig` layer: `signer`'s signature over the simple-signing payload for `digest`.
pub fn signature_layer(
    sigstore: &mut PrivateSigstore,
    signer: &Signer,
    repository: &str,
    digest: &str,
    options: &SignOptions,
) -> Blob {
    signature_layer_of(sigstore, signer, simple_signing(repository, digest), options)
}

/// A `.sig` layer signing `payload` as given.
pub fn signature_layer_of(
    sigstore: &mut PrivateSigstore,
    signer: &Signer,
    payload: Vec<u8>,
    options: &SignOptions,
) -> Blob {
    let bundle = sigstore.sign_artifact(signer, &payload, options);
    let mut blob = Blob::new(SIMPLE_SIGNING, payload);
    blob.annotations = annotations(sigstore, &bundle);
    blob
}

/// An `.att` layer: `signer`'s DSSE envelope of `statement`.
pub fn attestation_layer(
    sigstore: &mut PrivateSigstore,
    signer: &Signer,
    statement: &[u8],
    options: &SignOptions,
) -> Blob {
    let bundle = sigstore.sign_statement(signer, statement, options);
    let mut blob = Blob::new(DSSE_ENVELOPE, bundle["dsseEnvelope"].to_string().into_bytes());
    blob.annotations = annotations(sigstore, &bundle);
    blob.annotations.insert("dev.cosignproject.cosign/signature".to_owned(), String::new());
    blob
}

/// Cosign's manifest for a `.sig` or `.att` tag.
pub fn cosign_image(layers: Vec<Blob>) -> Image {
    let mut image = Image::new(layers);
    image.config = Blob::new(
        "application/vnd.oci.image.config.v1+json",
        br#"{"architecture":"","config":{},"os":"","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec(),
    );
    image
}

/// Pushes `layers` as the cosign tag `sha256-<hex>.<suffix>` of `digest` (`sig` or `att`).
pub fn push_cosign(pusher: &crate::Pusher, repository: &str, digest: &str, suffix: &str, layers: Vec<Blob>) {
    let tag = format!("{}.{suffix}", digest.replace(':', "-"));
    pusher.image(repository, &tag, &cosign_image(layers));
}

/// Pushes `bundle` as an OCI 1.1 referrer of the manifest `subject` (its descriptor), and adds
/// it to the referrers tag schema's index (`sha256-<hex>`), as cosign does for registries
/// without the referrers API. `previous` are the referrers already listed there.
pub fn push_referrer(
    pusher: &crate::Pusher,
    repository: &str,
    subject: &Value,
    bundle: &Value,
    previous: &mut Vec<Value>,
) -> String {
    let layer = Blob::new(BUNDLE_V03, bundle.to_string().into_bytes());
    let referrer = Image::artifact(BUNDLE_V03, vec![layer], subject.clone());
    let digest = referrer.digest();
    pusher.image(repository, &digest, &referrer);
    let mut entry = referrer.descriptor();
    entry["artifactType"] = BUNDLE_V03.into();
    previous.push(entry);
    let index = serde_json::to_vec(&json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": previous }))
        .expect("JSON");
    let tag = subject["digest"].as_str().expect("subject digest").replace(':', "-");
    pusher.manifest(repository, &tag, &index, OCI_INDEX);
    digest
}
