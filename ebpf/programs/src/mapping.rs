//! The moment between an executable mapping's check and the mapping. `mmap_file` runs before the
//! kernel creates the mapping, so for that moment the file is allowed and not yet mapped: a write
//! opened then finds nothing mapped, is let through (`written`), and its bytes are what the new
//! mapping runs. The check remembers, for its task, the write generation it rested on; when the
//! mapping exists (`vm_mmap_pgoff` returns), a write opened since, or a writer present now, kills
//! the process before it runs a byte of the mapping.
use aya_ebpf::{helpers::generated::bpf_send_signal, macros::fexit, programs::FExitContext};
use provgate_common::{FileKey, FileState, HOOK_MMAP, MODE_ENFORCE, PendingMapping, REASON_WRITE_DURING_MAPPING};

use crate::{
    decide::{PathSource, Scope, refuse},
    hooks::PROT_EXEC,
    injection::SIGKILL,
    inode::{content_writers, fs_magic, identity, member_ptr, read},
    maps::{PENDING_MAPPINGS, fenced_add, off, settings},
};

/// Error returns are the last 4095 values of the address space (`IS_ERR_VALUE`).
const MAX_ERRNO: u64 = 4095;

/// Marks the file mapped executable by an enforced process, so writes to it are refused while
/// it stays mapped. Returns false, and the caller refuses, if a write was opened since the check
/// read `generation`, or the mapping to come cannot be watched.
#[inline(always)]
pub fn claim(hook: u8, inode: *const u8, state: &mut FileState, generation: u64) -> bool {
    state.exec_mapped = 1;
    // `written` bumps the generation, then reads `exec_mapped`; this stores `exec_mapped`, then
    // reads the generation, through a locked (fully ordered) instruction: one of the two sees
    // the other, so either the writer is refused or this use is.
    if fenced_add(&raw mut state.write_gen, 0) != generation {
        return false;
    }
    if hook != HOOK_MMAP {
        // An exec's file is already closed to writers; mprotect's mapping already exists.
        return true;
    }
    let pending = PENDING_MAPPINGS.current(true);
    if pending.is_null() {
        return false;
    }
    // SAFETY: the current task's storage value.
    unsafe {
        *pending = PendingMapping { inode: inode as u64, write_gen: &raw const state.write_gen as u64, generation };
    }
    true
}

/// `vm_mmap_pgoff(struct file *file, addr, len, prot, flag, pgoff)` returned: every mapping made
/// by `mmap(2)`, and the kernel's of an executable and its interpreter.
#[fexit(function = "vm_mmap_pgoff")]
pub fn provgate_mapped(ctx: FExitContext) -> i32 {
    let prot: u64 = ctx.arg(3);
    if prot & PROT_EXEC == 0 {
        return 0;
    }
    let pending = PENDING_MAPPINGS.current(false);
    if pending.is_null() {
        return 0;
    }
    // SAFETY: the current task's storage value; consumed here, whichever mapping it was for.
    let PendingMapping { inode, write_gen, generation } = unsafe { *pending };
    unsafe { (*pending).inode = 0 };
    let file: *const u8 = ctx.arg(0);
    let address: u64 = ctx.arg(6);
    if inode == 0 || file.is_null() || address > u64::MAX - MAX_ERRNO {
        return 0;
    }
    let file_inode = member_ptr(file, off!(file_inode));
    if file_inode as u64 != inode {
        return 0;
    }
    // An unreadable generation counts as changed.
    let now = read::<u64>(write_gen as *const u8, 0).unwrap_or(!generation);
    if now == generation && content_writers(file_inode, fs_magic(file_inode)) <= 0 {
        return 0;
    }
    let Some(settings) = settings() else { return 0 };
    let scope = Scope { mode: MODE_ENFORCE, flags: 0, settings };
    let key = identity(file_inode).map_or(FileKey::default(), |id| id.key);
    // `bpf_d_path` is refused here: the path is walked.
    refuse(HOOK_MMAP, &scope, REASON_WRITE_DURING_MAPPING, &key, None, PathSource::Walk(file), 0);
    // SAFETY: signals the current task only.
    unsafe { bpf_send_signal(SIGKILL) };
    0
}
