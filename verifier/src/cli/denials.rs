use std::{os::unix::fs::MetadataExt as _, path::Path, time::SystemTime};

use anyhow::{Context as _, bail};

use super::{Paths, table};
use crate::store::{DenialFilter, Store};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only events since this long ago ("90s", "10m", "2h 30m", "7d") or since this time
    /// (RFC 3339, "2026-11-25T10:00:00Z").
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Only events of this cgroup: a cgroup v2 path, or its numeric id.
    #[arg(long, value_name = "PATH|ID")]
    cgroup: Option<String>,
    /// Only real denials (enforce), would-denies (audit) or observations (observe-only).
    #[arg(long, value_enum)]
    mode: Option<EventMode>,
    /// Only events about the file at this path.
    #[arg(long)]
    path: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum EventMode {
    Enforce,
    Audit,
    Observe,
}

fn since_ms(text: &str) -> anyhow::Result<i64> {
    let at = match humantime::parse_duration(text) {
        Ok(ago) => SystemTime::now() - ago,
        Err(_) => humantime::parse_rfc3339_weak(text).with_context(|| {
            format!("--since {text:?}: neither a duration (10m, 2h) nor a time (2026-11-25T10:00:00Z)")
        })?,
    };
    Ok(at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0))
}

fn cgroup_id(text: &str) -> anyhow::Result<u64> {
    if let Ok(id) = text.parse() {
        return Ok(id);
    }
    let path = Path::new(text);
    let full = if path.is_absolute() {
        path.to_owned()
    } else {
        match crate::daemon::scope::cgroup2_mount_point() {
            Some(root) => root.join(path),
            None => bail!("--cgroup {text}: no cgroup v2 filesystem is mounted"),
        }
    };
    Ok(std::fs::metadata(&full).with_context(|| format!("--cgroup {}", full.display()))?.ino())
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    let filter = DenialFilter {
        since_ms: args.since.as_deref().map(since_ms).transpose()?,
        cgroup_id: args.cgroup.as_deref().map(cgroup_id).transpose()?,
        action: args.mode.map(|m| match m {
            EventMode::Enforce => "denied",
            EventMode::Audit => "would-deny",
            EventMode::Observe => "observed",
        }),
        sha256: None,
        path: args.path,
    };
    let store = Store::open(&paths.db)?;
    let groups = store.denial_groups(&filter)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&groups)?);
        return Ok(0);
    }
    if groups.is_empty() {
        println!("no denials recorded");
        return Ok(0);
    }
    let mut t = table::new(&[
        "LAST SEEN",
        "COUNT",
        "ACTION",
        "HOOK",
        "FILE",
        "SHA256",
        "PROCESSES",
        "CGROUP",
        "EVENT",
        "REVIEW",
    ]);
    for g in &groups {
        let processes: Vec<String> = g.comms.iter().take(3).cloned().collect();
        let where_ =
            if g.containers.is_empty() { g.cgroups.join(",") } else { format!("container {}", g.containers.join(",")) };
        t.add_row(vec![
            table::time_ms(g.last_ms),
            g.count.to_string(),
            g.actions.join(","),
            g.hooks.join(","),
            g.path.clone().unwrap_or_else(|| format!("dev {} ino {}", g.dev, g.ino)),
            g.sha256.as_deref().map_or("-".into(), table::short_digest),
            processes.join(","),
            where_,
            g.last_event.to_string(),
            g.review.join(","),
        ]);
    }
    println!("{t}");
    Ok(0)
}
