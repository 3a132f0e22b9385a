//! The maps shared with user space. Sizes here are defaults; the loader may resize them.
use aya_ebpf::{
    Global,
    macros::map,
    maps::{Array, HashMap, PerCpuArray, RingBuf},
};
use provgate_common::{FileKey, KernelOffsets, Settings, Verdict, counter};

/// File identity -> verdict, written only by user space.
#[map(name = "VERDICTS")]
pub static VERDICTS: HashMap<FileKey, Verdict> = HashMap::with_max_entries(1 << 18, 0);

/// cgroup id -> mode, for cgroup-scoped enforcement.
#[map(name = "SCOPES")]
pub static SCOPES: HashMap<u64, u32> = HashMap::with_max_entries(1024, 0);

#[map(name = "SETTINGS")]
pub static SETTINGS: Array<Settings> = Array::with_max_entries(1, 0);

#[map(name = "COUNTERS")]
pub static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

#[map(name = "EVENTS")]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 20, 0);

#[unsafe(no_mangle)]
pub static OFFSETS: Global<KernelOffsets> = Global::new(KernelOffsets::UNRESOLVED);

#[inline(always)]
pub fn count(index: u32) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        // SAFETY: per-CPU slot, and programs do not nest on one CPU for these hooks.
        unsafe { *slot += 1 };
    }
}

#[inline(always)]
pub fn settings() -> Option<&'static Settings> {
    SETTINGS.get(0)
}
