//! A private Sigstore for tests, made fresh by each test: a Fulcio-style CA with a CT log,
//! Rekor v1 and v2 transparency logs, and an RFC 3161 timestamp authority, with the
//! `trusted_root.json` that trusts them. It signs artifacts and in-toto statements into
//! Sigstore bundles (v0.1 to v0.3) with real inclusion proofs, checkpoints, inclusion promises,
//! SCTs and signed timestamps, so tests cover identity, expiry, wrong signers, tampering and
//! replay without network and without fixtures nobody can regenerate.
//!
//! Bundles come back as `serde_json::Value`s: a test tampers with one by editing fields.
pub mod fulcio;
pub mod keys;
pub mod merkle;
pub mod rekor;
pub mod tsa;
pub mod x509;

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub use fulcio::{Fulcio, GITHUB_ACTIONS_ISSUER, Identity, LeafOptions};
pub use keys::Keypair;
pub use rekor::{RekorVersion, TransparencyLog};
pub use tsa::TimestampAuthority;
pub use x509::San;

pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    V0_1,
    V0_2,
    V0_3,
    /// `application/vnd.dev.sigstore.bundle+json;version=0.3`, the early spelling of v0.3.
    V0_3Legacy,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::V0_1 => "application/vnd.dev.sigstore.bundle+json;version=0.1",
            MediaType::V0_2 => "application/vnd.dev.sigstore.bundle+json;version=0.2",
            MediaType::V0_3 => "application/vnd.dev.sigstore.bundle.v0.3+json",
            MediaType::V0_3Legacy => "application/vnd.dev.sigstore.bundle+json;version=0.3",
        }
    }

    /// Before v0.3 the leaf came in a chain; from v0.3 on, alone.
    fn single_certificate(self) -> bool {
        matches!(self, MediaType::V0_3 | MediaType::V0_3Legacy)
    }
}

/// How to sign one bundle.
#[derive(Debug, Clone)]
pub struct SignOptions {
    pub media_type: MediaType,
    /// Which log records the signature; `None` logs nothing.
    pub log: Option<RekorVersion>,
    /// Add a signed timestamp from the TSA (Rekor v2 entries need one).
    pub timestamp: bool,
    /// The integrated time (Rekor v1) and the timestamp's time.
    pub signed_at: jiff::Timestamp,
}

/// Who signs: a key, and for keyless signing the certificate Fulcio issued for it.
pub struct Signer {
    pub key: Keypair,
    /// DER leaf certificate; `None` for a managed key.
    pub certificate: Option<Vec<u8>>,
}

pub struct PrivateSigstore {
    /// The reference time: every authority is valid from a day before it.
    pub now: jiff::Timestamp,
    pub fulcio: Fulcio,
    pub rekor_v1: TransparencyLog,
    pub rekor_v2: TransparencyLog,
    pub tsa: TimestampAuthority,
}

impl Default for PrivateSigstore {
    fn default() -> Self {
        Self::new()
    }
}

fn minutes(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_mins(n)
}

