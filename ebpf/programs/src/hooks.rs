//! Program entry points for code: exec, executable mappings, and the writes that would change
//! code under a verdict. Each returns the previous program's non-zero verdict unchanged: a
//! denial is never turned into an allow.
use aya_ebpf::helpers::generated::{bpf_find_vma, bpf_get_current_task_btf};
use aya_ebpf::{
    EbpfContext as _,
    macros::{btf_tracepoint, lsm},
    programs::{BtfTracePointContext, LsmContext},
};
use provgate_common::{
    FileKey, HOOK_EXEC, HOOK_EXEC_OBSERVED, HOOK_MMAP, HOOK_MPROTECT, HOOK_WRITE, MODE_OFF, REASON_EXEC_STACK,
    REASON_MODIFIED_MAPPING, REASON_READ_IMPLIES_EXEC, REASON_WRITABLE_EXEC, REASON_WRITE_TO_CODE_IN_USE,
};

use crate::{
    decide::{
        Caller, PathSource, Scope, check_anon_exec, check_code, check_observed, invalidate, is_daemon,
        outside_by_level, refuse, refuse_for_mapping, report_by_name, scope, slot_verdict,
    },
    injection::{check_memory_write, writes_process_memory},
    inode::{Identity, content_mapped, current_task, fs_magic, member_ptr, raw_word, read},
    maps::{FILES, off, settings},
    tamper::{check_truncate, check_write_open},
};

const PROT_WRITE: u64 = 0x2;
pub const PROT_EXEC: u64 = 0x4;
const MAP_TYPE: u64 = 0xf;
const MAP_PRIVATE: u64 = 0x2;
pub const VM_EXEC: u64 = 0x4;
const VM_SHARED: u64 = 0x8;
const FMODE_WRITE: u32 = 0x2;
const ETXTBSY: i32 = 26;

/// The current task's scope, unless it is out of scope or the daemon.
#[inline(always)]
pub fn checked_scope() -> Option<Scope> {
    checked_scope_of(Caller::Current)
}

#[inline(always)]
fn checked_scope_of(caller: Caller) -> Option<Scope> {
    let scope = scope(caller)?;
    if is_daemon(scope.settings, caller) {
        crate::maps::count(provgate_common::counter::DAEMON_EXEMPT);
        return None;
    }
    Some(scope)
}

/// `bprm_check_security(struct linux_binprm *bprm)`: every exec, and again for each
/// interpreter of a `#!` script (the kernel re-runs the check with `bprm->file` replaced).
#[lsm(hook = "bprm_check_security", sleepable)]
pub fn provgate_bprm_check(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(1);
    if ret != 0 {
        return ret;
    }
    let Some(scope) = checked_scope() else {
        return 0;
    };
    let bprm: *const u8 = ctx.arg(0);
    let file = member_ptr(bprm, off!(binprm_file));
    if file.is_null() {
        return 0;
    }
    check_code(HOOK_EXEC, &scope, file, true, true, member_path(file))
}

/// `mmap_file(struct file *file, unsigned long reqprot, unsigned long prot, unsigned long flags)`:
/// shared libraries, dlopen, `ld.so ./binary`, and the kernel's own mapping of an executable.
/// `file` is NULL for anonymous memory.
#[lsm(hook = "mmap_file", sleepable)]
pub fn provgate_mmap_file(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(4);
    if ret != 0 {
        return ret;
    }
    let prot: u64 = ctx.arg(2);
    if prot & PROT_EXEC == 0 {
        return 0;
    }
    let Some(scope) = checked_scope() else {
        return 0;
    };
    // 6.12's verifier takes the argument for never NULL and would drop a plain NULL check, so
    // anonymous memory is recognised from the argument read as a number.
    if raw_word(ctx.as_ptr().cast(), 0) == 0 {
        return check_anon_exec(HOOK_MMAP, &scope);
    }
    let file: *const u8 = ctx.arg(0);
    if file.is_null() {
        // Newer kernels mark the argument nullable: the verifier needs this check.
        return 0;
    }
    if scope.settings.deny_anon_exec != 0 {
        // Pages of a private mapping that is also writable become anonymous memory once
        // written: executable anonymous memory under another name (W^X).
        let flags: u64 = ctx.arg(3);
        if prot & PROT_WRITE != 0 && flags & MAP_TYPE == MAP_PRIVATE {
            return refuse(HOOK_MMAP, &scope, REASON_WRITABLE_EXEC, &FileKey::default(), None, member_path(file), 0);
        }
        if let Some(reason) = anon_exec_by_design() {
            return refuse(HOOK_MMAP, &scope, reason, &FileKey::default(), None, member_path(file), 0);
        }
    }
    check_code(HOOK_MMAP, &scope, file, true, true, member_path(file))
}

