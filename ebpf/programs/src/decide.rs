//! The decisions the hooks share: which scope the caller is in, whether it is the daemon,
//! whether a file's content is vouched for, and the event reporting a refusal.
use aya_ebpf::{
    bindings::path,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_uid_gid, bpf_probe_read_kernel_str_bytes,
        generated::{
            bpf_d_path, bpf_get_current_ancestor_cgroup_id, bpf_get_current_cgroup_id, bpf_get_current_task_btf,
            bpf_ima_file_hash, bpf_ktime_get_boot_ns,
        },
    },
};
use provgate_common::{
    ACTION_AUDITED, ACTION_DENIED, ACTION_OBSERVED, COMM_LEN, EVENT_HAS_DIGEST, Event, FileKey, FileState,
    MAX_CGROUP_LEVEL, MODE_AUDIT, MODE_ENFORCE, MODE_OFF, PATH_LEN, PATH_NAME, PATH_NONE, PATH_STRING,
    REASON_ANON_EXEC, REASON_CHANGED, REASON_CHANGED_WHILE_HASHING, REASON_HASH_FAILED, REASON_NOT_HASHED,
    REASON_OPEN_FOR_WRITE, REASON_UNKNOWN_FILE, REASON_UNSEALED_MEMFD, REASON_UNTRUSTED_FS,
    REASON_WRITE_DURING_MAPPING, SCOPE_MODE_MASK, Settings, VERDICT_ALLOW, Verdict, VerdictSlot, counter,
};

use crate::{
    inode::{
        Identity, content_writers, cookie, current_start_ticks, fs_magic, identity, member, member_ptr,
        path_components, sealed,
    },
    mapping::claim,
    maps::{
        ALLOWED, EVENTS, FILES, SCOPES, TRUSTED_DEVS, UNTRUSTED_FS, VERDICT_SLOTS, VERDICTS, add, count, fenced_add,
        off, settings,
    },
};

pub const EPERM: i32 = 1;
const BPF_RB_AVAIL_DATA: u64 = 0;
const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;
/// `enum hash_algo`'s HASH_ALGO_SHA256: what `bpf_ima_file_hash` returns for a SHA-256.
const HASH_ALGO_SHA256: i64 = 4;

/// Where an event's path comes from.
#[derive(Clone, Copy)]
pub enum PathSource {
    /// A `struct path *` for `bpf_d_path`: the full path, mount-aware.
    DPath(*const u8),
    /// A `struct file *` whose path is walked dentry by dentry.
    Walk(*const u8),
    /// A kernel string: the name a process executed, for a file the program cannot identify.
    Name(*const u8),
    None,
}

/// The caller's scope: its mode, the `SCOPE_*` flags of the listed cgroup that decided it, and
/// the settings it came from.
#[derive(Clone, Copy)]
pub struct Scope {
    pub mode: u32,
    pub flags: u32,
    pub settings: &'static Settings,
}

impl Scope {
    pub fn enforcing(&self) -> bool {
        self.mode == MODE_ENFORCE
    }
}

/// Whose cgroup and thread group a program asks about: always the current task's, read
/// through helpers or, where the program has the task as a typed argument and runs under the
/// RCU read lock (which keeps the task's cgroup objects alive), through plain loads. On this
/// path each helper call costs more than all the loads together.
#[derive(Clone, Copy)]
pub enum Caller {
    Current,
    Task(*const u8),
}

/// Cgroup levels climbed with plain loads before giving way to the helper: deeper cgroups
/// are rare, and the helper reaches any level.
const CGROUP_WALK_STEPS: usize = 32;

/// The scope value (mode and flags) of the deepest listed ancestor of the caller's cgroup, or
/// the host's.
#[inline(always)]
fn scope_value(settings: &Settings, caller: Caller) -> u32 {
    if settings.scope_levels == 0 {
        return settings.host_mode;
    }
    if let Caller::Task(task) = caller {
        if let Some(value) = walked_scope_value(settings, task) {
            return value;
        }
    }
    // The deepest listed ancestor wins, so a container's own scope overrides its parent's.
    let mut level = MAX_CGROUP_LEVEL as i32;
    while level >= 0 {
        if settings.scope_levels & (1 << level) != 0 {
            // SAFETY: helper with no pointer arguments.
            let id = unsafe { bpf_get_current_ancestor_cgroup_id(level) };
            if let Some(value) = listed_scope(settings, id) {
                return value;
            }
        }
        level -= 1;
    }
    settings.host_mode
}

