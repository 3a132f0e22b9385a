//! `provgate register`: add the digests a piece of evidence vouches for to the allowlist, as one
//! source. Signed evidence is verified against the Sigstore trusted root and authorized by the
//! trust policy first; an SBOM may also be taken unsigned, if that is said explicitly and not
//! forbidden. Any refusal adds nothing.
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use provgate_attestations::{CYCLONEDX_BOM, Rejection, SPDX_DOCUMENT, VerifiedProvenance};
use provgate_sbom::Format;
use serde_json::json;

use super::Paths;
use crate::{
    config::Config,
    hashing::{Sha256Digest, sha256_reader},
    provenance::{Evidence, EvidenceKind, SbomCrateReader, Trust, describe},
    store::{NewSource, SourceRecord, Store},
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
    /// The trust policy [default: trust_policy from the configuration].
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// The Sigstore trusted root [default: trusted_root from the configuration, else the
    /// public-good instance's].
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// Why this is trusted (kept in the audit log).
    #[arg(long)]
    reason: Option<String>,
}

/// What to register: exactly one.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct EvidenceArgs {
    /// An SBOM (SPDX 2 JSON or tag-value, SPDX 3 JSON-LD, CycloneDX JSON or XML), signed by
    /// --bundle (or --unsigned): its files' and single-artifact packages' SHA-256 digests.
    #[arg(long, value_name = "FILE")]
    sbom: Option<PathBuf>,
    /// A DSSE bundle carrying an in-toto statement: SLSA provenance (its subjects) or an SBOM
    /// predicate (its subjects and every file it lists).
    #[arg(long, value_name = "BUNDLE")]
    attestation: Option<PathBuf>,
    /// A file signed by --bundle: its own digest.
    #[arg(long, value_name = "FILE")]
    artifact: Option<PathBuf>,
}

pub fn run(paths: &Paths, config: &Config, args: Args) -> anyhow::Result<i32> {
    let e = &args.evidence;
    match (&e.sbom, &e.attestation, &e.artifact, &args.bundle, args.unsigned) {
        (Some(sbom), None, None, None, true) => {
            if args.forbid_unsigned || config.forbid_unsigned {
                eprintln!(
                    "provgate: unsigned registration is forbidden by policy (forbid_unsigned in the configuration, \
                     PROVGATE_FORBID_UNSIGNED or --forbid-unsigned); nothing was added"
                );
                return Ok(1);
            }
            register_unsigned_sbom(paths, sbom, args.reason)
        }
        (Some(file), None, None, None, false) | (None, None, Some(file), None, false) => {
            eprintln!(
                "provgate: {} is not signed evidence: give the bundle that signs it (--bundle B){}; nothing was added",
                file.display(),
                if e.sbom.is_some() { ", or --unsigned" } else { "" }
            );
            Ok(2)
        }
        (None, Some(_), None, Some(_), _) => {
            eprintln!("provgate: --attestation is itself a bundle; --bundle goes with --sbom or --artifact");
            Ok(2)
        }
        (None, _, _, _, true) => {
            eprintln!("provgate: --unsigned applies only to --sbom");
            Ok(2)
        }
        _ => {
            let trust = Trust::load(config, args.policy.as_deref(), args.trusted_root.as_deref())?;
            let outcome = if let (Some(sbom), Some(bundle)) = (&e.sbom, &args.bundle) {
                register_signed_sbom(&trust, sbom, bundle)
            } else if let (Some(artifact), Some(bundle)) = (&e.artifact, &args.bundle) {
                register_artifact(&trust, artifact, bundle)
            } else if let Some(attestation) = &e.attestation {
                register_attestation(&trust, attestation)
            } else {
                unreachable!("clap requires one kind of evidence")
            };
            match outcome? {
                Ok(signed) => store_signed(paths, signed, args.reason),
                Err(refusal) => {
                    eprintln!("provgate: {refusal}");
                    eprintln!("provgate: nothing was added to the allowlist");
                    Ok(1)
                }
            }
        }
    }
}

/// What a source's records come from.
enum Records {
    List(Vec<SourceRecord>),
    /// An SBOM, streamed into the store as it is read (checked to still have this digest).
    Sbom {
        path: PathBuf,
        sha256: Sha256Digest,
    },
}

/// Verified evidence, ready to become a source.
struct Signed {
    kind: &'static str,
    name: String,
    records: Records,
    verified: VerifiedProvenance,
    evidence: Evidence,
    /// Extra facts for the source's detail (the SBOM's name, counts...).
    about: serde_json::Value,
}

/// Either verified evidence, or a refusal to print (the first error is for I/O and the store).
type Outcome = anyhow::Result<Result<Signed, String>>;

