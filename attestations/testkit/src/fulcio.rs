//! A Fulcio-style CA (root → intermediate → short-lived leaf) with a CT log that embeds an SCT
//! in every leaf, as the public-good instance does.
use const_oid::db::rfc5912::ID_KP_CODE_SIGNING;
use der::{Decode as _, Encode as _, asn1::OctetString};
use sha2::{Digest as _, Sha256};
use x509_cert::{Certificate, ext::pkix::KeyUsages};

use crate::{
    keys::Keypair,
    x509::{
        self, CaCertificate, CertificateFields, SCT_LIST_OID, San, extended_key_usage, fulcio_oid, key_usage,
        raw_extension, subject_alt_name, utf8_extension,
    },
};

pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// Who the certificate is issued to: the SAN, the OIDC issuer, and any Fulcio claims
/// (extension `1.3.6.1.4.1.57264.1.N` → value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub san: San,
    pub issuer: String,
    pub claims: Vec<(u32, String)>,
}

impl Identity {
    pub fn new(san: San, issuer: &str) -> Self {
        Self { san, issuer: issuer.to_owned(), claims: Vec::new() }
    }

    pub fn email(email: &str, issuer: &str) -> Self {
        Self::new(San::Email(email.to_owned()), issuer)
    }

    /// A Fulcio username identity (`user!domain`), as private deployments issue.
    pub fn username(user: &str, issuer: &str) -> Self {
        Self::new(San::Username(user.to_owned()), issuer)
    }

    /// A GitHub Actions workflow run, with the claims Fulcio copies from the Actions token.
    /// `repository` is `owner/name`, `workflow` the path of the workflow file.
    pub fn github_actions(repository: &str, workflow: &str, git_ref: &str, trigger: &str) -> Self {
        let repository_uri = format!("https://github.com/{repository}");
        let workflow_uri = format!("{repository_uri}/{workflow}@{git_ref}");
        let commit = hex::encode(Sha256::digest(format!("{repository}@{git_ref}").as_bytes()))[..40].to_owned();
        Self::new(San::Uri(workflow_uri.clone()), GITHUB_ACTIONS_ISSUER)
            .with_claim(9, &workflow_uri)
            .with_claim(10, &commit)
            .with_claim(11, "github-hosted")
            .with_claim(12, &repository_uri)
            .with_claim(13, &commit)
            .with_claim(14, git_ref)
            .with_claim(18, &workflow_uri)
            .with_claim(19, &commit)
            .with_claim(20, trigger)
            .with_claim(21, &format!("{repository_uri}/actions/runs/1/attempts/1"))
    }

    /// Sets claim `.1.n`, replacing an earlier value.
    pub fn with_claim(mut self, n: u32, value: &str) -> Self {
        self.claims.retain(|(claim, _)| *claim != n);
        self.claims.push((n, value.to_owned()));
        self
    }
}

/// A certificate transparency log that signs precertificates.
pub struct CtLog {
    pub key: Keypair,
}

impl CtLog {
    /// The SCT list extension for a precertificate whose TBS (without this extension) is
    /// `precert_tbs_der`, issued by the CA whose SPKI is `issuer_spki_der` (RFC 6962 3.2).
    pub fn sct_extension(
        &self,
        precert_tbs_der: &[u8],
        issuer_spki_der: &[u8],
        timestamp_ms: u64,
    ) -> x509_cert::ext::Extension {
        let mut signed = vec![0u8, 0u8]; // v1, certificate_timestamp
        signed.extend_from_slice(&timestamp_ms.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        signed.extend_from_slice(&Sha256::digest(issuer_spki_der));
        signed.extend_from_slice(&(precert_tbs_der.len() as u32).to_be_bytes()[1..]);
        signed.extend_from_slice(precert_tbs_der);
        signed.extend_from_slice(&0u16.to_be_bytes()); // no extensions
        let signature = self.key.sign(&signed);

        let mut sct = vec![0u8]; // v1
        sct.extend_from_slice(&self.key.log_id());
        sct.extend_from_slice(&timestamp_ms.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.extend_from_slice(&[4, 3]); // SHA-256, ECDSA
        sct.extend_from_slice(&(signature.len() as u16).to_be_bytes());
        sct.extend_from_slice(&signature);
        let mut list = ((sct.len() + 2) as u16).to_be_bytes().to_vec();
        list.extend_from_slice(&(sct.len() as u16).to_be_bytes());
        list.extend_from_slice(&sct);
        x509::extension(SCT_LIST_OID, false, &OctetString::new(list).expect("octets"))
    }
}

/// The certificate authority: a root, an intermediate that issues leaves, and its CT log.
pub struct Fulcio {
    pub root: CaCertificate,
    pub intermediate: CaCertificate,
    pub ct_log: CtLog,
}

/// How to issue one leaf.
#[derive(Debug, Clone)]
pub struct LeafOptions {
    pub not_before: jiff::Timestamp,
    pub not_after: jiff::Timestamp,
    /// Embed an SCT (Fulcio always does).
    pub sct: bool,
}

impl Fulcio {
    pub fn new(valid_from: jiff::Timestamp, valid_until: jiff::Timestamp) -> Self {
        let root = CaCertificate::new("CN=provgate test root,O=provgate test", None, Some(1), valid_from, valid_until);
        let intermediate = CaCertificate::new(
            "CN=provgate test intermediate,O=provgate test",
            Some(&root),
            Some(0),
            valid_from,
            valid_until,
        );
        Self { root, intermediate, ct_log: CtLog { key: Keypair::p256() } }
    }

    /// DER certificates of the chain above leaves, leaf-side first.
    pub fn chain(&self) -> Vec<Vec<u8>> {
        vec![self.intermediate.der.clone(), self.root.der.clone()]
    }

    /// A code-signing leaf for `key` asserting `identity`, as Fulcio issues them.
    pub fn issue(&self, identity: &Identity, key: &Keypair, options: &LeafOptions) -> Vec<u8> {
        let spki_der = key.spki_der();
        let mut extensions = vec![
            key_usage(KeyUsages::DigitalSignature),
            extended_key_usage(&[ID_KP_CODE_SIGNING]),
            self.intermediate.authority_key_id(),
            subject_alt_name(&identity.san),
            raw_extension(fulcio_oid(1), identity.issuer.as_bytes()),
            utf8_extension(fulcio_oid(8), &identity.issuer),
        ];
        for (n, value) in &identity.claims {
            extensions.push(match n {
                2..=6 => raw_extension(fulcio_oid(*n), value.as_bytes()),
                _ => utf8_extension(fulcio_oid(*n), value),
            });
        }
        let mut fields = CertificateFields {
            subject: Default::default(),
            issuer: self.intermediate.name.clone(),
            not_before: options.not_before,
            not_after: options.not_after,
            spki_der,
            extensions,
        };
        let serial = x509::random_serial();
        if options.sct {
            let precert_tbs = fields.tbs(&serial).to_der().expect("TBS encodes");
            let issuer_spki = issuer_spki(&self.intermediate.der);
            let timestamp_ms = options.not_before.as_millisecond() as u64;
            fields.extensions.push(self.ct_log.sct_extension(&precert_tbs, &issuer_spki, timestamp_ms));
        }
        self.intermediate.issue(fields, &serial)
    }
}

fn issuer_spki(certificate_der: &[u8]) -> Vec<u8> {
    Certificate::from_der(certificate_der)
        .expect("our own certificate parses")
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("SPKI encodes")
}