/// As the helper loop of [`scope_value`], climbing from the task's cgroup by its kernfs
/// parents; `None` when the cgroup is too deep to climb here.
#[inline(always)]
fn walked_scope_value(settings: &Settings, task: *const u8) -> Option<u32> {
    let cgroup = member_ptr(member_ptr(task, off!(task_cgroups)), off!(css_set_dfl_cgrp));
    if cgroup.is_null() {
        return None;
    }
    let mut level: i32 = member(cgroup, off!(cgroup_level));
    let mut node = member_ptr(cgroup, off!(cgroup_kn));
    for _ in 0..CGROUP_WALK_STEPS {
        if node.is_null() || above_every_scope(settings, level) {
            return Some(settings.host_mode);
        }
        if level <= MAX_CGROUP_LEVEL as i32 && settings.scope_levels & (1 << level) != 0 {
            if let Some(value) = listed_scope(settings, member(node, off!(kernfs_id))) {
                return Some(value);
            }
        }
        node = member_ptr(node, off!(kernfs_parent));
        level -= 1;
    }
    None
}

/// Whether a cgroup at `level` is above every scope's level (the root, or a cgroup shallower
/// than any scope): neither it nor any of its ancestors can be listed.
#[inline(always)]
fn above_every_scope(settings: &Settings, level: i32) -> bool {
    level < 0 || (level <= MAX_CGROUP_LEVEL as i32 && settings.scope_levels & (u32::MAX >> (31 - level)) == 0)
}

/// Whether `task` (under the RCU read lock) is outside every scope by its cgroup's level alone:
/// the host is in no scope and its cgroup is above every scope's level. The cheapest answer
/// for most of a host's processes, known before anything about the file is read.
#[inline(always)]
pub fn outside_by_level(settings: &Settings, task: *const u8) -> bool {
    if settings.host_mode & SCOPE_MODE_MASK != MODE_OFF {
        return false;
    }
    if settings.scope_levels == 0 {
        return true;
    }
    let cgroup = member_ptr(member_ptr(task, off!(task_cgroups)), off!(css_set_dfl_cgrp));
    !cgroup.is_null() && above_every_scope(settings, member(cgroup, off!(cgroup_level)))
}

/// The `SCOPES` value of the cgroup `id`, if it is listed.
#[inline(always)]
fn listed_scope(settings: &Settings, id: u64) -> Option<u32> {
    for entry in &settings.inline_scopes {
        if let Some(value) = entry.value_for(id) {
            return Some(value);
        }
    }
    if !settings.scopes.may_contain(id) {
        return None;
    }
    // SAFETY: map values are plain u32s.
    unsafe { SCOPES.get(&id) }.copied()
}

/// The caller's scope; `None` when it is in no scope at all (mode off).
#[inline(always)]
pub fn scope(caller: Caller) -> Option<Scope> {
    let settings = settings()?;
    let value = scope_value(settings, caller);
    let mode = value & SCOPE_MODE_MASK;
    if mode == MODE_OFF { None } else { Some(Scope { mode, flags: value & !SCOPE_MODE_MASK, settings }) }
}

/// Whether the caller is the running daemon: its thread group, started when the daemon
/// started, so a process that later reuses the pid is not.
#[inline(always)]
pub fn is_daemon(settings: &Settings, caller: Caller) -> bool {
    let tgid = match caller {
        Caller::Current => (bpf_get_current_pid_tgid() >> 32) as u32,
        Caller::Task(task) => member::<u32>(task, off!(task_tgid)),
    };
    tgid == settings.daemon_tgid && tgid != 0 && current_start_ticks() == settings.daemon_start_ticks
}

