//! The vocabulary every crate of provgate shares: the SHA-256 digest, and the (digest, path,
//! package) record that SBOMs, attestations, image layers and the store all speak; and what a
//! parser yields, one record per file, or package the document names a file for, that carries a
//! SHA-256.
use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize, Serializer};
use sha2::Digest as _;

/// A SHA-256 digest: the only kind of digest that may put anything on the allowlist. Written
/// `sha256:<64 lowercase hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Sha256(pub [u8; 32]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a sha256:<64 lowercase hex> digest")]
pub struct Sha256Error(pub String);

impl Sha256 {
    pub fn of(bytes: &[u8]) -> Self {
        Self(sha2::Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// What a person may type: `sha256:<hex>` or bare hex, in either case. Content-addressed
    /// protocols (registries, signed payloads) compare digests as strings and take only the
    /// canonical form, [`FromStr`].
    pub fn parse_lenient(text: &str) -> Option<Self> {
        let hex_part = text.strip_prefix("sha256:").unwrap_or(text);
        if hex_part.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).ok()?;
        Some(Self(out))
    }
}

impl FromStr for Sha256 {
    type Err = Sha256Error;

    /// The canonical form only: `sha256:` and 64 lowercase hex digits.
    fn from_str(text: &str) -> Result<Self, Sha256Error> {
        let error = || Sha256Error(text.chars().take(80).collect());
        let hex_part = text.strip_prefix("sha256:").ok_or_else(error)?;
        if hex_part.len() != 64 || !hex_part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(error());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| error())?;
        Ok(Self(out))
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One digest vouched for, with where the evidence places it: the record the SBOM readers, the
/// attestations and image crates hand over and the store keeps.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DigestRecord {
    pub sha256: Sha256,
    /// The file's path as the evidence names it.
    pub path: Option<String>,
    /// The package the evidence places it in (a purl, or `name@version`).
    pub package: Option<String>,
}

impl From<Record> for DigestRecord {
    fn from(record: Record) -> Self {
        Self { sha256: record.sha256, path: record.path, package: record.package.and_then(|p| p.label()) }
    }
}

fn bare_hex<S: Serializer>(digest: &Sha256, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&digest.to_hex())
}

/// The package a record belongs to, as far as the document says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PackageRef {
    pub name: Option<String>,
    pub version: Option<String>,
    pub purl: Option<String>,
}

impl PackageRef {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.version.is_none() && self.purl.is_none()
    }

    /// One string for stores and logs: the purl when there is one, else `name@version`.
    pub fn label(&self) -> Option<String> {
        if let Some(purl) = &self.purl {
            return Some(purl.clone());
        }
        match (&self.name, &self.version) {
            (Some(name), Some(version)) => Some(format!("{name}@{version}")),
            (Some(name), None) => Some(name.clone()),
            (None, _) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    File,
    /// A package the document names a file for (an archive, a .deb) and gives its digest.
    Package,
}

/// A digest in another algorithm: kept for the record, never used to allow anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OtherDigest {
    pub algorithm: &'static str,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// Bare hex in this crate's JSON, as the SBOM formats themselves write it.
    #[serde(serialize_with = "bare_hex")]
    pub sha256: Sha256,
    pub kind: RecordKind,
    pub path: Option<String>,
    pub package: Option<PackageRef>,
    pub other_digests: Vec<OtherDigest>,
}
