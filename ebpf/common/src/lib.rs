//! The `#[repr(C)]` types that cross the kernel/user boundary: map keys and values, the
//! settings record, counters and events. Nothing here holds policy; the kernel programs only
//! look up identities and report.
#![no_std]

/// Identity of a file as the kernel sees it: the superblock's device number in the kernel's
/// encoding (`MAJOR << 20 | MINOR`, not `stat()`'s) and the inode number.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FileKey {
    pub ino: u64,
    pub dev: u32,
    pub _pad: u32,
}

/// What user space recorded about a file identity. The change cookie (ctime and size at the time
/// the file was hashed) makes a verdict stale as soon as the file is written, chmod-ed or
/// truncated: the kernel only honours a verdict whose cookie equals the inode's current one.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub ctime_sec: i64,
    pub size: i64,
    pub ctime_nsec: u32,
    pub flags: u32,
}

pub const VERDICT_ALLOW: u32 = 1;

/// Enforcement mode of a scope. `OFF` means the scope is untouched.
pub const MODE_OFF: u32 = 0;
pub const MODE_AUDIT: u32 = 1;
pub const MODE_ENFORCE: u32 = 2;

/// Deepest cgroup level a scope may sit at (the root cgroup is level 0).
pub const MAX_CGROUP_LEVEL: u32 = 15;

/// Runtime settings, one record in an array map so a restarted daemon can change them without
/// reloading programs.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Mode for processes in no listed cgroup.
    pub host_mode: u32,
    /// Bit `n` set: some scope cgroup sits at level `n`, so ancestors at that level are looked up.
    pub scope_levels: u32,
    /// Thread-group id (in the initial pid namespace) of the daemon, which is never denied.
    pub daemon_tgid: u32,
    /// Non-zero: anonymous executable memory (JIT) is denied in enforced scopes.
    pub deny_anon_exec: u32,
    /// Bytes of unread events after which a submit wakes user space; below it, events wait
    /// for the reader's next poll.
    pub wakeup_bytes: u64,
}

/// Offsets of the kernel struct members the programs read, resolved from the running kernel's
/// BTF by the loader and written into the programs' read-only data before load.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelOffsets {
    pub binprm_file: u32,
    pub file_inode: u32,
    pub file_path: u32,
    pub inode_sb: u32,
    pub inode_ino: u32,
    pub inode_size: u32,
    pub inode_ctime_sec: u32,
    /// Nanoseconds: the `long tv_nsec` of a `timespec64` before 6.11, `u32 i_ctime_nsec` from
    /// 6.11. The programs read 32 bits either way (little-endian, and nanoseconds fit).
    pub inode_ctime_nsec: u32,
    pub sb_dev: u32,
    pub vma_file: u32,
    pub vma_flags: u32,
    // For walking a path without bpf_d_path: struct path, dentry, vfsmount, mount.
    pub path_dentry: u32,
    pub path_mnt: u32,
    pub dentry_parent: u32,
    /// `dentry.d_name.name`: the offset of `d_name` plus that of `qstr.name`.
    pub dentry_name: u32,
    pub vfsmount_root: u32,
    /// Offset of the `struct vfsmount` embedded in `struct mount`.
    pub mount_mnt: u32,
    pub mount_parent: u32,
    pub mount_mountpoint: u32,
}

impl KernelOffsets {
    /// Placeholder compiled into the object; the loader always overrides it.
    pub const UNRESOLVED: Self = Self {
        binprm_file: 0,
        file_inode: 0,
        file_path: 0,
        inode_sb: 0,
        inode_ino: 0,
        inode_size: 0,
        inode_ctime_sec: 0,
        inode_ctime_nsec: 0,
        sb_dev: 0,
        vma_file: 0,
        vma_flags: 0,
        path_dentry: 0,
        path_mnt: 0,
        dentry_parent: 0,
        dentry_name: 0,
        vfsmount_root: 0,
        mount_mnt: 0,
        mount_parent: 0,
        mount_mountpoint: 0,
    };
}

/// Which hook produced an event or a counter.
pub const HOOK_EXEC: u8 = 0;
pub const HOOK_MMAP: u8 = 1;
pub const HOOK_MPROTECT: u8 = 2;
/// Observe-only fallback: `tp_btf/sched_process_exec`, after the exec succeeded.
pub const HOOK_EXEC_OBSERVED: u8 = 3;
pub const HOOK_COUNT: usize = 4;

