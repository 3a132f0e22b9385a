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
    /// Attestations: a DSSE bundle carrying an in-toto statement (SLSA provenance, a publish
    /// attestation, an SBOM predicate), or a file of several (npm's attestations response,
    /// PyPI's provenance object, a PEP 740 attestation). With `artifact`, they are about that
    /// artifact, matched by whichever digest their subjects name it by, and vouch for it and,
    /// when it is a package, for its files (see `contents`).
    Attestation { bundle: PathBuf, artifact: Option<ArtifactSubject>, contents: Contents },
    /// A file, or only its digest, and the bundle that signs it.
    Artifact { subject: ArtifactSubject, bundle: PathBuf, contents: Contents },
    /// An image whose signatures and attestations [`super::verify_image`] verified.
    Image(Box<TrustedImage>),
    /// An installed OS package: the entry a verified archive index has for it, and its `.deb`
    /// (`os trust`), read under `limits`.
    OsPackage { vouched: Box<super::Vouched>, deb: PathBuf, limits: provgate_archive::Limits },
}

/// Whether a signed artifact that is a package (an npm tarball, a wheel or sdist, a zip, a
/// tar, a deb) vouches for its files too: `Some` reads them under these bounds, `None`
/// (`--no-contents`, or no file at hand) keeps the archive's digest only.
pub type Contents = Option<provgate_archive::Limits>;

/// What an artifact signature is checked against.
#[derive(Clone, Debug)]
pub enum ArtifactSubject {
    /// The file itself, hashed here (and read whole when small, for signatures over the bytes).
    File(PathBuf),
    /// Only its digest, where the file is not at hand (`--artifact sha256:...`, a feed item);
    /// `name` is what the source is called.
    Digest { sha256: Sha256, name: String },
}

impl ArtifactSubject {
    /// `sha256:<hex>` names a digest unless a file has that name; anything else is a file.
    pub fn parse(text: &std::ffi::OsStr) -> Self {
        let path = PathBuf::from(text);
        match text.to_str().and_then(|t| t.parse::<Sha256>().ok()) {
            Some(sha256) if !path.exists() => ArtifactSubject::Digest { sha256, name: sha256.to_string() },
            _ => ArtifactSubject::File(path),
        }
    }
}
