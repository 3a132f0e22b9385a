//! Trust feeds: signed evidence distributed through an OCI registry, as OCI 1.1 artifacts.
//!
//! A feed is a tag whose manifest is an OCI image index with `artifactType`
//! [`FEED_ARTIFACT_TYPE`]; each entry is one item, an OCI image manifest with `artifactType`
//! [`BUNDLE_MEDIA_TYPE`], the empty config, and as layers the Sigstore bundle and, for an SBOM,
//! the SBOM it signs. An item over a file that is not pushed names the file's digest in the
//! annotation [`ARTIFACT_DIGEST`]. Layers carry `org.opencontainers.image.title`, so `oras pull`
//! writes them under their names.
//!
//! The registry is not trusted: items are verified by whoever reads them. What the registry
//! must not do is lose an item to a concurrent publisher. The distribution spec has no
//! conditional manifest PUT, so publishing compares the tag's digest just before writing and
//! checks after a settling delay that the item is still listed, writing again if a concurrent
//! publisher's write (based on the older index) replaced it.
use std::{collections::BTreeMap, io::Write, time::Duration};

use bytes::Bytes;
use serde::Serialize;

use crate::{
    client::{FetchedManifest, RegistryError, Repository},
    digest::Digest,
    limits::MAX_MANIFEST_BYTES,
    manifest::{Descriptor, ImageManifest, Manifest, media_type},
};

/// The `artifactType` of a feed's index.
pub const FEED_ARTIFACT_TYPE: &str = "application/vnd.provgate.feed.v1";
/// The Sigstore bundle's media type (the Sigstore bundle spec's, as cosign pushes it).
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// The OCI 1.1 empty descriptor's media type, for the config of an artifact without one.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const SPDX_MEDIA_TYPE: &str = "application/spdx+json";
pub const CYCLONEDX_MEDIA_TYPE: &str = "application/vnd.cyclonedx+json";
/// Item annotation: what the item is (`sbom`, `attestation`, `artifact`).
pub const ITEM_KIND: &str = "dev.provgate.item.kind";
/// Item annotation: the digest of the file an artifact signature is about.
pub const ARTIFACT_DIGEST: &str = "dev.provgate.artifact.digest";
pub const TITLE: &str = "org.opencontainers.image.title";

/// Bundles are a few kilobytes; a certificate chain and a large DSSE statement fit well below.
pub const MAX_BUNDLE_BYTES: u64 = 4 << 20;
/// An item's SBOM is written to a file as it arrives, so this bounds disk, not memory.
pub const MAX_SBOM_BYTES: u64 = 2 << 30;
/// After writing, how long to wait before checking the write was not replaced.
const SETTLE: Duration = Duration::from_millis(1500);
const MAX_ATTEMPTS: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Sbom,
    Attestation,
    Artifact,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Sbom => "sbom",
            ItemKind::Attestation => "attestation",
            ItemKind::Artifact => "artifact",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [ItemKind::Sbom, ItemKind::Attestation, ItemKind::Artifact].into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{what}: not a provgate feed: {problem}")]
    NotAFeed { what: String, problem: String },
    #[error("item {item}: {problem}")]
    BadItem { item: Digest, problem: String },
    #[error("item {0} is not in the feed")]
    NoSuchItem(String),
    #[error("item prefix {prefix} is ambiguous: {}", .candidates.join(", "))]
    AmbiguousItem { prefix: String, candidates: Vec<String> },
    #[error("the feed kept changing under us: gave up after {0} attempts")]
    Contended(usize),
    #[error("writing {what}: {source}")]
    Io { what: String, source: std::io::Error },
}

/// An item to publish: the bundle and what it is about.
pub struct NewItem {
    pub kind: ItemKind,
    pub bundle: Bytes,
    /// For an SBOM item: the document, its media type and its file name.
    pub sbom: Option<(Bytes, String, String)>,
    /// For an artifact item: the file's digest and name.
    pub artifact: Option<(Digest, String)>,
    /// The bundle's file name.
    pub bundle_title: String,
}

