//! `approve` and `revoke`: the admin's decisions, each audited and applied to a running daemon.
use anyhow::{Context as _, bail};

use super::{Paths, notify_daemon, refused};
use crate::{
    hashing::Sha256,
    store::Store,
    trust::{self, Circumstances, Evidence, current_user},
};

#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// A digest (sha256:<hex> or <hex>), or the number of a recorded event (as `denials` shows
    /// in its EVENT column), whose file's digest is approved.
    target: String,
    /// Why this code may run (kept in the audit log and shown by `explain`).
    #[arg(long)]
    reason: String,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The source's id, as `sources` lists it.
    source: String,
    #[arg(long)]
    reason: Option<String>,
}

pub fn approve(paths: &Paths, args: ApproveArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&paths.db)?;
    let (digest, path) = match Sha256::parse_lenient(&args.target) {
        Some(d) => (d, None),
        None => {
            let event: i64 = args
                .target
                .trim_start_matches('#')
                .parse()
                .with_context(|| format!("{:?} is neither a sha256 digest nor an event number", args.target))?;
            match store.event_file(event)? {
                None => bail!("no event #{event} in {}", store.path().display()),
                Some((None, path)) => bail!(
                    "event #{event} ({}) has no digest: the file could not be hashed after the denial; approve it by digest",
                    path.as_deref().unwrap_or("unknown path")
                ),
                Some((Some(digest), path)) => (digest, path),
            }
        }
    };
    let about = path.as_ref().map(|p| format!(" ({p})")).unwrap_or_default();
    let evidence = Evidence::Approval { sha256: digest, path };
    let circumstances = Circumstances { trust: None, forbid_unsigned: false, reason: Some(args.reason) };
    let committed = match trust::accept(&mut store, evidence, circumstances)? {
        Ok(committed) => committed,
        Err(refusal) => return Ok(refused(&refusal)),
    };
    println!("approved {digest}{about} as source #{}", committed.id);
    notify_daemon(paths);
    Ok(0)
}

pub fn revoke(paths: &Paths, args: RevokeArgs) -> anyhow::Result<i32> {
    let id: i64 = args
        .source
        .trim_start_matches('#')
        .parse()
        .with_context(|| format!("{:?} is not a source id (see `provgate sources`)", args.source))?;
    let mut store = Store::open(&paths.db)?;
    let removed = store.revoke_source(id, &current_user(), args.reason.as_deref())?;
    println!(
        "revoked source #{} ({} {:?}): {} digests no longer vouched for by it",
        removed.id, removed.kind, removed.name, removed.digests
    );
    notify_daemon(paths);
    Ok(0)
}
