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

/// Slots of `VERDICT_SLOTS`: 48 bytes each, 1.5 MiB in all.
pub const VERDICT_SLOT_COUNT: u32 = 1 << 15;

/// One slot of `VERDICT_SLOTS`, a direct-mapped copy of part of `VERDICTS` that the observe
/// program reads with an array index instead of a hash lookup (on the exec path a hash lookup
/// costs more than all of the program's other work on a file). A slot holds the identity last
/// written to it; an identity whose slot holds another is looked up in `VERDICTS`. User space
/// writes a slot only after the map, and clears it before removing from the map, so a slot never
/// holds a verdict the map does not. Slots are rewritten with a plain copy while programs run:
/// `check` seals the slot, and a slot read half old and half new is not used.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerdictSlot {
    key: FileKey,
    verdict: Verdict,
    check: u64,
}

impl VerdictSlot {
    pub fn new(key: FileKey, verdict: Verdict) -> Self {
        Self { key, verdict, check: Self::seal(&key, &verdict) }
    }

    /// The slot of a file identity (Fibonacci hashing of device and inode).
    #[inline(always)]
    pub fn index(key: &FileKey) -> u32 {
        ((key.ino ^ (u64::from(key.dev) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 49) as u32
            & (VERDICT_SLOT_COUNT - 1)
    }

    #[inline(always)]
    fn seal(key: &FileKey, verdict: &Verdict) -> u64 {
        seal([
            key.ino,
            u64::from(key.dev),
            verdict.ctime_sec as u64,
            verdict.size as u64,
            u64::from(verdict.ctime_nsec) | (u64::from(verdict.flags) << 32),
        ])
    }

    /// The verdict this slot holds for `key`, if it holds one for `key` and is whole.
    #[inline(always)]
    pub fn verdict_for(&self, key: &FileKey) -> Option<Verdict> {
        // One copy, checked and then used: the slot may be rewritten while it is read.
        // SAFETY: `self` is a valid reference.
        let slot = unsafe { core::ptr::read_volatile(self) };
        (key.ino != 0 && slot.key == *key && slot.check == Self::seal(&slot.key, &slot.verdict)).then_some(slot.verdict)
    }
}

/// Mixes `words` into one: a change to any bit of any word changes the result, so a record
/// copied half old and half new does not match the seal it carries.
#[inline(always)]
fn seal<const N: usize>(words: [u64; N]) -> u64 {
    let mut sealed = 0x7072_6f76_6761_7465u64;
    for word in words {
        sealed = (sealed ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        sealed ^= sealed >> 29;
    }
    sealed
}

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
    /// Mode (and `SCOPE_*` flags) for processes in no listed cgroup.
    pub host_mode: u32,
    /// Bit `n` set: some scope cgroup sits at level `n`, so ancestors at that level are looked up.
    pub scope_levels: u32,
    /// Thread-group id (in the initial pid namespace) of the daemon, which is never denied.
    pub daemon_tgid: u32,
    /// Non-zero: anonymous executable memory (JIT), and what amounts to it (written private
    /// file pages made executable, `READ_IMPLIES_EXEC`, executable stacks, userfaultfd), is
    /// denied in enforced scopes.
    pub deny_anon_exec: u32,
    /// Bytes of unread events after which a submit wakes user space; below it, events wait
    /// for the reader's next poll.
    pub wakeup_bytes: u64,
    /// The daemon's start time in clock ticks since boot (`/proc/PID/stat` field 22). With the
    /// tgid it names the daemon's process and no later process that reuses its pid.
    pub daemon_start_ticks: u64,
    /// Non-zero: hardened mode. Processes in enforced scopes may not tamper with provgate
    /// (its BPF objects, its process, its files), leave their scope, load kernel code that is
    /// not vouched for, or write raw block devices and kernel memory.
    pub hardened: u32,
    /// Device (kernel encoding) of the kernel's internal shmem mount, where memfds live; 0 if
    /// unknown. A memfd is executable only once sealed against writes.
    pub memfd_dev: u32,
    /// The first scopes of `SCOPES`, answered without a hash lookup: on the exec path the
    /// lookup costs more than all the rest of the scope decision (measured on the observe
    /// program, about 150 ns of 260). A cgroup found in none of them is looked up as before.
    pub inline_scopes: [InlineScope; INLINE_SCOPES],
    /// Every cgroup id in `SCOPES`: a cgroup not in it is in no scope, known without a hash
    /// lookup.
    pub scopes: KeyFilter,
}

/// Scopes kept in [`Settings`] itself; most hosts have one, a few add debugger or admin cgroups.
pub const INLINE_SCOPES: usize = 4;

/// One `SCOPES` entry copied into [`Settings`]. User space rewrites the settings with a plain
/// copy while programs run, so a program can read an entry half old and half new: `check`
/// seals the pair, and an entry that does not check out is not used (the map answers instead).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InlineScope {
    id: u64,
    value: u32,
    _pad: u32,
    check: u64,
}

impl InlineScope {
    pub fn new(id: u64, value: u32) -> Self {
        Self { id, value, _pad: 0, check: Self::seal(id, value) }
    }

