//! BPF task storage (`BPF_MAP_TYPE_TASK_STORAGE`), which aya-ebpf 0.2 does not provide: a value
//! per task, freed with the task, reachable from LSM and tracing programs alike (inode storage is
//! reachable from LSM programs only).
use aya_ebpf::{
    bindings::{
        BPF_F_NO_PREALLOC, BPF_LOCAL_STORAGE_GET_F_CREATE, bpf_map_type::BPF_MAP_TYPE_TASK_STORAGE, task_struct,
    },
    helpers::generated::{bpf_get_current_task_btf, bpf_task_storage_get},
};

/// A map definition in libbpf's BTF form: each member's type, not its value, carries the
/// attribute (an array's length for the numbers). Local storage has no `max_entries` and must
/// not be preallocated.
#[repr(C)]
pub struct TaskStorage<T> {
    r#type: *const [i32; BPF_MAP_TYPE_TASK_STORAGE as usize],
    key: *const i32,
    value: *const T,
    max_entries: *const [i32; 0],
    map_flags: *const [i32; BPF_F_NO_PREALLOC as usize],
}

// SAFETY: the members are placeholders the loader reads from BTF; they are never dereferenced.
unsafe impl<T> Sync for TaskStorage<T> {}

impl<T> TaskStorage<T> {
    pub const fn new() -> Self {
        Self {
            r#type: core::ptr::null(),
            key: core::ptr::null(),
            value: core::ptr::null(),
            max_entries: core::ptr::null(),
            map_flags: core::ptr::null(),
        }
    }

    /// The current task's value, created zeroed if `create`; NULL if absent (or out of memory).
    #[inline(always)]
    pub fn current(&self, create: bool) -> *mut T {
        let flags = if create { BPF_LOCAL_STORAGE_GET_F_CREATE as u64 } else { 0 };
        // SAFETY: the helper returns the current task, BTF-typed, as the storage helper needs; the
        // map pointer is this definition, which the loader relocates.
        unsafe {
            let task = bpf_get_current_task_btf() as *mut task_struct;
            bpf_task_storage_get(core::ptr::from_ref(self).cast_mut().cast(), task, core::ptr::null_mut(), flags).cast()
        }
    }
}
