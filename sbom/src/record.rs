//! What a parser yields: one record per file or single-artifact package that carries a SHA-256.
use serde::{Serialize, Serializer};

/// A SHA-256 digest: the only kind of digest that may put anything on the allowlist.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Display for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
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
    /// A package that is one artifact (an archive, a jar, an image) and says its own digest.
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
    pub sha256: Sha256,
    pub kind: RecordKind,
    pub path: Option<String>,
    pub package: Option<PackageRef>,
    pub other_digests: Vec<OtherDigest>,
}
