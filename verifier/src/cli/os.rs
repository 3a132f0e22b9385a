//! `provgate os trust`: the installed operating system's packages, trusted from their signed
//! archive (Debian's apt repositories), one source per package; `--check` reports how much of
//! the executable code under `/usr` and the `/bin`-like roots they vouch for; `--install-hook`
//! keeps it current after apt runs.
use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
};

use provgate_sbom::Sha256;
use rayon::prelude::*;

use super::{Paths, Reason, limit_args::LimitArgs, notify_daemon};
use crate::{
    filecache::FileCache,
    os::{compare, debs, dpkg, hook, lists},
    scan,
    store::Store,
    trust::{self, Circumstances, Evidence, Keyring, Refusal, SourceKind, Vouched},
};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: OsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum OsCommand {
    /// Trust the installed packages (dpkg's status) from their signed archive: InRelease
    /// verified with the archive keyring, the Packages index by InRelease's SHA-256, each .deb
    /// by the index's, and the .deb's files (with the maintainer scripts) recorded as one source
    /// per package. Installed files that differ from their package are reported, never allowed.
    Trust(TrustArgs),
}

#[derive(Debug, clap::Args)]
struct TrustArgs {
    /// The system's root directory, as dpkg's --root: its status at ROOT/var/lib/dpkg/status,
    /// apt's lists at ROOT/var/lib/apt/lists, apt's cache at ROOT/var/cache/apt/archives, files
    /// under ROOT.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Keyrings whose keys may sign the archive (binary .gpg or armored .asc; repeat for several)
    /// [default: os_keyrings from the configuration, else
    /// /usr/share/keyrings/debian-archive-keyring.gpg].
    #[arg(long = "keyring", value_name = "FILE")]
    keyrings: Vec<PathBuf>,
    /// Only these installed packages (by name; all their installed architectures).
    #[arg(long = "package", value_name = "NAME", num_args = 1..)]
    packages: Vec<String>,
    /// Where .debs that apt's cache lacks are downloaded (`apt-get download`, running system
    /// only), and removed from once read.
    #[arg(long, value_name = "DIR", default_value = "/var/cache/provgate/debs")]
    cache_dir: PathBuf,
    /// Never download: packages whose .deb no cache has are reported, not trusted.
    #[arg(long)]
    no_download: bool,
    /// Report coverage instead: the share of candidate files under ROOT's /usr and /bin-like
    /// directories that a package source vouches for, and the files that differ from their
    /// package.
    #[arg(long, conflicts_with_all = ["install_hook", "packages"])]
    check: bool,
    /// Write the apt hook (DPkg::Post-Invoke) that runs `os trust` after dpkg, to
    /// ROOT/etc/apt/apt.conf.d/80provgate, and exit.
    #[arg(long, conflicts_with = "packages")]
    install_hook: bool,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    reason: Reason,
}

pub fn run(paths: &Paths, config: &crate::config::Config, args: Args) -> anyhow::Result<i32> {
    match args.command {
        OsCommand::Trust(args) if args.install_hook => {
            let exe = std::env::current_exe()?;
            let db = std::path::absolute(&paths.db)?;
            let written = hook::install(&args.root, &exe, &db)?;
            println!("wrote the apt hook {} (DPkg::Post-Invoke runs {} os trust)", written.display(), exe.display());
            Ok(0)
        }
        OsCommand::Trust(args) if args.check => check(paths, &args),
        OsCommand::Trust(args) => trust_packages(paths, config, args),
    }
}

/// A stored os-package source: id, version, .deb digest (hex).
type StoredPackage = (i64, String, String);

/// The os-package sources stored, by (package, architecture).
fn stored_sources(store: &Store) -> anyhow::Result<HashMap<(String, String), Vec<StoredPackage>>> {
    let mut found: HashMap<_, Vec<_>> = HashMap::new();
    for source in store.sources()?.into_iter().filter(|s| s.kind == SourceKind::OsPackage) {
        let detail = source.detail.unwrap_or_default();
        let text = |key: &str| detail[key].as_str().unwrap_or_default().to_owned();
        found.entry((text("package"), text("architecture"))).or_default().push((
            source.id,
            text("version"),
            text("deb_sha256"),
        ));
    }
    Ok(found)
}

