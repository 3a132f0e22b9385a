//! Program entry points. Each returns the previous LSM's non-zero verdict unchanged: a denial
//! by another LSM is never turned into an allow.
use aya_ebpf::{
    macros::{btf_tracepoint, lsm},
    programs::{BtfTracePointContext, LsmContext},
};
use provgate_common::{HOOK_EXEC, HOOK_EXEC_OBSERVED, HOOK_MMAP, HOOK_MPROTECT, MODE_OFF};

use crate::{
    decide::{PathSource, check_anon_exec, check_file, scope},
    inode::member_ptr,
    maps::OFFSETS,
};

const PROT_EXEC: u64 = 0x4;
const VM_EXEC: u64 = 0x4;

/// `bprm_check_security(struct linux_binprm *bprm)`: every exec, and again for each
/// interpreter of a `#!` script (the kernel re-runs the check with `bprm->file` replaced).
#[lsm(hook = "bprm_check_security")]
pub fn provgate_bprm_check(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(1);
    if ret != 0 {
        return ret;
    }
    let Some((mode, settings)) = scope() else {
        return 0;
    };
    let offsets = OFFSETS.load();
    let bprm: *const u8 = ctx.arg(0);
    let file = member_ptr(bprm, offsets.binprm_file);
    if file.is_null() {
        return 0;
    }
    let path = member_path(file, offsets.file_path);
    check_file(HOOK_EXEC, mode, settings, file, path)
}

/// `mmap_file(struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags)`:
/// shared libraries, dlopen, and `ld.so ./binary`. `file` is NULL for anonymous memory.
#[lsm(hook = "mmap_file")]
pub fn provgate_mmap_file(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(4);
    if ret != 0 {
        return ret;
    }
    let prot: u64 = ctx.arg(2);
    if prot & PROT_EXEC == 0 {
        return 0;
    }
    let Some((mode, settings)) = scope() else {
        return 0;
    };
    let file: *const u8 = ctx.arg(0);
    if file.is_null() {
        return check_anon_exec(HOOK_MMAP, mode, settings);
    }
    let path = member_path(file, OFFSETS.load().file_path);
    check_file(HOOK_MMAP, mode, settings, file, path)
}

/// `file_mprotect(struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot)`:
/// `mmap(PROT_READ)` then `mprotect(PROT_EXEC)` never passes through `mmap_file`.
#[lsm(hook = "file_mprotect")]
pub fn provgate_file_mprotect(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(3);
    if ret != 0 {
        return ret;
    }
    let prot: u64 = ctx.arg(2);
    if prot & PROT_EXEC == 0 {
        return 0;
    }
    let offsets = OFFSETS.load();
    let vma: *const u8 = ctx.arg(0);
    // SAFETY: probe read of an integer member; a failure reads as "not yet executable".
    let vm_flags: u64 = unsafe {
        aya_ebpf::helpers::bpf_probe_read_kernel(vma.add(offsets.vma_flags as usize) as *const u64)
    }
    .unwrap_or(0);
    if vm_flags & VM_EXEC != 0 {
        return 0;
    }
    let Some((mode, settings)) = scope() else {
        return 0;
    };
    let file = member_ptr(vma, offsets.vma_file);
    if file.is_null() {
        return check_anon_exec(HOOK_MPROTECT, mode, settings);
    }
    // bpf_d_path is not allowed in this hook (the kernel permits it only in hooks on its own
    // list), so the path is walked dentry by dentry.
    check_file(HOOK_MPROTECT, mode, settings, file, PathSource::Walk(file))
}

/// Observe-only fallback for kernels that refuse BPF LSM programs:
/// `sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)`.
/// It runs after the exec succeeded, so it can only report.
#[btf_tracepoint(function = "sched_process_exec")]
pub fn provgate_observe_exec(ctx: BtfTracePointContext) -> i32 {
    let Some((_mode, settings)) = scope() else {
        return 0;
    };
    let offsets = OFFSETS.load();
    let bprm: *const u8 = ctx.arg(2);
    // SAFETY: probe read of a pointer member; a failure skips the observation.
    let Ok(file) = (unsafe {
        aya_ebpf::helpers::bpf_probe_read_kernel(bprm.add(offsets.binprm_file as usize) as *const *const u8)
    }) else {
        return 0;
    };
    // The observe program never denies: MODE_OFF makes `check_file` report "observed".
    check_file(HOOK_EXEC_OBSERVED, MODE_OFF, settings, file, PathSource::Walk(file));
    0
}

#[inline(always)]
fn member_path(file: *const u8, path_offset: u32) -> PathSource {
    // SAFETY: `struct path` is embedded in `struct file`; the pointer stays BTF-typed.
    PathSource::DPath(unsafe { file.add(path_offset as usize) })
}
