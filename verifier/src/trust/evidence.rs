//! What a command gathered for [`super::admit`] to judge.
use std::path::PathBuf;

use provgate_oci::TrustedImage;
use provgate_sbom::{DigestRecord, Sha256};

pub enum Evidence {
    /// Files an admin vouches for by hand (`allow`), hashed.
    Manual { records: Vec<DigestRecord> },
    /// What is installed under `paths` now (`baseline`): trust on first use.
    Baseline { paths: Vec<PathBuf>, records: Vec<DigestRecord>, skipped: usize },
    /// One digest an admin approves (`approve`), typically after a denial at `path`. Unless
    /// `force`d, a digest other sources vouch for already is not approved again.
    Approval { sha256: Sha256, path: Option<String>, force: bool },
    /// An SBOM taken without a signature, said explicitly (`register --sbom --unsigned`).
    UnsignedSbom { sbom: PathBuf },
    /// An SBOM and the bundle that signs it.
    SignedSbom { sbom: PathBuf, bundle: PathBuf },
    /// A DSSE bundle carrying an in-toto statement (SLSA provenance, an SBOM predicate).
    Attestation { bundle: PathBuf },
    /// A file and the bundle that signs it.
    Artifact { file: PathBuf, bundle: PathBuf },
    /// An image whose signatures and attestations [`super::verify_image`] verified.
    Image(Box<TrustedImage>),
}
