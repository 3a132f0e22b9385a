//! Trust feeds on the node: each item of a feed the node follows is fetched, verified with the
//! node's own trust policy and trusted root (never the publisher's word, never the registry's),
//! and admitted as one source tied to the feed and the item. An item gone from the feed loses
//! exactly its source; an item failing a check is not used and is reported with the check. A
//! feed that cannot be read changes nothing: the node keeps its last verified state and records
//! why. `provgate feed sync` and the daemon's own syncs both run [`sync`].
use std::{cell::RefCell, collections::HashMap, path::PathBuf, rc::Rc};

use anyhow::Context as _;
use provgate_oci::{
    ImageReference, RegistryConfig,
    client::{RegistryError, Repository},
    feed::{self, FeedError, FetchedItem, ItemKind},
};
use serde::Serialize;
use serde_json::json;

use crate::{
    config::Config,
    store::{FeedRecord, NotUsedItem, Store},
    trust::{self, ArtifactSubject, Circumstances, Evidence, Trust},
};

/// A feed's reference: `REGISTRY/REPOSITORY:TAG`, a tag and no digest (a feed changes).
pub fn parse_reference(text: &str) -> anyhow::Result<(ImageReference, String)> {
    let reference: ImageReference = text.parse()?;
    if reference.digest().is_some() {
        anyhow::bail!("feed {text}: a feed is a tag, not a digest");
    }
    let tag = reference.tag().unwrap_or("latest").to_owned();
    Ok((reference, tag))
}

/// The feeds to sync: those followed, and those the configuration lists (followed from then
/// on, with the configuration's policy and root).
pub fn followed(store: &Store, config: &Config) -> anyhow::Result<Vec<FeedRecord>> {
    let mut records = store.feeds()?;
    for reference in &config.feeds {
        if !records.iter().any(|r| &r.reference == reference) {
            parse_reference(reference).with_context(|| "feeds in the configuration".to_string())?;
            records.push(FeedRecord {
                reference: reference.clone(),
                policy: None,
                trusted_root: None,
                added_at_ms: 0,
                added_by: "configuration".into(),
                digest: None,
                synced_at_ms: None,
                attempted_at_ms: None,
                error: None,
                not_used: Vec::new(),
            });
        }
    }
    Ok(records)
}

/// What one sync did.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum SyncOutcome {
    /// The feed's digest is the one applied last: nothing fetched beyond its index.
    Unchanged {
        digest: String,
    },
    Applied {
        digest: String,
        added: Vec<AddedItem>,
        removed: Vec<RemovedItem>,
        not_used: Vec<NotUsedItem>,
    },
    /// The feed could not be read or verified against; nothing changed.
    Failed {
        error: String,
    },
}

#[derive(Debug, Serialize)]
pub struct AddedItem {
    pub item: String,
    pub source: i64,
    pub records: u64,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct RemovedItem {
    pub item: String,
    pub source: i64,
}

/// How syncs run: the configuration (policy and root when a feed names none), the registries'
/// credentials, the connections kept between syncs, whether items not in use are fetched again
/// though the feed did not change, and who acts (for the audit log).
pub struct SyncRun<'a> {
    pub config: &'a Config,
    pub registries: &'a RegistryConfig,
    pub connections: &'a Connections,
    pub refetch: bool,
    pub actor: &'a str,
}

/// Repositories already connected, by registry and repository, so that a token registry's
/// bearer token serves the next sync too and an unchanged feed costs one request. A connection
/// is made afresh when the registry configuration changed, and after a sync that failed: a kept
/// connection whose credentials stopped working (a credential helper's expired) gets one more
/// try in the same sync, with what the configuration gives now.
#[derive(Default)]
pub struct Connections(RefCell<HashMap<String, (RegistryConfig, Rc<Repository>)>>);

impl Connections {
    async fn get(&self, reference: &ImageReference, registries: &RegistryConfig) -> anyhow::Result<Rc<Repository>> {
        if let Some(repository) = self.kept(reference, registries) {
            return Ok(repository);
        }
        let repository = Rc::new(Repository::connect(reference, registries).await?);
        self.0.borrow_mut().insert(Self::key(reference), (registries.clone(), repository.clone()));
        Ok(repository)
    }

