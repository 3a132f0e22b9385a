//! X.509 certificates built field by field (x509-cert types, signed with P-256), so a test can
//! set exactly the extensions Fulcio sets, or leave one out.
use std::{str::FromStr as _, time::SystemTime};

use const_oid::{
    ObjectIdentifier,
    db::{rfc5280, rfc5912},
};
use der::{
    Decode as _, Encode as _,
    asn1::{BitString, Ia5String, OctetString, Utf8StringRef},
};
use rand_core::{OsRng, RngCore as _};
use sha2::{Digest as _, Sha256};
use x509_cert::{
    Certificate, TbsCertificate, Version,
    ext::{
        Extension,
        pkix::{
            AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
            SubjectKeyIdentifier,
            name::{GeneralName, OtherName},
        },
    },
    name::Name,
    serial_number::SerialNumber,
    spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned},
    time::{Time, Validity},
};

use crate::keys::Keypair;

/// Fulcio's arc: 1.3.6.1.4.1.57264.1.N.
pub fn fulcio_oid(n: u32) -> ObjectIdentifier {
    ObjectIdentifier::new(&format!("1.3.6.1.4.1.57264.1.{n}")).expect("valid OID")
}

/// The embedded SCT list extension (RFC 6962).
pub const SCT_LIST_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");

pub fn name(dn: &str) -> Name {
    Name::from_str(dn).expect("valid distinguished name")
}

pub fn extension(oid: ObjectIdentifier, critical: bool, value: &impl der::Encode) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().expect("encodes")).expect("octets"),
    }
}

/// A string claim as Fulcio writes everything from `.1.8` on: a DER UTF8String.
pub fn utf8_extension(oid: ObjectIdentifier, value: &str) -> Extension {
    extension(oid, false, &Utf8StringRef::new(value).expect("UTF-8"))
}

/// A claim as Fulcio wrote the deprecated `.1.1` to `.1.6`: the bare string.
pub fn raw_extension(oid: ObjectIdentifier, value: &[u8]) -> Extension {
    Extension { extn_id: oid, critical: false, extn_value: OctetString::new(value).expect("octets") }
}

pub fn key_usage(usages: impl Into<der::flagset::FlagSet<KeyUsages>>) -> Extension {
    extension(rfc5280::ID_CE_KEY_USAGE, true, &KeyUsage(usages.into()))
}

pub fn extended_key_usage(purposes: &[ObjectIdentifier]) -> Extension {
    extension(rfc5280::ID_CE_EXT_KEY_USAGE, false, &ExtendedKeyUsage(purposes.to_vec()))
}

pub fn basic_constraints(ca: bool, path_len: Option<u8>) -> Extension {
    extension(rfc5280::ID_CE_BASIC_CONSTRAINTS, true, &BasicConstraints { ca, path_len_constraint: path_len })
}

pub fn subject_key_id(spki_der: &[u8]) -> Vec<u8> {
    Sha256::digest(spki_der)[..20].to_vec()
}

/// The identity a Fulcio certificate asserts in its SAN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    Email(String),
    Uri(String),
    /// Fulcio's username identity: an OtherName (1.3.6.1.4.1.57264.1.7) holding a UTF8String.
    Username(String),
}

impl San {
    pub fn value(&self) -> &str {
        match self {
            San::Email(v) | San::Uri(v) | San::Username(v) => v,
        }
    }

    fn general_name(&self) -> GeneralName {
        match self {
            San::Email(email) => GeneralName::Rfc822Name(Ia5String::new(email).expect("ASCII email")),
            San::Uri(uri) => GeneralName::UniformResourceIdentifier(Ia5String::new(uri).expect("ASCII URI")),
            San::Username(user) => GeneralName::OtherName(OtherName {
                type_id: fulcio_oid(7),
                value: der::Any::encode_from(&Utf8StringRef::new(user).expect("UTF-8")).expect("encodes"),
            }),
        }
    }
}

