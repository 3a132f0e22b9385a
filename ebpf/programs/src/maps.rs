//! The maps shared with user space. Sizes here are defaults; the loader may resize them.
use aya_ebpf::{
    Global,
    btf_maps::InodeStorage,
    macros::{btf_map, map},
    maps::{Array, HashMap, PerCpuArray, RingBuf},
};
use provgate_common::{
    FileKey, FileState, KernelOffsets, PendingMapping, ProtectedKey, Settings, VERDICT_SLOT_COUNT, Verdict,
    VerdictSlot, counter,
};

use crate::task_storage::TaskStorage;

/// Allocate hash entries as they are inserted: the allowlist may hold millions of digests on a
/// large fleet and few on a small host.
const NO_PREALLOC: u32 = 1;

/// SHA-256 digests user space allows (the store's allowlist and the daemon's own executable).
#[map(name = "ALLOWED")]
pub static ALLOWED: HashMap<[u8; 32], u32> = HashMap::with_max_entries(1 << 20, NO_PREALLOC);

/// Per-inode digest the kernel computed, valid until the file is opened for writing.
#[btf_map]
pub static FILES: InodeStorage<FileState> = InodeStorage::new();

/// Per task: the executable mapping its last allowed `mmap_file` check is about to create.
#[btf_map]
pub static PENDING_MAPPINGS: TaskStorage<PendingMapping> = TaskStorage::new();

/// Observe-only fallback: file identity -> verdict with change cookie, written by user space
/// (the observe program cannot hash).
#[map(name = "VERDICTS")]
pub static VERDICTS: HashMap<FileKey, Verdict> = HashMap::with_max_entries(1 << 18, 0);

/// Observe-only fallback: part of `VERDICTS`, read by index (see [`VerdictSlot`]).
#[map(name = "VERDICT_SLOTS")]
pub static VERDICT_SLOTS: Array<VerdictSlot> = Array::with_max_entries(VERDICT_SLOT_COUNT, 0);

/// cgroup id -> mode and `SCOPE_*` flags, for cgroup-scoped enforcement.
#[map(name = "SCOPES")]
pub static SCOPES: HashMap<u64, u32> = HashMap::with_max_entries(1024, 0);

/// Filesystem magic numbers whose content the kernel cannot vouch for (FUSE, network
/// filesystems): code on them is refused in enforced scopes.
#[map(name = "UNTRUSTED_FS")]
pub static UNTRUSTED_FS: HashMap<u64, u32> = HashMap::with_max_entries(64, 0);

/// Devices (kernel encoding) of mounts the configuration trusts despite their filesystem type.
#[map(name = "TRUSTED_DEVS")]
pub static TRUSTED_DEVS: HashMap<u32, u32> = HashMap::with_max_entries(256, 0);

/// provgate's own BPF objects and files, out of reach in hardened mode.
#[map(name = "PROTECTED")]
pub static PROTECTED: HashMap<ProtectedKey, u32> = HashMap::with_max_entries(256, 0);

#[map(name = "SETTINGS")]
pub static SETTINGS: Array<Settings> = Array::with_max_entries(1, 0);

#[map(name = "COUNTERS")]
pub static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

#[map(name = "EVENTS")]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 20, 0);

#[unsafe(no_mangle)]
pub static OFFSETS: Global<KernelOffsets> = Global::new(KernelOffsets::UNRESOLVED);

/// One member of `OFFSETS`, read on its own: a volatile read of the one field keeps the
/// compiler from folding the placeholder, and the whole struct never lands on the 512-byte stack.
macro_rules! off {
    ($field:ident) => {{
        let base = core::ptr::addr_of!($crate::maps::OFFSETS).cast::<provgate_common::KernelOffsets>();
        // SAFETY: `Global` holds the value as its only field; the loader always overrides it.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*base).$field)) }
    }};
}
pub(crate) use off;

#[inline(always)]
pub fn count(index: u32) {
    add(index, 1);
}

#[inline(always)]
pub fn add(index: u32, value: u64) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        // Sleepable programs may be preempted mid-update, so the add is atomic.
        atomic_add(slot, value);
    }
}

/// `lock *(u64 *)ptr += value`: the BPF target has no atomic types in `core`.
#[inline(always)]
pub fn atomic_add(ptr: *mut u64, value: u64) {
    // SAFETY: callers pass pointers into live map values.
    unsafe {
        core::intrinsics::atomic_xadd::<u64, u64, { core::intrinsics::AtomicOrdering::Relaxed }>(ptr, value);
    }
}

/// `lock *(u64 *)ptr += value`, fully ordered, returning the value before: a locked
/// instruction that orders the stores before it against the loads after it.
#[inline(always)]
pub fn fenced_add(ptr: *mut u64, value: u64) -> u64 {
    // SAFETY: callers pass pointers into live map values.
    unsafe { core::intrinsics::atomic_xadd::<u64, u64, { core::intrinsics::AtomicOrdering::SeqCst }>(ptr, value) }
}

#[inline(always)]
pub fn settings() -> Option<&'static Settings> {
    SETTINGS.get(0)
}