/// The feed as the registry holds it now.
#[derive(Debug, Clone)]
pub struct FeedIndex {
    /// `None` when the tag does not exist yet.
    pub digest: Option<Digest>,
    pub items: Vec<Descriptor>,
    /// The index's annotations, kept across rewrites.
    annotations: BTreeMap<String, String>,
}

/// What [`publish`] and [`unpublish`] did.
#[derive(Debug, Clone)]
pub struct Written {
    pub item: Digest,
    /// The feed's digest after the write (or as found, if there was nothing to do).
    pub feed: Option<Digest>,
    /// Index writes it took (more than one when a concurrent publisher's write replaced ours).
    pub writes: usize,
    /// The item was already listed (publish) or already absent (unpublish).
    pub unchanged: bool,
}

/// An item as fetched for verification; the SBOM is in `sbom_file` when there is one.
#[derive(Debug, Clone)]
pub struct FetchedItem {
    pub digest: Digest,
    pub kind: ItemKind,
    pub bundle: Bytes,
    pub sbom_title: Option<String>,
    pub artifact: Option<(Digest, String)>,
    pub title: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestOut<'a> {
    schema_version: u32,
    media_type: &'a str,
    artifact_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<&'a Descriptor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<&'a [Descriptor]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifests: Option<&'a [Descriptor]>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

/// Reads the feed at `tag`, in one request; a tag that does not exist is an empty feed.
pub async fn read(repository: &Repository, tag: &str) -> Result<FeedIndex, FeedError> {
    let what = format!("feed {}:{tag}", repository.reference().name());
    match repository.manifest(tag).await {
        Ok(fetched) => index_of(&what, fetched),
        Err(e) if e.is_not_found() => Ok(FeedIndex { digest: None, items: Vec::new(), annotations: BTreeMap::new() }),
        Err(e) => Err(e.into()),
    }
}

fn index_of(what: &str, fetched: FetchedManifest) -> Result<FeedIndex, FeedError> {
    let not_a_feed = |problem: String| FeedError::NotAFeed { what: what.to_owned(), problem };
    let Manifest::Index(index) = fetched.manifest else {
        return Err(not_a_feed("the tag holds an image manifest, not an index".into()));
    };
    if index.artifact_type.as_deref() != Some(FEED_ARTIFACT_TYPE) {
        return Err(not_a_feed(format!(
            "its artifactType is {:?}, not {FEED_ARTIFACT_TYPE:?}",
            index.artifact_type.unwrap_or_default()
        )));
    }
    let annotations: BTreeMap<String, String> = serde_json::from_slice::<serde_json::Value>(&fetched.bytes)
        .ok()
        .and_then(|v| serde_json::from_value(v.get("annotations")?.clone()).ok())
        .unwrap_or_default();
    Ok(FeedIndex { digest: Some(fetched.digest), items: index.manifests, annotations })
}

fn index_bytes(items: &[Descriptor], annotations: &BTreeMap<String, String>) -> Bytes {
    let out = ManifestOut {
        schema_version: 2,
        media_type: media_type::OCI_INDEX,
        artifact_type: FEED_ARTIFACT_TYPE,
        config: None,
        layers: None,
        manifests: Some(items),
        annotations,
    };
    serde_json::to_vec(&out).expect("a manifest serializes").into()
}

/// Pushes the item's blobs and manifest, then lists it in the feed at `tag`.
pub async fn publish(repository: &Repository, tag: &str, item: NewItem) -> Result<Written, FeedError> {
    let entry = push_item(repository, item).await?;
    list(repository, tag, vec![entry]).await
}

/// Pushes an item's blobs and manifest (by digest); its entry for the feed's index.
pub async fn push_item(repository: &Repository, item: NewItem) -> Result<Descriptor, FeedError> {
    let config = repository.push_blob(EMPTY_MEDIA_TYPE, Bytes::from_static(b"{}")).await?;
    let titled = |mut d: Descriptor, title: &str| {
        d.annotations.insert(TITLE.into(), title.to_owned());
        d
    };
    let mut layers = vec![titled(repository.push_blob(BUNDLE_MEDIA_TYPE, item.bundle).await?, &item.bundle_title)];
    if let Some((sbom, media, title)) = item.sbom {
        layers.push(titled(repository.push_blob(&media, sbom).await?, &title));
    }
    // No creation time: the same evidence makes the same item, so publishing it twice (a CI job
    // retried) lists it once.
    let mut annotations = BTreeMap::from([(ITEM_KIND.to_owned(), item.kind.as_str().to_owned())]);
    let title = match (&item.artifact, &layers[..]) {
        (Some((digest, name)), _) => {
            annotations.insert(ARTIFACT_DIGEST.into(), digest.to_string());
            name.clone()
        }
        (None, [_, sbom]) => sbom.annotations[TITLE].clone(),
        _ => item.bundle_title.clone(),
    };
    annotations.insert(TITLE.into(), title);
    let manifest = ManifestOut {
        schema_version: 2,
        media_type: media_type::OCI_MANIFEST,
        artifact_type: BUNDLE_MEDIA_TYPE,
        config: Some(&config),
        layers: Some(&layers),
        manifests: None,
        annotations: &annotations,
    };
    let bytes = Bytes::from(serde_json::to_vec(&manifest).expect("a manifest serializes"));
    let size = bytes.len() as u64;
    let digest = repository.push_manifest(&Digest::of(&bytes).to_string(), media_type::OCI_MANIFEST, bytes).await?;
    let mut entry = Descriptor::new(media_type::OCI_MANIFEST, digest, size);
    entry.artifact_type = Some(BUNDLE_MEDIA_TYPE.into());
    entry.annotations = annotations;
    Ok(entry)
}

/// Lists pushed items in the feed at `tag`, in one write (items listed already stay once).
pub async fn list(repository: &Repository, tag: &str, entries: Vec<Descriptor>) -> Result<Written, FeedError> {
    let first = entries.first().map(|e| e.digest).unwrap_or_default();
    update(repository, tag, first, |items| {
        let before = items.len();
        for entry in &entries {
            if !items.iter().any(|d| d.digest == entry.digest) {
                items.push(entry.clone());
            }
        }
        items.len() != before
    })
    .await
}

/// Removes the item `item` (a digest, or an unambiguous prefix of its hex) from the feed.
pub async fn unpublish(repository: &Repository, tag: &str, item: &str) -> Result<Written, FeedError> {
    let feed = read(repository, tag).await?;
    if feed.digest.is_none() {
        return Err(FeedError::NotAFeed {
            what: format!("feed {}:{tag}", repository.reference().name()),
            problem: "the tag does not exist".into(),
        });
    }
    let digest = find_item(&feed.items, item)?;
    update(repository, tag, digest, |items| {
        let before = items.len();
        items.retain(|d| d.digest != digest);
        items.len() != before
    })
    .await
}

/// The one item `text` names: a whole digest, or a unique prefix of its hex digits.
pub fn find_item(items: &[Descriptor], text: &str) -> Result<Digest, FeedError> {
    let hex = text.strip_prefix("sha256:").unwrap_or(text);
    let matches: Vec<Digest> =
        items.iter().map(|d| d.digest).filter(|d| d.to_hex().starts_with(hex) && !hex.is_empty()).collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(FeedError::NoSuchItem(text.to_owned())),
        _ => Err(FeedError::AmbiguousItem {
            prefix: text.to_owned(),
            candidates: matches.iter().map(ToString::to_string).collect(),
        }),
    }
}