/// Fulcio leaves have an empty subject, so their SAN is critical (RFC 5280 4.2.1.6).
pub fn subject_alt_name(san: &San) -> Extension {
    extension(rfc5280::ID_CE_SUBJECT_ALT_NAME, true, &SubjectAltName(vec![san.general_name()]))
}

pub fn system_time(time: jiff::Timestamp) -> SystemTime {
    SystemTime::from(time)
}

/// Everything a certificate says except its issuer's signature.
pub struct CertificateFields {
    pub subject: Name,
    pub issuer: Name,
    pub not_before: jiff::Timestamp,
    pub not_after: jiff::Timestamp,
    pub spki_der: Vec<u8>,
    pub extensions: Vec<Extension>,
}

impl CertificateFields {
    /// The to-be-signed part. The serial number is random; pass the same `serial` to get the
    /// same TBS again (the SCT of a precertificate signs the TBS without its SCT extension).
    pub fn tbs(&self, serial: &[u8; 16]) -> TbsCertificate {
        // A positive serial: clear the top bit.
        let mut serial = *serial;
        serial[0] &= 0x7f;
        serial[0] |= 0x01;
        TbsCertificate {
            version: Version::V3,
            serial_number: SerialNumber::new(&serial).expect("serial"),
            signature: ecdsa_with_sha256(),
            issuer: self.issuer.clone(),
            validity: Validity {
                not_before: Time::try_from(system_time(self.not_before)).expect("time"),
                not_after: Time::try_from(system_time(self.not_after)).expect("time"),
            },
            subject: self.subject.clone(),
            subject_public_key_info: SubjectPublicKeyInfoOwned::from_der(&self.spki_der).expect("SPKI"),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(self.extensions.clone()),
        }
    }
}

pub fn random_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    OsRng.fill_bytes(&mut serial);
    serial
}

pub fn ecdsa_with_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: rfc5912::ECDSA_WITH_SHA_256, parameters: None }
}

/// Signs `tbs` with the issuer's key; returns the DER certificate.
pub fn sign(tbs: TbsCertificate, issuer_key: &Keypair) -> Vec<u8> {
    let signature = issuer_key.sign(&tbs.to_der().expect("TBS encodes"));
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ecdsa_with_sha256(),
        signature: BitString::from_bytes(&signature).expect("bit string"),
    }
    .to_der()
    .expect("certificate encodes")
}

/// A CA certificate for `key`, signed by `issuer` (itself when `None`).
pub struct CaCertificate {
    pub name: Name,
    pub key: Keypair,
    pub der: Vec<u8>,
}

impl CaCertificate {
    pub fn new(
        dn: &str,
        issuer: Option<&CaCertificate>,
        path_len: Option<u8>,
        not_before: jiff::Timestamp,
        not_after: jiff::Timestamp,
    ) -> Self {
        let key = Keypair::p256();
        let spki_der = key.spki_der();
        let mut extensions = vec![
            basic_constraints(true, path_len),
            key_usage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            extension(
                rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                &SubjectKeyIdentifier(OctetString::new(subject_key_id(&spki_der)).expect("octets")),
            ),
        ];
        if let Some(issuer) = issuer {
            extensions.push(issuer.authority_key_id());
        }
        let fields = CertificateFields {
            subject: name(dn),
            issuer: issuer.map_or_else(|| name(dn), |issuer| issuer.name.clone()),
            not_before,
            not_after,
            spki_der,
            extensions,
        };
        let der = sign(fields.tbs(&random_serial()), issuer.map_or(&key, |issuer| &issuer.key));
        Self { name: fields.subject, key, der }
    }

    /// The AKI extension of certificates this CA issues.
    pub fn authority_key_id(&self) -> Extension {
        extension(
            rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(subject_key_id(&self.key.spki_der())).expect("octets")),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )
    }

    /// Issues a certificate with `fields.issuer` set to this CA; returns the DER certificate.
    pub fn issue(&self, mut fields: CertificateFields, serial: &[u8; 16]) -> Vec<u8> {
        fields.issuer = self.name.clone();
        sign(fields.tbs(serial), &self.key)
    }
}
