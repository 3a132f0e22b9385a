//! DSSE envelopes: the signed wrapper of in-toto statements.
use sigstore_verify::types::DsseEnvelope;

use crate::{
    limits::{self, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH},
    statement::{Statement, StatementError},
};

pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The in-toto statement an envelope carries. The envelope's signature is not checked here:
/// callers read statements of envelopes a [`crate::BundleVerifier`] verified, or (before
/// verification) only to choose which subject to verify against.
pub fn statement_of(envelope: &DsseEnvelope) -> Result<Statement, StatementError> {
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(StatementError::PayloadType(envelope.payload_type.clone()));
    }
    Statement::from_slice(envelope.payload.as_bytes())
}

/// Reads a bare DSSE envelope (`{"payloadType", "payload", "signatures"}`), bounded like a
/// bundle.
pub fn envelope_from_slice(bytes: &[u8]) -> Result<DsseEnvelope, StatementError> {
    limits::check_json(bytes, MAX_BUNDLE_BYTES, MAX_BUNDLE_DEPTH)?;
    Ok(serde_json::from_slice(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn envelope(payload_type: &str, payload: &str) -> String {
        let payload = base64::engine::general_purpose::STANDARD.encode(payload);
        format!(
            r#"{{"payloadType":"{payload_type}","payload":"{payload}","signatures":[{{"sig":"AAAA","keyid":""}}]}}"#
        )
    }

    #[test]
    fn reads_the_statement_of_an_in_toto_envelope() {
        let statement = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}"#;
        let envelope = envelope_from_slice(envelope(IN_TOTO_PAYLOAD_TYPE, statement).as_bytes()).unwrap();
        assert_eq!(statement_of(&envelope).unwrap().predicate_type, "https://slsa.dev/provenance/v1");
    }

    #[test]
    fn other_payload_types_are_refused() {
        let envelope = envelope_from_slice(envelope("text/plain", "{}").as_bytes()).unwrap();
        let err = statement_of(&envelope).unwrap_err();
        assert!(err.to_string().contains(r#""text/plain", not an in-toto statement"#), "{err}");
    }
}
