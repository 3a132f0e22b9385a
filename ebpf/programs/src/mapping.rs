//! What an executable mapping's check cannot see, watched until the mapping exists.
//!
//! The moment between the check and the mapping: `mmap_file` runs before the kernel creates the
//! mapping, so for that moment the file is allowed and not yet mapped: a write opened then finds
//! nothing mapped, is let through (`written`), and its bytes are what the new mapping runs. The
//! check remembers, for its task, the write generation it rested on; when the mapping exists
//! (`vm_mmap_pgoff` returns), a write opened since, or a writer present now, kills the process
//! before it runs a byte of the mapping.
//!
//! The file the mapping gets: an overlay's file is checked, but overlayfs puts its layer's file
//! in the mapping instead (`vma_set_file`), so the bytes run are the layer's. A layer on a
//! filesystem the kernel cannot vouch for (FUSE: its server may answer later reads with other
//! bytes than the ones hashed, and nothing writes the file) is refused as the overlay's own
//! filesystem would be; in an enforced scope the process is killed the same way.
use aya_ebpf::{
    helpers::generated::bpf_send_signal,
    macros::{fentry, fexit},
    programs::{FEntryContext, FExitContext},
};
use provgate_common::{
    FileKey, FileState, HOOK_MMAP, PendingMapping, REASON_UNTRUSTED_FS, REASON_WRITE_DURING_MAPPING,
};

use crate::{
    decide::{EPERM, PathSource, refuse, refuse_for_mapping, untrusted_filesystem},
    hooks::{PROT_EXEC, VM_EXEC, checked_scope},
    injection::SIGKILL,
    inode::{content_writers, fs_magic, identity, member, member_ptr, read, superblock},
    maps::{PENDING_MAPPINGS, fenced_add, off},
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
        *pending = PendingMapping {
            inode: inode as u64,
            write_gen: &raw const state.write_gen as u64,
            generation,
            untrusted_layer: 0,
        };
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
    let PendingMapping { inode, write_gen, generation, untrusted_layer } = unsafe { *pending };
    unsafe {
        (*pending).inode = 0;
        (*pending).untrusted_layer = 0;
    }
    let file: *const u8 = ctx.arg(0);
    let address: u64 = ctx.arg(6);
    if file.is_null() || address > u64::MAX - MAX_ERRNO {
        return 0;
    }
    let file_inode = member_ptr(file, off!(file_inode));
    if untrusted_layer != 0 {
        // Judged against the file the process mapped, in its own scope.
        if let Some(scope) = checked_scope() {
            let key = identity(file_inode).map_or(FileKey::default(), |id| id.key);
            // `bpf_d_path` is refused here: the path is walked.
            refuse(HOOK_MMAP, &scope, REASON_UNTRUSTED_FS, &key, None, PathSource::Walk(file), 0);
            if scope.enforcing() {
                kill_current();
            }
        }
        return 0;
    }
    if inode == 0 || file_inode as u64 != inode {
        return 0;
    }
    // An unreadable generation counts as changed.
    let now = read::<u64>(write_gen as *const u8, 0).unwrap_or(!generation);
    if now == generation && content_writers(file_inode, fs_magic(file_inode)) <= 0 {
        return 0;
    }
    refuse_for_mapping(HOOK_MMAP, REASON_WRITE_DURING_MAPPING, file_inode, PathSource::Walk(file), -EPERM);
    kill_current();
    0
}

/// `vma_set_file(struct vm_area_struct *vma, struct file *file)`: a stacked filesystem
/// (overlayfs, in `ovl_mmap` or `backing_file_mmap`) puts `file`, its layer's, in place of its
/// own in the mapping being made; nested overlays do so once per level. A layer on an untrusted
/// filesystem is noted for the mapping's end (`provgate_mapped`), where the file the process
/// mapped is at hand: here, under nested overlays, the mapping holds the level above's layer
/// file, named by a mount private to overlayfs.
#[fentry(function = "vma_set_file")]
pub fn provgate_layer_mapped(ctx: FEntryContext) -> i32 {
    let vma: *const u8 = ctx.arg(0);
    let layer_file: *const u8 = ctx.arg(1);
    if member::<u64>(vma, off!(vma_flags)) & VM_EXEC == 0 {
        return 0;
    }
    // An unreadable layer counts as untrusted. Trusted layers (every container's) end here.
    let trusted = superblock(member_ptr(layer_file, off!(file_inode)))
        .is_ok_and(|sb| !untrusted_filesystem(member(sb, off!(sb_magic)), member(sb, off!(sb_dev))));
    if trusted {
        return 0;
    }
    let pending = PENDING_MAPPINGS.current(true);
    if pending.is_null() {
        // Nothing to note it in: an enforced process does not get to run the mapping.
        if checked_scope().is_some_and(|scope| scope.enforcing()) {
            kill_current();
        }
        return 0;
    }
    // SAFETY: the current task's storage value.
    unsafe { (*pending).untrusted_layer = 1 };
    0
}

/// The mapping being made must not run: the process is killed before the call returns to it.
#[inline(always)]
fn kill_current() {
    // SAFETY: signals the current task only.
    unsafe { bpf_send_signal(SIGKILL) };
}
