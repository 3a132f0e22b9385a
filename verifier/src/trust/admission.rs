//! Evidence in, an admission or a refusal out; an admission stored as one source.
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use provgate_attestations::{
    ArtifactDigests, ArtifactRef, Attestations, Check, Container, FormatError, Rejection, SignedContent,
    VerifiedProvenance,
};
use provgate_sbom::{DigestRecord, Sha256};
use serde_json::json;

use super::{
    ArtifactSubject, Contents, Evidence, SourceKind, StoredArtifact, StoredEvidence, Trust,
    actor::current_user,
    os_archive, package,
    policy::describe,
    sbom::{self, PredicateReader},
};
use crate::store::{NewSource, Store};

/// Why evidence was not admitted, for the user; nothing was stored.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Where an admitted source's records come from.
pub enum Records {
    List(Vec<DigestRecord>),
    /// An SBOM file, streamed into the store as it is read, so memory does not grow with the
    /// document; when signed, it must still have the digest that was verified.
    SbomFile {
        path: PathBuf,
        verified: Option<Sha256>,
    },
}

/// Evidence that passed: the source to add and its records.
pub struct Admission {
    pub source: NewSource,
    pub records: Records,
    /// How the evidence was verified, one line (empty for unsigned kinds).
    pub verified: String,
    /// Refused at commit if every digest is vouched for already (an approval not forced).
    pub only_if_new: bool,
    /// One line on what else was read (a package's files), for the user.
    pub contents: Option<String>,
}

impl Admission {
    /// The records listed (none for an SBOM streamed at commit).
    pub fn records(&self) -> &[DigestRecord] {
        match &self.records {
            Records::List(records) => records,
            Records::SbomFile { .. } => &[],
        }
    }
}

/// A source stored: its id, how many records, its name, how it was verified.
pub struct Committed {
    pub id: i64,
    pub records: u64,
    pub name: String,
    /// One line on the signature that vouched (empty for unsigned kinds).
    pub verified: String,
    /// One line on what else was read (a package's files).
    pub contents: Option<String>,
}

/// [`admit`], then [`commit`]: what every command that adds trust calls.
pub fn accept(
    store: &mut Store,
    evidence: Evidence,
    circumstances: Circumstances<'_>,
) -> anyhow::Result<Result<Committed, Refusal>> {
    match admit(evidence, circumstances)? {
        Ok(admission) => commit(store, admission),
        Err(refusal) => Ok(Err(refusal)),
    }
}

/// What `admit` needs beyond the evidence.
pub struct Circumstances<'a> {
    /// The trust in force; signed evidence is refused without it.
    pub trust: Option<&'a Trust>,
    /// Unsigned SBOMs are refused (configuration, environment or flag).
    pub forbid_unsigned: bool,
    /// Why the admin trusts this (kept in the audit log).
    pub reason: Option<String>,
}