    #[inline(always)]
    fn seal(id: u64, value: u32) -> u64 {
        seal([id, u64::from(value)])
    }

    /// The scope value of cgroup `id`, if this entry is for it and whole.
    #[inline(always)]
    pub fn value_for(&self, id: u64) -> Option<u32> {
        // One copy, checked and then used: the entry may be rewritten while it is read.
        // SAFETY: `self` is a valid reference.
        let entry = unsafe { core::ptr::read_volatile(self) };
        (id != 0 && entry.id == id && entry.check == Self::seal(id, entry.value)).then_some(entry.value)
    }
}

/// A set of 64-bit keys in 2,048 bits, with false positives and never a false negative: a key
/// it does not contain is in no map it summarises. User space sets a key's bit before adding
/// the key to the map, and clears it only after removing it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyFilter {
    words: [u64; 32],
}

impl KeyFilter {
    /// Fibonacci hashing: keys handed out in sequence (cgroup ids) spread over the bits.
    #[inline(always)]
    fn bit(key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 53) as usize
    }

    #[inline(always)]
    pub fn may_contain(&self, key: u64) -> bool {
        let bit = Self::bit(key);
        self.words[(bit / 64) & 31] & (1 << (bit % 64)) != 0
    }

    pub fn insert(&mut self, key: u64) {
        let bit = Self::bit(key);
        self.words[(bit / 64) & 31] |= 1 << (bit % 64);
    }

    /// Adds every key of `other`.
    pub fn union(&mut self, other: &KeyFilter) {
        self.words.iter_mut().zip(other.words).for_each(|(word, more)| *word |= more);
    }
}

/// `SCOPES` values and `Settings::host_mode`: the mode in the low byte, flags above.
pub const SCOPE_MODE_MASK: u32 = 0xff;
/// Processes here may trace and write the memory of other processes (debuggers).
pub const SCOPE_DEBUGGER: u32 = 1 << 8;
/// Processes here are exempt from the hardened tamper rules (they still run only vouched code).
pub const SCOPE_ADMIN: u32 = 1 << 9;

/// `PENDING_MAPPINGS` (task storage): what a task's last allowed `mmap_file` check rested on,
/// and what was seen of the executable mapping being made, until it exists (see the kernel
/// side's `mapping.rs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingMapping {
    /// The inode checked, as a number: 0 once the mapping was seen.
    pub inode: u64,
    /// Where its `FileState::write_gen` lives (inode storage lives as long as the inode, which
    /// the mapping's file holds).
    pub write_gen: u64,
    /// `write_gen` as the check read it.
    pub generation: u64,
    /// Non-zero once a stacked filesystem put a layer's file on an untrusted filesystem in the
    /// executable mapping being made.
    pub untrusted_layer: u64,
}