/// Checks the code in `file` (a BTF-typed `struct file *`): its filesystem must be trusted, no
/// one may be able to write it, and its content, hashed by the kernel on first use and cached
/// with the inode until the next write, must be on the allowlist. Returns 0 or `-EPERM`.
/// `can_hash`: the hook may sleep (hashing reads the file). `mark_mapped`: the caller maps the
/// file executable, so writes to it are refused while it stays mapped.
#[inline(always)]
pub fn check_code(
    hook: u8,
    scope: &Scope,
    file: *const u8,
    can_hash: bool,
    mark_mapped: bool,
    path: PathSource,
) -> i32 {
    let inode = member_ptr(file, off!(file_inode));
    let id = match identity(inode) {
        Ok(id) => id,
        Err(_) => {
            count(counter::READ_ERRORS);
            return refuse(hook, scope, REASON_UNKNOWN_FILE, &FileKey::default(), None, path, 0);
        }
    };
    let magic = fs_magic(inode);
    if untrusted_filesystem(magic, id.key.dev) {
        return refuse(hook, scope, REASON_UNTRUSTED_FS, &id.key, None, path, 0);
    }
    let immutable = sealed(inode, magic);
    if id.key.dev == scope.settings.memfd_dev && !immutable {
        return refuse(hook, scope, REASON_UNSEALED_MEMFD, &id.key, None, path, 0);
    }
    if !immutable && content_writers(inode, magic) > 0 {
        return refuse(hook, scope, REASON_OPEN_FOR_WRITE, &id.key, None, path, 0);
    }
    // SAFETY: `inode` is a BTF-typed inode pointer; the storage is created zeroed if absent.
    let state = unsafe { FILES.get_or_insert_ptr_mut(inode as *mut aya_ebpf::bindings::inode, None) };
    if state.is_null() {
        return refuse(hook, scope, REASON_UNKNOWN_FILE, &id.key, None, path, 0);
    }
    // SAFETY: a valid inode storage value for the program's lifetime.
    let state = unsafe { &mut *state };
    // The write generation this decision rests on, read once.
    let generation = volatile_gen(state);
    let mut digest = [0u8; 32];
    if state.is_current(generation, id.ctime_sec, id.ctime_nsec, id.size) {
        digest = state.digest;
    } else {
        if !can_hash {
            return refuse(hook, scope, REASON_NOT_HASHED, &id.key, None, path, 0);
        }
        // SAFETY: `file` is BTF-typed; the helper writes at most 32 bytes into `digest`.
        let algo = unsafe { bpf_ima_file_hash(file as *mut aya_ebpf::bindings::file, digest.as_mut_ptr().cast(), 32) };
        if algo != HASH_ALGO_SHA256 {
            return refuse(hook, scope, REASON_HASH_FAILED, &id.key, None, path, 0);
        }
        count(counter::KERNEL_HASHES);
        add(counter::KERNEL_HASHED_BYTES, id.size as u64);
        // Nothing may have opened the file for writing, or changed it, while it was read.
        let after = cookie(inode);
        let unchanged =
            after.is_ok_and(|a| a.ctime_sec == id.ctime_sec && a.ctime_nsec == id.ctime_nsec && a.size == id.size);
        if volatile_gen(state) != generation || !unchanged || (!immutable && content_writers(inode, magic) > 0) {
            return refuse(hook, scope, REASON_CHANGED_WHILE_HASHING, &id.key, Some(&digest), path, 0);
        }
        store(state, &digest, generation, &id);
    }
    // SAFETY: map values are plain data.
    if unsafe { ALLOWED.get(&digest) }.is_none() {
        return refuse(hook, scope, REASON_UNKNOWN_FILE, &id.key, Some(&digest), path, 0);
    }
    if mark_mapped && scope.enforcing() && !claim(hook, inode, state, generation) {
        return refuse(hook, scope, REASON_WRITE_DURING_MAPPING, &id.key, Some(&digest), path, 0);
    }
    count(counter::ALLOWED + hook as u32);
    0
}

/// Whether the kernel cannot vouch for the bytes of a filesystem of type `magic` on device
/// `dev` (FUSE, network filesystems) and the configuration does not trust that mount.
#[inline(always)]
pub fn untrusted_filesystem(magic: u64, dev: u32) -> bool {
    // SAFETY: map values are plain data.
    unsafe { UNTRUSTED_FS.get(&magic) }.is_some() && unsafe { TRUSTED_DEVS.get(&dev) }.is_none()
}