/// Read, change, compare, write, then confirm after [`SETTLE`] that no concurrent write based
/// on an older index replaced ours; start over when one did. `change` says whether it changed
/// anything; it is called on the freshest items each time. A registry's server error is taken
/// as passing (distribution's filesystem storage answers 500 to a read racing a tag write) and
/// the round is tried again.
async fn update(
    repository: &Repository,
    tag: &str,
    item: Digest,
    change: impl Fn(&mut Vec<Descriptor>) -> bool,
) -> Result<Written, FeedError> {
    let what = format!("feed {}:{tag}", repository.reference().name());
    let mut writes = 0;
    for attempt in 1..=MAX_ATTEMPTS {
        match round(repository, tag, &change, &mut writes).await {
            Ok(Some(feed)) => return Ok(Written { item, feed, writes, unchanged: writes == 0 }),
            Ok(None) => tracing::debug!(%what, attempt, "reading the feed again"),
            Err(FeedError::Registry(RegistryError::Status { status, .. })) if status.is_server_error() => {
                tracing::info!(%what, attempt, %status, "the registry failed a request; going again");
            }
            Err(e) => return Err(e),
        }
        tokio::time::sleep(Duration::from_millis(50 * attempt as u64)).await;
    }
    Err(FeedError::Contended(MAX_ATTEMPTS))
}