/// `READ_IMPLIES_EXEC` makes every readable mapping (and the heap) executable; an executable
/// stack is writable and executable. Both are anonymous executable memory by design. The kernel
/// maps an executable's segments after setting both up, so the first executable mapping of a
/// new program sees them.
#[inline(always)]
fn anon_exec_by_design() -> Option<u8> {
    const READ_IMPLIES_EXEC: u32 = 0x0040_0000;
    let task = current_task();
    let personality: u32 = read(task, off!(task_personality)).unwrap_or(0);
    if personality & READ_IMPLIES_EXEC != 0 {
        return Some(REASON_READ_IMPLIES_EXEC);
    }
    let start_stack: u64 =
        read::<*const u8>(task, off!(task_mm)).and_then(|mm| read::<u64>(mm, off!(mm_start_stack))).unwrap_or(0);
    let mut stack_flags: u64 = 0;
    // SAFETY: the task is the current one (BTF-typed); the callback only reads the VMA.
    unsafe {
        bpf_find_vma(
            bpf_get_current_task_btf(),
            start_stack,
            stack_vma_flags as *mut core::ffi::c_void,
            (&raw mut stack_flags).cast(),
            0,
        );
    }
    (stack_flags & VM_EXEC != 0).then_some(REASON_EXEC_STACK)
}

/// `bpf_find_vma` callback: the flags of the VMA holding the stack.
extern "C" fn stack_vma_flags(
    _task: *mut core::ffi::c_void,
    vma: *mut core::ffi::c_void,
    flags: *mut core::ffi::c_void,
) -> i64 {
    let vm_flags = read::<u64>(vma as *const u8, off!(vma_flags)).unwrap_or(0);
    // SAFETY: `flags` is the caller's u64 on its stack.
    unsafe { *(flags as *mut u64) = vm_flags };
    0
}

/// `file_mprotect(struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot)`:
/// `mmap(PROT_READ)` then `mprotect(PROT_EXEC)` never passes through `mmap_file`. This hook
/// may not sleep, so it decides from the digest the kernel already holds for the file.
#[lsm(hook = "file_mprotect")]
pub fn provgate_file_mprotect(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(3);
    if ret != 0 {
        return ret;
    }
    let prot: u64 = ctx.arg(2);
    let vma: *const u8 = ctx.arg(0);
    // A failed read counts as "not yet executable".
    let vm_flags: u64 = read(vma, off!(vma_flags)).unwrap_or(0);
    let adds_exec = prot & PROT_EXEC != 0 && vm_flags & VM_EXEC == 0;
    // Making executable memory writable (JIT-style patching) matters only with anonymous
    // executable memory denied.
    let adds_write_to_exec = prot & PROT_WRITE != 0 && (prot & PROT_EXEC != 0 || vm_flags & VM_EXEC != 0);
    if !adds_exec && !adds_write_to_exec {
        return 0;
    }
    let Some(scope) = checked_scope() else {
        return 0;
    };
    let file = member_ptr(vma, off!(vma_file));
    // bpf_d_path is not allowed in this hook (the kernel permits it only in hooks on its own
    // list), so the path is walked dentry by dentry.
    let path = PathSource::Walk(file);
    // W^X on private file mappings, whose written pages are anonymous memory, and on executable
    // memory without a file: the vDSO, which the kernel maps executable and lets a process make
    // writable (for debuggers' breakpoints). One refusal for both: on 6.1 this program is near
    // the verifier's limit, and each refusal adds a report.
    if scope.settings.deny_anon_exec != 0 && (file.is_null() || vm_flags & VM_SHARED == 0) {
        if adds_write_to_exec {
            return refuse(HOOK_MPROTECT, &scope, REASON_WRITABLE_EXEC, &FileKey::default(), None, path, 0);
        }
        let anon_vma: u64 = if file.is_null() { 0 } else { read(vma, off!(vma_anon_vma)).unwrap_or(1) };
        if anon_vma != 0 {
            return refuse(HOOK_MPROTECT, &scope, REASON_MODIFIED_MAPPING, &FileKey::default(), None, path, 0);
        }
    }
    if !adds_exec {
        return 0;
    }
    if file.is_null() {
        return check_anon_exec(HOOK_MPROTECT, &scope);
    }
    check_code(HOOK_MPROTECT, &scope, file, false, true, path)
}