/// Judges evidence. The outer error is for I/O (an unreadable bundle, say); the inner one is a
/// refusal to report.
pub fn admit(evidence: Evidence, circumstances: Circumstances<'_>) -> anyhow::Result<Result<Admission, Refusal>> {
    let Circumstances { trust, forbid_unsigned, reason } = circumstances;
    let unsigned = |kind: SourceKind, name: String, detail: Option<serde_json::Value>, records: Records| Admission {
        source: NewSource {
            kind,
            name,
            signer: None,
            issuer: None,
            detail,
            created_by: current_user(),
            reason: reason.clone(),
            evidence: None,
        },
        records,
        verified: String::new(),
        only_if_new: false,
        contents: None,
    };
    Ok(Ok(match evidence {
        Evidence::Manual { records } => unsigned(
            SourceKind::Manual,
            format!("provgate allow ({} files)", records.len()),
            None,
            Records::List(records),
        ),
        Evidence::Baseline { paths, records, skipped } => {
            if records.is_empty() {
                return Ok(Err(Refusal(format!("no candidate files under {}", list(&paths)))));
            }
            let detail = json!({ "paths": paths, "files": records.len(), "skipped": skipped });
            unsigned(
                SourceKind::Baseline,
                format!("baseline of {}", list(&paths)),
                Some(detail),
                Records::List(records),
            )
        }
        Evidence::Approval { sha256, path, force } => {
            if reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Ok(Err(Refusal("an approval must say why this code may run (--reason)".into())));
            }
            let detail = path.as_ref().map(|p| json!({ "path": p }));
            let records = Records::List(vec![DigestRecord { sha256, path, package: None }]);
            let mut admission = unsigned(SourceKind::Approval, format!("approval of {sha256}"), detail, records);
            admission.only_if_new = !force;
            admission
        }
        Evidence::UnsignedSbom { sbom } => {
            if forbid_unsigned {
                return Ok(Err(Refusal(
                    "unsigned registration is forbidden by policy (forbid_unsigned in the configuration, \
                     PROVGATE_FORBID_UNSIGNED or --forbid-unsigned)"
                        .into(),
                )));
            }
            let name = std::path::absolute(&sbom).unwrap_or_else(|_| sbom.clone()).display().to_string();
            unsigned(SourceKind::SbomUnsigned, name, None, Records::SbomFile { path: sbom, verified: None })
        }
        Evidence::SignedSbom { sbom, bundle } => return signed_sbom(need(trust)?, &sbom, &bundle, reason),
        Evidence::Artifact { subject, bundle, contents } => {
            return artifact(need(trust)?, &subject, &bundle, contents, reason);
        }
        Evidence::Attestation { bundle, artifact, contents } => {
            return attestations(need(trust)?, &bundle, artifact.as_ref(), contents, reason);
        }
        Evidence::Image(image) => image_admission(*image, reason)?,
        Evidence::OsPackage { vouched, deb, limits } => {
            return Ok(os_archive::admit_deb(&vouched, &deb, &limits, reason));
        }
    }))
}

fn need(trust: Option<&Trust>) -> anyhow::Result<&Trust> {
    trust.context("signed evidence needs a trust policy")
}

fn list(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ")
}

fn read_bundle(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("bundle {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("bundle {}: not JSON", path.display()))
}

/// Signatures that sign the message itself (Ed25519) need the bytes; digests suffice for the
/// rest, so large files are not held in memory.
const VERIFY_BYTES_UP_TO: u64 = 64 << 20;

/// The file's digests (SHA-256 for the allowlist, SHA-512 for statements that name subjects by
/// it), and its bytes when small enough to keep.
fn subject_bytes(path: &Path) -> anyhow::Result<(ArtifactDigests, Option<Vec<u8>>)> {
    let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let len = file.metadata().with_context(|| format!("{}", path.display()))?.len();
    if len <= VERIFY_BYTES_UP_TO {
        let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
        Ok((ArtifactDigests::of(&bytes), Some(bytes)))
    } else {
        Ok((ArtifactDigests::of_reader(&file).with_context(|| format!("{}", path.display()))?, None))
    }
}

fn artifact_ref(digests: ArtifactDigests, bytes: &Option<Vec<u8>>) -> ArtifactRef<'_> {
    match bytes {
        Some(bytes) => ArtifactRef::Bytes(bytes),
        None => ArtifactRef::Digests(digests),
    }
}

fn rejected(bundle: &Path, rejection: Rejection) -> anyhow::Result<Result<Admission, Refusal>> {
    Ok(Err(Refusal(format!("{}: {rejection}", bundle.display()))))
}

fn signed_source(
    kind: SourceKind,
    name: String,
    verified: &provgate_attestations::VerifiedProvenance,
    about: serde_json::Value,
    evidence: StoredEvidence,
    reason: Option<String>,
) -> anyhow::Result<NewSource> {
    let mut detail = verified.detail();
    if let (Some(detail), Some(about)) = (detail.as_object_mut(), about.as_object()) {
        detail.extend(about.clone());
    }
    let signer = &verified.bundle.signer;
    Ok(NewSource {
        kind,
        name,
        signer: Some(signer.identity()),
        issuer: signer.issuer().map(str::to_owned),
        detail: Some(detail),
        created_by: current_user(),
        reason,
        evidence: Some(serde_json::to_value(evidence)?),
    })
}

