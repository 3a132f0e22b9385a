//! `explain PATH|DIGEST`: allowed or not, and why.
use std::path::PathBuf;

use serde_json::json;

use super::{Paths, table, target};
use crate::{
    api::{KernelFileState, client},
    store::{DenialFilter, Store},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A file, a digest (sha256:<hex>, or a unique prefix of 8 or more hex digits), or an event
    /// (#N, as `denials` prints it).
    target: String,
    #[arg(long)]
    json: bool,
}

/// Records shown per source (a package may hold the same content at many paths).
const RECORDS_SHOWN: usize = 5;

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    let store = Store::open(&paths.db)?;
    let subject = target::subject(&store, &args.target)?;
    let digest = subject.digest;
    let file = subject.file.clone().or_else(|| subject.recorded_path.as_ref().map(PathBuf::from));
    let vouchers = store.vouchers(&digest)?;
    // Which file of which package, for a source that vouches for several files.
    let records = store.records_of(&digest, RECORDS_SHOWN)?;
    let allowed = !vouchers.is_empty();
    let seen_at = store.cached_files_with_digest(&digest)?;
    let events = store.denial_groups(&DenialFilter { sha256: Some(digest), ..Default::default() })?;
    // For a file: what does the running daemon's kernel hold for this exact content?
    let kernel = subject.file.as_ref().map(|path| match kernel_state(paths, path) {
        Ok(KernelFileState::Current { allowed: true, sha256 }) => {
            format!("current: the kernel allows this file{}", hashed_as(sha256.as_deref()))
        }
        Ok(KernelFileState::Current { allowed: false, sha256 }) => {
            format!("current: the kernel denies (or reports) this file{}", hashed_as(sha256.as_deref()))
        }
        Ok(KernelFileState::Stale { sha256 }) => format!(
            "stale: the kernel hashed an earlier version of this file{}; its next use hashes it again",
            hashed_as(sha256.as_deref())
        ),
        Ok(KernelFileState::NotHashed) => "not hashed yet: the kernel hashes it at its first use".to_owned(),
        Err(e) => format!("unknown ({e})"),
    });
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "sha256": digest.to_hex(),
                "path": file.as_ref().map(|p| p.display().to_string()),
                "allowed": allowed,
                "sources": vouchers,
                "records": records,
                "seen_at": seen_at.iter().map(|c| &c.path).collect::<Vec<_>>(),
                "kernel": kernel,
                "events": events,
            }))?
        );
        return Ok(if allowed { 0 } else { 1 });
    }
    if let Some(p) = &file {
        println!("{}", p.display());
    }
    println!("  {digest}");
    if allowed {
        println!("  ALLOWED: vouched for by {} source{}", vouchers.len(), if vouchers.len() == 1 { "" } else { "s" });
    } else {
        println!("  NOT ALLOWED: no source vouches for this digest");
    }
    for s in &vouchers {
        let signer = match (&s.signer, &s.issuer) {
            (Some(signer), Some(issuer)) => format!(", signed by {signer} ({issuer})"),
            (Some(signer), None) => format!(", signed by {signer}"),
            _ => String::new(),
        };
        let detail = s.detail.as_ref().map(|d| format!(" {d}")).unwrap_or_default();
        println!(
            "    #{} {} {:?}{signer}, added {} by {}{}{detail}",
            s.id,
            s.kind,
            s.name,
            table::time_ms(s.created_at * 1000),
            s.created_by,
            s.reason.as_ref().map(|r| format!(", reason: {r}")).unwrap_or_default()
        );
        for record in records.iter().filter(|r| r.source_id == s.id) {
            match (&record.path, &record.package) {
                (Some(path), Some(package)) => println!("      as {path} in {package}"),
                (None, Some(package)) => println!("      as a file of {package}"),
                (Some(path), None) => println!("      as {path}"),
                (None, None) => {}
            }
        }
    }
    if let Some(state) = &kernel {
        println!("  kernel: {state}");
    }
    if !seen_at.is_empty() {
        let paths: Vec<&str> = seen_at.iter().map(|c| c.path.as_str()).take(5).collect();
        println!("  seen at: {}{}", paths.join(", "), if seen_at.len() > 5 { ", ..." } else { "" });
    }
    for g in &events {
        println!(
            "  events: {} {} ({}), last {} by {}",
            g.count,
            g.actions.join(","),
            g.hooks.join(","),
            table::time_ms(g.last_ms),
            g.comms.join(",")
        );
    }
    if !allowed {
        println!("  to trust it: provgate approve {digest} --reason '...'");
    }
    Ok(if allowed { 0 } else { 1 })
}

fn kernel_state(paths: &Paths, path: &std::path::Path) -> Result<KernelFileState, String> {
    // The daemon resolves the path in its own working directory.
    let path = path.canonicalize().map_err(|e| e.to_string())?;
    client::kernel_state(&paths.run_dir, &path).map_err(|e| e.to_string())
}

fn hashed_as(sha256: Option<&str>) -> String {
    sha256.map(|d| format!(" (hashed as sha256:{d})")).unwrap_or_default()
}
