//! An RFC 3161 timestamp authority: signs the time at which it saw a signature.
use cms::{
    cert::IssuerAndSerialNumber,
    content_info::ContentInfo,
    signed_data::{EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos},
};
use const_oid::{
    ObjectIdentifier,
    db::{rfc5911, rfc5912},
};
use der::{
    Any, Decode as _, Encode as _, Sequence, Tag,
    asn1::{GeneralizedTime, OctetString, SetOfVec},
};
use sha2::{Digest as _, Sha256};
use x509_cert::{
    Certificate,
    attr::{Attribute, AttributeValue},
    ext::pkix::KeyUsages,
    serial_number::SerialNumber,
    spki::AlgorithmIdentifierOwned,
};

use crate::{
    keys::Keypair,
    x509::{self, CaCertificate, CertificateFields},
};

const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

#[derive(Sequence)]
struct MessageImprint {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

/// RFC 3161 2.4.2, the fields we set.
#[derive(Sequence)]
struct TstInfo {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: SerialNumber,
    gen_time: GeneralizedTime,
}

pub struct TimestampAuthority {
    pub root: CaCertificate,
    pub leaf_key: Keypair,
    pub leaf: Vec<u8>,
}

fn sha256_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: rfc5912::ID_SHA_256, parameters: None }
}

impl TimestampAuthority {
    pub fn new(valid_from: jiff::Timestamp, valid_until: jiff::Timestamp) -> Self {
        let root =
            CaCertificate::new("CN=provgate test TSA root,O=provgate test", None, Some(0), valid_from, valid_until);
        let leaf_key = Keypair::p256();
        let fields = CertificateFields {
            subject: x509::name("CN=provgate test TSA,O=provgate test"),
            issuer: root.name.clone(),
            not_before: valid_from,
            not_after: valid_until,
            spki_der: leaf_key.spki_der(),
            extensions: vec![
                x509::key_usage(KeyUsages::DigitalSignature),
                x509::extension(
                    const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE,
                    true,
                    &x509_cert::ext::pkix::ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]),
                ),
                root.authority_key_id(),
            ],
        };
        let leaf = root.issue(fields, &x509::random_serial());
        Self { root, leaf_key, leaf }
    }

    /// DER certificates, leaf first, as the trusted root lists them.
    pub fn chain(&self) -> Vec<Vec<u8>> {
        vec![self.leaf.clone(), self.root.der.clone()]
    }

    /// A timestamp token (CMS SignedData over a TSTInfo) saying `signature` existed at `time`.
    pub fn timestamp(&self, signature: &[u8], time: jiff::Timestamp) -> Vec<u8> {
        let tst_info = TstInfo {
            version: 1,
            policy: POLICY,
            message_imprint: MessageImprint {
                hash_algorithm: sha256_algorithm(),
                hashed_message: OctetString::new(Sha256::digest(signature).to_vec()).expect("octets"),
            },
            serial_number: SerialNumber::new(&x509::random_serial()[..8]).expect("serial"),
            gen_time: GeneralizedTime::from_system_time(x509::system_time(time)).expect("time"),
        }
        .to_der()
        .expect("TSTInfo encodes");

        let attribute = |oid, value: Any| Attribute {
            oid,
            values: SetOfVec::try_from(vec![AttributeValue::from(value)]).expect("set"),
        };
        let signed_attributes = SetOfVec::try_from(vec![
            attribute(rfc5911::ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO).expect("OID")),
            attribute(
                rfc5911::ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(Sha256::digest(&tst_info).to_vec()).expect("octets"))
                    .expect("digest"),
            ),
        ])
        .expect("attributes");
        let signature_value = self.leaf_key.sign(&signed_attributes.to_der().expect("attributes encode"));

        let leaf = Certificate::from_der(&self.leaf).expect("our own certificate parses");
        let signed_data = SignedData {
            version: cms::content_info::CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![sha256_algorithm()]).expect("set"),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::new(Tag::OctetString, tst_info).expect("content")),
            },
            certificates: None,
            crls: None,
            signer_infos: SignerInfos(
                SetOfVec::try_from(vec![SignerInfo {
                    version: cms::content_info::CmsVersion::V1,
                    sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                        issuer: leaf.tbs_certificate.issuer.clone(),
                        serial_number: leaf.tbs_certificate.serial_number.clone(),
                    }),
                    digest_alg: sha256_algorithm(),
                    signed_attrs: Some(signed_attributes),
                    signature_algorithm: x509::ecdsa_with_sha256(),
                    signature: OctetString::new(signature_value).expect("octets"),
                    unsigned_attrs: None,
                }])
                .expect("signer infos"),
            ),
        };
        ContentInfo {
            content_type: rfc5911::ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data).expect("SignedData encodes"),
        }
        .to_der()
        .expect("ContentInfo encodes")
    }
}
