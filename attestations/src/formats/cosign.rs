//! Cosign's formats from before the Sigstore bundle, rewritten as the bundles they amount to:
//! the layer annotations of its `.sig`/`.att` image tags (the conversion is `provgate-oci`'s,
//! built on [`legacy_bundle`]) and `cosign sign-blob --bundle` files, `{"base64Signature",
//! "cert", "rekorBundle"}`.
//!
//! Nothing here verifies anything. The bundle made is verified like any other: signature, leaf
//! certificate chained to the trusted root's CA (a chain cosign carries is never trusted), SCT,
//! and the Rekor entry's signed entry timestamp against the trusted root's log keys, with the
//! entry's body matching the signature and certificate. Cosign's Rekor bundle is the same signed
//! data as a bundle's inclusion promise, so the same signature verifies it.
use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Attestation, Container, FormatError};

/// The parts cosign keeps beside what it signed.
#[derive(Debug, Default)]
pub struct LegacyMaterial<'a> {
    /// The signing certificate in PEM (the first certificate is the leaf); `None` for a managed
    /// key, which the verifier tries against the keys the policy trusts.
    pub certificate_pem: Option<&'a str>,
    /// Cosign's Rekor bundle: `{SignedEntryTimestamp, Payload: {body, integratedTime, logIndex,
    /// logID}}`.
    pub rekor_bundle: Option<&'a Value>,
    /// An RFC 3161 timestamp token, base64 DER.
    pub rfc3161_timestamp: Option<&'a str>,
}

/// Which part of the legacy material is wrong; the caller names where that part was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegacyError {
    #[error("certificate: {0}")]
    Certificate(String),
    #[error("Rekor bundle: {0}")]
    RekorBundle(String),
    #[error("neither a Rekor entry nor a signed timestamp: nothing shows when it was signed")]
    Unlogged,
}