fn read_bundle(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("bundle {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("bundle {}: not JSON", path.display()))
}

/// Signatures that sign the message itself (Ed25519) need the bytes; digests suffice for the
/// rest, so large files are not held in memory.
const VERIFY_BYTES_UP_TO: u64 = 64 << 20;

fn subject_bytes(path: &Path) -> anyhow::Result<(Sha256Digest, Option<Vec<u8>>)> {
    let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let len = file.metadata().with_context(|| format!("{}", path.display()))?.len();
    if len <= VERIFY_BYTES_UP_TO {
        let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
        Ok((sha256_reader(&bytes[..])?, Some(bytes)))
    } else {
        Ok((sha256_reader(&file).with_context(|| format!("{}", path.display()))?, None))
    }
}

fn refusal(bundle: &Path, rejection: Rejection) -> String {
    format!("{}: {rejection}", bundle.display())
}

fn sbom_predicate_type(format: Format) -> &'static str {
    match format {
        Format::SpdxJson | Format::SpdxTagValue | Format::Spdx3JsonLd => SPDX_DOCUMENT,
        Format::CyclonedxJson | Format::CyclonedxXml => CYCLONEDX_BOM,
    }
}

fn register_signed_sbom(trust: &Trust, sbom: &Path, bundle_path: &Path) -> Outcome {
    let format = match sbom_format(sbom) {
        Ok(format) => format,
        Err(message) => return Ok(Err(message)),
    };
    let (digest, bytes) = subject_bytes(sbom)?;
    let evidence = Evidence {
        kind: EvidenceKind::Sbom,
        bundle: read_bundle(bundle_path)?,
        subject: Some(digest.to_string()),
        sbom_predicate_type: Some(sbom_predicate_type(format).to_owned()),
    };
    let verified = match evidence.verify(trust, bytes.as_deref()) {
        Ok(v) => v,
        Err(rejection) => return Ok(Err(refusal(bundle_path, rejection))),
    };
    Ok(Ok(Signed {
        kind: "sbom",
        name: sbom.display().to_string(),
        about: json!({}),
        records: Records::Sbom { path: sbom.to_owned(), sha256: digest },
        verified,
        evidence,
    }))
}

/// The SBOM's format, detected from its content.
fn sbom_format(path: &Path) -> Result<Format, String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    provgate_sbom::detect(&mut file, &provgate_sbom::Limits::default())
        .map(|(format, _)| format)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn register_artifact(trust: &Trust, artifact: &Path, bundle_path: &Path) -> Outcome {
    let (digest, bytes) = subject_bytes(artifact)?;
    let evidence = Evidence {
        kind: EvidenceKind::Artifact,
        bundle: read_bundle(bundle_path)?,
        subject: Some(digest.to_string()),
        sbom_predicate_type: None,
    };
    let verified = match evidence.verify(trust, bytes.as_deref()) {
        Ok(v) => v,
        Err(rejection) => return Ok(Err(refusal(bundle_path, rejection))),
    };
    let absolute = std::path::absolute(artifact).unwrap_or_else(|_| artifact.to_owned()).display().to_string();
    Ok(Ok(Signed {
        kind: "artifact",
        name: absolute.clone(),
        records: Records::List(vec![SourceRecord { digest, path: Some(absolute.clone()), package: None }]),
        about: json!({ "file": absolute }),
        verified,
        evidence,
    }))
}

fn register_attestation(trust: &Trust, bundle_path: &Path) -> Outcome {
    let evidence = Evidence {
        kind: EvidenceKind::Attestation,
        bundle: read_bundle(bundle_path)?,
        subject: None,
        sbom_predicate_type: None,
    };
    let verified = match evidence.verify(trust, None) {
        Ok(v) => v,
        Err(rejection) => return Ok(Err(refusal(bundle_path, rejection))),
    };
    let allowed = match verified.allowlist(&SbomCrateReader) {
        Ok(a) => a,
        Err(e) => return Ok(Err(format!("{}: {e}", bundle_path.display()))),
    };
    let predicate_type = match &verified.bundle.content {
        provgate_attestations::SignedContent::Statement(s) => s.predicate_type.clone(),
        provgate_attestations::SignedContent::ArtifactSignature { .. } => {
            return Ok(Err(format!(
                "{}: a signature over an artifact, not an attestation; register it with --artifact FILE --bundle",
                bundle_path.display()
            )));
        }
    };
    if allowed.is_empty() {
        return Ok(Err(format!(
            "{}: the {predicate_type} statement vouches for no SHA-256 digest provgate can use",
            bundle_path.display()
        )));
    }
    let records = Records::List(
        allowed
            .into_iter()
            .map(|a| SourceRecord { digest: Sha256Digest(a.sha256), path: a.path, package: a.package })
            .collect(),
    );
    Ok(Ok(Signed {
        kind: "attestation",
        name: format!("{predicate_type} ({})", bundle_path.display()),
        about: json!({ "bundle": bundle_path.display().to_string() }),
        records,
        verified,
        evidence,
    }))
}

