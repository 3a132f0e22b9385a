use std::path::PathBuf;

use super::Paths;
use crate::{
    hashing::hash_file,
    store::{NewSource, SourceRecord, Store},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to trust. All are hashed first; if any cannot be, nothing is added.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Why these files are trusted (kept in the audit log).
    #[arg(long)]
    reason: Option<String>,
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    let mut records = Vec::new();
    let mut failed = false;
    for path in &args.paths {
        match hash_file(path) {
            Ok(h) => {
                let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                records.push((
                    SourceRecord { digest: h.digest, path: Some(absolute.display().to_string()), package: None },
                    path,
                ));
            }
            Err(e) => {
                eprintln!("provgate: {e}");
                failed = true;
            }
        }
    }
    if failed {
        eprintln!("provgate: nothing was added to the allowlist");
        return Ok(1);
    }
    let mut store = Store::open(&paths.db)?;
    let source = NewSource {
        kind: "manual",
        name: format!("provgate allow ({} files)", records.len()),
        signer: None,
        issuer: None,
        detail: None,
        created_by: current_user(),
        reason: args.reason,
        evidence: None,
    };
    let plain: Vec<SourceRecord> = records.iter().map(|(r, _)| r.clone()).collect();
    let id = store.add_source(&source, &plain)?;
    for (record, path) in &records {
        println!("allowed {}  {}", record.digest, path.display());
    }
    eprintln!("provgate: source #{id} added to {}", store.path().display());
    super::notify_daemon(paths);
    Ok(0)
}

/// The invoking user, for the audit log: `SUDO_USER` when run through sudo, else the uid's name.
pub fn current_user() -> String {
    if let Ok(user) = std::env::var("SUDO_USER") {
        return user;
    }
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}