/// What happened.
pub const ACTION_DENIED: u8 = 0;
pub const ACTION_AUDITED: u8 = 1;
pub const ACTION_OBSERVED: u8 = 2;

/// Why the file was not allowed.
pub const REASON_UNKNOWN_FILE: u8 = 0;
/// A verdict exists for this inode but the file changed after it was recorded.
pub const REASON_CHANGED: u8 = 1;
/// Anonymous executable memory (no file behind it).
pub const REASON_ANON_EXEC: u8 = 2;

pub const COMM_LEN: usize = 16;
pub const PATH_LEN: usize = 384;

/// How `Event::path` is encoded.
pub const PATH_NONE: u8 = 0;
/// A NUL-terminated absolute path (from `bpf_d_path`); `path_len` counts the NUL.
pub const PATH_STRING: u8 = 1;
/// Path components, leaf first, one per `PATH_SLOT`-byte slot (NUL-terminated, possibly cut);
/// `path_len` is the number of slots used. Walked in the kernel where `bpf_d_path` is refused.
pub const PATH_COMPONENTS: u8 = 2;
/// As `PATH_COMPONENTS`, but the walk stopped before the root.
pub const PATH_COMPONENTS_TRUNCATED: u8 = 3;
pub const PATH_SLOT: usize = 48;
pub const PATH_SLOTS: usize = PATH_LEN / PATH_SLOT;
// The kernel side masks slot indexes with PATH_SLOTS - 1.
const _: () = assert!(PATH_SLOTS.is_power_of_two() && PATH_SLOTS * PATH_SLOT == PATH_LEN);

/// One denial, would-deny or observation, sent through the ring buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub boot_ns: u64,
    pub cgroup_id: u64,
    pub ino: u64,
    pub dev: u32,
    pub tgid: u32,
    pub pid: u32,
    pub uid: u32,
    pub hook: u8,
    pub action: u8,
    pub reason: u8,
    /// One of the `PATH_*` encodings.
    pub path_kind: u8,
    /// See `path_kind`; a negative errno when the path could not be read.
    pub path_len: i32,
    pub comm: [u8; COMM_LEN],
    pub path: [u8; PATH_LEN],
}

/// Per-CPU counters, indexed by these constants.
pub mod counter {
    use super::HOOK_COUNT;
    /// `ALLOWED + hook`: lookups that found a current verdict.
    pub const ALLOWED: u32 = 0;
    /// `DENIED + hook`
    pub const DENIED: u32 = ALLOWED + HOOK_COUNT as u32;
    /// `AUDITED + hook`: would have been denied, allowed because the scope is in audit mode.
    pub const AUDITED: u32 = DENIED + HOOK_COUNT as u32;
    /// Events that did not fit in the ring buffer.
    pub const EVENTS_DROPPED: u32 = AUDITED + HOOK_COUNT as u32;
    /// Anonymous executable mappings seen in scope (JIT); counted whether or not denied.
    pub const ANON_EXEC: u32 = EVENTS_DROPPED + 1;
    /// Denials skipped because the caller was the daemon itself.
    pub const DAEMON_EXEMPT: u32 = ANON_EXEC + 1;
    /// Files whose identity could not be read (a kernel read failed); treated as unknown.
    pub const READ_ERRORS: u32 = DAEMON_EXEMPT + 1;
    pub const COUNT: u32 = READ_ERRORS + 1;
}

/// Names of maps and programs, shared so user space never spells them differently.
pub mod names {
    pub const VERDICTS: &str = "VERDICTS";
    pub const SCOPES: &str = "SCOPES";
    pub const SETTINGS: &str = "SETTINGS";
    pub const COUNTERS: &str = "COUNTERS";
    pub const EVENTS: &str = "EVENTS";
    pub const OFFSETS: &str = "OFFSETS";

    pub const PROG_EXEC: &str = "provgate_bprm_check";
    pub const PROG_MMAP: &str = "provgate_mmap_file";
    pub const PROG_MPROTECT: &str = "provgate_file_mprotect";
    pub const PROG_OBSERVE: &str = "provgate_observe_exec";
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all of these are #[repr(C)], contain only integers and arrays of integers, and
    // have explicit padding fields, so every bit pattern is valid.
    unsafe impl aya::Pod for super::FileKey {}
    unsafe impl aya::Pod for super::Verdict {}
    unsafe impl aya::Pod for super::Settings {}
    unsafe impl aya::Pod for super::KernelOffsets {}
    unsafe impl aya::Pod for super::Event {}
}
