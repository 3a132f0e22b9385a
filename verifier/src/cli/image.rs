//! `provgate image add|ls|rm`: container images as sources of trust. An image is added only if
//! a signer the trust policy lets sign images signed its digest; it then vouches for the files
//! its trusted SBOM attestations list and the candidate files of its layers, as one source of
//! kind `image` tied to the image's digest.
use provgate_oci::{Digest, ImageOptions, ImageReference, Platform, TrustedImage};

use super::{
    Paths, Reason, limit_args::LimitArgs, notify_daemon, refused, registry_args::RegistryArgs, table,
    trust_args::TrustArgs,
};
use crate::{
    config::Config,
    store::Store,
    trust::{self, Circumstances, Evidence, ImageOutcome, ImageRequest, current_user},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Verify an image's signature and trust what it holds: the files its trusted SBOM
    /// attestations list and, unless --no-layer-contents, the candidate files of its layers.
    /// A tag is pinned to its digest; an index resolves to one platform.
    Add(Box<AddArgs>),
    /// List the images trusted.
    Ls(LsArgs),
    /// Remove images from the allowlist: REF names a tag (every digest added under it) or a digest.
    Rm(RmArgs),
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    /// The image: [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST].
    reference: String,
    /// The platform an index resolves to.
    #[arg(long, default_value = "linux/amd64")]
    platform: Platform,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    registry: RegistryArgs,
    /// Do not read the layers: only trusted SBOM attestations vouch for files.
    #[arg(long)]
    no_layer_contents: bool,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    reason: Reason,
}

#[derive(Debug, clap::Args)]
struct LsArgs {
    #[arg(long)]
    json: bool,
    /// List the images pulled on this node that matched `[images] auto` but were refused, with
    /// why, instead.
    #[arg(long)]
    refused: bool,
}

#[derive(Debug, clap::Args)]
struct RmArgs {
    /// The image as added ([REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST]), or a digest alone.
    reference: String,
    #[arg(long)]
    reason: Option<String>,
}

pub fn run(paths: &Paths, config: &Config, args: Args) -> anyhow::Result<i32> {
    match args.command {
        Command::Add(args) => add(paths, config, *args),
        Command::Ls(args) => ls(paths, args),
        Command::Rm(args) => rm(paths, args),
    }
}

fn add(paths: &Paths, config: &Config, args: AddArgs) -> anyhow::Result<i32> {
    let reference: ImageReference = args.reference.parse()?;
    let trust = args.trust.load(config)?;
    let registries = args.registry.load(config.registry_config.as_deref())?;
    let options = ImageOptions {
        platform: args.platform,
        layer_contents: !args.no_layer_contents,
        limits: args.limits.limits(),
        ..ImageOptions::default()
    };
    // Opened first: a store that cannot be written fails before anything is downloaded.
    let mut store = Store::open(&paths.db)?;
    let request = ImageRequest { reference: &reference, options: &options, registries: &registries };
    let image = match trust::verify_image(&store, &trust, request)? {
        Ok(ImageOutcome::Verified(image)) => image,
        Ok(ImageOutcome::AlreadyTrusted { digest, source }) => {
            println!(
                "image {reference} is {digest}, already trusted as source #{source}; nothing was downloaded or added"
            );
            return Ok(0);
        }
        Err(refusal) => return Ok(refused(&refusal)),
    };
    print_summary(&image);
    let circumstances = Circumstances { trust: Some(&trust), forbid_unsigned: false, reason: args.reason.text };
    let committed = match trust::accept(&mut store, Evidence::Image(image), circumstances)? {
        Ok(committed) => committed,
        Err(refusal) => return Ok(refused(&refusal)),
    };
    eprintln!("provgate: source #{} ({} digests) added to {}", committed.id, committed.records, store.path().display());
    notify_daemon(paths);
    Ok(0)
}