    /// The connection kept for `reference`, if it was made with this configuration.
    fn kept(&self, reference: &ImageReference, registries: &RegistryConfig) -> Option<Rc<Repository>> {
        let kept = self.0.borrow();
        kept.get(&Self::key(reference)).filter(|(config, _)| config == registries).map(|(_, r)| r.clone())
    }

    fn forget(&self, reference: &ImageReference) {
        self.0.borrow_mut().remove(&Self::key(reference));
    }

    fn key(reference: &ImageReference) -> String {
        format!("{}/{}", reference.registry(), reference.repository())
    }
}

/// Syncs one feed the store follows; records the outcome in the store.
pub async fn sync(store: &mut Store, run: &SyncRun<'_>, record: &FeedRecord) -> anyhow::Result<SyncOutcome> {
    if store.feed(&record.reference)?.is_none() {
        store.add_feed(&record.reference, None, None, &record.added_by)?;
    }
    let reference = parse_reference(&record.reference).ok().map(|(reference, _)| reference);
    let kept = reference.as_ref().is_some_and(|r| run.connections.kept(r, run.registries).is_some());
    let mut attempt = read_and_apply(store, run, record).await;
    if let (true, Err(e), Some(reference)) = (kept, &attempt, &reference)
        && access_refused(e)
    {
        tracing::info!(feed = %record.reference, "the kept connection was refused; connecting afresh");
        run.connections.forget(reference);
        attempt = read_and_apply(store, run, record).await;
    }
    let outcome = match attempt {
        Ok(outcome) => outcome,
        Err(e) => {
            if let Some(reference) = &reference {
                run.connections.forget(reference);
            }
            SyncOutcome::Failed { error: format!("{e:#}") }
        }
    };
    match &outcome {
        SyncOutcome::Unchanged { digest } => store.record_feed_sync(&record.reference, digest, &record.not_used)?,
        SyncOutcome::Applied { digest, not_used, .. } => store.record_feed_sync(&record.reference, digest, not_used)?,
        SyncOutcome::Failed { error } => {
            tracing::warn!(feed = %record.reference, "feed not synced; the last verified state stays: {error}");
            store.record_feed_failure(&record.reference, error)?
        }
    }
    Ok(outcome)
}

fn access_refused(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<RegistryError>().is_some_and(RegistryError::is_access_refused)
            || matches!(cause.downcast_ref::<FeedError>(), Some(FeedError::Registry(e)) if e.is_access_refused())
    })
}

async fn read_and_apply(store: &mut Store, run: &SyncRun<'_>, record: &FeedRecord) -> anyhow::Result<SyncOutcome> {
    let SyncRun { config, registries, connections, refetch, actor } = *run;
    let (reference, tag) = parse_reference(&record.reference)?;
    let repository = connections.get(&reference, registries).await?;
    let index = feed::read(&repository, &tag).await?;
    let Some(digest) = index.digest else {
        anyhow::bail!("feed {}: the tag does not exist", record.reference);
    };
    if !refetch && record.digest.as_deref() == Some(digest.to_string().as_str()) {
        return Ok(SyncOutcome::Unchanged { digest: digest.to_string() });
    }
    let trust = Trust::load(config, record.policy.as_deref(), record.trusted_root.as_deref())
        .with_context(|| format!("feed {}", record.reference))?;
    let listed: HashMap<String, &provgate_oci::manifest::Descriptor> =
        index.items.iter().map(|d| (d.digest.to_string(), d)).collect();
    let mut stored: HashMap<String, i64> = HashMap::new();
    let mut removed = Vec::new();
    for source in store.feed_sources(&record.reference)? {
        if listed.contains_key(&source.item) {
            stored.insert(source.item, source.id);
        } else {
            let reason = format!("item {} was removed from feed {}", source.item, record.reference);
            store.revoke_source(source.id, actor, Some(&reason))?;
            removed.push(RemovedItem { item: source.item, source: source.id });
        }
    }
    let (mut added, mut not_used) = (Vec::new(), Vec::new());
    for entry in &index.items {
        let item = entry.digest.to_string();
        if stored.contains_key(&item) {
            continue;
        }
        match admit_item(store, &trust, &repository, entry, &record.reference, actor).await {
            Ok(Ok(added_item)) => added.push(added_item),
            Ok(Err(problem)) => {
                tracing::warn!(feed = %record.reference, %item, "feed item not used: {problem}");
                not_used.push(NotUsedItem { item, problem });
            }
            Err(e) => return Err(e),
        }
    }
    Ok(SyncOutcome::Applied { digest: digest.to_string(), added, removed, not_used })
}