/// Refuses on behalf of a mapping an enforced process made of `inode`, whatever the caller's own
/// scope: a write to it, or its bytes turning out to be other than the ones checked.
#[inline(always)]
pub fn refuse_for_mapping(hook: u8, reason: u8, inode: *const u8, path: PathSource, error: i32) -> i32 {
    let Some(settings) = settings() else { return 0 };
    let scope = Scope { mode: MODE_ENFORCE, flags: 0, settings };
    let key = identity(inode).map_or(FileKey::default(), |id| id.key);
    refuse_with(hook, &scope, reason, &key, None, path, 0, error)
}

#[inline(always)]
fn volatile_gen(state: &FileState) -> u64 {
    // SAFETY: an aligned u64 inside a live map value; writers bump it atomically.
    unsafe { core::ptr::read_volatile(&state.write_gen) }
}

#[inline(always)]
fn store(state: &mut FileState, digest: &[u8; 32], generation: u64, id: &crate::inode::Identity) {
    state.digest = *digest;
    state.hashed_gen = generation;
    state.ctime_sec = id.ctime_sec;
    state.ctime_nsec = id.ctime_nsec;
    state.size = id.size;
    state.check = state.seal();
}

/// Makes any digest cached for this inode stale: it is being opened for writing or truncated.
#[inline(always)]
pub fn invalidate(state: *mut FileState) {
    // SAFETY: a live inode storage value. Fully ordered: see `mapping::claim`.
    fenced_add(unsafe { &raw mut (*state).write_gen }, 1);
    count(counter::INVALIDATIONS);
}

/// The verdict `VERDICT_SLOTS` holds for the file `id`, if its slot holds one for it.
#[inline(always)]
pub fn slot_verdict(id: &Identity) -> Option<Verdict> {
    VERDICT_SLOTS.get(VerdictSlot::index(&id.key)).and_then(|slot| slot.verdict_for(&id.key))
}

/// Observe-only fallback: the verdict map user space fills (the observe program cannot hash).
/// `id`: of the file executed, read by the caller (possibly [`Identity::UNREADABLE`]), and
/// `slot`: its [`slot_verdict`], also read by the caller.
#[inline(always)]
pub fn check_observed(hook: u8, scope: &Scope, id: &Identity, slot: Option<Verdict>, path: PathSource) -> i32 {
    if !id.is_readable() {
        count(counter::READ_ERRORS);
        return refuse(hook, scope, REASON_UNKNOWN_FILE, &FileKey::default(), None, path, 0);
    }
    // SAFETY: map values are plain data.
    let reason = match slot.or_else(|| unsafe { VERDICTS.get(&id.key) }.copied()) {
        Some(v)
            if v.flags & VERDICT_ALLOW != 0
                && v.ctime_sec == id.ctime_sec
                && v.ctime_nsec == id.ctime_nsec
                && v.size == id.size =>
        {
            count(counter::ALLOWED + hook as u32);
            return 0;
        }
        Some(_) => REASON_CHANGED,
        None => REASON_UNKNOWN_FILE,
    };
    refuse(hook, scope, reason, &id.key, None, path, 0)
}

/// Observe-only: an interpreter took over an exec, so the file the process executed (a `#!`
/// script) is known here by its name only; user space identifies it and keeps the report only
/// if that file is not allowed.
#[inline(always)]
pub fn report_by_name(hook: u8, scope: &Scope, name: *const u8) {
    emit(
        hook,
        ACTION_OBSERVED,
        REASON_UNKNOWN_FILE,
        &FileKey::default(),
        None,
        PathSource::Name(name),
        0,
        scope.settings,
    );
}

/// Anonymous executable memory: counted always, refused only when configured.
#[inline(always)]
pub fn check_anon_exec(hook: u8, scope: &Scope) -> i32 {
    count(counter::ANON_EXEC);
    if scope.settings.deny_anon_exec == 0 {
        return 0;
    }
    refuse(hook, scope, REASON_ANON_EXEC, &FileKey::default(), None, PathSource::None, 0)
}

/// Denies (enforce), or allows and reports (audit, observe). Returns 0 or `-EPERM`.
#[inline(always)]
pub fn refuse(
    hook: u8,
    scope: &Scope,
    reason: u8,
    key: &FileKey,
    digest: Option<&[u8; 32]>,
    path: PathSource,
    target: u32,
) -> i32 {
    refuse_with(hook, scope, reason, key, digest, path, target, -EPERM)
}

