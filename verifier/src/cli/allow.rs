//! `allow FILE...`: trust files on an admin's word, as one source.
use std::path::PathBuf;

use provgate_sbom::DigestRecord;

use super::{Paths, Reason, notify_daemon, refused};
use crate::{
    hashing::hash_file,
    store::Store,
    trust::{self, Circumstances, Evidence},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to trust. All are hashed first; if any cannot be, nothing is added.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    reason: Reason,
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    let mut records = Vec::new();
    let mut failed = false;
    for path in &args.paths {
        match hash_file(path) {
            Ok(h) => {
                let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                records.push(DigestRecord {
                    sha256: h.digest,
                    path: Some(absolute.display().to_string()),
                    package: None,
                });
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
    let evidence = Evidence::Manual { records: records.clone() };
    let circumstances = Circumstances { trust: None, forbid_unsigned: false, reason: args.reason.text };
    let committed = match trust::accept(&mut store, evidence, circumstances)? {
        Ok(committed) => committed,
        Err(refusal) => return Ok(refused(&refusal)),
    };
    for (record, path) in records.iter().zip(&args.paths) {
        println!("allowed {}  {}", record.sha256, path.display());
    }
    eprintln!("provgate: source #{} added to {}", committed.id, store.path().display());
    notify_daemon(paths);
    Ok(0)
}
