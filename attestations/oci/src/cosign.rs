//! Cosign's signatures and attestations as it stores them beside an image (cosign 1.x and 2.x,
//! tags `sha256-<hex>.sig` and `sha256-<hex>.att`): the signed content is the layer, and the
//! signature, certificate, chain and Rekor entry ride in the layer's annotations.
//!
//! Nothing here verifies anything. A layer and its annotations are rewritten as the Sigstore
//! bundle (v0.1) they amount to, by the conversion cosign's blob bundles share
//! (`provgate_attestations::formats::cosign`), and that bundle is verified like any other:
//! signature over the layer, leaf certificate chained to the trusted root's CA (the chain
//! annotation is never trusted), SCT, and the Rekor entry's signed entry timestamp against the
//! trusted root's log keys, with the entry's body matching the signature and certificate.
use std::collections::BTreeMap;

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use provgate_attestations::{
    Bundle,
    formats::cosign::{self, LegacyError, LegacyMaterial},
    limits,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    digest::Digest,
    limits::{MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH},
};

pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
pub const TIMESTAMP_ANNOTATION: &str = "dev.sigstore.cosign/rfc3161timestamp";
/// `critical.type` of cosign's simple-signing payload.
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignError {
    #[error("simple-signing payload: {0}")]
    Payload(String),
    #[error("annotation {annotation}: {problem}")]
    Annotation { annotation: &'static str, problem: String },
    #[error("no signature annotation ({SIGNATURE_ANNOTATION})")]
    NoSignature,
    #[error(
        "neither a Rekor entry ({BUNDLE_ANNOTATION}) nor a signed timestamp ({TIMESTAMP_ANNOTATION}): nothing shows when it was signed"
    )]
    Unlogged,
    #[error("as a Sigstore bundle: {0}")]
    Bundle(String),
}

/// What a simple-signing payload says (the parts verification needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleSigning {
    /// `critical.image.docker-manifest-digest`: the image this signature is for.
    pub manifest_digest: String,
    /// `critical.identity.docker-reference`: the repository the signer named; informative.
    pub docker_reference: Option<String>,
}

#[derive(Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Deserialize)]
struct Critical {
    #[serde(rename = "type")]
    kind: String,
    image: PayloadImage,
    identity: Option<PayloadIdentity>,
}

#[derive(Deserialize)]
struct PayloadImage {
    #[serde(rename = "docker-manifest-digest")]
    digest: String,
}

#[derive(Deserialize)]
struct PayloadIdentity {
    #[serde(rename = "docker-reference")]
    docker_reference: Option<String>,
}

/// Reads a simple-signing payload: bounded, duplicate keys refused (two readers of one payload
/// must not see two digests), of cosign's type.
pub fn parse_simple_signing(bytes: &[u8]) -> Result<SimpleSigning, CosignError> {
    limits::check_json(bytes, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH).map_err(|e| CosignError::Payload(e.to_string()))?;
    let payload: Payload = serde_json::from_slice(bytes).map_err(|e| CosignError::Payload(e.to_string()))?;
    if payload.critical.kind != SIMPLE_SIGNING_TYPE {
        return Err(CosignError::Payload(format!("type {:?}, not {SIMPLE_SIGNING_TYPE:?}", payload.critical.kind)));
    }
    Ok(SimpleSigning {
        manifest_digest: payload.critical.image.digest,
        docker_reference: payload.critical.identity.and_then(|i| i.docker_reference),
    })
}

impl SimpleSigning {
    /// The digest it signs, if it is a well-formed sha256 digest.
    pub fn digest(&self) -> Option<Digest> {
        self.manifest_digest.parse().ok()
    }
}