/// As [`refuse`], with the error an enforced refusal returns.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn refuse_with(
    hook: u8,
    scope: &Scope,
    reason: u8,
    key: &FileKey,
    digest: Option<&[u8; 32]>,
    path: PathSource,
    target: u32,
    error: i32,
) -> i32 {
    let (action, verdict, counter_base) = if scope.mode == MODE_ENFORCE {
        (ACTION_DENIED, error, counter::DENIED)
    } else if scope.mode == MODE_AUDIT {
        (ACTION_AUDITED, 0, counter::AUDITED)
    } else {
        (ACTION_OBSERVED, 0, counter::AUDITED)
    };
    count(counter_base + hook as u32);
    emit(hook, action, reason, key, digest, path, target, scope.settings);
    verdict
}

/// The current process's parent, by its thread-group id; 0 when it cannot be read.
#[inline(always)]
fn parent_tgid() -> u32 {
    // SAFETY: the helper returns the current task, BTF-typed, valid for the whole program run.
    let task = unsafe { bpf_get_current_task_btf() } as *const u8;
    // A parent that exits meanwhile can be read stale (a report, never a decision): the loads
    // cannot fault.
    member::<u32>(member_ptr(task, off!(task_real_parent)), off!(task_tgid))
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn emit(
    hook: u8,
    action: u8,
    reason: u8,
    key: &FileKey,
    digest: Option<&[u8; 32]>,
    path: PathSource,
    target: u32,
    settings: &Settings,
) {
    let Some(mut entry) = EVENTS.reserve::<Event>(0) else {
        count(counter::EVENTS_DROPPED);
        return;
    };
    let event = entry.as_mut_ptr();
    let pid_tgid = bpf_get_current_pid_tgid();
    let named;
    // SAFETY: `event` points at a reserved ring-buffer record of the right size; every field
    // is written before submit.
    unsafe {
        (*event).boot_ns = bpf_ktime_get_boot_ns();
        (*event).cgroup_id = bpf_get_current_cgroup_id();
        (*event).ino = key.ino;
        (*event).dev = key.dev;
        (*event).tgid = (pid_tgid >> 32) as u32;
        (*event).pid = pid_tgid as u32;
        (*event).uid = bpf_get_current_uid_gid() as u32;
        (*event).hook = hook;
        (*event).action = action;
        (*event).reason = reason;
        (*event).target = target;
        (*event).ppid = parent_tgid();
        // Always a copy of initialised bytes: the verifier refuses reads of stack slots a
        // skipped branch left unwritten.
        let none = [0u8; 32];
        (*event).digest = *digest.unwrap_or(&none);
        (*event).flags = if digest.is_some() { EVENT_HAS_DIGEST } else { 0 };
        (*event).comm = bpf_get_current_comm().unwrap_or([0; COMM_LEN]);
        named = matches!(path, PathSource::Name(_));
        let buf = &mut (*event).path;
        let (kind, len) = match path {
            PathSource::DPath(p) => {
                (PATH_STRING, bpf_d_path(p as *mut path, buf.as_mut_ptr().cast(), PATH_LEN as u32) as i32)
            }
            PathSource::Walk(file) => path_components(file, buf).unwrap_or((PATH_NONE, 0)),
            PathSource::Name(name) => match bpf_probe_read_kernel_str_bytes(name, buf) {
                // The helper's count includes the NUL, as `bpf_d_path`'s does.
                Ok(read) => (PATH_NAME, read.len() as i32 + 1),
                Err(_) => (PATH_NONE, 0),
            },
            PathSource::None => (PATH_NONE, 0),
        };
        (*event).path_kind = kind;
        (*event).path_len = len;
    }
    // Waking the reader costs far more than the hook itself; only wake it once a batch has
    // built up. The reader also polls on a timer, so a lone event is delayed, never lost. A file
    // known by name is the exception: user space must open it while its process still runs.
    let flags = if named || EVENTS.query(BPF_RB_AVAIL_DATA) >= settings.wakeup_bytes {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    entry.submit(flags);
}