fn signed_sbom(
    trust: &Trust,
    sbom_path: &Path,
    bundle_path: &Path,
    reason: Option<String>,
) -> anyhow::Result<Result<Admission, Refusal>> {
    let format = match sbom::detect_file(sbom_path) {
        Ok(format) => format,
        Err(message) => return Ok(Err(Refusal(message))),
    };
    let (digests, bytes) = subject_bytes(sbom_path)?;
    let digest = digests.sha256;
    let bundle = read_bundle(bundle_path)?;
    let predicate_type = sbom::predicate_type(format);
    let verified = match trust.verify_bundle(&bundle, Some(artifact_ref(digests, &bytes)), Some(predicate_type)) {
        Ok(v) => v,
        Err(rejection) => return rejected(bundle_path, rejection),
    };
    let evidence = StoredEvidence::Sbom { bundle, subject: digest, sbom_predicate_type: predicate_type.to_owned() };
    let name = std::path::absolute(sbom_path).unwrap_or_else(|_| sbom_path.to_owned()).display().to_string();
    let source = signed_source(SourceKind::Sbom, name, &verified, json!({}), evidence, reason)?;
    let records = Records::SbomFile { path: sbom_path.to_owned(), verified: Some(digest) };
    Ok(Ok(Admission { source, records, verified: describe(&verified), only_if_new: false, contents: None }))
}

fn artifact(
    trust: &Trust,
    subject: &ArtifactSubject,
    bundle_path: &Path,
    contents: Contents,
    reason: Option<String>,
) -> anyhow::Result<Result<Admission, Refusal>> {
    let bundle = read_bundle(bundle_path)?;
    // npm's response, PyPI's objects: not one bundle, so read as attestations about the file.
    if bundle.get("mediaType").is_none() {
        return attestations(trust, bundle_path, Some(subject), contents, reason);
    }
    let (sha256, digests, bytes, name, path) = match subject {
        ArtifactSubject::File(file) => {
            let (digests, bytes) = subject_bytes(file)?;
            (digests.sha256, Some(digests), bytes, absolute(file), Some(absolute(file)))
        }
        // Only the digest: the source names no path on this host.
        ArtifactSubject::Digest { sha256, name } => (*sha256, None, None, name.clone(), None),
    };
    let artifact = match &digests {
        Some(digests) => artifact_ref(*digests, &bytes),
        None => ArtifactRef::Sha256(sha256),
    };
    let verified = match trust.verify_bundle(&bundle, Some(artifact), None) {
        Ok(v) => v,
        Err(rejection) => return rejected(bundle_path, rejection),
    };
    let mut about = json!({ "file": name });
    let mut records = vec![DigestRecord { sha256, path, package: None }];
    let read = match (subject, contents) {
        (ArtifactSubject::File(file), Some(limits)) => match package::contents(file, sha256, &limits) {
            Ok(read) => read,
            Err(refusal) => return Ok(Err(refusal)),
        },
        _ => None,
    };
    let summary = read.map(|read| {
        about["package"] = read.about;
        records.extend(read.records);
        read.summary
    });
    let evidence = StoredEvidence::Artifact { bundle, subject: sha256, sha512: digests.map(|d| d.sha512) };
    let source = signed_source(SourceKind::Artifact, name, &verified, about, evidence, reason)?;
    let records = Records::List(records);
    Ok(Ok(Admission { source, records, verified: describe(&verified), only_if_new: false, contents: summary }))
}

fn absolute(file: &Path) -> String {
    std::path::absolute(file).unwrap_or_else(|_| file.to_owned()).display().to_string()
}

/// One attestation of a file that vouched, and what for.
struct Used {
    label: String,
    verified: VerifiedProvenance,
    bundle: serde_json::Value,
}

