//! Reading a Sigstore bundle: bounded, with its media type checked before the structure is
//! decoded, so each way a file can be wrong gets its own message.
use std::path::Path;

use serde::Deserialize;
use sigstore_verify::types::{Bundle as SigstoreBundle, SignatureContent, bundle::VerificationMaterialContent};
use thiserror::Error;

use crate::limits::{self, LimitError, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH};

/// The media types of bundle versions 0.1 to 0.3. `+json;version=0.3` is the form sigstore
/// clients wrote before the `.v0.3+json` spelling was settled; bundles in the wild carry both.
pub const SUPPORTED_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
];

#[derive(Debug, Error)]
pub enum BundleError {
    #[error("cannot read: {0}")]
    Read(#[from] limits::ReadError),
    #[error("too big to be a bundle: {0}")]
    Limit(#[from] LimitError),
    #[error("not valid JSON: {0}")]
    Json(serde_json::Error),
    #[error("no mediaType: not a Sigstore bundle")]
    MissingMediaType,
    #[error("media type {found:?} is not a supported Sigstore bundle version (supported: {})", SUPPORTED_MEDIA_TYPES.join(", "))]
    UnsupportedMediaType { found: String },
    #[error("malformed bundle: {0}")]
    Malformed(String),
}

/// What the bundle signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentKind {
    /// A signature over the artifact's bytes (or digest).
    MessageSignature,
    /// A DSSE envelope, normally holding an in-toto statement about the artifact.
    DsseEnvelope,
}

/// A bundle whose JSON and media type are sound; nothing about it is verified yet.
#[derive(Debug, Clone)]
pub struct Bundle {
    inner: SigstoreBundle,
    media_type: String,
    /// The JSON as read: what is stored to verify the bundle again later, byte for byte.
    json: String,
}

impl Bundle {
    pub fn from_file(path: &Path) -> Result<Self, BundleError> {
        Self::from_slice(&limits::read_bounded(path, MAX_BUNDLE_BYTES)?)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, BundleError> {
        limits::check_json(bytes, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH)?;
        // Only the media type, so that "malformed JSON" and "wrong media type" are told apart
        // before the full structure is decoded.
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "mediaType")]
            media_type: Option<String>,
        }
        let head: Head = serde_json::from_slice(bytes).map_err(BundleError::Json)?;
        let media_type = head.media_type.ok_or(BundleError::MissingMediaType)?;
        if !SUPPORTED_MEDIA_TYPES.contains(&media_type.as_str()) {
            return Err(BundleError::UnsupportedMediaType { found: media_type });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| BundleError::Malformed(e.to_string()))?;
        let inner = SigstoreBundle::from_json(text).map_err(|e| BundleError::Malformed(e.to_string()))?;
        // Otherwise an empty chain would read as "no certificate", i.e. a managed-key bundle.
        if let VerificationMaterialContent::X509CertificateChain { certificates } = &inner.verification_material.content
            && certificates.is_empty()
        {
            return Err(BundleError::Malformed("the certificate chain is empty".into()));
        }
        Ok(Self { inner, media_type, json: text.to_owned() })
    }

    /// The bundle's JSON exactly as it was read.
    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    pub fn content_kind(&self) -> Result<ContentKind, BundleError> {
        match &self.inner.content {
            SignatureContent::MessageSignature(_) => Ok(ContentKind::MessageSignature),
            SignatureContent::DsseEnvelope(_) => Ok(ContentKind::DsseEnvelope),
            _ => Err(BundleError::Malformed("neither a message signature nor a DSSE envelope".into())),
        }
    }

    /// The DSSE envelope, when the bundle holds one.
    pub fn dsse_envelope(&self) -> Option<&sigstore_verify::types::DsseEnvelope> {
        match &self.inner.content {
            SignatureContent::DsseEnvelope(envelope) => Some(envelope),
            _ => None,
        }
    }

    /// The DER signing certificate (the leaf), absent for managed-key bundles.
    pub fn signing_certificate(&self) -> Option<&[u8]> {
        self.inner.signing_certificate().map(|c| c.as_bytes())
    }

    pub(crate) fn sigstore(&self) -> &SigstoreBundle {
        &self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_is_named_as_such() {
        let err =
            Bundle::from_slice(br#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "#).unwrap_err();
        assert!(matches!(err, BundleError::Json(_)), "{err}");
        assert!(err.to_string().starts_with("not valid JSON"), "{err}");
    }

    #[test]
    fn unknown_media_type_is_refused_before_decoding() {
        let err = Bundle::from_slice(br#"{"mediaType": "application/vnd.dev.sigstore.bundle+json;version=99.9"}"#)
            .unwrap_err();
        assert!(err.to_string().contains(r#""application/vnd.dev.sigstore.bundle+json;version=99.9""#), "{err}");
        assert!(err.to_string().contains("supported: application/vnd.dev.sigstore.bundle+json;version=0.1"), "{err}");
    }

    #[test]
    fn missing_media_type_is_refused() {
        // sigstore-types would default it to 0.1; a file without one is not a bundle we accept.
        let err = Bundle::from_slice(br#"{"verificationMaterial": {}}"#).unwrap_err();
        assert!(matches!(err, BundleError::MissingMediaType), "{err}");
    }

    #[test]
    fn structure_errors_are_malformed() {
        let err = Bundle::from_slice(br#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}"#).unwrap_err();
        assert!(matches!(err, BundleError::Malformed(_)), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut json = String::from(r#"{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "x": "#);
        json.push_str(&"[".repeat(40));
        let err = Bundle::from_slice(json.as_bytes()).unwrap_err();
        assert!(matches!(err, BundleError::Limit(LimitError::TooDeep { .. })), "{err}");
    }
}