/// Packages read at once: enough to keep every core busy reading .debs, few enough that their
/// records stay small in memory.
const BATCH: usize = 16;

fn trust_packages(paths: &Paths, config: &crate::config::Config, args: TrustArgs) -> anyhow::Result<i32> {
    let started = std::time::Instant::now();
    let root = &args.root;
    let keyrings = if !args.keyrings.is_empty() { args.keyrings.clone() } else { config.os_keyrings.clone() };
    let keyring = match Keyring::load(&keyrings) {
        Ok(keyring) => keyring,
        Err(refusal) => return Ok(super::refused(&refusal)),
    };
    let mut installed = dpkg::installed(root)?;
    if !args.packages.is_empty() {
        let names: HashSet<&str> = installed.iter().map(|p| p.name.as_str()).collect();
        let unknown: Vec<&str> = args.packages.iter().map(String::as_str).filter(|n| !names.contains(n)).collect();
        if !unknown.is_empty() {
            anyhow::bail!("not installed (per {}): {}", dpkg::status_path(root).display(), unknown.join(", "));
        }
        installed.retain(|p| args.packages.contains(&p.name));
    }
    let wanted: HashSet<(String, String, String)> =
        installed.iter().map(|p| (p.name.clone(), p.version.clone(), p.architecture.clone())).collect();

    // The signed indexes: any refusal is reported, and its packages are vouched for by none.
    let mut refusals: Vec<String> = Vec::new();
    let mut vouched: HashMap<(String, String, String), Vouched> = HashMap::new();
    let now = crate::store::now_ms() / 1000;
    let mut releases_verified = Vec::new();
    for listed in lists::releases(root)? {
        let release = match trust::verify_release(&listed.in_release, &keyring, now) {
            Ok(release) => release,
            Err(refusal) => {
                refusals.push(refusal.to_string());
                continue;
            }
        };
        releases_verified.push(format!("{} (key {})", release.suite_label(), release.fingerprint));
        for (file, index_path) in &listed.indexes {
            // apt turns `/` into `_` in list names, so a suite with a `/` (`bookworm/updates`)
            // has lists that look like this release's: an index it does not name is another's.
            if !release.names(index_path) {
                tracing::debug!(index = %file.display(), "not an index of {}", listed.in_release.display());
                continue;
            }
            let keep = |n: &str, v: &str, a: &str| wanted.contains(&(n.to_owned(), v.to_owned(), a.to_owned()));
            match trust::read_index(file, index_path, &release, &keep) {
                Ok(entries) => {
                    for entry in entries {
                        let key = (entry.name.clone(), entry.version.clone(), entry.architecture.clone());
                        vouched.entry(key).or_insert(entry);
                    }
                }
                Err(refusal) => refusals.push(refusal.to_string()),
            }
        }
    }
    tracing::info!(releases = releases_verified.len(), vouched = vouched.len(), "archive indexes verified");

    let mut store = Store::open(&paths.db)?;
    let stored = stored_sources(&store)?;
    let mut unchanged = 0usize;
    let mut not_indexed = Vec::new();
    let mut to_read = Vec::new();
    for package in &installed {
        let key = (package.name.clone(), package.version.clone(), package.architecture.clone());
        let Some(entry) = vouched.get(&key) else {
            not_indexed.push(package.label());
            continue;
        };
        let same = stored.get(&(package.name.clone(), package.architecture.clone())).is_some_and(|sources| {
            sources.iter().any(|(_, version, deb)| *version == package.version && *deb == entry.sha256.to_hex())
        });
        if same {
            unchanged += 1;
        } else {
            to_read.push((package, entry));
        }
    }

    let limits = args.limits.limits();
    let mut added = 0usize;
    let mut files = 0u64;
    let mut differences = compare::Differences::default();
    let mut revoked = 0usize;
    let mut no_deb = Vec::new();
    let actor = trust::current_user();
    for batch in to_read.chunks(BATCH) {
        // Each .deb from a cache, else downloaded now (running system only).
        let mut located: Vec<Option<(PathBuf, bool)>> =
            batch.iter().map(|(p, _)| debs::find(root, &args.cache_dir, p).map(|d| (d, false))).collect();
        let missing: Vec<&dpkg::Installed> =
            batch.iter().zip(&located).filter(|(_, l)| l.is_none()).map(|((p, _), _)| *p).collect();
        if !missing.is_empty() && !args.no_download && is_running_system(root) {
            for (label, why) in debs::download(&args.cache_dir, &missing) {
                tracing::warn!(package = %label, "{why}");
            }
            for ((package, _), slot) in batch.iter().zip(located.iter_mut()) {
                if slot.is_none() {
                    *slot = debs::find(root, &args.cache_dir, package).map(|d| (d, true));
                }
            }
        }
        let admitted: Vec<_> = batch
            .par_iter()
            .zip(located.par_iter())
            .map(|((package, entry), deb)| {
                let Some((deb, _)) = deb else { return None };
                let evidence = Evidence::OsPackage { vouched: Box::new((*entry).clone()), deb: deb.clone(), limits };
                let circumstances =
                    Circumstances { trust: None, forbid_unsigned: false, reason: args.reason.text.clone() };
                let admission = trust::admit(evidence, circumstances);
                // The files on disk are compared while the .deb's records are at hand.
                let differs = match &admission {
                    Ok(Ok(admission)) => Some(compare::compare(root, admission.records(), &package.conffiles)),
                    _ => None,
                };
                Some((admission, differs))
            })
            .collect();
        for (((package, _), deb), outcome) in batch.iter().zip(&located).zip(admitted) {
            let Some((admission, differs)) = outcome else {
                no_deb.push(package.label());
                continue;
            };
            let committed = match admission? {
                Ok(admission) => trust::commit(&mut store, admission)?,
                Err(refusal) => Err(refusal),
            };
            match committed {
                Ok(committed) => {
                    added += 1;
                    files += committed.records;
                    tracing::debug!(package = %package.label(), source = committed.id, "{}", committed.verified);
                }
                Err(Refusal(refusal)) => refusals.push(refusal),
            }
            if let Some(differs) = differs {
                differences.modified.extend(differs.modified.into_iter().map(|d| format!("{d} ({})", package.name)));
                differences.conffiles_changed.extend(differs.conffiles_changed);
                differences.missing += differs.missing;
                differences.checked += differs.checked;
            }
            if let Some((deb, true)) = deb {
                // Downloaded for this run only; the store keeps what was read from it.
                let _ = std::fs::remove_file(deb);
            }
        }
    }

    // Versions no longer installed (upgraded, or, in a run over every package, removed) lose
    // their sources: their files are no longer what dpkg installed.
    let current: HashMap<(String, String), &str> =
        installed.iter().map(|p| ((p.name.clone(), p.architecture.clone()), p.version.as_str())).collect();
    let after = stored_sources(&store)?;
    for ((name, arch), sources) in &after {
        let installed_version = current.get(&(name.clone(), arch.clone()));
        if installed_version.is_none() && !args.packages.is_empty() {
            continue;
        }
        for (id, version, _) in sources {
            if installed_version.is_some_and(|v| *v == version) {
                continue;
            }
            let why = match installed_version {
                Some(v) => format!("os trust: {name} {arch} is now at version {v}"),
                None => format!("os trust: {name} {arch} is no longer installed"),
            };
            store.revoke_source(*id, &actor, Some(&why))?;
            revoked += 1;
        }
    }

    println!(
        "os trust: {} installed packages; {added} added ({files} files), {unchanged} unchanged since a previous run, \
         {} in no verified index, {} without a .deb, {revoked} old versions revoked; {:.1}s",
        installed.len(),
        not_indexed.len(),
        no_deb.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "verified releases: {}",
        if releases_verified.is_empty() { "none".into() } else { releases_verified.join(", ") }
    );
    list_some("in no verified index (not trusted)", &not_indexed);
    list_some("no .deb found or downloaded (not trusted)", &no_deb);
    list_some("installed files that differ from their package (NOT allowed by it)", &differences.modified);
    list_some("conffiles changed since installed (not allowed by their package)", &differences.conffiles_changed);
    if differences.missing > 0 {
        println!("{} files of the packages read are not on disk (dpkg path-exclude, diversions)", differences.missing);
    }
    for refusal in &refusals {
        eprintln!("provgate: refused: {refusal}");
    }
    if added > 0 || revoked > 0 {
        notify_daemon(paths);
    }
    Ok(if refusals.is_empty() { 0 } else { 1 })
}

