//! Loads the programs with offsets from the running kernel's BTF, attaches them, optionally pins
//! programs and maps in bpffs so enforcement outlives the daemon, and takes over from a previous
//! daemon's pinned programs without a gap. On a kernel that refuses BPF LSM it falls back to the
//! observe-only program and says why.
use std::path::{Path, PathBuf};

use aya::{
    Btf as AyaBtf, Ebpf, EbpfLoader,
    maps::MapData,
    programs::{
        BtfTracePoint, FEntry, FExit, Lsm, ProgramError,
        links::{FdLink, PinnedLink},
    },
};
use std::os::unix::fs::MetadataExt as _;

use provgate_common::{
    FileKey, FileState, PROTECT_DIR, PROTECT_FILE, PROTECT_LINK, PROTECT_MAP, PROTECT_PROG, PendingMapping,
    ProtectedKey, Settings, Verdict, VerdictSlot, names,
};
use thiserror::Error;

use crate::file_stamp::kernel_dev;

use super::{
    btf::{Btf, BtfError},
    maps::KernelMaps,
    offsets,
    support::{KernelSupport, VMLINUX_BTF},
};

static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/provgate-ebpf"));

pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/provgate";

/// How a program attaches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Lsm,
    /// Runs before a kernel function; can only report, or signal the caller.
    FEntry,
    /// Runs after a kernel function returned; can only report, or signal the caller.
    FExit,
    TracePoint,
}

/// A program of the object, the kernel function or hook it attaches to, and whether enforcement
/// can go on without it (its absence is then reported, not fatal).
struct Spec {
    name: &'static str,
    target: &'static str,
    kind: Kind,
    required: bool,
}

const fn lsm(name: &'static str, target: &'static str) -> Spec {
    Spec { name, target, kind: Kind::Lsm, required: true }
}

/// The enforcing programs. The code hooks come first: nothing else matters if they cannot load.
/// `bpf` has one program per prototype; the loader drops the one the kernel does not match.
const ENFORCING: [Spec; 23] = [
    lsm(names::PROG_EXEC, "bprm_check_security"),
    lsm(names::PROG_MMAP, "mmap_file"),
    lsm(names::PROG_MPROTECT, "file_mprotect"),
    lsm(names::PROG_FILE_OPEN, "file_open"),
    lsm(names::PROG_TRUNCATE, "path_truncate"),
    // mmap_file's check holds only if the mapping it allowed is seen once it exists.
    Spec { name: names::PROG_MAPPED, target: "vm_mmap_pgoff", kind: Kind::FExit, required: true },
    // An overlay's file is checked; the mapping gets its layer's.
    Spec { name: names::PROG_LAYER_MAPPED, target: "vma_set_file", kind: Kind::FEntry, required: true },
    lsm(names::PROG_PTRACE, "ptrace_access_check"),
    lsm(names::PROG_TRACEME, "ptrace_traceme"),
    lsm(names::PROG_ANON_INODE, "inode_init_security_anon"),
    lsm(names::PROG_READ_FILE, "kernel_read_file"),
    lsm(names::PROG_LOAD_DATA, "kernel_load_data"),
    lsm(names::PROG_BPF, "bpf"),
    lsm(names::PROG_BPF_KERNEL_FLAG, "bpf"),
    lsm(names::PROG_BPF_MAP, "bpf_map"),
    lsm(names::PROG_BPF_PROG, "bpf_prog"),
    lsm(names::PROG_TASK_KILL, "task_kill"),
    lsm(names::PROG_TASK_ALLOC, "task_alloc"),
    lsm(names::PROG_UNLINK, "inode_unlink"),
    lsm(names::PROG_RENAME, "inode_rename"),
    lsm(names::PROG_LINK, "inode_link"),
    Spec { name: names::PROG_PERSONALITY, target: "__x64_sys_personality", kind: Kind::FEntry, required: false },
    Spec { name: names::PROG_PERSONALITY_IA32, target: "__ia32_sys_personality", kind: Kind::FEntry, required: false },
];
const OBSERVE: Spec =
    Spec { name: names::PROG_OBSERVE, target: "sched_process_exec", kind: Kind::TracePoint, required: true };