/// What the kernel keeps per inode (inode local storage): the SHA-256 of the file's content as
/// it hashed it, valid while nothing could have written the file since. Content is hashed in
/// the kernel (IMA's `bpf_ima_file_hash`) on first use; every open for writing and every
/// truncation bumps `write_gen`, so a digest computed before is never used again. The state
/// lives and dies with the in-memory inode: a new filesystem never inherits it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileState {
    pub digest: [u8; 32],
    /// Bumped atomically by every open for writing and every truncation.
    pub write_gen: u64,
    /// `write_gen` when `digest` was computed.
    pub hashed_gen: u64,
    /// Change cookie when `digest` was computed (a second, independent staleness check).
    pub ctime_sec: i64,
    pub size: i64,
    pub ctime_nsec: u32,
    /// Non-zero once the file was mapped executable in an enforced scope: writes to it are
    /// refused (`ETXTBSY`) while it is still mapped.
    pub exec_mapped: u32,
    /// [`FileState::seal`] of the fields above: two hashers storing at once can interleave
    /// their fields, and a torn state never checks out.
    pub check: u64,
}

impl FileState {
    /// Whether `digest` is for the file's current content: no write since it was computed
    /// (`write_gen` as the caller read it: the kernel's writers bump it atomically), the same
    /// change cookie, and not torn by two hashers storing at once. The one rule for the
    /// enforcing programs (`decide.rs`) and for user space (`explain`, through the daemon).
    #[inline(always)]
    pub fn is_current(&self, write_gen: u64, ctime_sec: i64, ctime_nsec: u32, size: i64) -> bool {
        self.hashed_gen == write_gen
            && self.ctime_sec == ctime_sec
            && self.ctime_nsec == ctime_nsec
            && self.size == size
            && self.check == self.seal()
    }

    /// Mixes every field that a hasher writes; no all-zero state seals to zero.
    #[inline(always)]
    pub fn seal(&self) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut h: u64 = 0x6a09_e667_f3bc_c908;
        let mut mix = |v: u64| {
            h = (h ^ v).wrapping_mul(K);
            h ^= h >> 29;
        };
        let d = &self.digest;
        let mut i = 0;
        while i < 4 {
            let b = &d[i * 8..i * 8 + 8];
            mix(u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
            i += 1;
        }
        mix(self.hashed_gen);
        mix(self.ctime_sec as u64);
        mix(self.size as u64);
        mix(self.ctime_nsec as u64);
        h | 1
    }
}