/// Fetches, verifies and stores one item. The outer error stops the sync (the store failed);
/// the inner one is the check the item failed.
async fn admit_item(
    store: &mut Store,
    trust: &Trust,
    repository: &Repository,
    entry: &provgate_oci::manifest::Descriptor,
    reference: &str,
    actor: &str,
) -> anyhow::Result<Result<AddedItem, String>> {
    let dir = tempfile::tempdir().context("a temporary directory for feed items")?;
    let sbom_path = dir.path().join("sbom");
    let mut sbom_file = std::fs::File::create(&sbom_path).context("a temporary file for a feed item")?;
    let fetched = match feed::fetch_item(repository, entry, &mut sbom_file).await {
        Ok(fetched) => fetched,
        Err(FeedError::Io { what, source }) => return Err(anyhow::anyhow!("{what}: {source}")),
        Err(e) => return Ok(Err(e.to_string())),
    };
    drop(sbom_file);
    let bundle = dir.path().join("bundle.json");
    std::fs::write(&bundle, &fetched.bundle).context("writing a feed item's bundle")?;
    let evidence = evidence_of(&fetched, bundle, sbom_path);
    let title = fetched.title.clone().unwrap_or_else(|| fetched.digest.to_string());
    let circumstances = Circumstances {
        trust: Some(trust),
        forbid_unsigned: true,
        reason: Some(format!("item of trust feed {reference}")),
    };
    let mut admission = match trust::admit(evidence, circumstances)? {
        Ok(admission) => admission,
        Err(refusal) => return Ok(Err(strip_temporary(&refusal.0, dir.path()))),
    };
    admission.source.created_by = actor.to_owned();
    admission.source.name = format!("{title} (feed {reference})");
    let tie = json!({ "feed": reference, "feed_item": fetched.digest.to_string(), "file": title });
    match admission.source.detail.as_mut().and_then(|d| d.as_object_mut()) {
        Some(detail) => detail.extend(tie.as_object().cloned().unwrap_or_default()),
        None => admission.source.detail = Some(tie),
    }
    match trust::commit(store, admission)? {
        Ok(committed) => Ok(Ok(AddedItem {
            item: fetched.digest.to_string(),
            source: committed.id,
            records: committed.records,
            name: committed.name,
        })),
        Err(refusal) => Ok(Err(strip_temporary(&refusal.0, dir.path()))),
    }
}

fn evidence_of(item: &FetchedItem, bundle: PathBuf, sbom: PathBuf) -> Evidence {
    match (item.kind, &item.artifact) {
        (ItemKind::Sbom, _) => Evidence::SignedSbom { sbom, bundle },
        (ItemKind::Artifact, Some((sha256, name))) => {
            Evidence::Artifact {
                subject: ArtifactSubject::Digest { sha256: *sha256, name: name.clone() },
                bundle,
                // A feed item names a digest, not a file: there are no contents to read.
                contents: None,
            }
        }
        (_, _) => Evidence::Attestation { bundle, artifact: None, contents: None },
    }
}

/// Refusals name the files they were about; here those are temporary copies, named after what
/// they hold instead.
fn strip_temporary(message: &str, dir: &std::path::Path) -> String {
    let dir = dir.display().to_string();
    message
        .replace(&format!("{dir}/bundle.json"), "the item's bundle")
        .replace(&format!("{dir}/sbom"), "the item's SBOM")
}
