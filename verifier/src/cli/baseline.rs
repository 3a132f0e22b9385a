//! `baseline PATH...`: trust what is installed now (trust on first use), as one source that can
//! be listed and revoked like any other.
use std::path::PathBuf;

use anyhow::bail;
use provgate_sbom::DigestRecord;

use super::{Paths, Reason, notify_daemon, refused};
use crate::{
    filecache::FileCache,
    scan::{self, CANDIDATE_HELP},
    store::Store,
    trust::{self, Circumstances, Evidence},
};

#[derive(Debug, clap::Args)]
#[command(after_help = format!("Directories are walked without following symbolic links; candidates are {CANDIDATE_HELP}."))]
pub struct Args {
    /// Files or directories to trust as they are now.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    reason: Reason,
}

pub fn run(paths: &Paths, args: Args) -> anyhow::Result<i32> {
    for p in &args.paths {
        if !p.exists() {
            bail!("{}: no such file or directory; nothing was added", p.display());
        }
    }
    let mut store = Store::open(&paths.db)?;
    let mut errors = Vec::new();
    let started = std::time::Instant::now();
    let files = scan::files_under(&args.paths, &mut errors);
    let mut cache = FileCache::load(&store)?;
    let bar = scan::progress_bar(files.len(), "scanning");
    let (hashed, hash_errors, stats) =
        scan::hash_paths_checkpointed(&files, scan::Select::Candidates, &mut cache, &mut store, Some(&bar))?;
    bar.finish_and_clear();
    errors.extend(hash_errors.iter().map(ToString::to_string));
    for e in errors.iter().take(10) {
        eprintln!("provgate: skipped {e}");
    }
    if errors.len() > 10 {
        eprintln!("provgate: skipped {} more", errors.len() - 10);
    }
    let records: Vec<DigestRecord> = hashed
        .iter()
        .map(|h| DigestRecord { sha256: h.file.digest, path: Some(h.path.display().to_string()), package: None })
        .collect();
    let files_trusted = records.len();
    let distinct: std::collections::HashSet<_> = records.iter().map(|r| r.sha256).collect();
    let evidence = Evidence::Baseline { paths: args.paths, records, skipped: errors.len() };
    let circumstances = Circumstances { trust: None, forbid_unsigned: false, reason: args.reason.text };
    let committed = match trust::accept(&mut store, evidence, circumstances)? {
        Ok(committed) => committed,
        Err(refusal) => return Ok(refused(&refusal)),
    };
    println!(
        "baseline source #{}: {files_trusted} files ({} distinct digests) trusted; {} hashed ({} MB) and {} from the \
         cache; {} files scanned in {:.2}s ({} not candidates); {} skipped",
        committed.id,
        distinct.len(),
        stats.hashed,
        stats.bytes_hashed / 1_000_000,
        stats.cache_hits,
        stats.files,
        started.elapsed().as_secs_f64(),
        stats.skipped,
        errors.len()
    );
    notify_daemon(paths);
    Ok(0)
}
