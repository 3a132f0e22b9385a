//! Who signed: the identity, issuer and CI claims of a Fulcio certificate, or a managed public
//! key. These are what a trust policy matches.
//!
//! The SAN is read here rather than taken from sigstore-verify, which only knows email and URI
//! identities: Fulcio issues an OtherName SAN (OID 1.3.6.1.4.1.57264.1.7, a UTF8String such as
//! `foo!oidc.local`) for username identities, which private deployments use.
use const_oid::ObjectIdentifier;
use der::{Decode as _, asn1::Utf8StringRef};
use sha2::{Digest as _, Sha256};
use sigstore_verify::crypto::CertificateInfo;
use x509_cert::{
    Certificate,
    ext::pkix::{SubjectAltName, name::GeneralName},
};

/// Fulcio's username identity, carried in an OtherName SAN.
pub const FULCIO_USERNAME_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");

/// One identity a certificate's Subject Alternative Name asserts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SanIdentity {
    Email(String),
    Uri(String),
    /// Fulcio's OtherName username (`user!domain`).
    Username(String),
}

impl SanIdentity {
    pub fn value(&self) -> &str {
        match self {
            Self::Email(v) | Self::Uri(v) | Self::Username(v) => v,
        }
    }
}

impl std::fmt::Display for SanIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.value())
    }
}

/// The Fulcio CI claims a policy can match (extensions 1.3.6.1.4.1.57264.1.*). Claims are
/// whatever the CI provider put in its OIDC token; they mean something only because the
/// certificate chained to a trusted CA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiClaims {
    /// `.1.12` Source Repository URI, e.g. `https://github.com/acme/app`.
    pub repository: Option<String>,
    /// `.1.14` Source Repository Ref, e.g. `refs/heads/main`.
    pub git_ref: Option<String>,
    /// `.1.13` Source Repository Digest: the commit built.
    pub commit: Option<String>,
    /// `.1.18` Build Config URI: the workflow that ran, with its ref.
    pub workflow: Option<String>,
    /// `.1.20` Build Trigger, e.g. `push`, `release`.
    pub trigger: Option<String>,
    /// `.1.11` Runner Environment, `github-hosted` or `self-hosted`.
    pub runner_environment: Option<String>,
}

impl CiClaims {
    fn from_fulcio(info: &CertificateInfo) -> Self {
        let claims = &info.ci_claims;
        Self {
            repository: claims.source_repository_uri.clone(),
            git_ref: claims.source_repository_ref.clone(),
            commit: claims.source_repository_digest.clone(),
            workflow: claims.build_config_uri.clone(),
            trigger: claims.build_trigger.clone(),
            runner_environment: claims.runner_environment.clone(),
        }
    }
}

/// A keyless signer: a short-lived certificate Fulcio (or a private CA) issued to an OIDC identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSigner {
    /// Every identity the SAN asserts (Fulcio issues exactly one).
    pub identities: Vec<SanIdentity>,
    /// The OIDC issuer (`.1.8`, or the legacy `.1.1`).
    pub issuer: Option<String>,
    pub claims: CiClaims,
    pub not_before: jiff::Timestamp,
    pub not_after: jiff::Timestamp,
}

/// A managed-key signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySigner {
    /// DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
}

impl KeySigner {
    /// `sha256:<hex>` of the SPKI, how keys are named in messages and the store.
    pub fn fingerprint(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(&self.spki_der)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    Certificate(CertificateSigner),
    Key(KeySigner),
}

impl Signer {
    /// The identity as one string, for messages and the store's `signer` column.
    pub fn identity(&self) -> String {
        match self {
            Signer::Certificate(c) => match c.identities.as_slice() {
                [] => "(no identity)".to_string(),
                identities => identities.iter().map(SanIdentity::value).collect::<Vec<_>>().join(", "),
            },
            Signer::Key(k) => format!("key {}", k.fingerprint()),
        }
    }

    pub fn issuer(&self) -> Option<&str> {
        match self {
            Signer::Certificate(c) => c.issuer.as_deref(),
            Signer::Key(_) => None,
        }
    }
}

impl CertificateSigner {
    pub(crate) fn from_certificate(der: &[u8], info: &CertificateInfo) -> Result<Self, String> {
        Ok(Self {
            identities: san_identities(der)?,
            issuer: info.issuer.clone(),
            claims: CiClaims::from_fulcio(info),
            not_before: info.not_before,
            not_after: info.not_after,
        })
    }
}

/// The email, URI and Fulcio-username identities of a certificate's SAN, in order.
pub fn san_identities(certificate_der: &[u8]) -> Result<Vec<SanIdentity>, String> {
    let certificate = Certificate::from_der(certificate_der).map_err(|e| format!("malformed certificate: {e}"))?;
    let Some((_critical, san)) =
        certificate.tbs_certificate.get::<SubjectAltName>().map_err(|e| format!("malformed SAN extension: {e}"))?
    else {
        return Ok(Vec::new());
    };
    let mut identities = Vec::new();
    for name in san.0 {
        match name {
            GeneralName::Rfc822Name(email) => identities.push(SanIdentity::Email(email.to_string())),
            GeneralName::UniformResourceIdentifier(uri) => identities.push(SanIdentity::Uri(uri.to_string())),
            GeneralName::OtherName(other) if other.type_id == FULCIO_USERNAME_OID => {
                let value = Utf8StringRef::try_from(&other.value)
                    .map_err(|e| format!("malformed Fulcio username in SAN: {e}"))?;
                identities.push(SanIdentity::Username(value.as_str().to_owned()));
            }
            _ => {}
        }
    }
    Ok(identities)
}
