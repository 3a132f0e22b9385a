//! `approve`, `dismiss` and `revoke`: the admin's decisions, each audited (and applied to a
//! running daemon when trust changes).
use super::{Paths, notify_daemon, refused, target};
use crate::{
    store::Store,
    trust::{self, Circumstances, Evidence, current_user},
};

#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// What to approve: a file, a digest (sha256:<hex>, or a unique prefix of 8 or more hex
    /// digits, as `denials` prints it), or a recorded event (#N, as `denials` prints it).
    target: String,
    /// Record the approval even if other sources already vouch for the digest.
    #[arg(long)]
    force: bool,
    /// Why this code may run (kept in the audit log and shown by `explain`).
    #[arg(long)]
    reason: String,
}

#[derive(Debug, clap::Args)]
pub struct DismissArgs {
    /// The file whose denials are dismissed: a path, a digest or a prefix of 8 or more hex
    /// digits, or an event (#N), as `denials` prints them.
    target: String,
    /// Why it stays blocked (kept in the audit log).
    #[arg(long)]
    reason: String,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The source's id, as `sources` and `audit` list it (#N or N).
    source: String,
    #[arg(long)]
    reason: Option<String>,
}

pub fn approve(paths: &Paths, args: ApproveArgs) -> anyhow::Result<i32> {
    let mut store = Store::open(&paths.db)?;
    let subject = target::subject(&store, &args.target)?;
    let file = subject.file.map(|p| std::path::absolute(&p).unwrap_or(p).display().to_string());
    let (digest, path) = (subject.digest, file.or(subject.recorded_path));
    let about = path.as_ref().map(|p| format!(" ({p})")).unwrap_or_default();
    let evidence = Evidence::Approval { sha256: digest, path, force: args.force };
    let circumstances = Circumstances { trust: None, forbid_unsigned: false, reason: Some(args.reason) };
    let committed = match trust::accept(&mut store, evidence, circumstances)? {
        Ok(committed) => committed,
        Err(refusal) => return Ok(refused(&refusal)),
    };
    println!("approved {digest}{about} as source #{}", committed.id);
    notify_daemon(paths);
    Ok(0)
}

/// Blocked on purpose: the file's new denials leave the review queue; nothing is trusted.
pub fn dismiss(paths: &Paths, args: DismissArgs) -> anyhow::Result<i32> {
    anyhow::ensure!(!args.reason.trim().is_empty(), "--reason must say why this stays blocked");
    let mut store = Store::open(&paths.db)?;
    let (digest, event) = match target::resolve(&store, &args.target)? {
        target::Target::Event(event) => match store.event_file(event)? {
            Some((digest, _)) => (digest, Some(event)),
            None => anyhow::bail!("no event #{event} in {}", store.path().display()),
        },
        _ => (Some(target::subject(&store, &args.target)?.digest), None),
    };
    let marked = store.dismiss(digest.as_ref(), event, &current_user(), &args.reason)?;
    let what = digest.map_or_else(|| format!("event #{}'s file", event.unwrap_or_default()), |d| d.to_string());
    println!("dismissed {marked} new events about {what}");
    Ok(0)
}

pub fn revoke(paths: &Paths, args: RevokeArgs) -> anyhow::Result<i32> {
    let id = target::source_id(&args.source)?;
    let mut store = Store::open(&paths.db)?;
    let removed = store.revoke_source(id, &current_user(), args.reason.as_deref())?;
    println!(
        "revoked source #{} ({} {:?}): {} digests no longer vouched for by it",
        removed.id, removed.kind, removed.name, removed.digests
    );
    notify_daemon(paths);
    Ok(0)
}