fn store_signed(paths: &Paths, signed: Signed, reason: Option<String>) -> anyhow::Result<i32> {
    let mut detail = signed.verified.detail();
    if let (Some(detail), Some(about)) = (detail.as_object_mut(), signed.about.as_object()) {
        detail.extend(about.clone());
    }
    let signer = &signed.verified.bundle.signer;
    let source = NewSource {
        kind: signed.kind,
        name: signed.name.clone(),
        signer: Some(signer.identity()),
        issuer: signer.issuer().map(str::to_owned),
        detail: Some(detail),
        created_by: super::allow::current_user(),
        reason,
        evidence: Some(serde_json::to_value(&signed.evidence)?),
    };
    let stored = match &signed.records {
        Records::List(records) => {
            Ok((Store::open(&paths.db)?.add_source(&source, records)?, records.len() as u64, signed.name))
        }
        Records::Sbom { path, sha256 } => store_sbom(paths, source, path, Some(*sha256))?,
    };
    let (id, count, name) = match stored {
        Ok(stored) => stored,
        Err(refusal) => {
            eprintln!("provgate: {refusal}");
            eprintln!("provgate: nothing was added to the allowlist");
            return Ok(1);
        }
    };
    println!("registered {count} SHA-256 digests from {name} ({}) as source #{id}", describe(&signed.verified));
    super::notify_daemon(paths);
    Ok(0)
}

/// Streams an SBOM's records into a new source, so memory does not grow with the document;
/// the source gets the SBOM's name and facts in its detail. Nothing is stored unless the whole
/// document reads, has SHA-256 records, and (when given) still has the digest that was verified.
/// Returns (source id, records, name), or a refusal.
fn store_sbom(
    paths: &Paths,
    source: NewSource,
    path: &Path,
    verified_sha256: Option<Sha256Digest>,
) -> anyhow::Result<Result<(i64, u64, String), String>> {
    let mut store = Store::open(&paths.db)?;
    let mut writer = store.begin_source(&source)?;
    let mut store_error = None;
    let read = super::sbom::read_sbom(path, &mut |r| {
        let record =
            SourceRecord { digest: Sha256Digest(r.sha256.0), path: r.path, package: r.package.and_then(|p| p.label()) };
        if store_error.is_none()
            && let Err(e) = writer.add(&record)
        {
            store_error = Some(e);
        }
    });
    if let Some(e) = store_error {
        return Err(e.into());
    }
    let read = match read {
        Ok(read) => read,
        Err(e) => {
            return Ok(Err(e.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ")));
        }
    };
    let summary = &read.summary;
    for line in super::sbom::problem_lines(path, summary) {
        eprintln!("provgate: warning: {line}");
    }
    if writer.records() == 0 {
        return Ok(Err(format!(
            "{}: no SHA-256 digest in this SBOM ({} files, {} packages, {} digests in other algorithms)",
            path.display(),
            summary.files,
            summary.packages,
            summary.skipped_total()
        )));
    }
    if verified_sha256.is_some_and(|d| d != read.file_sha256) {
        return Ok(Err(format!("{}: changed after its signature was verified", path.display())));
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut detail = source.detail.clone().unwrap_or_else(|| json!({}));
    if let Some(object) = detail.as_object_mut() {
        object.extend(
            json!({
                "file": absolute.display().to_string(),
                "sbom_sha256": read.file_sha256.to_hex(),
                "format": summary.format,
                "spec_version": summary.spec_version,
                "name": summary.name,
                "namespace": summary.namespace,
                "files": summary.files,
                "packages": summary.packages,
                "sha256_digests": summary.sha256_digests,
                "skipped_algorithms": summary.skipped_algorithms,
                "signed": source.signer.is_some(),
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
    }
    let name = summary.name.clone().unwrap_or_else(|| absolute.display().to_string());
    let count = writer.records();
    let id = writer.commit(Some((name.clone(), Some(detail))))?;
    Ok(Ok((id, count, name)))
}

fn register_unsigned_sbom(paths: &Paths, path: &Path, reason: Option<String>) -> anyhow::Result<i32> {
    let source = NewSource {
        kind: "sbom-unsigned",
        name: path.display().to_string(),
        created_by: super::allow::current_user(),
        reason,
        ..Default::default()
    };
    match store_sbom(paths, source, path, None)? {
        Ok((id, count, _)) => {
            println!(
                "registered {count} SHA-256 digests from {} (UNSIGNED) as source #{id} in {}",
                path.display(),
                paths.db.display()
            );
            super::notify_daemon(paths);
            Ok(0)
        }
        Err(refusal) => {
            eprintln!("provgate: {refusal}");
            eprintln!("provgate: nothing was added to the allowlist");
            Ok(1)
        }
    }
}
