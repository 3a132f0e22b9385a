//! Hash algorithm names as the three SBOM families spell them, and digest syntax checks.
//! Every digest is checked, whatever its algorithm: a malformed SHA-1 says the document is
//! broken as surely as a malformed SHA-256 does.
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha1,
    Sha224,
    Sha384,
    Sha512,
    Sha3_224,
    Sha3_256,
    Sha3_384,
    Sha3_512,
    Blake2b256,
    Blake2b384,
    Blake2b512,
    Blake3,
    Md2,
    Md4,
    Md5,
    Md6,
    Adler32,
    /// SPDX 3's `other` and its post-quantum signature names: not digests of content we can check.
    Other,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DigestError {
    #[error("unknown hash algorithm {0:?}")]
    UnknownAlgorithm(String),
    #[error("malformed {algorithm} digest {value:?}: {reason}")]
    Malformed { algorithm: &'static str, value: String, reason: String },
    #[error("two different SHA-256 digests for one entry ({first} and {second})")]
    Conflict { first: String, second: String },
}

/// How many hex digits a value may have: a fixed list, or any even count (extendable output).
enum HexLength {
    Exactly(&'static [usize]),
    AnyEven,
    Unchecked,
}

impl Algorithm {
    /// Accepts the SPDX 2 (`SHA256`, `BLAKE2b-256`), SPDX 3 (`sha256`, `sha3_256`, `blake2b256`)
    /// and CycloneDX (`SHA-256`, `SHA3-256`) spellings.
    pub fn from_label(label: &str) -> Result<Self, DigestError> {
        // The spellings of nearly every digest in real documents, without normalising.
        match label {
            "SHA256" | "SHA-256" | "sha256" => return Ok(Self::Sha256),
            "SHA1" | "SHA-1" | "sha1" => return Ok(Self::Sha1),
            _ => {}
        }
        let normal: String = label.chars().filter(|c| *c != '-' && *c != '_').map(|c| c.to_ascii_uppercase()).collect();
        Ok(match normal.as_str() {
            "SHA256" => Self::Sha256,
            "SHA1" => Self::Sha1,
            "SHA224" => Self::Sha224,
            "SHA384" => Self::Sha384,
            "SHA512" => Self::Sha512,
            "SHA3224" => Self::Sha3_224,
            "SHA3256" => Self::Sha3_256,
            "SHA3384" => Self::Sha3_384,
            "SHA3512" => Self::Sha3_512,
            "BLAKE2B256" => Self::Blake2b256,
            "BLAKE2B384" => Self::Blake2b384,
            "BLAKE2B512" => Self::Blake2b512,
            "BLAKE3" => Self::Blake3,
            "MD2" => Self::Md2,
            "MD4" => Self::Md4,
            "MD5" => Self::Md5,
            "MD6" => Self::Md6,
            "ADLER32" => Self::Adler32,
            "OTHER" | "CRYSTALSKYBER" | "CRYSTALSDILITHIUM" | "FALCON" => Self::Other,
            _ => return Err(DigestError::UnknownAlgorithm(truncated(label))),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha1 => "SHA-1",
            Self::Sha224 => "SHA-224",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
            Self::Sha3_224 => "SHA3-224",
            Self::Sha3_256 => "SHA3-256",
            Self::Sha3_384 => "SHA3-384",
            Self::Sha3_512 => "SHA3-512",
            Self::Blake2b256 => "BLAKE2b-256",
            Self::Blake2b384 => "BLAKE2b-384",
            Self::Blake2b512 => "BLAKE2b-512",
            Self::Blake3 => "BLAKE3",
            Self::Md2 => "MD2",
            Self::Md4 => "MD4",
            Self::Md5 => "MD5",
            Self::Md6 => "MD6",
            Self::Adler32 => "ADLER32",
            Self::Other => "other",
        }
    }

    fn hex_length(self) -> HexLength {
        use HexLength::*;
        match self {
            Self::Md2 | Self::Md4 | Self::Md5 => Exactly(&[32]),
            Self::Sha1 => Exactly(&[40]),
            Self::Sha224 | Self::Sha3_224 => Exactly(&[56]),
            Self::Sha256 | Self::Sha3_256 | Self::Blake2b256 => Exactly(&[64]),
            Self::Sha384 | Self::Sha3_384 | Self::Blake2b384 => Exactly(&[96]),
            Self::Sha512 | Self::Sha3_512 | Self::Blake2b512 => Exactly(&[128]),
            Self::Adler32 => Exactly(&[8]),
            Self::Blake3 | Self::Md6 => AnyEven,
            Self::Other => Unchecked,
        }
    }

    /// Checks the value's syntax: hex digits, as many as the algorithm makes.
    pub fn check(self, value: &str) -> Result<(), DigestError> {
        let malformed =
            |reason: String| DigestError::Malformed { algorithm: self.name(), value: truncated(value), reason };
        let length_ok = match self.hex_length() {
            HexLength::Unchecked => return Ok(()),
            HexLength::Exactly(lengths) => lengths.contains(&value.len()),
            HexLength::AnyEven => !value.is_empty() && value.len().is_multiple_of(2),
        };
        if !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bad = value.chars().find(|c| !c.is_ascii_hexdigit()).unwrap_or_default();
            return Err(malformed(format!("{bad:?} is not a hex digit")));
        }
        if !length_ok {
            let expected = match self.hex_length() {
                HexLength::Exactly(l) => format!("{} hex digits", l[0]),
                _ => "an even number of hex digits".to_owned(),
            };
            return Err(malformed(format!("expected {expected}, found {}", value.len())));
        }
        Ok(())
    }
}

/// Decodes 64 hex digits already checked by [`Algorithm::check`].
pub(crate) fn decode_sha256(value: &str) -> [u8; 32] {
    fn nibble(b: u8) -> u8 {
        match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => (b | 0x20) - b'a' + 10,
        }
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(value.as_bytes().chunks_exact(2)) {
        *byte = nibble(pair[0]) << 4 | nibble(pair[1]);
    }
    out
}

/// Error messages quote the offending value, but never a megabyte of it.
pub(crate) fn truncated(value: &str) -> String {
    const SHOWN: usize = 80;
    match value.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_the_three_families_agree() {
        for label in ["SHA256", "sha256", "SHA-256"] {
            assert_eq!(Algorithm::from_label(label), Ok(Algorithm::Sha256));
        }
        for label in ["SHA3-256", "sha3_256"] {
            assert_eq!(Algorithm::from_label(label), Ok(Algorithm::Sha3_256));
        }
        for label in ["BLAKE2b-256", "blake2b256"] {
            assert_eq!(Algorithm::from_label(label), Ok(Algorithm::Blake2b256));
        }
        assert!(matches!(Algorithm::from_label("FOO"), Err(DigestError::UnknownAlgorithm(l)) if l == "FOO"));
    }

    #[test]
    fn checks_length_and_hex() {
        let good = "0a9f".repeat(16);
        assert!(Algorithm::Sha256.check(&good.to_uppercase()).is_ok());
        assert_eq!(decode_sha256(&good.to_uppercase()), decode_sha256(&good));
        assert_eq!(hex::encode(decode_sha256(&good)), good);
        let e = Algorithm::Sha256.check("foo").unwrap_err();
        assert!(e.to_string().contains("'o' is not a hex digit"), "{e}");
        let e = Algorithm::Sha256.check(&"a".repeat(63)).unwrap_err();
        assert!(e.to_string().contains("expected 64 hex digits, found 63"), "{e}");
        assert!(Algorithm::Sha1.check(&"0".repeat(40)).is_ok());
        assert!(Algorithm::Sha1.check(&"0".repeat(64)).is_err());
        assert!(Algorithm::Blake3.check(&"0".repeat(64)).is_ok());
        assert!(Algorithm::Blake3.check("012").is_err());
        assert!(Algorithm::Blake3.check("").is_err());
    }

    #[test]
    fn quotes_long_values_shortened() {
        let e = Algorithm::Md5.check(&"z".repeat(10_000)).unwrap_err();
        assert!(e.to_string().len() < 300, "{e}");
    }
}
