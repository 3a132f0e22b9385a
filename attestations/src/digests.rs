//! An artifact's digests in every algorithm a statement may name its subjects by. npm names
//! its packages by SHA-512 only, while provgate's allowlist is SHA-256: both are computed in one
//! pass, the statement is matched by whichever it uses, and the SHA-256 is what gets recorded.
use std::{fmt, io::Read, str::FromStr};

use provgate_sbom::Sha256;
use serde::{Deserialize, Serialize, Serializer};
use sha2::Digest as _;
use thiserror::Error;

/// A SHA-512 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sha512(pub [u8; 64]);

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{0:?} is not a SHA-512 digest (sha512: and 128 lowercase hex digits)")]
pub struct Sha512Error(String);

impl Sha512 {
    pub fn of(bytes: &[u8]) -> Self {
        Self(sha2::Sha512::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Sha512 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha512:{}", self.to_hex())
    }
}

impl fmt::Debug for Sha512 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Sha512 {
    type Err = Sha512Error;

    /// The canonical form only, as [`Sha256`] reads its own.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || Sha512Error(text.to_owned());
        let hex_part = text.strip_prefix("sha512:").ok_or_else(bad)?;
        if hex_part.len() != 128 || !hex_part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        let mut out = [0u8; 64];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| bad())?;
        Ok(Self(out))
    }
}

impl Serialize for Sha512 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha512 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An artifact's SHA-256 and SHA-512, computed together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactDigests {
    pub sha256: Sha256,
    pub sha512: Sha512,
}

impl ArtifactDigests {
    pub fn of(bytes: &[u8]) -> Self {
        Self { sha256: Sha256::of(bytes), sha512: Sha512::of(bytes) }
    }

    /// Streams `reader` once through both hashes: an artifact is never held in memory for this.
    pub fn of_reader(mut reader: impl Read) -> std::io::Result<Self> {
        let mut sha256 = sha2::Sha256::new();
        let mut sha512 = sha2::Sha512::new();
        let mut buffer = vec![0u8; 256 << 10];
        loop {
            let n = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            sha256.update(&buffer[..n]);
            sha512.update(&buffer[..n]);
        }
        Ok(Self { sha256: Sha256(sha256.finalize().into()), sha512: Sha512(sha512.finalize().into()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_digests_in_one_pass_equal_the_separate_ones() {
        let data = vec![7u8; 600 << 10];
        let streamed = ArtifactDigests::of_reader(&data[..]).unwrap();
        assert_eq!(streamed, ArtifactDigests::of(&data));
        assert_eq!(streamed.sha256, Sha256::of(&data));
    }

    #[test]
    fn sha512_reads_back_its_canonical_form_only() {
        let digest = Sha512::of(b"hello");
        let text = digest.to_string();
        assert!(text.starts_with("sha512:9b71d224bd62f378"), "{text}");
        assert_eq!(text.parse::<Sha512>().unwrap(), digest);
        assert!(text.to_uppercase().parse::<Sha512>().is_err());
        assert!(text[7..].parse::<Sha512>().is_err(), "the algorithm is part of the form");
        let json = serde_json::to_value(digest).unwrap();
        assert_eq!(serde_json::from_value::<Sha512>(json).unwrap(), digest);
    }
}