impl PrivateSigstore {
    pub fn new() -> Self {
        // Whole seconds: certificates and the trusted root carry no fractions.
        let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second()).expect("now");
        let valid_from = now - minutes(24 * 60);
        let valid_until = now + minutes(365 * 24 * 60);
        Self {
            now,
            fulcio: Fulcio::new(valid_from, valid_until),
            rekor_v1: TransparencyLog::new(RekorVersion::V1),
            rekor_v2: TransparencyLog::new(RekorVersion::V2),
            tsa: TimestampAuthority::new(valid_from, valid_until),
        }
    }

    /// A Rekor v1 entry in a v0.3 bundle, signed a minute ago.
    pub fn default_options(&self) -> SignOptions {
        SignOptions {
            media_type: MediaType::V0_3,
            log: Some(RekorVersion::V1),
            timestamp: false,
            signed_at: self.now - minutes(1),
        }
    }

    /// A Rekor v2 entry and a signed timestamp, as the public-good instance signs from 2025 on.
    pub fn rekor_v2_options(&self) -> SignOptions {
        SignOptions { log: Some(RekorVersion::V2), timestamp: true, ..self.default_options() }
    }

    /// A short-lived certificate for `identity`, valid from two minutes ago for ten minutes.
    pub fn keyless(&self, identity: &Identity) -> Signer {
        self.keyless_with(
            identity,
            &LeafOptions { not_before: self.now - minutes(2), not_after: self.now + minutes(8), sct: true },
        )
    }

    pub fn keyless_with(&self, identity: &Identity, leaf: &LeafOptions) -> Signer {
        let key = Keypair::p256();
        let certificate = self.fulcio.issue(identity, &key, leaf);
        Signer { key, certificate: Some(certificate) }
    }

    pub fn managed_key() -> Signer {
        Signer { key: Keypair::p256(), certificate: None }
    }

    /// The `trusted_root.json` that trusts this deployment (and nothing else).
    pub fn trusted_root(&self) -> Value {
        let start = (self.now - minutes(24 * 60)).to_string();
        let log = |log: &TransparencyLog, url: &str| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": { "rawBytes": BASE64.encode(log.key.spki_der()), "keyDetails": log.key.key_details(), "validFor": { "start": start } },
                "logId": { "keyId": BASE64.encode(log.log_id()) },
            })
        };
        let chain = |certificates: Vec<Vec<u8>>| json!({ "certificates": certificates.iter().map(|der| json!({ "rawBytes": BASE64.encode(der) })).collect::<Vec<_>>() });
        let ct = &self.fulcio.ct_log.key;
        json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&self.rekor_v1, "https://rekor.provgate.test"), log(&self.rekor_v2, "https://log2026.rekor.provgate.test")],
            "certificateAuthorities": [{
                "subject": { "organization": "provgate test", "commonName": "provgate test intermediate" },
                "uri": "https://fulcio.provgate.test",
                "certChain": chain(self.fulcio.chain()),
                "validFor": { "start": start },
            }],
            "ctlogs": [{
                "baseUrl": "https://ctfe.provgate.test",
                "hashAlgorithm": "SHA2_256",
                "publicKey": { "rawBytes": BASE64.encode(ct.spki_der()), "keyDetails": ct.key_details(), "validFor": { "start": start } },
                "logId": { "keyId": BASE64.encode(ct.log_id()) },
            }],
            "timestampAuthorities": [{
                "subject": { "organization": "provgate test", "commonName": "provgate test TSA" },
                "uri": "https://tsa.provgate.test",
                "certChain": chain(self.tsa.chain()),
                "validFor": { "start": start },
            }],
        })
    }

    /// A bundle holding `signer`'s signature over `artifact`.
    pub fn sign_artifact(&mut self, signer: &Signer, artifact: &[u8], options: &SignOptions) -> Value {
        let signature = signer.key.sign(artifact);
        let digest = Sha256::digest(artifact);
        let content = json!({
            "messageSignature": {
                "messageDigest": { "algorithm": "SHA2_256", "digest": BASE64.encode(digest) },
                "signature": BASE64.encode(&signature),
            }
        });
        let log_entry = options.log.map(|log| {
            let body = match log {
                RekorVersion::V1 => json!({
                    "apiVersion": "0.0.1", "kind": "hashedrekord",
                    "spec": {
                        "data": { "hash": { "algorithm": "sha256", "value": hex::encode(digest) } },
                        "signature": { "content": BASE64.encode(&signature), "publicKey": { "content": BASE64.encode(signer.verifier_pem()) } },
                    },
                }),
                RekorVersion::V2 => hashed_rekord_v2(signer, &digest, &signature),
            };
            self.log(log, &body, options.signed_at)
        });
        self.bundle(signer, content, &signature, log_entry, options)
    }

    /// A bundle holding a DSSE envelope of `statement` (an in-toto statement's JSON) signed by
    /// `signer`.
    pub fn sign_statement(&mut self, signer: &Signer, statement: &[u8], options: &SignOptions) -> Value {
        let signature = signer.key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, statement));
        let envelope = json!({
            "payload": BASE64.encode(statement),
            "payloadType": IN_TOTO_PAYLOAD_TYPE,
            "signatures": [{ "sig": BASE64.encode(&signature), "keyid": "" }],
        });
        let log_entry = options.log.map(|log| {
            let body = match log {
                RekorVersion::V1 => json!({
                    "apiVersion": "0.0.1", "kind": "dsse",
                    "spec": {
                        "envelopeHash": { "algorithm": "sha256", "value": hex::encode(Sha256::digest(envelope.to_string())) },
                        "payloadHash": { "algorithm": "sha256", "value": hex::encode(Sha256::digest(statement)) },
                        "signatures": [{ "signature": BASE64.encode(&signature), "verifier": BASE64.encode(signer.verifier_pem()) }],
                    },
                }),
                // Rekor v2 logs a DSSE envelope as a hashedrekord over its PAE.
                RekorVersion::V2 => hashed_rekord_v2(signer, &Sha256::digest(pae(IN_TOTO_PAYLOAD_TYPE, statement)), &signature),
            };
            self.log(log, &body, options.signed_at)
        });
        self.bundle(signer, json!({ "dsseEnvelope": envelope }), &signature, log_entry, options)
    }

    fn log(&mut self, version: RekorVersion, body: &Value, signed_at: jiff::Timestamp) -> Value {
        let log = match version {
            RekorVersion::V1 => &mut self.rekor_v1,
            RekorVersion::V2 => &mut self.rekor_v2,
        };
        let kind = body["kind"].as_str().expect("bodies name their kind");
        let api_version = body["apiVersion"].as_str().expect("bodies name their version");
        log.log(kind, api_version, body.to_string().as_bytes(), signed_at)
    }

    fn bundle(
        &self,
        signer: &Signer,
        content: Value,
        signature: &[u8],
        log_entry: Option<Value>,
        options: &SignOptions,
    ) -> Value {
        let material = match &signer.certificate {
            Some(leaf) if options.media_type.single_certificate() => {
                json!({ "certificate": { "rawBytes": BASE64.encode(leaf) } })
            }
            Some(leaf) => json!({ "x509CertificateChain": { "certificates": [
                { "rawBytes": BASE64.encode(leaf) },
                { "rawBytes": BASE64.encode(&self.fulcio.intermediate.der) },
            ] } }),
            None => json!({ "publicKey": { "hint": BASE64.encode(signer.key.log_id()) } }),
        };
        let mut bundle = json!({
            "mediaType": options.media_type.as_str(),
            "verificationMaterial": material,
        });
        bundle["verificationMaterial"]["tlogEntries"] = json!(log_entry.into_iter().collect::<Vec<_>>());
        if options.timestamp {
            let token = self.tsa.timestamp(signature, options.signed_at);
            bundle["verificationMaterial"]["timestampVerificationData"] =
                json!({ "rfc3161Timestamps": [{ "signedTimestamp": BASE64.encode(token) }] });
        }
        for (key, value) in content.as_object().expect("content is an object") {
            bundle[key] = value.clone();
        }
        bundle
    }
}