fn print_summary(image: &TrustedImage) {
    let mut resolved = format!("image {} is {}", image.reference, image.digest);
    if let Some((index, platform)) = &image.index {
        resolved.push_str(&format!(" ({platform} of index {index})"));
    }
    println!("{resolved}");
    for accepted in &image.signatures {
        let bundle = &accepted.provenance.bundle;
        let mut line = format!("signed by {}", bundle.signer.identity());
        if let Some(issuer) = bundle.signer.issuer() {
            line.push_str(&format!(" (issuer {issuer})"));
        }
        if let Some(entry) = bundle.log_entries.first() {
            line.push_str(&format!(", log index {}", entry.log_index));
            if let Some(time) = entry.integrated_time {
                line.push_str(&format!(" at {time}"));
            }
        }
        println!("{line}; policy signer {:?}; found at {}", accepted.provenance.authorized_by, accepted.location);
    }
    for accepted in &image.attestations {
        let detail = accepted.provenance.detail();
        println!(
            "attestation {} by {} at {}",
            detail["predicate_type"].as_str().unwrap_or("?"),
            accepted.provenance.bundle.signer.identity(),
            accepted.location
        );
    }
    for skipped in &image.not_used {
        println!("not used: {}: {}", skipped.location, skipped.reason);
    }
    let stats = &image.layer_stats;
    if stats.compressed_bytes > 0 {
        let megabytes = |bytes: u64| bytes as f64 / 1e6;
        let seconds = image.layer_seconds.max(1e-6);
        println!(
            "layers: {}, {:.1} MB compressed, {:.1} MB uncompressed, {} files, {} candidates hashed ({:.1} MB) in {:.2} s: {:.1} MB/s compressed, {:.0} files/s",
            image.layers,
            megabytes(stats.compressed_bytes),
            megabytes(stats.uncompressed_bytes),
            stats.regular_files,
            stats.candidates,
            megabytes(stats.hashed_bytes),
            seconds,
            megabytes(stats.compressed_bytes) / seconds,
            stats.regular_files as f64 / seconds,
        );
    }
    println!(
        "vouches for {} files of its layers and {} files of SBOM attestations",
        image.files.len(),
        image.sbom_files.len()
    );
}

fn ls(paths: &Paths, args: LsArgs) -> anyhow::Result<i32> {
    let store = Store::open(&paths.db)?;
    if args.refused {
        return refused_images(&store, args.json);
    }
    let images: Vec<_> = store.sources()?.into_iter().filter_map(|s| trust::image_of(&s).map(|i| (s, i))).collect();
    if args.json {
        let sources: Vec<_> = images.iter().map(|(source, _)| source).collect();
        println!("{}", serde_json::to_string_pretty(&sources)?);
        return Ok(0);
    }
    if images.is_empty() {
        println!("no images are trusted");
        return Ok(0);
    }
    let mut t = table::new(&["ID", "IMAGE", "DIGEST", "PLATFORM", "SIGNER", "DIGESTS", "ADDED"]);
    for (s, stored) in &images {
        let image = match &stored.tag {
            Some(tag) => format!("{}:{tag}", stored.name),
            None => stored.name.clone(),
        };
        let digest = format!("sha256:{}", table::short_digest(&stored.digest.to_hex()));
        t.add_row(vec![
            s.id.to_string(),
            image,
            digest,
            stored.platform.clone().unwrap_or_else(|| "-".into()),
            s.signer.clone().unwrap_or_else(|| "-".into()),
            s.digests.to_string(),
            table::time_ms(s.created_at * 1000),
        ]);
    }
    println!("{t}");
    Ok(0)
}

fn refused_images(store: &Store, json: bool) -> anyhow::Result<i32> {
    let refusals = store.image_refusals()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&refusals)?);
    } else if refusals.is_empty() {
        println!("no pulled image was refused");
    } else {
        for r in &refusals {
            println!("{}  {}  NOT TRUSTED: {}", table::time_ms(r.at_ms), r.reference, r.problem);
        }
    }
    Ok(0)
}

fn rm(paths: &Paths, args: RmArgs) -> anyhow::Result<i32> {
    // A digest alone matches it in any repository; a reference with a digest, that image; a
    // tag, every image added under it.
    let (name, tag, digest) = match args.reference.parse::<Digest>() {
        Ok(digest) => (None, None, Some(digest)),
        Err(_) => {
            let reference: ImageReference = args.reference.parse()?;
            let tag = reference.digest().is_none().then(|| reference.tag().map(str::to_owned)).flatten();
            (Some(reference.name()), tag, reference.digest())
        }
    };
    let matches = |image: &provgate_oci::ImageIdentity| {
        name.as_ref().is_none_or(|name| image.name == *name)
            && tag.as_ref().is_none_or(|tag| image.tag.as_ref() == Some(tag))
            && digest.is_none_or(|digest| image.digest == digest)
    };
    let mut store = Store::open(&paths.db)?;
    let doomed: Vec<_> =
        store.sources()?.into_iter().filter(|s| trust::image_of(s).is_some_and(|i| matches(&i))).collect();
    if doomed.is_empty() {
        eprintln!("provgate: no trusted image matches {} (see provgate image ls)", args.reference);
        return Ok(1);
    }
    for source in doomed {
        let removed = store.revoke_source(source.id, &current_user(), args.reason.as_deref())?;
        println!(
            "removed image source #{} ({}): {} digests no longer vouched for by it",
            removed.id, removed.name, removed.digests
        );
    }
    notify_daemon(paths);
    Ok(0)
}
