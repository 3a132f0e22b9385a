//! `provgate feed add|ls|rm|sync`: the node side of trust feeds (see [`crate::feeds`]).
use std::path::PathBuf;

use super::{Paths, notify_daemon, publish::runtime, registry_args::RegistryArgs, table, trust_args::TrustArgs};
use crate::{
    config::Config,
    feeds::{self, SyncOutcome, parse_reference},
    store::{FeedRecord, Store},
    trust::{Trust, current_user},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Follow a feed: its items are verified with this node's policy and trusted root, and
    /// become sources; synced at once.
    Add(AddArgs),
    /// List the feeds followed and how their last sync went.
    Ls(LsArgs),
    /// Stop following a feed and revoke the sources its items became.
    Rm(RmArgs),
    /// Sync one feed, or every feed followed (and those the configuration lists).
    Sync(SyncArgs),
}

#[derive(Debug, clap::Args)]
struct AddArgs {
    /// The feed: REGISTRY/REPOSITORY:TAG.
    feed: String,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
struct LsArgs {
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct RmArgs {
    feed: String,
}

#[derive(Debug, clap::Args)]
struct SyncArgs {
    /// The feed [default: every feed followed].
    feed: Option<String>,
    /// Fetch and verify the items not in use again even if the feed did not change (after the
    /// policy or trusted root changed).
    #[arg(long)]
    refetch: bool,
    #[arg(long)]
    json: bool,
    // With --policy or --trusted-root, the feeds synced keep them from now on, and their items
    // not in use are verified again with them.
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub fn run(paths: &Paths, config: &Config, args: Args) -> anyhow::Result<i32> {
    match args.command {
        Command::Add(args) => add(paths, config, args),
        Command::Ls(args) => ls(paths, config, args),
        Command::Rm(args) => rm(paths, args),
        Command::Sync(args) => sync(paths, config, args),
    }
}

fn add(paths: &Paths, config: &Config, args: AddArgs) -> anyhow::Result<i32> {
    parse_reference(&args.feed)?;
    // The policy and root must load now: a feed that could never be verified is not followed.
    let (policy, root) = (absolute(args.trust.policy), absolute(args.trust.trusted_root));
    Trust::load(config, policy.as_deref(), root.as_deref())?;
    let mut store = Store::open(&paths.db)?;
    let new = store.add_feed(&args.feed, policy.as_deref(), root.as_deref(), &current_user())?;
    eprintln!("provgate: {} {}", if new { "following" } else { "already following; policy updated for" }, args.feed);
    let record = store.feed(&args.feed)?.expect("just added");
    sync_records(paths, config, &mut store, vec![record], false, false, &args.registry)
}

fn absolute(path: Option<PathBuf>) -> Option<PathBuf> {
    path.map(|p| std::path::absolute(&p).unwrap_or(p))
}

fn ls(paths: &Paths, config: &Config, args: LsArgs) -> anyhow::Result<i32> {
    let store = Store::open(&paths.db)?;
    let feeds = feeds::followed(&store, config)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&feeds)?);
        return Ok(0);
    }
    if feeds.is_empty() {
        println!("no feeds followed");
        return Ok(0);
    }
    let mut t = table::new(&["FEED", "DIGEST", "SYNCED", "SOURCES", "NOT USED", "STATE"]);
    for feed in &feeds {
        let sources = store.feed_sources(&feed.reference)?.len();
        t.add_row(vec![
            feed.reference.clone(),
            feed.digest.as_deref().map(|d| table::short_digest(d.trim_start_matches("sha256:"))).unwrap_or("-".into()),
            feed.synced_at_ms.map(table::time_ms).unwrap_or_else(|| "never".into()),
            sources.to_string(),
            feed.not_used.len().to_string(),
            state(feed),
        ]);
    }
    println!("{t}");
    for feed in &feeds {
        for item in &feed.not_used {
            println!("{}: item {} not used: {}", feed.reference, item.item, item.problem);
        }
    }
    Ok(0)
}