/// One round of [`update`]: the feed's digest when done, `None` to go again.
async fn round(
    repository: &Repository,
    tag: &str,
    change: &impl Fn(&mut Vec<Descriptor>) -> bool,
    writes: &mut usize,
) -> Result<Option<Option<Digest>>, FeedError> {
    let feed = read(repository, tag).await?;
    let mut items = feed.items.clone();
    if !change(&mut items) {
        if *writes > 0 {
            // Our write was confirmed; wait once more so that a publisher who read the older
            // index just before it cannot have replaced it unseen.
            tokio::time::sleep(SETTLE).await;
            let mut check = read(repository, tag).await?.items;
            if change(&mut check) {
                return Ok(None);
            }
        }
        return Ok(Some(feed.digest));
    }
    let bytes = index_bytes(&items, &feed.annotations);
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(FeedError::NotAFeed {
            what: format!("feed {}:{tag}", repository.reference().name()),
            problem: format!("the feed would exceed {MAX_MANIFEST_BYTES} bytes; unpublish old items first"),
        });
    }
    // The compare of the compare-and-swap: write only over the index the change was made to.
    if read(repository, tag).await?.digest != feed.digest {
        return Ok(None);
    }
    repository.push_manifest(tag, media_type::OCI_INDEX, bytes).await?;
    *writes += 1;
    Ok(None)
}

/// Fetches an item listed in a feed: its manifest (by digest), its bundle, and its SBOM written
/// to `sbom_out` while it arrives. Everything is checked against the digests that name it.
pub async fn fetch_item(
    repository: &Repository,
    entry: &Descriptor,
    sbom_out: &mut (impl Write + Send),
) -> Result<FetchedItem, FeedError> {
    let bad = |problem: String| FeedError::BadItem { item: entry.digest, problem };
    if entry.media_type != media_type::OCI_MANIFEST {
        return Err(bad(format!("listed as {:?}, not an OCI image manifest", entry.media_type)));
    }
    let fetched = repository.manifest(&entry.digest.to_string()).await?;
    let Manifest::Image(manifest) = fetched.manifest else {
        return Err(bad("an index, not an artifact manifest".into()));
    };
    let manifest: ImageManifest = *manifest;
    if manifest.artifact_type.as_deref() != Some(BUNDLE_MEDIA_TYPE) {
        return Err(bad(format!("artifactType {:?}, not {BUNDLE_MEDIA_TYPE:?}", manifest.artifact_type)));
    }
    let annotations: BTreeMap<String, String> = serde_json::from_slice::<serde_json::Value>(&fetched.bytes)
        .ok()
        .and_then(|v| serde_json::from_value(v.get("annotations")?.clone()).ok())
        .unwrap_or_default();
    let kind = annotations
        .get(ITEM_KIND)
        .and_then(|k| ItemKind::parse(k))
        .ok_or_else(|| bad(format!("no {ITEM_KIND} annotation of sbom, attestation or artifact")))?;
    let (bundle_layer, rest) = match manifest.layers.split_first() {
        Some((first, rest)) if first.media_type == BUNDLE_MEDIA_TYPE => (first, rest),
        _ => return Err(bad(format!("its first layer is not a {BUNDLE_MEDIA_TYPE}"))),
    };
    let bundle = repository.blob(bundle_layer, MAX_BUNDLE_BYTES).await?;
    let sbom_title = match (kind, rest) {
        (ItemKind::Sbom, [sbom]) => {
            repository.blob_to(sbom, MAX_SBOM_BYTES, sbom_out).await?;
            Some(sbom.annotations.get(TITLE).map(|t| shown(t)).unwrap_or_else(|| "sbom.json".into()))
        }
        (ItemKind::Sbom, _) => return Err(bad("an SBOM item has the bundle and one SBOM layer".into())),
        (_, []) => None,
        (_, _) => return Err(bad(format!("a {} item has one layer, the bundle", kind.as_str()))),
    };
    let artifact = match (kind, annotations.get(ARTIFACT_DIGEST)) {
        (ItemKind::Artifact, Some(text)) => {
            let digest = text.parse::<Digest>().map_err(|e| bad(format!("{ARTIFACT_DIGEST}: {e}")))?;
            let name = annotations.get(TITLE).map(|t| shown(t)).unwrap_or_else(|| digest.to_string());
            Some((digest, name))
        }
        (ItemKind::Artifact, None) => return Err(bad(format!("an artifact item needs {ARTIFACT_DIGEST}"))),
        _ => None,
    };
    let title = annotations.get(TITLE).map(|t| shown(t));
    Ok(FetchedItem { digest: entry.digest, kind, bundle, sbom_title, artifact, title })
}