/// Offsets of the kernel struct members the programs read (and a few enum values), resolved
/// from the running kernel's BTF by the loader and written into the programs' read-only data
/// before load.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelOffsets {
    pub binprm_file: u32,
    /// `linux_binprm.filename`: the name the process executed.
    pub binprm_filename: u32,
    /// `linux_binprm.interp`: the same pointer as `filename` until an interpreter (`#!`,
    /// binfmt_misc) takes over the exec.
    pub binprm_interp: u32,
    pub file_inode: u32,
    pub file_path: u32,
    /// `file.f_mode` (`fmode_t`).
    pub file_mode: u32,
    pub inode_sb: u32,
    pub inode_ino: u32,
    pub inode_size: u32,
    pub inode_ctime_sec: u32,
    /// Nanoseconds: the `long tv_nsec` of a `timespec64` before 6.11, `u32 i_ctime_nsec` from
    /// 6.11. The programs read 32 bits either way (little-endian, and nanoseconds fit).
    pub inode_ctime_nsec: u32,
    pub inode_mode: u32,
    pub inode_rdev: u32,
    /// `inode.i_writecount`: positive while the file is open for writing.
    pub inode_writecount: u32,
    pub inode_mapping: u32,
    /// `address_space.i_mmap.rb_root.rb_node`: non-NULL while any process maps the file.
    pub mapping_mmap_root: u32,
    /// Distance from `shmem_inode_info.vfs_inode` back to `shmem_inode_info.seals` (memfd seals).
    pub shmem_seals: u32,
    /// Distance from `ovl_inode.vfs_inode` (an overlay's inode) to `ovl_inode.__upperdentry`.
    pub ovl_upper_dentry: u32,
    pub sb_dev: u32,
    pub sb_magic: u32,
    pub vma_file: u32,
    pub vma_flags: u32,
    /// `vm_area_struct.anon_vma`: set once a private mapping has copied-on-write pages.
    pub vma_anon_vma: u32,
    pub path_dentry: u32,
    pub path_mnt: u32,
    pub dentry_parent: u32,
    /// `dentry.d_name.name`: the offset of `d_name` plus that of `qstr.name`.
    pub dentry_name: u32,
    pub dentry_inode: u32,
    pub qstr_name: u32,
    /// `dentry.d_fsdata`: a kernfs (cgroupfs) dentry's `kernfs_node`.
    pub dentry_fsdata: u32,
    pub vfsmount_root: u32,
    /// Offset of the `struct vfsmount` embedded in `struct mount`.
    pub mount_mnt: u32,
    pub mount_parent: u32,
    pub mount_mountpoint: u32,
    pub task_group_leader: u32,
    pub task_real_parent: u32,
    pub task_tgid: u32,
    pub task_start_boottime: u32,
    pub task_personality: u32,
    pub task_mm: u32,
    pub mm_start_stack: u32,
    pub kernfs_parent: u32,
    pub kernfs_id: u32,
    /// `task_struct.cgroups`, `css_set.dfl_cgrp`, `cgroup.kn` and `cgroup.level`: a task's
    /// cgroup on the unified hierarchy, read by a program that holds the RCU read lock.
    pub task_cgroups: u32,
    pub css_set_dfl_cgrp: u32,
    pub cgroup_kn: u32,
    pub cgroup_level: u32,
    pub bpf_map_id: u32,
    pub bpf_prog_aux: u32,
    pub bpf_prog_aux_id: u32,
    /// `union bpf_attr`: the id of `*_GET_FD_BY_ID` commands (`prog_id`, `map_id`, `link_id` share it).
    pub bpf_attr_id: u32,
    /// Values of `enum kernel_read_file_id` and `enum kernel_load_data_id`, from BTF.
    pub kernel_read_module: u32,
    pub kernel_read_kexec_image: u32,
    pub kernel_read_kexec_initramfs: u32,
    pub kernel_load_module: u32,
    pub kernel_load_kexec_image: u32,
    /// `pt_regs.di` and `pt_regs.bx`: the first argument of a native and of an ia32 syscall.
    pub pt_regs_di: u32,
    pub pt_regs_bx: u32,
}

impl KernelOffsets {
    /// Placeholder compiled into the object; the loader always overrides it.
    pub const UNRESOLVED: Self = Self {
        binprm_file: 0,
        binprm_filename: 0,
        binprm_interp: 0,
        file_inode: 0,
        file_path: 0,
        file_mode: 0,
        inode_sb: 0,
        inode_ino: 0,
        inode_size: 0,
        inode_ctime_sec: 0,
        inode_ctime_nsec: 0,
        inode_mode: 0,
        inode_rdev: 0,
        inode_writecount: 0,
        inode_mapping: 0,
        mapping_mmap_root: 0,
        shmem_seals: 0,
        ovl_upper_dentry: 0,
        sb_dev: 0,
        sb_magic: 0,
        vma_file: 0,
        vma_flags: 0,
        vma_anon_vma: 0,
        path_dentry: 0,
        path_mnt: 0,
        dentry_parent: 0,
        dentry_name: 0,
        dentry_inode: 0,
        qstr_name: 0,
        dentry_fsdata: 0,
        vfsmount_root: 0,
        mount_mnt: 0,
        mount_parent: 0,
        mount_mountpoint: 0,
        task_group_leader: 0,
        task_real_parent: 0,
        task_tgid: 0,
        task_start_boottime: 0,
        task_personality: 0,
        task_mm: 0,
        mm_start_stack: 0,
        kernfs_parent: 0,
        kernfs_id: 0,
        task_cgroups: 0,
        css_set_dfl_cgrp: 0,
        cgroup_kn: 0,
        cgroup_level: 0,
        bpf_map_id: 0,
        bpf_prog_aux: 0,
        bpf_prog_aux_id: 0,
        bpf_attr_id: 0,
        kernel_read_module: 0,
        kernel_read_kexec_image: 0,
        kernel_read_kexec_initramfs: 0,
        kernel_load_module: 0,
        kernel_load_kexec_image: 0,
        pt_regs_di: 0,
        pt_regs_bx: 0,
    };
}

