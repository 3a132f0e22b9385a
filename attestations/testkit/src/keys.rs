//! Signing keys of the private Sigstore's parties: ECDSA P-256 for everything Fulcio, CT, Rekor
//! v1 and TSAs use, Ed25519 for Rekor v2 logs as the public-good instance runs them.
use p256::{
    ecdsa::{Signature, SigningKey, signature::Signer as _},
    pkcs8::EncodePublicKey as _,
};
use rand_core::OsRng;
use sha2::{Digest as _, Sha256};

pub enum Keypair {
    P256(SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl Keypair {
    pub fn p256() -> Self {
        Self::P256(SigningKey::random(&mut OsRng))
    }

    pub fn ed25519() -> Self {
        Self::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng))
    }

    /// DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> Vec<u8> {
        let document = match self {
            Self::P256(key) => key.verifying_key().to_public_key_der(),
            Self::Ed25519(key) => key.verifying_key().to_public_key_der(),
        };
        document.expect("public keys encode").into_vec()
    }

    pub fn public_pem(&self) -> String {
        pem("PUBLIC KEY", &self.spki_der())
    }

    /// ECDSA (SHA-256, DER-encoded) or Ed25519 over `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::P256(key) => {
                let signature: Signature = key.sign(message);
                signature.to_der().as_bytes().to_vec()
            }
            Self::Ed25519(key) => ed25519_dalek::Signer::sign(key, message).to_bytes().to_vec(),
        }
    }

    /// The trusted root's `keyDetails` name for this key.
    pub fn key_details(&self) -> &'static str {
        match self {
            Self::P256(_) => "PKIX_ECDSA_P256_SHA_256",
            Self::Ed25519(_) => "PKIX_ED25519",
        }
    }

    /// A log's ID: SHA-256 of its SPKI, as Rekor and CT logs name themselves.
    pub fn log_id(&self) -> [u8; 32] {
        Sha256::digest(self.spki_der()).into()
    }
}

pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|chunk| std::str::from_utf8(chunk).expect("base64 is ASCII")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}
