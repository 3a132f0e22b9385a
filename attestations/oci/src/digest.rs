//! `sha256:<hex>` content digests of manifests and blobs. Registries name content by digest and
//! every byte fetched is checked against the digest it was asked for.
pub use provgate_attestations::Sha256 as Digest;

/// Why a string is not a canonical `sha256:<hex>` digest.
pub type DigestError = provgate_attestations::Sha256Error;

/// The tag cosign stores a digest's signatures under, minus the suffix: `sha256-<hex>`, which is
/// also the OCI referrers tag schema's tag.
pub fn tag_prefix(digest: Digest) -> String {
    format!("sha256-{}", digest.to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_canonical_sha256() {
        let hex = "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf";
        let digest: Digest = format!("sha256:{hex}").parse().unwrap();
        assert_eq!(digest.to_string(), format!("sha256:{hex}"));
        assert_eq!(tag_prefix(digest), format!("sha256-{hex}"));
        for bad in
            [hex.to_owned(), format!("sha256:{}", hex.to_uppercase()), format!("sha512:{hex}"), "sha256:abc".into()]
        {
            assert!(bad.parse::<Digest>().is_err(), "{bad}");
        }
        assert_eq!(Digest::of(b"abc").to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