/// Which hook produced an event or a counter.
pub const HOOK_EXEC: u8 = 0;
pub const HOOK_MMAP: u8 = 1;
pub const HOOK_MPROTECT: u8 = 2;
/// Observe-only fallback: `tp_btf/sched_process_exec`, after the exec succeeded.
pub const HOOK_EXEC_OBSERVED: u8 = 3;
/// `file_open` and `path_truncate`: writes to code in use, `/proc/PID/mem`, protected files.
pub const HOOK_WRITE: u8 = 4;
/// `ptrace_access_check`, `ptrace_traceme`.
pub const HOOK_PTRACE: u8 = 5;
/// `kernel_read_file`, `kernel_load_data`: kernel modules and kexec images.
pub const HOOK_KERNEL_CODE: u8 = 6;
/// `bpf`, `bpf_map`, `bpf_prog`: provgate's own BPF objects.
pub const HOOK_BPF: u8 = 7;
/// `task_kill`: signals to the daemon.
pub const HOOK_SIGNAL: u8 = 8;
/// Moving processes between cgroups (`cgroup.procs`, `CLONE_INTO_CGROUP`).
pub const HOOK_CGROUP: u8 = 9;
/// `inode_unlink`, `inode_rename`, `inode_link`: provgate's protected files and pins.
pub const HOOK_UNLINK: u8 = 10;
/// `personality(READ_IMPLIES_EXEC)` and userfaultfd, with anonymous exec denied.
pub const HOOK_ANON_EQUIVALENT: u8 = 11;
pub const HOOK_COUNT: usize = 12;

/// What happened.
pub const ACTION_DENIED: u8 = 0;
pub const ACTION_AUDITED: u8 = 1;
pub const ACTION_OBSERVED: u8 = 2;

/// Why the file was not allowed.
pub const REASON_UNKNOWN_FILE: u8 = 0;
/// Observe-only verdict map: a verdict exists for this inode but the file changed after it was
/// recorded.
pub const REASON_CHANGED: u8 = 1;
/// Anonymous executable memory (no file behind it).
pub const REASON_ANON_EXEC: u8 = 2;
/// The file is on a filesystem whose bytes the kernel does not vouch for (FUSE, network).
pub const REASON_UNTRUSTED_FS: u8 = 3;
/// The file is open for writing (or mapped shared and writable) somewhere.
pub const REASON_OPEN_FOR_WRITE: u8 = 4;
/// A memfd that is not sealed against writes, growing and shrinking.
pub const REASON_UNSEALED_MEMFD: u8 = 5;
/// The file was opened for writing while the kernel hashed it.
pub const REASON_CHANGED_WHILE_HASHING: u8 = 6;
/// `mprotect(PROT_EXEC)` of a file the kernel has not hashed (hashing cannot happen there).
pub const REASON_NOT_HASHED: u8 = 7;
/// The kernel could not hash the file (IMA unavailable, read error).
pub const REASON_HASH_FAILED: u8 = 8;
/// A private file mapping both writable and executable (W^X).
pub const REASON_WRITABLE_EXEC: u8 = 9;
/// A private file mapping whose pages were written (copy-on-write) made executable.
pub const REASON_MODIFIED_MAPPING: u8 = 10;
/// The `READ_IMPLIES_EXEC` personality (every readable mapping executable).
pub const REASON_READ_IMPLIES_EXEC: u8 = 11;
/// An executable stack.
pub const REASON_EXEC_STACK: u8 = 12;
/// Tracing or writing the memory of a process (`ptrace`, `/proc/PID/mem`).
pub const REASON_CODE_INJECTION: u8 = 13;
/// Writing a file that an enforced process maps executable.
pub const REASON_WRITE_TO_CODE_IN_USE: u8 = 14;
/// Kernel code from memory (`init_module`, `kexec_load`).
pub const REASON_KERNEL_CODE_FROM_MEMORY: u8 = 15;
/// Hardened mode: touching provgate's BPF objects, process or files.
pub const REASON_TAMPERING: u8 = 16;
/// Hardened mode: moving a process to a less strict scope.
pub const REASON_SCOPE_ESCAPE: u8 = 17;
/// Hardened mode: writing a block device or kernel memory.
pub const REASON_RAW_DEVICE_WRITE: u8 = 18;
/// userfaultfd, which fills pages (also of executable mappings) with arbitrary bytes.
pub const REASON_USERFAULTFD: u8 = 19;
/// A file opened for writing while an enforced process's executable mapping of it was being
/// made: the process is killed before the mapping returns.
pub const REASON_WRITE_DURING_MAPPING: u8 = 20;

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
/// As `PATH_STRING`, but only the name the process gave to `execve` (perhaps relative): the
/// kernel could not identify the file itself (a script, once its interpreter took over), so user
/// space identifies it and decides.
pub const PATH_NAME: u8 = 4;
pub const PATH_SLOT: usize = 48;
pub const PATH_SLOTS: usize = PATH_LEN / PATH_SLOT;
// The kernel side masks slot indexes with PATH_SLOTS - 1.
const _: () = assert!(PATH_SLOTS.is_power_of_two() && PATH_SLOTS * PATH_SLOT == PATH_LEN);

