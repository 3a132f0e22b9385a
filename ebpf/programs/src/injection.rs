//! Code that reaches a process without an exec or a mapping: another process writing it
//! (`ptrace`, `/proc/PID/mem`), and the ways a process can get pages it wrote executed when
//! anonymous executable memory is denied (`READ_IMPLIES_EXEC` at run time, userfaultfd).
use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, generated::bpf_send_signal},
    macros::{fentry, lsm},
    programs::{FEntryContext, LsmContext},
};
use provgate_common::{
    FileKey, HOOK_ANON_EQUIVALENT, HOOK_PTRACE, REASON_CODE_INJECTION, REASON_READ_IMPLIES_EXEC, REASON_USERFAULTFD,
    SCOPE_DEBUGGER,
};

use crate::{
    decide::{PathSource, Scope, refuse},
    hooks::checked_scope,
    inode::read,
    maps::off,
};

const PTRACE_MODE_ATTACH: u32 = 0x02;
const READ_IMPLIES_EXEC: u64 = 0x0040_0000;
pub const SIGKILL: u32 = 9;

/// The caller's scope when it is enforced and not a debugger scope: it may not write the memory
/// of other processes, nor let a parent write its own.
#[inline(always)]
fn contained() -> Option<Scope> {
    let scope = checked_scope()?;
    (scope.flags & SCOPE_DEBUGGER == 0).then_some(scope)
}

#[inline(always)]
fn tgid_of(task: *const u8) -> u32 {
    read::<*const u8>(task, off!(task_group_leader))
        .ok()
        .and_then(|leader| read::<u32>(leader, off!(task_tgid)).ok())
        .unwrap_or(0)
}

/// `ptrace_access_check(struct task_struct *child, unsigned int mode)`: attaching, and opening
/// another process's `/proc/PID/mem` (which the kernel checks as an attach).
#[lsm(hook = "ptrace_access_check")]
pub fn provgate_ptrace_access_check(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(2);
    if ret != 0 {
        return ret;
    }
    let mode: u32 = ctx.arg(1);
    if mode & PTRACE_MODE_ATTACH == 0 {
        return 0;
    }
    let Some(scope) = contained() else {
        return 0;
    };
    let child: *const u8 = ctx.arg(0);
    refuse(HOOK_PTRACE, &scope, REASON_CODE_INJECTION, &FileKey::default(), None, PathSource::None, tgid_of(child))
}

/// `ptrace_traceme(struct task_struct *parent)`: a process in scope asking its parent to trace
/// (and so write) it.
#[lsm(hook = "ptrace_traceme")]
pub fn provgate_ptrace_traceme(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(1);
    if ret != 0 {
        return ret;
    }
    let Some(scope) = contained() else {
        return 0;
    };
    let parent: *const u8 = ctx.arg(0);
    refuse(HOOK_PTRACE, &scope, REASON_CODE_INJECTION, &FileKey::default(), None, PathSource::None, tgid_of(parent))
}

/// Whether an open for writing in `file_open` is of a `/proc/PID/mem` file (a process's own
/// included: the kernel writes it even over read-only code pages).
#[inline(always)]
pub fn writes_process_memory(inode_magic: u64, file: *const u8) -> bool {
    const PROC_SUPER_MAGIC: u64 = 0x9fa0;
    if inode_magic != PROC_SUPER_MAGIC {
        return false;
    }
    let name = read::<*const u8>(file, off!(file_path) + off!(path_dentry))
        .and_then(|dentry| read::<*const u8>(dentry, off!(dentry_name)))
        .and_then(|name| read::<[u8; 4]>(name, 0));
    name == Ok(*b"mem\0")
}

/// Refuses the open of `/proc/PID/mem` for writing by a process in an enforced scope.
#[inline(always)]
pub fn check_memory_write(hook: u8, path: PathSource) -> i32 {
    let Some(scope) = contained() else {
        return 0;
    };
    refuse(hook, &scope, REASON_CODE_INJECTION, &FileKey::default(), None, path, 0)
}

/// `inode_init_security_anon(struct inode *inode, const struct qstr *name, const struct inode
/// *context)`: userfaultfd lets a process supply the bytes of pages as they fault in, including
/// those of an executable private mapping. With anonymous executable memory denied, it is
/// refused in enforced scopes.
#[lsm(hook = "inode_init_security_anon")]
pub fn provgate_inode_init_security_anon(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(3);
    if ret != 0 {
        return ret;
    }
    let Some(scope) = checked_scope() else {
        return 0;
    };
    if scope.settings.deny_anon_exec == 0 {
        return 0;
    }
    let qstr: *const u8 = ctx.arg(1);
    let name = read::<*const u8>(qstr, off!(qstr_name)).and_then(|name| read::<[u8; 14]>(name, 0));
    if name != Ok(*b"[userfaultfd]\0") {
        return 0;
    }
    refuse(HOOK_ANON_EQUIVALENT, &scope, REASON_USERFAULTFD, &FileKey::default(), None, PathSource::None, 0)
}

/// `personality(READ_IMPLIES_EXEC)` at run time makes the heap the process grows next
/// executable, without any mapping for the LSM hooks to see. With anonymous executable memory
/// denied, a process in an enforced scope asking for it is killed before the call returns.
#[fentry(function = "__x64_sys_personality")]
pub fn provgate_personality(ctx: FEntryContext) -> i32 {
    let regs: *const u8 = ctx.arg(0);
    personality_requested(read::<u64>(regs, off!(pt_regs_di)).unwrap_or(0));
    0
}

/// The same for 32-bit processes (`ebx` holds the argument).
#[fentry(function = "__ia32_sys_personality")]
pub fn provgate_personality_ia32(ctx: FEntryContext) -> i32 {
    let regs: *const u8 = ctx.arg(0);
    personality_requested(read::<u64>(regs, off!(pt_regs_bx)).unwrap_or(0));
    0
}

#[inline(always)]
fn personality_requested(persona: u64) {
    // 0xffffffff only queries the current personality.
    if persona == 0xffff_ffff || persona & READ_IMPLIES_EXEC == 0 {
        return;
    }
    let Some(scope) = checked_scope() else {
        return;
    };
    if scope.settings.deny_anon_exec == 0 {
        return;
    }
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if refuse(HOOK_ANON_EQUIVALENT, &scope, REASON_READ_IMPLIES_EXEC, &FileKey::default(), None, PathSource::None, tgid)
        != 0
    {
        // SAFETY: signals the current task only.
        unsafe { bpf_send_signal(SIGKILL) };
    }
}
