//! `provgate publish` and `provgate unpublish`: the CI side of trust feeds. Evidence is
//! verified first, with the policy and trusted root given, exactly as a node would verify it,
//! so that nothing a node would refuse is published; then its bundle (and SBOM) are pushed as
//! an OCI 1.1 artifact and listed in the feed. See [`provgate_oci::feed`] for the format.
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::Bytes;
use provgate_oci::{
    client::Repository,
    feed::{self, CYCLONEDX_MEDIA_TYPE, ItemKind, NewItem, SPDX_MEDIA_TYPE},
};
use provgate_sbom::Format;

use super::{refused, register::EvidenceArgs, registry_args::RegistryArgs, trust_args::TrustArgs};
use crate::{
    config::Config,
    feeds::parse_reference,
    hashing::sha256_reader,
    trust::{self, ArtifactSubject, Circumstances, Evidence},
};

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The feed: REGISTRY/REPOSITORY:TAG.
    feed: String,
    #[command(flatten)]
    evidence: EvidenceArgs,
    /// The Sigstore bundle signing the SBOM or the artifact.
    #[arg(long, value_name = "BUNDLE")]
    bundle: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct UnpublishArgs {
    /// The feed: REGISTRY/REPOSITORY:TAG.
    feed: String,
    /// The item's digest (as `publish` printed it), or a unique prefix of its hex digits.
    item: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn publish(config: &Config, args: PublishArgs) -> anyhow::Result<i32> {
    let (reference, tag) = parse_reference(&args.feed)?;
    // A feed item carries the artifact's digest and its bundle, not the file: nodes cannot read
    // a package's contents from it, so none are read here either.
    let evidence = match args.evidence.evidence(args.bundle, false, None) {
        Ok(evidence) => evidence,
        Err(misuse) => {
            eprintln!("provgate: {misuse}");
            return Ok(2);
        }
    };
    let item = new_item(&evidence)?;
    let trust = args.trust.load(config)?;
    let circumstances = Circumstances { trust: Some(&trust), forbid_unsigned: true, reason: None };
    let admission = match trust::admit(evidence, circumstances)? {
        Ok(admission) => admission,
        Err(refusal) => {
            refused(&refusal);
            eprintln!("provgate: nothing was published");
            return Ok(1);
        }
    };
    eprintln!("provgate: verified: {}", admission.verified);
    let registries = args.registry.load(config.registry_config.as_deref())?;
    let written = runtime()?.block_on(async {
        let repository = Repository::connect_for_push(&reference, &registries).await?;
        feed::publish(&repository, &tag, item).await
    })?;
    if written.unchanged {
        eprintln!("provgate: {} already lists this item", args.feed);
    } else {
        let again = if written.writes > 1 { " (written again: a concurrent publisher had replaced it)" } else { "" };
        eprintln!("provgate: published to {}{again}", args.feed);
    }
    println!("{}", written.item);
    Ok(0)
}

pub fn unpublish(config: &Config, args: UnpublishArgs) -> anyhow::Result<i32> {
    let (reference, tag) = parse_reference(&args.feed)?;
    let registries = args.registry.load(config.registry_config.as_deref())?;
    let written = runtime()?.block_on(async {
        let repository = Repository::connect_for_push(&reference, &registries).await?;
        feed::unpublish(&repository, &tag, &args.item).await
    })?;
    eprintln!("provgate: item {} removed from {}; nodes drop its trust at their next sync", written.item, args.feed);
    Ok(0)
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// What is pushed for the evidence: the bundle, and the SBOM or the artifact's digest.
fn new_item(evidence: &Evidence) -> anyhow::Result<NewItem> {
    let read = |path: &Path| -> anyhow::Result<Bytes> {
        Ok(std::fs::read(path).with_context(|| path.display().to_string())?.into())
    };
    let title = |path: &Path| path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let item = |kind, bundle: &Path| -> anyhow::Result<NewItem> {
        Ok(NewItem { kind, bundle: read(bundle)?, sbom: None, artifact: None, bundle_title: title(bundle) })
    };
    Ok(match evidence {
        Evidence::SignedSbom { sbom, bundle } => {
            // The media types the SPDX and CycloneDX specifications register, and syft's own.
            let media = match trust::sbom_format(sbom).map_err(anyhow::Error::msg)? {
                Format::SpdxJson | Format::Spdx3JsonLd => SPDX_MEDIA_TYPE,
                Format::SpdxTagValue => "text/spdx",
                Format::CyclonedxJson => CYCLONEDX_MEDIA_TYPE,
                Format::CyclonedxXml => "application/vnd.cyclonedx+xml",
                Format::SyftJson => "application/vnd.syft+json",
            };
            NewItem { sbom: Some((read(sbom)?, media.to_owned(), title(sbom))), ..item(ItemKind::Sbom, bundle)? }
        }
        Evidence::Attestation { bundle, artifact: None, .. } => item(ItemKind::Attestation, bundle)?,
        // A feed item carries an artifact's SHA-256 only, not the SHA-512 npm's subjects need.
        Evidence::Attestation { artifact: Some(_), .. } => {
            anyhow::bail!(
                "an attestation about an artifact is not published to a feed; publish --artifact F --bundle B"
            )
        }
        Evidence::Artifact { subject, bundle, .. } => {
            let artifact = match subject {
                ArtifactSubject::File(file) => {
                    let opened = std::fs::File::open(file).with_context(|| file.display().to_string())?;
                    (sha256_reader(opened).with_context(|| file.display().to_string())?, title(file))
                }
                ArtifactSubject::Digest { sha256, name } => (*sha256, name.clone()),
            };
            NewItem { artifact: Some(artifact), ..item(ItemKind::Artifact, bundle)? }
        }
        _ => anyhow::bail!("only signed evidence is published"),
    })
}