/// `Event::flags`: `digest` holds the SHA-256 the kernel computed for the file.
pub const EVENT_HAS_DIGEST: u32 = 1;

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
    /// `EVENT_*` bits.
    pub flags: u32,
    /// For tracing and signals: the target process; for kernel code and BPF: the object id.
    pub target: u32,
    /// The parent process (`real_parent`'s thread-group id), for the admin's context.
    pub ppid: u32,
    pub digest: [u8; 32],
    pub comm: [u8; COMM_LEN],
    pub path: [u8; PATH_LEN],
}

/// Per-CPU counters, indexed by these constants.
pub mod counter {
    use super::HOOK_COUNT;
    /// `ALLOWED + hook`: decisions that allowed.
    pub const ALLOWED: u32 = 0;
    /// `DENIED + hook`
    pub const DENIED: u32 = ALLOWED + HOOK_COUNT as u32;
    /// `AUDITED + hook`: would have been denied, allowed because the scope is in audit mode.
    pub const AUDITED: u32 = DENIED + HOOK_COUNT as u32;
    /// Events that did not fit in the ring buffer.
    pub const EVENTS_DROPPED: u32 = AUDITED + HOOK_COUNT as u32;
    /// Anonymous executable mappings seen in scope (JIT); counted whether or not denied.
    pub const ANON_EXEC: u32 = EVENTS_DROPPED + 1;
    /// Decisions skipped because the caller was the daemon itself.
    pub const DAEMON_EXEMPT: u32 = ANON_EXEC + 1;
    /// Files whose identity could not be read (a kernel read failed); treated as unknown.
    pub const READ_ERRORS: u32 = DAEMON_EXEMPT + 1;
    /// Files hashed by the kernel (first use, or first use after a write).
    pub const KERNEL_HASHES: u32 = READ_ERRORS + 1;
    /// Bytes hashed by the kernel.
    pub const KERNEL_HASHED_BYTES: u32 = KERNEL_HASHES + 1;
    /// Writes that made a file's digest stale (open for writing, truncation).
    pub const INVALIDATIONS: u32 = KERNEL_HASHED_BYTES + 1;
    pub const COUNT: u32 = INVALIDATIONS + 1;
}

/// Names of maps and programs, shared so user space never spells them differently.
pub mod names {
    pub const VERDICTS: &str = "VERDICTS";
    pub const VERDICT_SLOTS: &str = "VERDICT_SLOTS";
    pub const ALLOWED: &str = "ALLOWED";
    pub const FILES: &str = "FILES";
    pub const SCOPES: &str = "SCOPES";
    pub const SETTINGS: &str = "SETTINGS";
    pub const COUNTERS: &str = "COUNTERS";
    pub const EVENTS: &str = "EVENTS";
    pub const UNTRUSTED_FS: &str = "UNTRUSTED_FS";
    pub const TRUSTED_DEVS: &str = "TRUSTED_DEVS";
    pub const PROTECTED: &str = "PROTECTED";
    pub const PENDING_MAPPINGS: &str = "PENDING_MAPPINGS";
    pub const OFFSETS: &str = "OFFSETS";