/// The longest title kept from an item's annotations.
const MAX_TITLE_CHARS: usize = 200;

/// A title as the registry gave it, made safe to print and store: whoever can push to the
/// repository writes it, so control characters (terminal escapes) are dropped and it is bounded.
fn shown(title: &str) -> String {
    title.chars().filter(|c| !c.is_control()).take(MAX_TITLE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(hex_start: &str) -> Descriptor {
        let hex = format!("{hex_start}{}", "0".repeat(64 - hex_start.len()));
        Descriptor::new(media_type::OCI_MANIFEST, format!("sha256:{hex}").parse().unwrap(), 100)
    }

    #[test]
    fn items_are_named_by_digest_or_unique_prefix() {
        let items = [entry("abc1"), entry("abc2"), entry("def")];
        assert_eq!(find_item(&items, "def").unwrap(), items[2].digest);
        assert_eq!(find_item(&items, &items[0].digest.to_string()).unwrap(), items[0].digest);
        assert!(
            matches!(find_item(&items, "abc"), Err(FeedError::AmbiguousItem { candidates, .. }) if candidates.len() == 2)
        );
        assert!(matches!(find_item(&items, "0123"), Err(FeedError::NoSuchItem(_))));
        assert!(matches!(find_item(&items, ""), Err(FeedError::NoSuchItem(_))));
    }

    #[test]
    fn titles_from_the_registry_print_safely() {
        assert_eq!(shown("agent\u{1b}[2J\u{1b}]0;pwned\u{7}\n"), "agent[2J]0;pwned");
        assert_eq!(shown(&"x".repeat(1000)).len(), MAX_TITLE_CHARS);
    }

    #[test]
    fn an_index_is_a_feed_only_with_the_feed_artifact_type() {
        let items = vec![entry("abc1")];
        let bytes = index_bytes(&items, &BTreeMap::new());
        let fetched = |bytes: &Bytes| FetchedManifest {
            digest: Digest::of(bytes),
            bytes: bytes.clone(),
            manifest: crate::manifest::parse(bytes, None).unwrap(),
        };
        let feed = index_of("feed", fetched(&bytes)).unwrap();
        assert_eq!(feed.items, items);
        let other: Bytes =
            String::from_utf8(bytes.to_vec()).unwrap().replace(FEED_ARTIFACT_TYPE, "application/x").into();
        assert!(matches!(index_of("feed", fetched(&other)), Err(FeedError::NotAFeed { .. })));
    }
}