/// The attestations of a file (one bundle, npm's response, PEP 740 objects), about `artifact`
/// when given. Each is verified and its signer authorized: those that pass are used; one the
/// policy does not authorize, or that is about another artifact, is set aside and said why;
/// one whose cryptography fails refuses the whole file, since a file that carries a forged or
/// broken signature is not trusted in part. With an artifact, the record is the artifact's
/// SHA-256 alone (a publish attestation vouches for the file published, nothing else); without
/// one, the subjects' SHA-256 digests.
fn attestations(
    trust: &Trust,
    path: &Path,
    artifact: Option<&ArtifactSubject>,
    contents: Contents,
    reason: Option<String>,
) -> anyhow::Result<Result<Admission, Refusal>> {
    let refuse = |message: String| Ok(Err(Refusal(format!("{}: {message}", path.display()))));
    let read = match Attestations::from_file(path) {
        Ok(read) => read,
        Err(FormatError::Read(e)) => return Err(anyhow::Error::new(e).context(path.display().to_string())),
        Err(e) => return refuse(e.to_string()),
    };
    let subject = match artifact {
        Some(ArtifactSubject::File(file)) => {
            let opened = std::fs::File::open(file).with_context(|| file.display().to_string())?;
            let digests = ArtifactDigests::of_reader(opened).with_context(|| file.display().to_string())?;
            Some((StoredArtifact { sha256: digests.sha256, sha512: Some(digests.sha512) }, absolute(file), true))
        }
        Some(ArtifactSubject::Digest { sha256, name }) => {
            Some((StoredArtifact { sha256: *sha256, sha512: None }, name.clone(), false))
        }
        None => None,
    };
    let single = read.attestations.len() == 1;
    let mut used = Vec::new();
    let mut set_aside = Vec::new();
    let mut records: Vec<DigestRecord> = Vec::new();
    for attestation in read.attestations {
        let label = attestation.label;
        let at =
            |message: &dyn std::fmt::Display| if single { message.to_string() } else { format!("{label}: {message}") };
        let artifact_ref = subject.as_ref().map(|(stored, _, _)| stored.artifact_ref());
        let verified = match trust.verify_bundle(&attestation.bundle, artifact_ref, None) {
            Ok(verified) => verified,
            Err(rejection) if matches!(rejection.check, Check::Identity | Check::Policy | Check::Artifact) => {
                set_aside.push(at(&rejection));
                continue;
            }
            Err(rejection) => return refuse(format!("{}; nothing was added", at(&rejection))),
        };
        match (&subject, &verified.bundle.content) {
            (Some((stored, file, on_host)), _) => {
                records.push(DigestRecord { sha256: stored.sha256, path: on_host.then(|| file.clone()), package: None })
            }
            // Not reached: a plain signature does not verify without its artifact.
            (None, SignedContent::ArtifactSignature { .. }) => {
                set_aside.push(at(&"a signature over an artifact: give it with --artifact FILE"));
                continue;
            }
            (None, SignedContent::Statement(statement)) => {
                let vouched = match verified.allowlist(&PredicateReader) {
                    Ok(vouched) => vouched,
                    Err(e) => return refuse(at(&e)),
                };
                if vouched.is_empty() {
                    let sha512_only = statement.subjects.iter().all(|s| s.sha256().is_none() && s.sha512().is_some());
                    set_aside.push(at(&if sha512_only {
                        format!(
                            "the {} statement names its subjects by SHA-512 only; give the artifact it is about \
                             (--artifact FILE) so that its SHA-256 can be recorded",
                            statement.predicate_type
                        )
                    } else {
                        format!(
                            "the {} statement vouches for no SHA-256 digest provgate can use",
                            statement.predicate_type
                        )
                    }));
                    continue;
                }
                records.extend(vouched);
            }
        }
        used.push(Used { label, verified, bundle: attestation.bundle });
    }
    if used.is_empty() {
        return refuse(set_aside.join("; "));
    }
    // The artifact vouched for (by at least one attestation used) may be a package: its files
    // are vouched for with it.
    let package = match (artifact, &subject, contents) {
        (Some(ArtifactSubject::File(file)), Some((stored, _, _)), Some(limits)) => {
            match package::contents(file, stored.sha256, &limits) {
                Ok(read) => read,
                Err(refusal) => return Ok(Err(refusal)),
            }
        }
        _ => None,
    };
    let package_about = package.as_ref().map(|read| read.about.clone());
    let summary = package.map(|read| {
        records.extend(read.records);
        read.summary
    });
    records.sort_by(|a, b| (a.sha256.0, &a.path).cmp(&(b.sha256.0, &b.path)));
    records.dedup_by(|a, b| a.sha256 == b.sha256 && a.path == b.path);

    let predicate_types = |used: &[Used]| {
        let mut types: Vec<String> = used
            .iter()
            .map(|u| match &u.verified.bundle.content {
                SignedContent::Statement(s) => s.predicate_type.clone(),
                SignedContent::ArtifactSignature { .. } => "artifact signature".to_owned(),
            })
            .collect();
        types.dedup();
        types.join(", ")
    };
    let name = match &subject {
        Some((_, file, _)) => file.clone(),
        None => format!("{} ({})", predicate_types(&used), path.display()),
    };
    let mut about = json!({ "bundle": path.display().to_string(), "container": read.container.name() });
    if read.container != Container::Bundle {
        about["attestations"] = used
            .iter()
            .map(|u| {
                let bundle = &u.verified.bundle;
                json!({ "label": u.label, "signer": bundle.signer.identity(), "authorized_by": u.verified.authorized_by,
                        "log_index": bundle.log_index(), "vouching": bundle.vouching().to_string() })
            })
            .collect();
        about["set_aside"] = set_aside.clone().into();
    }
    if let Some(package) = package_about {
        about["package"] = package;
    }
    if let Some((stored, _, _)) = &subject {
        about["file"] = name.clone().into();
        if let Some(sha512) = stored.sha512 {
            about["sha512"] = sha512.to_hex().into();
        }
    }
    let verified = if single {
        describe(&used[0].verified)
    } else {
        let mut lines: Vec<String> = used.iter().map(|u| format!("{}: {}", u.label, describe(&u.verified))).collect();
        lines.extend(set_aside.iter().map(|why| format!("not used: {why}")));
        lines.join("; ")
    };
    let first = &used[0].verified;
    let evidence = StoredEvidence::Attestations {
        bundles: used.iter().map(|u| u.bundle.clone()).collect(),
        artifact: subject.as_ref().map(|(stored, _, _)| *stored),
    };
    let source = signed_source(SourceKind::Attestation, name, first, about, evidence, reason)?;
    Ok(Ok(Admission { source, records: Records::List(records), verified, only_if_new: false, contents: summary }))
}