/// `file_open(struct file *file)`: opening a file for writing makes the digest the kernel holds
/// for it stale, and is refused while an enforced process maps the file executable (as
/// `ETXTBSY` refuses writes to a running executable).
#[lsm(hook = "file_open")]
pub fn provgate_file_open(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(1);
    if ret != 0 {
        return ret;
    }
    let file: *const u8 = ctx.arg(0);
    let mode: u32 = read(file, off!(file_mode)).unwrap_or(0);
    if mode & FMODE_WRITE == 0 {
        return 0;
    }
    let inode = member_ptr(file, off!(file_inode));
    let magic = fs_magic(inode);
    let path = member_path(file);
    if writes_process_memory(magic, file) {
        let refused = check_memory_write(HOOK_WRITE, path);
        if refused != 0 {
            return refused;
        }
    }
    let refused = check_write_open(file, inode, magic);
    if refused != 0 {
        return refused;
    }
    written(HOOK_WRITE, inode, path)
}

/// `path_truncate(const struct path *path)`: `truncate(2)` changes a file without opening it.
#[lsm(hook = "path_truncate")]
pub fn provgate_path_truncate(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(1);
    if ret != 0 {
        return ret;
    }
    let path: *const u8 = ctx.arg(0);
    let dentry = member_ptr(path, off!(path_dentry));
    let inode = member_ptr(dentry, off!(dentry_inode));
    if inode.is_null() {
        return 0;
    }
    let refused = check_truncate(inode);
    if refused != 0 {
        return refused;
    }
    written(HOOK_WRITE, inode, PathSource::None)
}

/// A write is about to start: the file's digest is forgotten, and the write refused if enforced
/// code maps the file.
#[inline(always)]
fn written(hook: u8, inode: *const u8, path: PathSource) -> i32 {
    // SAFETY: `inode` is a BTF-typed inode pointer; no storage is created for files never used
    // as code.
    let state = unsafe { FILES.get_ptr_mut(inode as *mut aya_ebpf::bindings::inode) };
    if state.is_null() {
        return 0;
    }
    // The generation first, then `exec_mapped`: see `mapping::claim`. A refused write makes the
    // digest stale too, which costs a hash at the next use, never a wrong verdict.
    invalidate(state);
    // SAFETY: a live inode storage value.
    if unsafe { (*state).exec_mapped } != 0 {
        if content_mapped(inode) {
            let Some(settings) = settings() else { return 0 };
            if is_daemon(settings, Caller::Current) {
                return 0;
            }
            // The mapping was made in an enforced scope; the writer may be anywhere.
            return refuse_for_mapping(hook, REASON_WRITE_TO_CODE_IN_USE, inode, path, -ETXTBSY);
        }
        // SAFETY: as above.
        unsafe { (*state).exec_mapped = 0 };
    }
    0
}

/// Observe-only fallback for kernels that refuse BPF LSM programs:
/// `sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)`.
/// It runs after the exec succeeded, so it can only report.
#[btf_tracepoint(function = "sched_process_exec")]
pub fn provgate_observe_exec(ctx: BtfTracePointContext) -> i32 {
    let bprm: *const u8 = ctx.arg(2);
    let file = member_ptr(bprm, off!(binprm_file));
    if file.is_null() {
        return 0;
    }
    // The tracepoint's task is the current one, and tracepoint programs run under the RCU
    // read lock.
    let task: *const u8 = ctx.arg(0);
    let Some(settings) = settings() else { return 0 };
    if outside_by_level(settings, task) {
        return 0;
    }
    // Read before the rest of the scope decision, whose loads depend on one another: the file's
    // identity and its verdict slot then come from memory while the cgroup's kernfs nodes do,
    // not after them.
    let identity = crate::inode::identity(member_ptr(file, off!(file_inode))).unwrap_or(Identity::UNREADABLE);
    let slot = slot_verdict(&identity);
    let Some(scope) = checked_scope_of(Caller::Task(task)) else {
        return 0;
    };
    // The observe program never denies: MODE_OFF makes the refusal report "observed".
    let scope = Scope { mode: MODE_OFF, ..scope };
    // By now `file` is the interpreter's: the script's file was released when the interpreter
    // took over, and only its name is left. The names stay one pointer until that happens.
    let name = member_ptr(bprm, off!(binprm_filename));
    let interp = member_ptr(bprm, off!(binprm_interp));
    if !name.is_null() && name != interp {
        report_by_name(HOOK_EXEC_OBSERVED, &scope, name);
    }
    check_observed(HOOK_EXEC_OBSERVED, &scope, &identity, slot, PathSource::Walk(file));
    0
}

#[inline(always)]
fn member_path(file: *const u8) -> PathSource {
    // `struct path` is embedded in `struct file`; the pointer stays BTF-typed.
    PathSource::DPath(file.wrapping_add(off!(file_path) as usize))
}