fn is_running_system(root: &Path) -> bool {
    std::fs::canonicalize(root).is_ok_and(|r| r == Path::new("/"))
}

fn list_some(what: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    println!("{what}: {}", items.len());
    for item in items.iter().take(20) {
        println!("  {item}");
    }
    if items.len() > 20 {
        println!("  ... and {} more", items.len() - 20);
    }
}

/// The roots `--check` covers: `/usr` and the `/bin`-like directories, when they are
/// directories of their own (on a merged-/usr system they are links into /usr).
const CHECK_ROOTS: [&str; 7] = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"];

fn check(paths: &Paths, args: &TrustArgs) -> anyhow::Result<i32> {
    let started = std::time::Instant::now();
    let roots: Vec<PathBuf> = CHECK_ROOTS
        .iter()
        .map(|r| args.root.join(r))
        .filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()))
        .collect();
    let mut store = Store::open(&paths.db)?;
    let mut errors = Vec::new();
    let found = scan::files_under(&roots, &mut errors);
    let mut cache = FileCache::load(&store)?;
    let (hashed, hash_errors, stats) =
        scan::hash_paths_checkpointed(&found, scan::Select::Candidates, &mut cache, &mut store, None)?;
    let records = store.records_of_kind(SourceKind::OsPackage)?;
    let vouched: HashSet<Sha256> = records.iter().map(|(_, d)| *d).collect();
    // By path, with the merged-/usr alias of /bin, /sbin and /lib* paths.
    let mut by_path: HashMap<String, Vec<Sha256>> = HashMap::new();
    for (path, digest) in &records {
        by_path.entry(path.clone()).or_default().push(*digest);
        if ["/bin/", "/sbin/", "/lib"].iter().any(|p| path.starts_with(p)) {
            by_path.entry(format!("/usr{path}")).or_default().push(*digest);
        }
    }
    let mut covered = 0usize;
    let mut differ = Vec::new();
    let mut unknown = Vec::new();
    for file in &hashed {
        if vouched.contains(&file.file.digest) {
            covered += 1;
            continue;
        }
        let inside = Path::new("/").join(file.path.strip_prefix(&args.root).unwrap_or(&file.path));
        let inside = inside.display().to_string();
        if by_path.contains_key(&inside) {
            differ.push(format!("{inside}: {} is not its package's", file.file.digest));
        } else {
            unknown.push(inside);
        }
    }
    differ.sort();
    unknown.sort();
    let candidates = hashed.len();
    let share = if candidates == 0 { 0.0 } else { 100.0 * covered as f64 / candidates as f64 };
    let roots_shown: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
    println!(
        "os trust --check: {covered} of {candidates} candidate files under {} are vouched for by a package source \
         ({share:.1} %); {} differ from their package, {} belong to no package read; {} files scanned, {} hashed, {} \
         from the cache, {:.1}s",
        roots_shown.join(" "),
        differ.len(),
        unknown.len(),
        stats.files,
        stats.hashed,
        stats.cache_hits,
        started.elapsed().as_secs_f64()
    );
    list_some("differ from their package (NOT allowed by it)", &differ);
    list_some("in no package source", &unknown);
    let problems = errors.len() + hash_errors.len();
    if problems > 0 {
        eprintln!("provgate: {problems} files or directories could not be read");
    }
    Ok(0)
}
