//! Cosign's signatures and attestations as it stores them beside an image (cosign 1.x and 2.x,
//! tags `sha256-<hex>.sig` and `sha256-<hex>.att`): the signed content is the layer, and the
//! signature, certificate, chain and Rekor entry ride in the layer's annotations.
//!
//! Nothing here verifies anything. A layer and its annotations are rewritten as the Sigstore
//! bundle (v0.1) they amount to, and that bundle is verified like any other: signature over the
//! layer, leaf certificate chained to the trusted root's CA (the chain annotation is never
//! trusted), SCT, and the Rekor entry's signed entry timestamp against the trusted root's log
//! keys, with the entry's body matching the signature and certificate.
use std::collections::BTreeMap;

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use provgate_attestations::{Bundle, limits};
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
    let mut material = serde_json::Map::new();
    match annotations.get(CERTIFICATE_ANNOTATION).filter(|pem| !pem.trim().is_empty()) {
        Some(pem) => {
            let leaf = first_certificate(pem)
                .map_err(|problem| CosignError::Annotation { annotation: CERTIFICATE_ANNOTATION, problem })?;
            material.insert(
                "x509CertificateChain".into(),
                json!({ "certificates": [{ "rawBytes": BASE64.encode(leaf) }] }),
            );
        }
        // Signed with a managed key: the verifier tries the keys the policy trusts.
        None => {
            material.insert("publicKey".into(), json!({ "hint": "" }));
        }
    }
    let entries: Vec<Value> =
        annotations.get(BUNDLE_ANNOTATION).map(|text| rekor_entry(text)).transpose()?.into_iter().collect();
    let logged = !entries.is_empty();
    material.insert("tlogEntries".into(), Value::Array(entries));
    match annotations.get(TIMESTAMP_ANNOTATION) {
        Some(text) => {
            material.insert("timestampVerificationData".into(), rfc3161(text)?);
        }
        None if !logged => return Err(CosignError::Unlogged),
        None => {}
    }
    // Version 0.1 requires the inclusion promise cosign's Rekor entries have; a signature with
    // only a signed timestamp fits version 0.2, which has the same layout.
    let version = if logged { "0.1" } else { "0.2" };
    let mut bundle = json!({
        "mediaType": format!("application/vnd.dev.sigstore.bundle+json;version={version}"),
        "verificationMaterial": Value::Object(material),
    });
    match content {
        LegacyContent::SimpleSigning(payload) => {
            let signature =
                annotations.get(SIGNATURE_ANNOTATION).filter(|s| !s.is_empty()).ok_or(CosignError::NoSignature)?;
            BASE64.decode(signature).map_err(|e| CosignError::Annotation {
                annotation: SIGNATURE_ANNOTATION,
                problem: format!("not base64: {e}"),
            })?;
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

/// The first certificate of a PEM text, as DER.
fn first_certificate(pem: &str) -> Result<Vec<u8>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem.find(BEGIN).ok_or("no PEM certificate")? + BEGIN.len();
    let end = pem[start..].find(END).ok_or("unterminated PEM certificate")? + start;
    let body: String = pem[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    BASE64.decode(body).map_err(|e| format!("PEM certificate is not base64: {e}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RekorBundle {
    #[serde(rename = "SignedEntryTimestamp")]
    signed_entry_timestamp: String,
    #[serde(rename = "Payload")]
    payload: RekorPayload,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RekorPayload {
    body: String,
    #[serde(rename = "integratedTime")]
    integrated_time: i64,
    #[serde(rename = "logIndex")]
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

#[derive(Deserialize)]
struct EntryHead {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
}

/// Cosign's `{SignedEntryTimestamp, Payload: {body, integratedTime, logIndex, logID}}` as a
/// bundle's transparency-log entry: the same signed data, so the same signature verifies it.
fn rekor_entry(text: &str) -> Result<Value, CosignError> {
    let problem = |problem: String| CosignError::Annotation { annotation: BUNDLE_ANNOTATION, problem };
    limits::check_json(text.as_bytes(), MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH).map_err(|e| problem(e.to_string()))?;
    let bundle: RekorBundle = serde_json::from_str(text).map_err(|e| problem(e.to_string()))?;
    let body = BASE64.decode(&bundle.payload.body).map_err(|e| problem(format!("body is not base64: {e}")))?;
    let head: EntryHead =
        serde_json::from_slice(&body).map_err(|e| problem(format!("body is not a Rekor entry: {e}")))?;
    let log_id = hex::decode(&bundle.payload.log_id).map_err(|e| problem(format!("logID is not hex: {e}")))?;
    if bundle.payload.log_index < 0 || bundle.payload.integrated_time < 0 {
        return Err(problem("negative log index or integrated time".into()));
    }
    Ok(json!({
        "logIndex": bundle.payload.log_index.to_string(),
        "logId": { "keyId": BASE64.encode(log_id) },
        "kindVersion": { "kind": head.kind, "version": head.api_version },
        "integratedTime": bundle.payload.integrated_time.to_string(),
        "inclusionPromise": { "signedEntryTimestamp": bundle.signed_entry_timestamp },
        "canonicalizedBody": bundle.payload.body,
    }))
}

fn rfc3161(text: &str) -> Result<Value, CosignError> {
    #[derive(Deserialize)]
    struct Timestamp {
        #[serde(rename = "SignedRFC3161Timestamp")]
        signed: String,
    }
    let timestamp: Timestamp = serde_json::from_str(text)
        .map_err(|e| CosignError::Annotation { annotation: TIMESTAMP_ANNOTATION, problem: e.to_string() })?;
    Ok(json!({ "rfc3161Timestamps": [{ "signedTimestamp": timestamp.signed }] }))
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