    pub const PROG_EXEC: &str = "provgate_bprm_check";
    pub const PROG_MMAP: &str = "provgate_mmap_file";
    pub const PROG_MPROTECT: &str = "provgate_file_mprotect";
    pub const PROG_FILE_OPEN: &str = "provgate_file_open";
    pub const PROG_TRUNCATE: &str = "provgate_path_truncate";
    pub const PROG_PTRACE: &str = "provgate_ptrace_access_check";
    pub const PROG_TRACEME: &str = "provgate_ptrace_traceme";
    pub const PROG_READ_FILE: &str = "provgate_kernel_read_file";
    pub const PROG_LOAD_DATA: &str = "provgate_kernel_load_data";
    pub const PROG_BPF: &str = "provgate_bpf";
    pub const PROG_BPF_KERNEL_FLAG: &str = "provgate_bpf_kernel_flag";
    pub const PROG_BPF_MAP: &str = "provgate_bpf_map";
    pub const PROG_BPF_PROG: &str = "provgate_bpf_prog";
    pub const PROG_TASK_KILL: &str = "provgate_task_kill";
    pub const PROG_TASK_ALLOC: &str = "provgate_task_alloc";
    pub const PROG_UNLINK: &str = "provgate_inode_unlink";
    pub const PROG_RENAME: &str = "provgate_inode_rename";
    pub const PROG_LINK: &str = "provgate_inode_link";
    pub const PROG_ANON_INODE: &str = "provgate_inode_init_security_anon";
    pub const PROG_PERSONALITY: &str = "provgate_personality";
    pub const PROG_PERSONALITY_IA32: &str = "provgate_personality_ia32";
    pub const PROG_MAPPED: &str = "provgate_mapped";
    pub const PROG_LAYER_MAPPED: &str = "provgate_layer_mapped";
    pub const PROG_OBSERVE: &str = "provgate_observe_exec";
}

/// `PROTECTED` keys: provgate's own objects that hardened mode keeps out of reach.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ProtectedKey {
    /// One of the `PROTECT_*` kinds.
    pub kind: u32,
    pub dev: u32,
    /// An inode number, or a BPF object id.
    pub id: u64,
}
pub const PROTECT_MAP: u32 = 1;
pub const PROTECT_PROG: u32 = 2;
pub const PROTECT_LINK: u32 = 3;
/// A file (the store, the configuration): not opened for writing, linked, renamed or removed.
pub const PROTECT_FILE: u32 = 4;
/// A directory (store, run, configuration and pin directories): nothing created, renamed or
/// removed in it.
pub const PROTECT_DIR: u32 = 5;

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all of these are #[repr(C)], contain only integers and arrays of integers, and
    // have explicit padding fields, so every bit pattern is valid.
    unsafe impl aya::Pod for super::FileKey {}
    unsafe impl aya::Pod for super::Verdict {}
    unsafe impl aya::Pod for super::Settings {}
    unsafe impl aya::Pod for super::VerdictSlot {}
    unsafe impl aya::Pod for super::KernelOffsets {}
    unsafe impl aya::Pod for super::Event {}
    unsafe impl aya::Pod for super::FileState {}
    unsafe impl aya::Pod for super::ProtectedKey {}
}

#[cfg(test)]
mod tests {
    use super::{FileKey, FileState, InlineScope, KeyFilter, VERDICT_SLOT_COUNT, Verdict, VerdictSlot};

    #[test]
    fn a_key_filter_never_misses_a_key_and_rules_out_most_others() {
        let mut filter = KeyFilter::default();
        // Cgroup ids as the kernel hands them out (in sequence), and a few scattered keys.
        let magics = [0x6573_5546, 0x6969, 0xff53_4d42, 0x0102_1994];
        let keys = || (5_000..5_100u64).chain(magics);
        keys().for_each(|k| filter.insert(k));
        assert!(keys().all(|k| filter.may_contain(k)));
        let others = (1_000_000..1_100_000u64).filter(|k| filter.may_contain(*k)).count();
        // 104 of 2,048 bits set: about 5 % of other keys need the map lookup.
        assert!(others < 8_000, "{others} of 100,000 other keys pass the filter");
        assert!(!KeyFilter::default().may_contain(0));
    }