/// The Sigstore bundle JSON that `content` (`{"messageSignature": ...}` or `{"dsseEnvelope":
/// ...}`) and cosign's `material` amount to: version 0.1 with a Rekor entry (its inclusion
/// promise is what 0.1 requires), 0.2 (the same layout) with only a signed timestamp.
pub fn legacy_bundle(content: Value, material: &LegacyMaterial<'_>) -> Result<Value, LegacyError> {
    let mut verification = serde_json::Map::new();
    match material.certificate_pem.filter(|pem| !pem.trim().is_empty()) {
        Some(pem) => {
            let leaf = first_certificate(pem).map_err(LegacyError::Certificate)?;
            verification.insert(
                "x509CertificateChain".into(),
                json!({ "certificates": [{ "rawBytes": BASE64.encode(leaf) }] }),
            );
        }
        None => {
            verification.insert("publicKey".into(), json!({ "hint": "" }));
        }
    }
    let entries: Vec<Value> =
        material.rekor_bundle.map(rekor_entry).transpose().map_err(LegacyError::RekorBundle)?.into_iter().collect();
    let logged = !entries.is_empty();
    verification.insert("tlogEntries".into(), Value::Array(entries));
    match material.rfc3161_timestamp {
        Some(token) => {
            verification.insert(
                "timestampVerificationData".into(),
                json!({ "rfc3161Timestamps": [{ "signedTimestamp": token }] }),
            );
        }
        None if !logged => return Err(LegacyError::Unlogged),
        None => {}
    }
    let version = if logged { "0.1" } else { "0.2" };
    let mut bundle = json!({
        "mediaType": format!("application/vnd.dev.sigstore.bundle+json;version={version}"),
        "verificationMaterial": Value::Object(verification),
    });
    if let (Some(bundle), Some(content)) = (bundle.as_object_mut(), content.as_object()) {
        bundle.extend(content.clone());
    }
    Ok(bundle)
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

/// Cosign's Rekor bundle as a bundle's transparency-log entry.
fn rekor_entry(value: &Value) -> Result<Value, String> {
    let bundle = RekorBundle::deserialize(value).map_err(|e| e.to_string())?;
    let body = BASE64.decode(&bundle.payload.body).map_err(|e| format!("body is not base64: {e}"))?;
    let head: EntryHead = serde_json::from_slice(&body).map_err(|e| format!("body is not a Rekor entry: {e}"))?;
    let log_id = hex::decode(&bundle.payload.log_id).map_err(|e| format!("logID is not hex: {e}"))?;
    if bundle.payload.log_index < 0 || bundle.payload.integrated_time < 0 {
        return Err("negative log index or integrated time".into());
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

/// `cosign sign-blob --bundle` output (cosign 1.x and 2.x without `--new-bundle-format`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlobBundle {
    #[serde(rename = "base64Signature")]
    signature: String,
    /// Base64 of the certificate's PEM; absent or empty when signed with a key.
    #[serde(default)]
    cert: Option<String>,
    #[serde(rename = "rekorBundle")]
    rekor_bundle: Option<Value>,
}

/// The Sigstore bundle a `cosign sign-blob --bundle` file amounts to: a message signature over
/// the blob, whose digest is the one the Rekor entry recorded (a `hashedrekord`), so that a
/// wrong artifact is told as such rather than as a bad signature.
pub(super) fn blob_bundle(value: &Value) -> Result<Vec<Attestation>, FormatError> {
    let bad = |problem: String| FormatError::malformed(Container::CosignBlobBundle, problem);
    let blob = BlobBundle::deserialize(value).map_err(|e| bad(e.to_string()))?;
    BASE64.decode(&blob.signature).map_err(|e| bad(format!("base64Signature is not base64: {e}")))?;
    let pem = match blob.cert.as_deref().filter(|c| !c.is_empty()) {
        Some(cert) => {
            let pem = BASE64.decode(cert).map_err(|e| bad(format!("cert is not base64: {e}")))?;
            Some(String::from_utf8(pem).map_err(|_| bad("cert is not base64 of a PEM certificate".into()))?)
        }
        None => None,
    };
    let Some(rekor_bundle) = &blob.rekor_bundle else {
        return Err(bad("no rekorBundle: nothing shows when it was signed (sign with a transparency-log upload, or \
             with --new-bundle-format)"
            .into()));
    };
    let mut signature = json!({ "signature": blob.signature });
    if let Some(digest) = logged_sha256(rekor_bundle) {
        signature["messageDigest"] = json!({ "algorithm": "SHA2_256", "digest": BASE64.encode(digest) });
    }
    let material =
        LegacyMaterial { certificate_pem: pem.as_deref(), rekor_bundle: Some(rekor_bundle), rfc3161_timestamp: None };
    let bundle = legacy_bundle(json!({ "messageSignature": signature }), &material).map_err(|e| match e {
        LegacyError::Certificate(problem) => bad(format!("cert: {problem}")),
        LegacyError::RekorBundle(problem) => bad(format!("rekorBundle: {problem}")),
        LegacyError::Unlogged => bad(e.to_string()),
    })?;
    Ok(vec![Attestation { label: "the cosign bundle".into(), bundle }])
}

/// The SHA-256 a `hashedrekord` entry's body names, if it is one.
fn logged_sha256(rekor_bundle: &Value) -> Option<Vec<u8>> {
    let body = BASE64.decode(rekor_bundle.pointer("/Payload/body")?.as_str()?).ok()?;
    let body: Value = serde_json::from_slice(&body).ok()?;
    let hash = body.pointer("/spec/data/hash")?;
    if body["kind"] != "hashedrekord" || hash["algorithm"] != "sha256" {
        return None;
    }
    hex::decode(hash["value"].as_str()?).ok().filter(|d| d.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_parts_are_named() {
        let content = json!({ "messageSignature": { "signature": "AAAA" } });
        let err =
            legacy_bundle(content.clone(), &LegacyMaterial { certificate_pem: Some("garbage"), ..Default::default() })
                .unwrap_err();
        assert_eq!(err, LegacyError::Certificate("no PEM certificate".into()));
        let rekor = json!({ "SignedEntryTimestamp": "x" });
        let err = legacy_bundle(content.clone(), &LegacyMaterial { rekor_bundle: Some(&rekor), ..Default::default() })
            .unwrap_err();
        assert!(err.to_string().starts_with("Rekor bundle: missing field `Payload`"), "{err}");
        let err = legacy_bundle(content, &LegacyMaterial::default()).unwrap_err();
        assert_eq!(err, LegacyError::Unlogged);
    }

    #[test]
    fn a_blob_bundle_without_a_log_entry_is_refused() {
        let err = blob_bundle(&json!({ "base64Signature": "AAAA" })).unwrap_err().to_string();
        assert!(err.starts_with("cosign blob bundle: no rekorBundle"), "{err}");
        let err = blob_bundle(&json!({ "base64Signature": "AAAA", "cert": "!!" })).unwrap_err().to_string();
        assert!(err.starts_with("cosign blob bundle: cert is not base64"), "{err}");
        let err = blob_bundle(&json!({ "base64Signature": "AAAA", "extra": 1 })).unwrap_err().to_string();
        assert!(err.contains("unknown field `extra`"), "{err}");
    }
}