fn image_admission(image: provgate_oci::TrustedImage, reason: Option<String>) -> anyhow::Result<Admission> {
    let records = image
        .allowlist()
        .into_iter()
        // Paths inside the image, relative to its root: never taken for paths of this host.
        .map(|d| DigestRecord { path: d.path.map(|p| p.trim_start_matches('/').to_owned()), ..d })
        .collect();
    let signature = &image.signature().provenance;
    let signer = &signature.bundle.signer;
    let source = NewSource {
        kind: SourceKind::Image,
        name: image.pinned(),
        signer: Some(signer.identity()),
        issuer: signer.issuer().map(str::to_owned),
        detail: Some(image.detail()),
        created_by: current_user(),
        reason,
        evidence: Some(serde_json::to_value(StoredEvidence::Image { image: image.evidence() })?),
    };
    Ok(Admission {
        source,
        records: Records::List(records),
        verified: describe(signature),
        only_if_new: false,
        contents: None,
    })
}

/// Stores an admission as one source, all or nothing; an SBOM file is streamed in and refused
/// if it reads badly, has no SHA-256 record, or changed since its signature was verified. An
/// approval marks the events about its digest approved in the same transaction.
pub fn commit(store: &mut Store, admission: Admission) -> anyhow::Result<Result<Committed, Refusal>> {
    let Admission { source, records, verified, only_if_new, contents } = admission;
    match records {
        Records::List(records) => {
            if only_if_new && let Some(refusal) = vouched_already(store, &records)? {
                return Ok(Err(refusal));
            }
            let mut writer = store.begin_source(&source)?;
            for record in &records {
                writer.add(record)?;
            }
            if source.kind == SourceKind::Approval {
                for record in &records {
                    writer.mark_events_approved(&record.sha256)?;
                }
            }
            let id = writer.commit(None)?;
            Ok(Ok(Committed { id, records: records.len() as u64, name: source.name, verified, contents }))
        }
        Records::SbomFile { path, verified: digest } => commit_sbom(store, source, &path, digest, verified),
    }
}