    #[test]
    fn a_torn_or_empty_state_never_checks_out() {
        let empty = FileState::default();
        assert_ne!(empty.check, empty.seal(), "a fresh, all-zero state must not look hashed");
        let mut state = FileState { digest: [7; 32], hashed_gen: 3, write_gen: 3, ctime_sec: 10, size: 99, ..empty };
        state.check = state.seal();
        // Every field a hasher writes takes part: another hasher's value in any one of them
        // breaks the seal.
        let variants = [
            FileState { digest: [8; 32], ..state },
            FileState { hashed_gen: 4, ..state },
            FileState { ctime_sec: 11, ..state },
            FileState { ctime_nsec: 1, ..state },
            FileState { size: 100, ..state },
        ];
        for torn in variants {
            assert_ne!(torn.check, torn.seal(), "{torn:?}");
        }
        // Fields only the kernel's writers touch do not.
        assert_eq!(FileState { write_gen: 9, exec_mapped: 1, ..state }.seal(), state.check);
    }

    #[test]
    fn a_verdict_slot_answers_only_for_its_own_whole_entry() {
        let key = FileKey { ino: 1234, dev: 0x80_0001, _pad: 0 };
        let verdict = Verdict { ctime_sec: 1_700_000_000, size: 4096, ctime_nsec: 5, flags: 1 };
        let slot = VerdictSlot::new(key, verdict);
        assert_eq!(slot.verdict_for(&key), Some(verdict));
        assert_eq!(slot.verdict_for(&FileKey { ino: 1235, ..key }), None, "another file");
        assert_eq!(slot.verdict_for(&FileKey { dev: 0x80_0002, ..key }), None, "another filesystem");
        assert_eq!(VerdictSlot::default().verdict_for(&FileKey::default()), None, "an empty slot");
        // Half of a new entry over an old one: neither the key nor the verdict may mix.
        let newer = VerdictSlot::new(FileKey { ino: 99, ..key }, Verdict { size: 1, ..verdict });
        let torn = VerdictSlot { key: newer.key, ..slot };
        assert_eq!(torn.verdict_for(&newer.key), None);
        let torn = VerdictSlot { verdict: Verdict { size: 8192, ..verdict }, ..slot };
        assert_eq!(torn.verdict_for(&key), None);
        let torn = VerdictSlot { check: newer.check, ..slot };
        assert_eq!(torn.verdict_for(&key), None);
        let torn = VerdictSlot { key: newer.key, check: newer.check, ..slot };
        assert_eq!(torn.verdict_for(&newer.key), None, "the new key and seal over the old verdict");
        // Inode numbers handed out in sequence spread over the slots.
        let mut used = [false; VERDICT_SLOT_COUNT as usize];
        for ino in 0..4096u64 {
            used[VerdictSlot::index(&FileKey { ino: 1_000_000 + ino, ..key }) as usize] = true;
        }
        let distinct = used.iter().filter(|u| **u).count();
        assert!(distinct > 3_900, "{distinct} slots for 4,096 files");
    }

    #[test]
    fn an_inline_scope_answers_only_for_its_cgroup_when_whole() {
        let scope = InlineScope::new(4242, 2);
        assert_eq!(scope.value_for(4242), Some(2));
        assert_eq!(scope.value_for(4243), None);
        assert_eq!(InlineScope::default().value_for(0), None, "an empty entry is no scope");
        let newer = InlineScope::new(7, 1);
        assert_eq!(InlineScope { id: 7, ..scope }.value_for(7), None, "a new id with the old value");
        assert_eq!(InlineScope { value: 1, ..scope }.value_for(4242), None, "the old id with a new value");
        assert_eq!(InlineScope { check: newer.check, ..scope }.value_for(4242), None);
    }
}