/// `ok`, or stale since the last good sync, with why.
pub fn state(feed: &FeedRecord) -> String {
    match (&feed.error, feed.synced_at_ms) {
        (None, Some(_)) => "ok".into(),
        (None, None) => "not synced yet".into(),
        (Some(error), Some(at)) => format!("STALE since {}: {error}", table::time_ms(at)),
        (Some(error), None) => format!("NEVER SYNCED: {error}"),
    }
}

fn rm(paths: &Paths, args: RmArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&paths.db)?;
    if store.feed(&args.feed)?.is_none() {
        eprintln!("provgate: not following {}", args.feed);
        return Ok(1);
    }
    let actor = current_user();
    let sources = store.feed_sources(&args.feed)?;
    for source in &sources {
        store.revoke_source(source.id, &actor, Some(&format!("feed {} removed", args.feed)))?;
    }
    store.remove_feed(&args.feed, &actor)?;
    eprintln!("provgate: stopped following {}; {} sources revoked", args.feed, sources.len());
    notify_daemon(paths);
    Ok(0)
}

fn sync(paths: &Paths, config: &Config, args: SyncArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&paths.db)?;
    let mut records = feeds::followed(&store, config)?;
    if let Some(feed) = &args.feed {
        records.retain(|r| &r.reference == feed);
        if records.is_empty() {
            eprintln!("provgate: not following {feed} (provgate feed add {feed})");
            return Ok(1);
        }
    }
    // What is given replaces what each feed had; what is not given stays.
    let (policy, root) = (absolute(args.trust.policy), absolute(args.trust.trusted_root));
    let new_trust = policy.is_some() || root.is_some();
    if new_trust {
        let actor = current_user();
        for record in &mut records {
            record.policy = policy.clone().or(record.policy.take());
            record.trusted_root = root.clone().or(record.trusted_root.take());
            Trust::load(config, record.policy.as_deref(), record.trusted_root.as_deref())?;
            store.add_feed(&record.reference, record.policy.as_deref(), record.trusted_root.as_deref(), &actor)?;
        }
    }
    sync_records(paths, config, &mut store, records, args.refetch || new_trust, args.json, &args.registry)
}

/// Syncs and reports; exit 1 if any feed failed or any item was not used.
fn sync_records(
    paths: &Paths,
    config: &Config,
    store: &mut Store,
    records: Vec<FeedRecord>,
    refetch: bool,
    json: bool,
    registry: &RegistryArgs,
) -> anyhow::Result<i32> {
    let registries = registry.load(config.registry_config.as_deref())?;
    let actor = current_user();
    let runtime = runtime()?;
    let (mut failed, mut changed) = (false, false);
    let mut reports = Vec::new();
    let connections = feeds::Connections::default();
    for record in records {
        let run = feeds::SyncRun { config, registries: &registries, connections: &connections, refetch, actor: &actor };
        let outcome = runtime.block_on(feeds::sync(store, &run, &record))?;
        match &outcome {
            SyncOutcome::Unchanged { digest } => {
                eprintln!("provgate: {}: unchanged ({digest})", record.reference);
            }
            SyncOutcome::Applied { digest, added, removed, not_used } => {
                eprintln!(
                    "provgate: {}: applied {digest}: {} items added, {} removed, {} not used",
                    record.reference,
                    added.len(),
                    removed.len(),
                    not_used.len()
                );
                for a in added {
                    eprintln!("  + item {} -> source #{} ({} digests): {}", a.item, a.source, a.records, a.name);
                }
                for r in removed {
                    eprintln!("  - item {} -> source #{} revoked", r.item, r.source);
                }
                for n in not_used {
                    eprintln!("  ! item {} not used: {}", n.item, n.problem);
                }
                failed |= !not_used.is_empty();
                changed |= !added.is_empty() || !removed.is_empty();
            }
            SyncOutcome::Failed { error } => {
                eprintln!("provgate: {}: NOT SYNCED, the last verified state stays: {error}", record.reference);
                failed = true;
            }
        }
        reports.push(serde_json::json!({ "feed": record.reference, "sync": outcome }));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    if changed {
        notify_daemon(paths);
    }
    Ok(if failed { 1 } else { 0 })
}
