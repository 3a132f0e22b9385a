use std::{io::Write as _, os::unix::fs::MetadataExt as _, path::Path, time::Duration};

use super::{
    Paths, table,
    target::{self, Target},
};
use crate::{
    events_out::{EventJson, hostname},
    store::{DenialFilter, EventRecord, ReviewState, Store, action_of_mode},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only events since this long ago ("90s", "10m", "2h 30m", "7d") or since this time
    /// (RFC 3339, "2026-11-25T10:00:00Z").
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Only events of this file: a path, a digest or a prefix of 8 or more hex digits, or an
    /// event (#N); as `explain` takes them.
    target: Option<String>,
    /// Only events of this cgroup: as the CGROUP column prints it (its path below the cgroup2
    /// root), a full cgroup v2 path, or its numeric id.
    #[arg(long, value_name = "PATH|ID")]
    cgroup: Option<String>,
    /// Only groups in this review state.
    #[arg(long, value_enum, value_name = "STATE")]
    review: Option<ReviewState>,
    /// Only real denials (enforce), would-denies (audit) or observations (observe-only).
    #[arg(long, value_enum)]
    mode: Option<EventMode>,
    /// Only events about the file at this path.
    #[arg(long)]
    path: Option<String>,
    /// Print each new event as it is recorded, one line each (with --json, the object the
    /// daemon's events output writes), until interrupted.
    #[arg(long, conflicts_with_all = ["since", "target", "cgroup", "review", "mode", "path"])]
    follow: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
// Named as `store::action_of_mode` knows them.
enum EventMode {
    Enforce,
    Audit,
    Observe,
}

/// A cgroup as the user gave it: its recorded path (below the cgroup2 root) and, when it names
/// a cgroup that exists now or is a number, its id.
fn cgroup(text: &str) -> anyhow::Result<(Option<String>, Option<u64>)> {
    if let Ok(id) = text.parse() {
        return Ok((None, Some(id)));
    }
    let root = crate::daemon::scope::cgroup2_mount_point();
    let relative = match &root {
        Some(root) => Path::new(text).strip_prefix(root).map(|p| format!("/{}", p.display())).ok(),
        None => None,
    }
    .unwrap_or_else(|| format!("/{}", text.trim_start_matches('/')));
    let id = root.map(|root| root.join(relative.trim_start_matches('/'))).and_then(|p| std::fs::metadata(p).ok());
    Ok((Some(relative), id.map(|m| m.ino())))
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    let store = Store::open(&paths.db)?;
    if args.follow {
        return follow(&store, args.json);
    }
    let (sha256, path, like_event) = match args.target.as_deref().map(|t| target::resolve(&store, t)).transpose()? {
        None => (None, args.path, None),
        Some(Target::Digest(digest)) => (Some(digest), args.path, None),
        Some(Target::Path(path)) => (None, Some(std::path::absolute(&path)?.display().to_string()), None),
        Some(Target::Event(event)) => (None, args.path, Some(event)),
    };
    let filter = DenialFilter {
        since_ms: args.since.as_deref().map(table::since_ms).transpose()?,
        cgroup: args.cgroup.as_deref().map(cgroup).transpose()?,
        action: args.mode.and_then(|m| action_of_mode(clap::ValueEnum::to_possible_value(&m)?.get_name())),
        sha256,
        path,
        like_event,
        state: args.review,
    };
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
            format!("#{}", g.last_event),
            g.state.as_str().to_owned(),
        ]);
    }
    println!("{t}");
    Ok(0)
}

/// How often the store is asked for new events, and how many are read at once.
const FOLLOW_POLL: Duration = Duration::from_millis(250);
const FOLLOW_BATCH: usize = 1000;

/// Prints the events recorded from now on, oldest first, as the daemon stores them. The store
/// is polled (the daemon writes it; SQLite's WAL lets this read alongside), by event id, so no
/// event is printed twice or skipped.
fn follow(store: &Store, json: bool) -> anyhow::Result<i32> {
    let host = hostname();
    let mut last = store.last_event_id()?;
    // On stderr, so stdout holds events only; it also tells a script that waiting has begun.
    eprintln!("following new events (after #{last}); interrupt to stop");
    let mut line = Vec::with_capacity(4096);
    loop {
        let events = store.events_after(last, FOLLOW_BATCH)?;
        let mut out = std::io::stdout().lock();
        for (id, event) in &events {
            line.clear();
            if json {
                EventJson::new(Some(*id), event, &host).write_line(&mut line);
            } else {
                line.extend_from_slice(text_line(*id, event).as_bytes());
            }
            out.write_all(&line)?;
            last = *id;
        }
        out.flush()?;
        drop(out);
        if events.len() < FOLLOW_BATCH {
            std::thread::sleep(FOLLOW_POLL);
        }
    }
}

/// One event for a person: when, what, which file, who, where.
fn text_line(id: i64, e: &EventRecord) -> String {
    let file = e.path.clone().unwrap_or_else(|| format!("dev {} ino {}", e.dev, e.ino));
    let digest = e.sha256.map_or("-".into(), |d| table::short_digest(&d.to_hex()));
    let place = match (&e.container, &e.cgroup_path) {
        (Some(container), _) => format!("container {container}"),
        (None, Some(cgroup)) => cgroup.clone(),
        (None, None) => format!("cgroup {}", e.cgroup_id),
    };
    format!(
        "{} #{id} {} {} {} {file} {digest} pid {} ({}) uid {} {place}\n",
        table::time_ms(e.at_ms),
        e.action,
        e.hook,
        e.reason,
        e.tgid,
        e.comm,
        e.uid,
    )
}