/// What a cosign layer signs.
pub enum LegacyContent<'a> {
    /// A `.sig` layer: the simple-signing payload, signed directly.
    SimpleSigning(&'a [u8]),
    /// An `.att` layer: a DSSE envelope (its signature is inside it).
    DsseEnvelope(&'a [u8]),
}

/// The Sigstore bundle (v0.1) a cosign layer and its annotations amount to.
pub fn legacy_bundle(
    content: LegacyContent<'_>,
    annotations: &BTreeMap<String, String>,
) -> Result<Bundle, CosignError> {
    let annotation = |annotation: &'static str, problem: String| CosignError::Annotation { annotation, problem };
    let rekor_bundle = annotations
        .get(BUNDLE_ANNOTATION)
        .map(|text| {
            limits::check_json(text.as_bytes(), MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH)
                .map_err(|e| annotation(BUNDLE_ANNOTATION, e.to_string()))?;
            serde_json::from_str::<Value>(text).map_err(|e| annotation(BUNDLE_ANNOTATION, e.to_string()))
        })
        .transpose()?;
    let timestamp = annotations.get(TIMESTAMP_ANNOTATION).map(|text| rfc3161(text)).transpose()?;
    let material = LegacyMaterial {
        certificate_pem: annotations.get(CERTIFICATE_ANNOTATION).map(String::as_str),
        rekor_bundle: rekor_bundle.as_ref(),
        rfc3161_timestamp: timestamp.as_deref(),
    };
    // The material first: a layer nothing dates is refused as such, whatever it signs.
    let mut bundle = cosign::legacy_bundle(json!({}), &material).map_err(|e| match e {
        LegacyError::Certificate(problem) => annotation(CERTIFICATE_ANNOTATION, problem),
        LegacyError::RekorBundle(problem) => annotation(BUNDLE_ANNOTATION, problem),
        LegacyError::Unlogged => CosignError::Unlogged,
    })?;
    match content {
        LegacyContent::SimpleSigning(payload) => {
            let signature =
                annotations.get(SIGNATURE_ANNOTATION).filter(|s| !s.is_empty()).ok_or(CosignError::NoSignature)?;
            BASE64.decode(signature).map_err(|e| annotation(SIGNATURE_ANNOTATION, format!("not base64: {e}")))?;
            bundle["messageSignature"] = json!({
                "messageDigest": { "algorithm": "SHA2_256", "digest": BASE64.encode(Digest::of(payload).0) },
                "signature": signature,
            });
        }
        LegacyContent::DsseEnvelope(envelope) => {
            let envelope = provgate_attestations::dsse::envelope_from_slice(envelope)
                .map_err(|e| CosignError::Bundle(format!("DSSE envelope: {e}")))?;
            bundle["dsseEnvelope"] = serde_json::to_value(envelope).map_err(|e| CosignError::Bundle(e.to_string()))?;
        }
    }
    Bundle::from_slice(bundle.to_string().as_bytes()).map_err(|e| CosignError::Bundle(e.to_string()))
}

/// The token of cosign's `{"SignedRFC3161Timestamp": <base64 DER>}` annotation.
fn rfc3161(text: &str) -> Result<String, CosignError> {
    #[derive(Deserialize)]
    struct Timestamp {
        #[serde(rename = "SignedRFC3161Timestamp")]
        signed: String,
    }
    let timestamp: Timestamp = serde_json::from_str(text)
        .map_err(|e| CosignError::Annotation { annotation: TIMESTAMP_ANNOTATION, problem: e.to_string() })?;
    Ok(timestamp.signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";

    #[test]
    fn reads_simple_signing_payloads() {
        let payload = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"registry.example/app"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        let parsed = parse_simple_signing(payload.as_bytes()).unwrap();
        assert_eq!(parsed.digest().unwrap().to_string(), DIGEST);
        assert_eq!(parsed.docker_reference.as_deref(), Some("registry.example/app"));
    }

    #[test]
    fn refuses_other_payloads() {
        let cases = [
            (
                format!(
                    r#"{{"critical":{{"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"atomic container signature"}}}}"#
                ),
                "not \"cosign container image signature\"",
            ),
            (
                format!(
                    r#"{{"critical":{{"image":{{"docker-manifest-digest":"{DIGEST}"}},"image":{{"docker-manifest-digest":"{DIGEST}"}},"type":"{SIMPLE_SIGNING_TYPE}"}}}}"#
                ),
                "duplicate field",
            ),
            (r#"{"critical":{"type":"cosign container image signature"}}"#.to_owned(), "missing field `image`"),
            (format!(r#"{{"critical":{}}}"#, "[".repeat(20)), "nested deeper"),
        ];
        for (payload, expected) in cases {
            let err = parse_simple_signing(payload.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(expected), "{payload}: {err}");
        }
    }

    #[test]
    fn malformed_annotations_are_named() {
        let payload = b"{}";
        let with = |key: &str, value: &str| {
            BTreeMap::from([(key.to_owned(), value.to_owned()), (SIGNATURE_ANNOTATION.to_owned(), "AAAA".to_owned())])
        };
        let err =
            legacy_bundle(LegacyContent::SimpleSigning(payload), &with(CERTIFICATE_ANNOTATION, "garbage")).unwrap_err();
        assert_eq!(
            err,
            CosignError::Annotation { annotation: CERTIFICATE_ANNOTATION, problem: "no PEM certificate".into() }
        );
        let err = legacy_bundle(
            LegacyContent::SimpleSigning(payload),
            &with(BUNDLE_ANNOTATION, r#"{"SignedEntryTimestamp":"x"}"#),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("annotation dev.sigstore.cosign/bundle: missing field `Payload`"), "{err}");
        let logged =
            BTreeMap::from([(TIMESTAMP_ANNOTATION.to_owned(), r#"{"SignedRFC3161Timestamp":"AAAA"}"#.to_owned())]);
        let err = legacy_bundle(LegacyContent::SimpleSigning(payload), &logged).unwrap_err();
        assert_eq!(err, CosignError::NoSignature);
        let err = legacy_bundle(LegacyContent::SimpleSigning(payload), &BTreeMap::new()).unwrap_err();
        assert_eq!(err, CosignError::Unlogged);
        let err = legacy_bundle(LegacyContent::DsseEnvelope(b"{}"), &logged).unwrap_err();
        assert!(err.to_string().starts_with("as a Sigstore bundle: DSSE envelope"), "{err}");
    }
}