fn all_programs() -> impl Iterator<Item = &'static Spec> {
    ENFORCING.iter().chain([&OBSERVE])
}

/// Pinned, so that a daemon taking over shares them with the programs it replaces, and so that
/// hardened mode protects each of them (by its pin's id).
const MAP_NAMES: [&str; 12] = [
    names::VERDICTS,
    names::VERDICT_SLOTS,
    names::ALLOWED,
    names::FILES,
    names::SCOPES,
    names::SETTINGS,
    names::COUNTERS,
    names::EVENTS,
    names::UNTRUSTED_FS,
    names::TRUSTED_DEVS,
    names::PROTECTED,
    names::PENDING_MAPPINGS,
];

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("kernel BTF ({VMLINUX_BTF}): {0}")]
    Btf(#[from] BtfError),
    #[error("kernel BTF ({VMLINUX_BTF}) for attaching: {0}")]
    AyaBtf(#[from] aya::BtfError),
    #[error("loading the BPF object: {0}")]
    Object(#[from] aya::EbpfError),
    #[error("program {name}: {message}")]
    Program { name: &'static str, message: String },
    #[error(
        "pinned map {path} does not match this provgate ({detail}); it was left by another version. \
         Remove {dir} (this detaches enforcement) and start again"
    )]
    IncompatiblePin { path: PathBuf, dir: PathBuf, detail: String },
    #[error("bpffs at {dir}: {source}")]
    PinDir { dir: PathBuf, source: std::io::Error },
    #[error("pin directory {0} is in use by another provgate daemon; give each daemon its own --pin-dir")]
    PinDirInUse(PathBuf),
    #[error("pinning {path}: {message}")]
    Pin { path: PathBuf, message: String },
    #[error("map {0}: {1}")]
    Map(&'static str, aya::maps::MapError),
}

#[derive(Clone, Debug)]
pub struct LoaderConfig {
    pub pin_dir: PathBuf,
    /// Leave programs and maps pinned when the daemon exits, so enforcement continues.
    pub keep_on_exit: bool,
    /// Hold programs and maps pinned while the daemon runs (keep-on-exit, hardened mode), so
    /// enforcement outlives a daemon that is killed.
    pub hold_pins: bool,
    /// Do not try the LSM programs; run the observe-only program.
    pub observe_only: bool,
    pub verdict_capacity: u32,
    /// Ignored when a pinned ring buffer is reused.
    pub event_buffer_bytes: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Enforcement {
    /// The LSM programs are loaded: denials are real (in enforce mode).
    Lsm,
    /// Only the exec observer runs; nothing can be denied.
    ObserveOnly { reason: String },
}

/// Programs loaded and maps ready, not yet attached: the caller fills the verdict map first, so
/// that nothing in scope is denied while the allowlist is still being loaded.
pub struct Loaded {
    ebpf: Ebpf,
    pub maps: KernelMaps,
    pub enforcement: Enforcement,
    /// The programs that loaded, in attach order.
    programs: Vec<&'static Spec>,
    /// Optional programs the kernel refused, and why.
    pub missing: Vec<String>,
    /// Pinned links of a previous daemon that this one replaces at attach time.
    previous_links: Vec<PinnedLink>,
    pin_dir_lock: Option<PinDirLock>,
    config: LoaderConfig,
    pub support: KernelSupport,
}

/// Attached programs. Dropping this without [`Attached::shutdown`] detaches unpinned links.
pub struct Attached {
    links: Vec<(&'static str, LinkHold)>,
    /// Optional programs the kernel refused, and why.
    pub missing: Vec<String>,
    program_ids: Vec<(&'static str, u32)>,
    pub maps: KernelMaps,
    pub enforcement: Enforcement,
    pub took_over: bool,
    /// Held until the daemon has finished with its pins (dropped after [`Attached::shutdown`]).
    _pin_dir_lock: Option<PinDirLock>,
    config: LoaderConfig,
}

/// An exclusive `flock` on the pin directory while a daemon uses it. Each daemon's run
/// directory lock does not stop a second daemon given another run directory and the same pin
/// directory, which would adopt the first one's maps and release its links while the first
/// still writes to those maps.
struct PinDirLock(#[allow(dead_code, reason = "held for the lock")] std::fs::File);

impl PinDirLock {
    fn acquire(dir: &Path) -> Result<Self, LoadError> {
        let file = std::fs::File::open(dir).map_err(|source| LoadError::PinDir { dir: dir.to_owned(), source })?;
        match file.try_lock() {
            Ok(()) => Ok(Self(file)),
            Err(std::fs::TryLockError::WouldBlock) => Err(LoadError::PinDirInUse(dir.to_owned())),
            Err(std::fs::TryLockError::Error(source)) => Err(LoadError::PinDir { dir: dir.to_owned(), source }),
        }
    }
}

fn map_pin_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn link_pin_path(dir: &Path, program: &str) -> PathBuf {
    dir.join(format!("link_{program}"))
}

/// Whether a previous daemon left pinned state behind.
pub fn pinned_state_exists(dir: &Path) -> bool {
    MAP_NAMES.iter().any(|m| map_pin_path(dir, m).exists())
        || all_programs().any(|p| link_pin_path(dir, p.name).exists())
}

pub fn load(config: &LoaderConfig) -> Result<Loaded, LoadError> {
    let support = KernelSupport::probe();
    let btf = Btf::from_file(Path::new(VMLINUX_BTF))?;
    let offsets = offsets::resolve(&btf)?;
    tracing::debug!(?offsets, "resolved kernel struct offsets from BTF");

    let pin = config.hold_pins || pinned_state_exists(&config.pin_dir);
    let mut pin_dir_lock = None;
    if pin {
        std::fs::create_dir_all(&config.pin_dir)
            .map_err(|source| LoadError::PinDir { dir: config.pin_dir.clone(), source })?;
        pin_dir_lock = Some(PinDirLock::acquire(&config.pin_dir)?);
        check_pinned_maps(&config.pin_dir)?;
    }
    let pin_paths: Vec<(&str, PathBuf)> = MAP_NAMES.iter().map(|m| (*m, map_pin_path(&config.pin_dir, m))).collect();
    let mut loader = EbpfLoader::new();
    loader
        // PENDING_MAPPINGS is task storage, which the programs alone use: aya has no type for it.
        .allow_unsupported_maps()
        .override_global(names::OFFSETS, &offsets, true)
        .map_max_entries(names::VERDICTS, config.verdict_capacity)
        .map_max_entries(names::EVENTS, config.event_buffer_bytes);
    if pin {
        for (name, path) in &pin_paths {
            loader.map_pin_path(name, path.as_path());
        }
    }
    let mut ebpf = loader.load(OBJECT)?;
    let mut maps = KernelMaps::take(&mut ebpf)?;

    let previous_links = if pin { open_previous_links(&config.pin_dir) } else { Vec::new() };
    let aya_btf = AyaBtf::from_sys_fs()?;
    let mut programs = Vec::new();
    let mut missing = Vec::new();
    let enforcement = if config.observe_only {
        Enforcement::ObserveOnly { reason: "observe-only was requested".into() }
    } else {
        match load_enforcing(&mut ebpf, &aya_btf, &btf, &mut programs, &mut missing)
            .and_then(|()| maps.probe_inode_storage())
        {
            Ok(()) => Enforcement::Lsm,
            Err(error) => {
                let reason = format!("BPF LSM programs refused: {error}; {}", support.summary());
                Enforcement::ObserveOnly { reason }
            }
        }
    };
    if let Enforcement::ObserveOnly { reason } = &enforcement {
        if !config.observe_only {
            tracing::error!("ENFORCEMENT UNAVAILABLE, falling back to observe-only: {reason}");
        }
        programs.clear();
        missing.clear();
        load_program(&mut ebpf, &OBSERVE, &aya_btf)?;
        programs.push(&OBSERVE);
    }
    for why in &missing {
        tracing::warn!("{why}");
    }
    Ok(Loaded {
        ebpf,
        maps,
        enforcement,
        programs,
        missing,
        previous_links,
        pin_dir_lock,
        config: config.clone(),
        support,
    })
}

/// Loads every enforcing program; a required one that fails fails the whole, an optional one
/// is recorded in `missing` with the reason.
fn load_enforcing(
    ebpf: &mut Ebpf,
    btf: &AyaBtf,
    kernel_btf: &Btf,
    programs: &mut Vec<&'static Spec>,
    missing: &mut Vec<String>,
) -> Result<(), LoadError> {
    // 6.9 added `bool kernel` to the bpf hook: three parameters before, four after.
    let bpf_params = kernel_btf.function_params("bpf_lsm_bpf")?;
    let other_bpf_prototype = if bpf_params == 3 { names::PROG_BPF_KERNEL_FLAG } else { names::PROG_BPF };
    for spec in ENFORCING.iter().filter(|s| s.name != other_bpf_prototype) {
        match load_program(ebpf, spec, btf) {
            Ok(()) => programs.push(spec),
            Err(e) if !spec.required => missing.push(format!("{} on {} unavailable: {e}", spec.name, spec.target)),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn load_program(ebpf: &mut Ebpf, spec: &Spec, btf: &AyaBtf) -> Result<(), LoadError> {
    let name = spec.name;
    let program = ebpf
        .program_mut(name)
        .ok_or_else(|| LoadError::Program { name, message: "missing from the BPF object".into() })?;
    let result = match spec.kind {
        Kind::TracePoint => {
            let p: &mut BtfTracePoint = program.try_into().map_err(|e| describe(name, e))?;
            p.load(spec.target, btf)
        }
        Kind::Lsm => {
            let p: &mut Lsm = program.try_into().map_err(|e| describe(name, e))?;
            p.load(spec.target, btf)
        }
        Kind::FEntry => {
            let p: &mut FEntry = program.try_into().map_err(|e| describe(name, e))?;
            p.load(spec.target, btf)
        }
        Kind::FExit => {
            let p: &mut FExit = program.try_into().map_err(|e| describe(name, e))?;
            p.load(spec.target, btf)
        }
    };
    result.map_err(|e| describe(name, e))
}

/// A load error with the errno and the tail of the verifier log, which is where the reason is.
fn describe(name: &'static str, error: ProgramError) -> LoadError {
    let message = match &error {
        ProgramError::LoadError { io_error, verifier_log } => {
            let log = verifier_log.to_string();
            let tail: Vec<&str> = log.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect();
            if tail.is_empty() {
                format!("load failed: {io_error} (empty verifier log)")
            } else {
                format!("load failed: {io_error}; verifier: {}", tail.join(" | "))
            }
        }
        other => other.to_string(),
    };
    LoadError::Program { name, message }
}

fn check_pinned_maps(dir: &Path) -> Result<(), LoadError> {
    let expected: [(&str, u32, u32); 8] = [
        (names::VERDICTS, size_of::<FileKey>() as u32, size_of::<Verdict>() as u32),
        (names::VERDICT_SLOTS, 4, size_of::<VerdictSlot>() as u32),
        (names::ALLOWED, 32, 4),
        (names::FILES, 4, size_of::<FileState>() as u32),
        (names::SCOPES, 8, 4),
        (names::SETTINGS, 4, size_of::<Settings>() as u32),
        (names::COUNTERS, 4, 8),
        (names::PENDING_MAPPINGS, 4, size_of::<PendingMapping>() as u32),
    ];
    for (name, key, value) in expected {
        let path = map_pin_path(dir, name);
        if !path.exists() {
            continue;
        }
        let incompatible =
            |detail: String| LoadError::IncompatiblePin { path: path.clone(), dir: dir.to_owned(), detail };
        let map = MapData::from_pin(&path).map_err(|e| incompatible(e.to_string()))?;
        let info = map.info().map_err(|e| incompatible(e.to_string()))?;
        if info.key_size() != key || info.value_size() != value {
            return Err(incompatible(format!(
                "key/value sizes {}/{}, expected {key}/{value}",
                info.key_size(),
                info.value_size()
            )));
        }
    }
    Ok(())
}

fn open_previous_links(dir: &Path) -> Vec<PinnedLink> {
    all_programs()
        .filter_map(|spec| {
            let path = link_pin_path(dir, spec.name);
            path.exists().then(|| PinnedLink::from_pin(&path)).and_then(|r| {
                r.map_err(|e| tracing::warn!(path = %path.display(), "cannot open pinned link: {e}")).ok()
            })
        })
        .collect()
}

impl Loaded {
    /// Attaches the loaded programs. A previous daemon's pinned links are released only after
    /// the new ones are attached, so enforcement never lapses during a takeover.
    pub fn attach(mut self) -> Result<Attached, LoadError> {
        let mut links = Vec::new();
        let mut program_ids = Vec::new();
        for spec in &self.programs {
            let name = spec.name;
            let program = self.ebpf.program_mut(name).expect("loaded above");
            let link: FdLink = match spec.kind {
                Kind::TracePoint => {
                    let p: &mut BtfTracePoint = program.try_into().map_err(|e| describe(name, e))?;
                    let id = p.attach().map_err(|e| describe(name, e))?;
                    p.take_link(id).map_err(|e| describe(name, e))?.into()
                }
                Kind::Lsm => {
                    let p: &mut Lsm = program.try_into().map_err(|e| describe(name, e))?;
                    let id = p.attach().map_err(|e| describe(name, e))?;
                    p.take_link(id).map_err(|e| describe(name, e))?.into()
                }
                Kind::FEntry => {
                    let p: &mut FEntry = program.try_into().map_err(|e| describe(name, e))?;
                    let id = p.attach().map_err(|e| describe(name, e))?;
                    p.take_link(id).map_err(|e| describe(name, e))?.into()
                }
                Kind::FExit => {
                    let p: &mut FExit = program.try_into().map_err(|e| describe(name, e))?;
                    let id = p.attach().map_err(|e| describe(name, e))?;
                    p.take_link(id).map_err(|e| describe(name, e))?.into()
                }
            };
            let id = link.info().map(|i| i.program_id()).unwrap_or(0);
            program_ids.push((name, id));
            links.push((name, LinkHold::Fd(link)));
        }
        let took_over = !self.previous_links.is_empty();
        for previous in self.previous_links.drain(..) {
            // Removing the pin file and dropping our descriptor detaches the old program.
            if let Err(e) = previous.unpin() {
                tracing::warn!("releasing a previous daemon's link: {e}");
            }
        }
        let mut attached = Attached {
            links,
            missing: std::mem::take(&mut self.missing),
            program_ids,
            maps: self.maps,
            enforcement: self.enforcement,
            took_over,
            _pin_dir_lock: self.pin_dir_lock.take(),
            config: self.config,
        };
        if attached.config.hold_pins {
            attached.pin_links()?;
        }
        Ok(attached)
    }
}

impl Attached {
    fn pin_links(&mut self) -> Result<(), LoadError> {
        for (name, link) in &mut self.links {
            let path = link_pin_path(&self.config.pin_dir, name);
            let _ = std::fs::remove_file(&path);
            let LinkHold::Fd(fd_link) = std::mem::replace(link, LinkHold::Detached) else {
                continue;
            };
            let pinned =
                fd_link.pin(&path).map_err(|e| LoadError::Pin { path: path.clone(), message: e.to_string() })?;
            *link = LinkHold::Pinned(pinned);
        }
        Ok(())
    }

    /// Run time (ns) and invocation count of each attached program, as the kernel records them
    /// while `kernel.bpf_stats_enabled` is on.
    pub fn program_stats(&self) -> Vec<(&'static str, u64, u64)> {
        let ids = &self.program_ids;
        aya::programs::loaded_programs()
            .filter_map(Result::ok)
            .filter_map(|info| {
                let (name, _) = ids.iter().find(|(_, id)| *id == info.id())?;
                Some((*name, info.run_time().as_nanos() as u64, info.run_count()))
            })
            .collect()
    }

    /// Stops the daemon's part. With keep-on-exit the pinned programs keep enforcing with the
    /// pinned maps; otherwise everything is unpinned and detached.
    pub fn shutdown(mut self) {
        if self.config.keep_on_exit {
            tracing::info!(dir = %self.config.pin_dir.display(), "leaving programs attached and pinned (--keep-on-exit)");
            return;
        }
        for (_, link) in self.links.drain(..) {
            // A pinned link stays attached until its pin is gone and its last descriptor closed.
            if let LinkHold::Pinned(pinned) = link
                && let Err(e) = pinned.unpin()
            {
                tracing::warn!("unpinning a link: {e}");
            }
        }
        for map in MAP_NAMES {
            let _ = std::fs::remove_file(map_pin_path(&self.config.pin_dir, map));
        }
        let _ = std::fs::remove_dir(&self.config.pin_dir);
        tracing::info!("programs detached");
    }

    /// The kernel objects and files hardened mode keeps out of reach: every map (from its pin),
    /// program and link of this daemon, and `paths`.
    pub fn protected_objects(&self, paths: &ProtectedPaths) -> Result<Vec<ProtectedKey>, LoadError> {
        let mut keys = Vec::new();
        for map in MAP_NAMES {
            let path = map_pin_path(&self.config.pin_dir, map);
            let info = MapData::from_pin(&path).and_then(|m| m.info()).map_err(|e| LoadError::Map(map, e))?;
            keys.push(ProtectedKey { kind: PROTECT_MAP, dev: 0, id: u64::from(info.id()) });
        }
        for (_, id) in &self.program_ids {
            keys.push(ProtectedKey { kind: PROTECT_PROG, dev: 0, id: u64::from(*id) });
        }
        for (name, link) in &self.links {
            let LinkHold::Pinned(_) = link else { continue };
            let path = link_pin_path(&self.config.pin_dir, name);
            let info = PinnedLink::from_pin(&path)
                .map_err(|e| LoadError::Pin { path: path.clone(), message: e.to_string() })
                .and_then(|l| {
                    let fd: FdLink = l.into();
                    fd.info().map_err(|e| LoadError::Pin { path: path.clone(), message: e.to_string() })
                })?;
            keys.push(ProtectedKey { kind: PROTECT_LINK, dev: 0, id: u64::from(info.id()) });
        }
        let inode = |kind: u32, path: &Path| {
            std::fs::metadata(path).ok().map(|m| ProtectedKey { kind, dev: kernel_dev(m.dev()), id: m.ino() })
        };
        keys.extend(paths.files.iter().filter_map(|p| inode(PROTECT_FILE, p)));
        keys.extend(paths.dirs.iter().filter_map(|p| inode(PROTECT_DIR, p)));
        Ok(keys)
    }
}

/// Files and directories hardened mode protects.
pub struct ProtectedPaths {
    pub files: Vec<PathBuf>,
    pub dirs: Vec<PathBuf>,
}

/// An attached link: held by descriptor (detached when dropped) or pinned in bpffs (stays).
enum LinkHold {
    Fd(FdLink),
    Pinned(#[allow(dead_code, reason = "held for its lifetime")] PinnedLink),
    Detached,
}