/// When every record is vouched for already: who vouches, as a refusal to add more.
fn vouched_already(store: &Store, records: &[DigestRecord]) -> anyhow::Result<Option<Refusal>> {
    let mut lines = Vec::new();
    for record in records {
        let vouchers = store.vouchers(&record.sha256)?;
        if vouchers.is_empty() {
            return Ok(None);
        }
        let by: Vec<String> = vouchers.iter().map(|s| format!("source #{} ({} {:?})", s.id, s.kind, s.name)).collect();
        lines.push(format!("{} is already allowed by {}", record.sha256, by.join(", ")));
    }
    lines.push("--force records an approval anyway".into());
    Ok(Some(Refusal(lines.join("; "))))
}

fn commit_sbom(
    store: &mut Store,
    source: NewSource,
    path: &Path,
    verified_digest: Option<Sha256>,
    verified: String,
) -> anyhow::Result<Result<Committed, Refusal>> {
    let mut writer = store.begin_source(&source)?;
    let mut store_error = None;
    let read = sbom::read_sbom(path, &mut |r| {
        if store_error.is_none()
            && let Err(e) = writer.add(&r.into())
        {
            store_error = Some(e);
        }
    });
    if let Some(e) = store_error {
        return Err(e.into());
    }
    let read = match read {
        Ok(read) => read,
        Err(e) => return Ok(Err(Refusal(e.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ")))),
    };
    let summary = &read.summary;
    // Printed here, as they are found, whether or not the document is then refused.
    for line in sbom::problem_lines(path, summary) {
        eprintln!("provgate: warning: {line}");
    }
    if writer.records() == 0 {
        return Ok(Err(Refusal(format!(
            "{}: no SHA-256 digest of a file in this SBOM ({} files, {} packages, {} package entries with a \
             SHA-256 that are not files, {} digests in other algorithms)",
            path.display(),
            summary.files,
            summary.packages,
            summary.packages_not_files,
            summary.skipped_total()
        ))));
    }
    if summary.packages_not_files > 0 {
        eprintln!(
            "provgate: {}: {} package entries that are not files (an image, a package known by name or purl), not added",
            path.display(),
            summary.packages_not_files
        );
    }
    if verified_digest.is_some_and(|d| d != read.file_sha256) {
        return Ok(Err(Refusal(format!("{}: changed after its signature was verified", path.display()))));
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut detail = source.detail.clone().unwrap_or_else(|| json!({}));
    if let Some(object) = detail.as_object_mut() {
        // Evidence that came from elsewhere (a feed) names its file already.
        object.entry("file").or_insert_with(|| absolute.display().to_string().into());
        object.extend(
            json!({
                "sbom_sha256": read.file_sha256.to_hex(),
                "format": summary.format,
                "spec_version": summary.spec_version,
                "name": summary.name,
                "namespace": summary.namespace,
                "files": summary.files,
                "packages": summary.packages,
                "sha256_digests": summary.sha256_digests,
                "packages_not_files": summary.packages_not_files,
                "skipped_algorithms": summary.skipped_algorithms,
                "signed": source.signer.is_some(),
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
    }
    let name = summary.name.clone().unwrap_or_else(|| source.name.clone());
    let records = writer.records();
    let id = writer.commit(Some((name.clone(), Some(detail))))?;
    Ok(Ok(Committed { id, records, name, verified, contents: None }))
}