impl Signer {
    /// What Rekor v1 entries record as the verifier: the certificate or the public key, in PEM.
    pub fn verifier_pem(&self) -> String {
        match &self.certificate {
            Some(der) => keys::pem("CERTIFICATE", der),
            None => self.key.public_pem(),
        }
    }
}

fn hashed_rekord_v2(signer: &Signer, digest: &[u8], signature: &[u8]) -> Value {
    let verifier = match &signer.certificate {
        Some(der) => {
            json!({ "keyDetails": signer.key.key_details(), "x509Certificate": { "rawBytes": BASE64.encode(der) } })
        }
        None => {
            json!({ "keyDetails": signer.key.key_details(), "publicKey": { "rawBytes": BASE64.encode(signer.key.spki_der()) } })
        }
    };
    json!({
        "apiVersion": "0.0.2", "kind": "hashedrekord",
        "spec": { "hashedRekordV002": {
            "data": { "algorithm": "SHA2_256", "digest": BASE64.encode(digest) },
            "signature": { "content": BASE64.encode(signature), "verifier": verifier },
        } },
    })
}

/// The signing certificate of a bundle the private Sigstore made, as DER (`None` for a key).
pub fn leaf_certificate(bundle: &Value) -> Option<Vec<u8>> {
    let material = &bundle["verificationMaterial"];
    let leaf = material["certificate"]["rawBytes"]
        .as_str()
        .or_else(|| material["x509CertificateChain"]["certificates"][0]["rawBytes"].as_str())?;
    Some(BASE64.decode(leaf).expect("base64 certificate"))
}

/// Cosign's form of a bundle's Rekor v1 entry, `{SignedEntryTimestamp, Payload: {body,
/// integratedTime, logIndex, logID}}` (its image annotation and its blob bundles' `rekorBundle`),
/// if the bundle has an entry with an inclusion promise.
pub fn cosign_rekor_bundle(bundle: &Value) -> Option<Value> {
    let entry = bundle["verificationMaterial"]["tlogEntries"].get(0).filter(|e| e.get("inclusionPromise").is_some())?;
    let log_id = BASE64.decode(entry["logId"]["keyId"].as_str().expect("log id")).expect("base64 log id");
    let number = |field: &str| entry[field].as_str().expect("a number as a string").parse::<i64>().expect("a number");
    Some(json!({
        "SignedEntryTimestamp": entry["inclusionPromise"]["signedEntryTimestamp"],
        "Payload": {
            "body": entry["canonicalizedBody"],
            "integratedTime": number("integratedTime"),
            "logIndex": number("logIndex"),
            "logID": hex::encode(log_id),
        },
    }))
}

/// What `cosign sign-blob --bundle` (before the Sigstore bundle format) writes for the signature
/// `bundle` holds ([`PrivateSigstore::sign_artifact`] with a Rekor v1 entry): the signature,
/// the certificate as base64 of its PEM, and the Rekor entry.
pub fn cosign_blob_bundle(bundle: &Value) -> Value {
    let mut blob = json!({ "base64Signature": bundle["messageSignature"]["signature"] });
    if let Some(der) = leaf_certificate(bundle) {
        blob["cert"] = BASE64.encode(keys::pem("CERTIFICATE", &der)).into();
    }
    if let Some(rekor) = cosign_rekor_bundle(bundle) {
        blob["rekorBundle"] = rekor;
    }
    blob
}

/// DSSE's pre-authentication encoding: what an envelope's signature signs.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// An in-toto v1 statement about `subjects` (name → content), with `predicate`.
pub fn statement(predicate_type: &str, subjects: &[(&str, &[u8])], predicate: Value) -> Vec<u8> {
    let subjects: Vec<Value> = subjects
        .iter()
        .map(|(name, content)| json!({ "name": name, "digest": { "sha256": hex::encode(Sha256::digest(content)) } }))
        .collect();
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": predicate_type,
        "predicate": predicate,
    })
    .to_string()
    .into_bytes()
}
