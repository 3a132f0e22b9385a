//! `provgate register`: add the digests a piece of evidence vouches for to the allowlist.
//! Today the evidence is an SBOM taken without a signature (`--sbom FILE --unsigned`); signed
//! bundles and attestations join `Evidence` and `Trust` as further, mutually exclusive options.
use std::path::Path;

use serde_json::json;

use super::Paths;
use crate::store::{NewSource, SourceRecord, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    evidence: Evidence,
    #[command(flatten)]
    trust: Trust,
    #[command(flatten)]
    policy: Policy,
    /// Why this is trusted (kept in the audit log).
    #[arg(long)]
    reason: Option<String>,
}

/// What to register: exactly one.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct Evidence {
    /// An SBOM (SPDX 2 JSON or tag-value, SPDX 3 JSON-LD, CycloneDX JSON or XML): its files'
    /// and single-artifact packages' SHA-256 digests are allowed.
    #[arg(long, value_name = "FILE")]
    sbom: Option<std::path::PathBuf>,
}

/// Why the evidence is believed.
#[derive(Debug, clap::Args)]
struct Trust {
    /// Take the evidence without any signature. Must be said explicitly; the source is recorded
    /// as unsigned, and policy can forbid it.
    #[arg(long)]
    unsigned: bool,
}

/// Policy until the configuration file exists.
#[derive(Debug, clap::Args)]
struct Policy {
    /// Refuse unsigned registration, whatever else is asked. The variable takes 1/0,
    /// true/false, yes/no, on/off; anything else is an error, so a typo never allows.
    #[arg(long, env = "PROVGATE_FORBID_UNSIGNED", value_parser = clap::builder::BoolishValueParser::new())]
    forbid_unsigned: bool,
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    let Some(sbom) = &args.evidence.sbom else { unreachable!("clap requires one kind of evidence") };
    if !args.trust.unsigned {
        eprintln!(
            "provgate: {} is not signed evidence; pass --unsigned to register it without a signature \
             (signed registration is not available yet)",
            sbom.display()
        );
        return Ok(2);
    }
    if args.policy.forbid_unsigned {
        eprintln!("provgate: unsigned registration is forbidden by policy (PROVGATE_FORBID_UNSIGNED / --forbid-unsigned); nothing was added");
        return Ok(1);
    }
    register_unsigned_sbom(paths, sbom, args.reason)
}

fn register_unsigned_sbom(paths: &Paths, path: &Path, reason: Option<String>) -> anyhow::Result<i32> {
    let mut records = Vec::new();
    let read = super::sbom::read_sbom(path, &mut |r| {
        records.push(SourceRecord {
            digest: crate::hashing::Sha256Digest(r.sha256.0),
            path: r.path,
            package: r.package.and_then(|p| p.label()),
        })
    });
    let read = match read {
        Ok(read) => read,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
            eprintln!("provgate: {}", chain.join(": "));
            eprintln!("provgate: nothing was added to the allowlist");
            return Ok(1);
        }
    };
    let summary = &read.summary;
    for line in super::sbom::problem_lines(path, summary) {
        eprintln!("provgate: warning: {line}");
    }
    if records.is_empty() {
        eprintln!(
            "provgate: {}: no SHA-256 digest in this SBOM ({} files, {} packages, {} digests in other algorithms); nothing was added",
            path.display(),
            summary.files,
            summary.packages,
            summary.skipped_total()
        );
        return Ok(1);
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let source = NewSource {
        kind: "sbom-unsigned",
        name: summary.name.clone().unwrap_or_else(|| absolute.display().to_string()),
        signer: None,
        issuer: None,
        detail: Some(json!({
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
            "signed": false,
        })),
        created_by: super::allow::current_user(),
        reason,
    };
    let mut store = Store::open(&paths.db)?;
    let id = store.add_source(&source, &records)?;
    println!(
        "registered {} SHA-256 digests from {} ({} {}, UNSIGNED) as source #{id} in {}",
        records.len(),
        path.display(),
        summary.format,
        summary.spec_version.as_deref().unwrap_or(""),
        store.path().display()
    );
    super::notify_daemon(paths);
    Ok(0)
}
