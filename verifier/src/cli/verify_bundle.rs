//! `provgate verify-bundle`: verifies one Sigstore bundle offline, with the command line of the
//! sigstore-conformance client protocol. Exit status 0 means verified.
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::ArgGroup;
use provgate_attestations::{
    ArtifactRef, BundleVerifier, Check, PublicKey, Rejection, SignedContent, TrustPolicy, TrustRoot,
    VerifiedProvenance, formats, verify_and_authorize,
};

use crate::hashing::Sha256;

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("signer").required(true).args(["certificate_identity", "key"])))]
pub struct Args {
    /// Use the Sigstore staging instance's trusted root instead of the public-good one.
    #[arg(long, conflicts_with = "trusted_root")]
    staging: bool,
    /// The Sigstore bundle (v0.1 to v0.3), or cosign's blob bundle (`sign-blob --bundle`).
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    /// The identity the signing certificate must assert (its SAN), matched exactly.
    #[arg(long, value_name = "IDENTITY", requires = "certificate_oidc_issuer")]
    certificate_identity: Option<String>,
    /// The OIDC issuer the signing certificate must name, matched exactly.
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    certificate_oidc_issuer: Option<String>,
    /// A PEM public key to verify a managed-key bundle with, instead of a certificate identity.
    #[arg(long, value_name = "PUBLIC_KEY_PEM", conflicts_with = "certificate_identity")]
    key: Option<PathBuf>,
    /// The trusted_root.json of the Sigstore deployment (default: the public-good instance's).
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// The artifact: a path, or its digest as sha256:<64 hex>. For a bundle holding an in-toto
    /// statement, one of the statement's subjects.
    #[arg(value_name = "FILE_OR_DIGEST")]
    file_or_digest: String,
}

pub fn run(args: Args) -> anyhow::Result<i32> {
    let root = match (&args.trusted_root, args.staging) {
        (Some(path), _) => TrustRoot::from_file(path)?,
        (None, true) => TrustRoot::staging(),
        (None, false) => TrustRoot::public_good(),
    };
    let verifier = BundleVerifier::new(&root)?;
    let policy = match (&args.key, &args.certificate_identity, &args.certificate_oidc_issuer) {
        (Some(key), _, _) => TrustPolicy::single_key(PublicKey::from_file(key)?),
        (None, Some(identity), Some(issuer)) => TrustPolicy::exact_identity(identity, issuer),
        _ => unreachable!("clap requires an identity and issuer, or a key"),
    };
    let artifact_bytes;
    let artifact = match artifact_digest(&args.file_or_digest) {
        Some(digest) => ArtifactRef::Sha256(digest),
        None => {
            let path = Path::new(&args.file_or_digest);
            artifact_bytes = std::fs::read(path).with_context(|| format!("artifact {}", path.display()))?;
            ArtifactRef::Bytes(&artifact_bytes)
        }
    };
    let outcome = formats::single_bundle(&args.bundle)
        .map_err(|e| Rejection::new(Check::Bundle, e.to_string()))
        .and_then(|bundle| verify_and_authorize(&verifier, &policy, &bundle, Some(artifact)));
    match outcome {
        Ok(verified) => {
            println!("OK: {}: {}", args.bundle.display(), summary(&verified));
            Ok(0)
        }
        Err(rejection) => {
            eprintln!("provgate: {}: {rejection}", args.bundle.display());
            Ok(1)
        }
    }
}

/// `sha256:<64 hex>` names a digest, unless a file of that name exists.
fn artifact_digest(file_or_digest: &str) -> Option<Sha256> {
    let hex = file_or_digest.strip_prefix("sha256:")?;
    if hex.len() != 64 || Path::new(file_or_digest).exists() {
        return None;
    }
    Sha256::parse_lenient(hex)
}

fn summary(verified: &VerifiedProvenance) -> String {
    let bundle = &verified.bundle;
    let mut out = format!("signed by {}", bundle.signer.identity());
    if let Some(issuer) = bundle.signer.issuer() {
        out.push_str(&format!(" (issuer {issuer})"));
    }
    match &bundle.content {
        SignedContent::ArtifactSignature { sha256 } => out.push_str(&format!(", artifact {sha256}")),
        SignedContent::Statement(statement) => {
            out.push_str(&format!(", in-toto statement {}", statement.predicate_type))
        }
    }
    if let Some(index) = bundle.log_index() {
        out.push_str(&format!(", log index {index}"));
    }
    if let Some(time) = bundle.signed_at() {
        out.push_str(&format!(", signed at {time}"));
    }
    out
}
