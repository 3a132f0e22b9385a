//! `provgate register`: add the digests a piece of evidence vouches for to the allowlist, as one
//! source. Signed evidence is verified against the Sigstore trusted root and authorized by the
//! trust policy first; an SBOM may also be taken unsigned, if that is said explicitly and not
//! forbidden. Any refusal adds nothing.
use std::path::PathBuf;

use super::{Paths, Reason, limit_args::LimitArgs, notify_daemon, refused, trust_args::TrustArgs};
use crate::{
    config::Config,
    store::Store,
    trust::{self, ArtifactSubject, Circumstances, Contents, Evidence},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    evidence: EvidenceArgs,
    /// The Sigstore bundle signing the SBOM or the artifact.
    #[arg(long, value_name = "BUNDLE", conflicts_with = "unsigned")]
    bundle: Option<PathBuf>,
    /// Take an SBOM without any signature. Must be said explicitly; the source is recorded as
    /// unsigned, and configuration can forbid it.
    #[arg(long)]
    unsigned: bool,
    /// Refuse unsigned registration, whatever else is asked (also `forbid_unsigned` in the
    /// configuration). The variable takes 1/0, true/false, yes/no, on/off; anything else is an
    /// error, so a typo never allows.
    #[arg(long, env = "PROVGATE_FORBID_UNSIGNED", value_parser = clap::builder::BoolishValueParser::new())]
    forbid_unsigned: bool,
    /// Keep the archive's digest only: do not read a signed package's files (by default an npm
    /// tarball, a wheel or sdist, a zip, a tar.{gz,xz,zst}, a deb or an rpm vouches for every
    /// file it holds too).
    #[arg(long)]
    no_contents: bool,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    reason: Reason,
}

/// What to register: one kind, or an attestation and the artifact it is about.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = true)]
pub struct EvidenceArgs {
    /// An SBOM (SPDX 2 JSON or tag-value, SPDX 3 JSON-LD, CycloneDX JSON or XML), signed by
    /// --bundle (or --unsigned): its files' SHA-256 digests (and packages' that are named files, such as archives).
    #[arg(long, value_name = "FILE")]
    sbom: Option<PathBuf>,
    /// A DSSE bundle carrying an in-toto statement: SLSA provenance or a publish attestation
    /// (its subjects) or an SBOM predicate (its subjects and every file it lists); or a file of
    /// several: npm's attestations response, PyPI's provenance object, a PEP 740 attestation.
    /// With --artifact, the attestations are about that file and vouch for it alone.
    #[arg(long, value_name = "BUNDLE", conflicts_with = "sbom")]
    attestation: Option<PathBuf>,
    /// A file signed by --bundle (or attested by --attestation), or only its digest
    /// (sha256:HEX): that digest, and, for a package archive (npm, wheel, sdist, zip, tar, deb,
    /// rpm), every file it holds unless --no-contents.
    #[arg(long, value_name = "FILE", conflicts_with = "sbom")]
    artifact: Option<PathBuf>,
}

impl EvidenceArgs {
    /// The evidence named, with `bundle` or, for an SBOM said to be `unsigned`, without; a
    /// misuse of the flags is a message.
    pub fn evidence(self, bundle: Option<PathBuf>, unsigned: bool, contents: Contents) -> Result<Evidence, String> {
        let EvidenceArgs { sbom, attestation, artifact } = self;
        Ok(match (sbom, attestation, artifact, bundle, unsigned) {
            (Some(sbom), None, None, None, true) => Evidence::UnsignedSbom { sbom },
            (Some(sbom), None, None, Some(bundle), false) => Evidence::SignedSbom { sbom, bundle },
            (None, None, Some(file), Some(bundle), false) => {
                Evidence::Artifact { subject: ArtifactSubject::parse(file.as_os_str()), bundle, contents }
            }
            (None, Some(bundle), artifact, None, false) => {
                let artifact = artifact.map(|a| ArtifactSubject::parse(a.as_os_str()));
                Evidence::Attestation { bundle, artifact, contents }
            }
            (sbom, None, artifact, None, false) => {
                let (file, or_unsigned) = match (sbom, artifact) {
                    (Some(sbom), _) => (sbom, ", or --unsigned"),
                    (None, Some(artifact)) => (artifact, ""),
                    (None, None) => unreachable!("clap requires one kind of evidence"),
                };
                return Err(format!(
                    "{} is not signed evidence: give the bundle that signs it (--bundle B){or_unsigned}; nothing was added",
                    file.display()
                ));
            }
            (None, Some(_), _, Some(_), _) => {
                return Err("--attestation is itself a bundle; --bundle goes with --sbom or --artifact".into());
            }
            _ => return Err("--unsigned applies only to --sbom".into()),
        })
    }
}

pub fn run(paths: &Paths, config: &Config, args: Args) -> anyhow::Result<i32> {
    let contents = (!args.no_contents).then(|| args.limits.limits());
    let evidence = match args.evidence.evidence(args.bundle, args.unsigned, contents) {
        Ok(evidence) => evidence,
        Err(misuse) => {
            eprintln!("provgate: {misuse}");
            return Ok(2);
        }
    };
    let trust = match evidence {
        Evidence::UnsignedSbom { .. } => None,
        _ => Some(args.trust.load(config)?),
    };
    let unsigned_sbom = match &evidence {
        Evidence::UnsignedSbom { sbom } => Some(sbom.display().to_string()),
        _ => None,
    };
    let circumstances = Circumstances {
        trust: trust.as_ref(),
        forbid_unsigned: args.forbid_unsigned || config.forbid_unsigned,
        reason: args.reason.text,
    };
    // The store is opened only for evidence that was admitted: a refusal leaves no trace.
    let admission = match trust::admit(evidence, circumstances)? {
        Ok(admission) => admission,
        Err(refusal) => return Ok(refused(&refusal)),
    };
    let committed = match trust::commit(&mut Store::open(&paths.db)?, admission)? {
        Ok(committed) => committed,
        Err(refusal) => return Ok(refused(&refusal)),
    };
    if let Some(sbom) = unsigned_sbom {
        println!(
            "registered {} SHA-256 digests from {sbom} (UNSIGNED) as source #{} in {}",
            committed.records,
            committed.id,
            paths.db.display()
        );
    } else {
        println!(
            "registered {} SHA-256 digests from {} ({}) as source #{}",
            committed.records, committed.name, committed.verified, committed.id
        );
    }
    if let Some(contents) = &committed.contents {
        println!("{contents}");
    }
    notify_daemon(paths);
    Ok(0)
}
