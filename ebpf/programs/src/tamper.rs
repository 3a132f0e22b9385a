//! Hardened mode: root in an enforced scope may not disable, bypass or impersonate provgate.
//! It may not reach provgate's BPF objects, signal its daemon, write its files or pins, move
//! processes to a less strict scope, load kernel code that is not vouched for, or write block
//! devices and kernel memory under the filesystems. The daemon and admin scopes are exempt.
use aya_ebpf::{macros::lsm, programs::LsmContext};
use provgate_common::{
    FileKey, HOOK_BPF, HOOK_CGROUP, HOOK_KERNEL_CODE, HOOK_SIGNAL, HOOK_UNLINK, HOOK_WRITE, MAX_CGROUP_LEVEL,
    MODE_ENFORCE, PROTECT_DIR, PROTECT_FILE, PROTECT_LINK, PROTECT_MAP, PROTECT_PROG, ProtectedKey,
    REASON_KERNEL_CODE_FROM_MEMORY, REASON_RAW_DEVICE_WRITE, REASON_SCOPE_ESCAPE, REASON_TAMPERING, SCOPE_ADMIN,
    SCOPE_MODE_MASK,
};

use crate::{
    decide::{PathSource, Scope, check_code, refuse},
    hooks::checked_scope,
    inode::{identity, member_ptr, read},
    maps::{PROTECTED, SCOPES, off},
};

const S_IFMT: u16 = 0o170000;
const S_IFBLK: u16 = 0o060000;
const S_IFCHR: u16 = 0o020000;
/// `/dev/mem`, `/dev/kmem`, `/dev/port` (major 1) in the kernel's device encoding.
const MEM_DEVICES: [u32; 3] = [(1 << 20) | 1, (1 << 20) | 2, (1 << 20) | 4];
const CGROUP2_SUPER_MAGIC: u64 = 0x6367_7270;
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
const BPF_PROG_GET_FD_BY_ID: i32 = 13;
const BPF_MAP_GET_FD_BY_ID: i32 = 14;
const BPF_LINK_UPDATE: i32 = 29;
const BPF_LINK_GET_FD_BY_ID: i32 = 30;
const BPF_LINK_DETACH: i32 = 34;

/// The caller's scope when the hardened rules apply to it: enforced, hardened, neither the
/// daemon nor an admin scope.
#[inline(always)]
fn hardened() -> Option<Scope> {
    let scope = checked_scope()?;
    (scope.mode == MODE_ENFORCE && scope.settings.hardened != 0 && scope.flags & SCOPE_ADMIN == 0).then_some(scope)
}

#[inline(always)]
fn is_protected(kind: u32, dev: u32, id: u64) -> bool {
    // SAFETY: map values are plain data.
    unsafe { PROTECTED.get(&ProtectedKey { kind, dev, id }) }.is_some()
}

#[inline(always)]
fn protected_inode(kind: u32, inode: *const u8) -> bool {
    identity(inode).is_ok_and(|id| is_protected(kind, id.key.dev, id.key.ino))
}

#[inline(always)]
fn tamper(hook: u8, scope: &Scope, reason: u8, target: u32) -> i32 {
    refuse(hook, scope, reason, &FileKey::default(), None, PathSource::None, target)
}

/// Opens for writing (from `file_open`): raw block devices and kernel memory, provgate's own
/// files, and the cgroup files that move processes.
#[inline(always)]
pub fn check_write_open(file: *const u8, inode: *const u8, magic: u64) -> i32 {
    let Some(scope) = hardened() else {
        return 0;
    };
    let mode: u16 = read(inode, off!(inode_mode)).unwrap_or(0);
    let rdev: u32 = read(inode, off!(inode_rdev)).unwrap_or(0);
    if mode & S_IFMT == S_IFBLK || (mode & S_IFMT == S_IFCHR && MEM_DEVICES.contains(&rdev)) {
        return tamper(HOOK_WRITE, &scope, REASON_RAW_DEVICE_WRITE, rdev);
    }
    let dentry = member_ptr(file, off!(file_path) + off!(path_dentry));
    // Typed loads: `identity` reads the inodes with direct loads.
    let parent = member_ptr(dentry, off!(dentry_parent));
    let parent_inode = member_ptr(parent, off!(dentry_inode));
    if protected_inode(PROTECT_FILE, inode) || protected_inode(PROTECT_DIR, parent_inode) {
        return tamper(HOOK_WRITE, &scope, REASON_TAMPERING, 0);
    }
    if magic == CGROUP2_SUPER_MAGIC && moves_processes(dentry) {
        let kernfs: *const u8 = read(parent, off!(dentry_fsdata)).unwrap_or(core::ptr::null());
        let target = cgroup_scope_value(kernfs, scope.settings.host_mode);
        let target_mode = target & SCOPE_MODE_MASK;
        let target_flags = target & !SCOPE_MODE_MASK;
        if target_mode < scope.mode || target_flags & !scope.flags != 0 {
            return tamper(HOOK_CGROUP, &scope, REASON_SCOPE_ESCAPE, 0);
        }
    }
    0
}

/// `cgroup.procs` and `cgroup.threads`: writing a pid there moves that process.
#[inline(always)]
fn moves_processes(dentry: *const u8) -> bool {
    let name = read::<*const u8>(dentry, off!(dentry_name)).and_then(|name| read::<[u8; 13]>(name, 0));
    matches!(name, Ok(n) if &n == b"cgroup.procs\0" || &n[..12] == b"cgroup.threa")
}

/// The scope value of a cgroup (a kernfs directory node): its deepest listed ancestor's.
#[inline(always)]
fn cgroup_scope_value(mut node: *const u8, host: u32) -> u32 {
    for _ in 0..=MAX_CGROUP_LEVEL {
        if node.is_null() {
            break;
        }
        let id: u64 = read(node, off!(kernfs_id)).unwrap_or(0);
        // SAFETY: map values are plain u32s.
        if let Some(value) = unsafe { SCOPES.get(&id) } {
            return *value;
        }
        node = read(node, off!(kernfs_parent)).unwrap_or(core::ptr::null());
    }
    host
}

/// `path_truncate` of provgate's own files.
#[inline(always)]
pub fn check_truncate(inode: *const u8) -> i32 {
    let Some(scope) = hardened() else {
        return 0;
    };
    if protected_inode(PROTECT_FILE, inode) {
        return tamper(HOOK_WRITE, &scope, REASON_TAMPERING, 0);
    }
    0
}

/// Removing or renaming a protected file or directory, or anything in a protected directory.
#[inline(always)]
fn check_entry(dir: *const u8, dentry: *const u8) -> i32 {
    let Some(scope) = hardened() else {
        return 0;
    };
    let inode = member_ptr(dentry, off!(dentry_inode));
    if protected_inode(PROTECT_DIR, dir) || protected_inode(PROTECT_FILE, inode) || protected_inode(PROTECT_DIR, inode)
    {
        return tamper(HOOK_UNLINK, &scope, REASON_TAMPERING, 0);
    }
    0
}

/// `inode_unlink(struct inode *dir, struct dentry *dentry)`: also the pins in bpffs, whose
/// removal would detach the programs once the daemon is gone.
#[lsm(hook = "inode_unlink")]
pub fn provgate_inode_unlink(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(2);
    if ret != 0 {
        return ret;
    }
    check_entry(ctx.arg(0), ctx.arg(1))
}

/// `inode_rename(struct inode *old_dir, struct dentry *old_dentry, struct inode *new_dir,
/// struct dentry *new_dentry)`.
#[lsm(hook = "inode_rename")]
pub fn provgate_inode_rename(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(4);
    if ret != 0 {
        return ret;
    }
    let old = check_entry(ctx.arg(0), ctx.arg(1));
    if old != 0 {
        return old;
    }
    check_entry(ctx.arg(2), ctx.arg(3))
}

/// `inode_link(struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry)`: a new
/// name for a protected file would escape the directory rules.
#[lsm(hook = "inode_link")]
pub fn provgate_inode_link(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(3);
    if ret != 0 {
        return ret;
    }
    check_entry(ctx.arg(1), ctx.arg(0))
}

/// `bpf_map(struct bpf_map *map, fmode_t fmode)`: a descriptor for one of provgate's maps, by
/// id or from its pin.
#[lsm(hook = "bpf_map")]
pub fn provgate_bpf_map(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(2);
    if ret != 0 {
        return ret;
    }
    let Some(scope) = hardened() else {
        return 0;
    };
    let map: *const u8 = ctx.arg(0);
    let id: u32 = read(map, off!(bpf_map_id)).unwrap_or(0);
    if is_protected(PROTECT_MAP, 0, u64::from(id)) {
        return tamper(HOOK_BPF, &scope, REASON_TAMPERING, id);
    }
    0
}

/// `bpf_prog(struct bpf_prog *prog)`: a descriptor for one of provgate's programs.
#[lsm(hook = "bpf_prog")]
pub fn provgate_bpf_prog(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(1);
    if ret != 0 {
        return ret;
    }
    let Some(scope) = hardened() else {
        return 0;
    };
    let prog: *const u8 = ctx.arg(0);
    let id: u32 = read::<*const u8>(prog, off!(bpf_prog_aux))
        .and_then(|aux| read::<u32>(aux, off!(bpf_prog_aux_id)))
        .unwrap_or(0);
    if is_protected(PROTECT_PROG, 0, u64::from(id)) {
        return tamper(HOOK_BPF, &scope, REASON_TAMPERING, id);
    }
    0
}

/// `bpf(int cmd, union bpf_attr *attr, unsigned int size)` (up to 6.8): provgate's objects by
/// id, and detaching or replacing any link (the kernel offers no hook that names the link of a
/// descriptor, so both are refused to hardened scopes).
#[lsm(hook = "bpf")]
pub fn provgate_bpf(ctx: LsmContext) -> i32 {
    check_bpf(&ctx, ctx.arg(3))
}

/// The same hook from 6.9, which added `bool kernel` before the previous verdict. The loader
/// picks the program matching the kernel's prototype: context offsets must be constants.
#[lsm(hook = "bpf")]
pub fn provgate_bpf_kernel_flag(ctx: LsmContext) -> i32 {
    check_bpf(&ctx, ctx.arg(4))
}

#[inline(always)]
fn check_bpf(ctx: &LsmContext, ret: i32) -> i32 {
    if ret != 0 {
        return ret;
    }
    let cmd: i32 = ctx.arg(0);
    if cmd != BPF_LINK_GET_FD_BY_ID
        && cmd != BPF_LINK_DETACH
        && cmd != BPF_LINK_UPDATE
        && cmd != BPF_MAP_GET_FD_BY_ID
        && cmd != BPF_PROG_GET_FD_BY_ID
    {
        return 0;
    }
    let Some(scope) = hardened() else {
        return 0;
    };
    let attr: *const u8 = ctx.arg(1);
    let id: u32 = read(attr, off!(bpf_attr_id)).unwrap_or(0);
    let protected = match cmd {
        BPF_LINK_GET_FD_BY_ID => is_protected(PROTECT_LINK, 0, u64::from(id)),
        BPF_MAP_GET_FD_BY_ID => is_protected(PROTECT_MAP, 0, u64::from(id)),
        BPF_PROG_GET_FD_BY_ID => is_protected(PROTECT_PROG, 0, u64::from(id)),
        _ => true,
    };
    if protected {
        return tamper(HOOK_BPF, &scope, REASON_TAMPERING, id);
    }
    0
}

/// `task_kill(struct task_struct *p, struct kernel_siginfo *info, int sig, const struct cred
/// *cred)`: signals to the daemon.
#[lsm(hook = "task_kill")]
pub fn provgate_task_kill(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(4);
    if ret != 0 {
        return ret;
    }
    let sig: i32 = ctx.arg(2);
    if sig == 0 {
        return 0;
    }
    let Some(scope) = hardened() else {
        return 0;
    };
    let task: *const u8 = ctx.arg(0);
    let leader: *const u8 = read(task, off!(task_group_leader)).unwrap_or(core::ptr::null());
    let tgid: u32 = read(leader, off!(task_tgid)).unwrap_or(0);
    let started: u64 = read::<u64>(leader, off!(task_start_boottime)).unwrap_or(0) / crate::inode::NSEC_PER_TICK;
    if tgid == scope.settings.daemon_tgid && tgid != 0 && started == scope.settings.daemon_start_ticks {
        return tamper(HOOK_SIGNAL, &scope, REASON_TAMPERING, tgid);
    }
    0
}

/// `task_alloc(struct task_struct *task, unsigned long clone_flags)`: `clone3(CLONE_INTO_CGROUP)`
/// starts a child in another cgroup without writing `cgroup.procs`. Refused where scopes are
/// cgroups (host-wide, every cgroup is in the one scope).
#[lsm(hook = "task_alloc")]
pub fn provgate_task_alloc(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(2);
    if ret != 0 {
        return ret;
    }
    let flags: u64 = ctx.arg(1);
    if flags & CLONE_INTO_CGROUP == 0 {
        return 0;
    }
    let Some(scope) = hardened() else {
        return 0;
    };
    if scope.settings.scope_levels == 0 {
        return 0;
    }
    tamper(HOOK_CGROUP, &scope, REASON_SCOPE_ESCAPE, 0)
}

/// `kernel_read_file(struct file *file, enum kernel_read_file_id id, bool contents)`: kernel
/// modules and kexec images are code, checked as any other file.
#[lsm(hook = "kernel_read_file", sleepable)]
pub fn provgate_kernel_read_file(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(3);
    if ret != 0 {
        return ret;
    }
    let id: u32 = ctx.arg(1);
    if id != off!(kernel_read_module) && id != off!(kernel_read_kexec_image) && id != off!(kernel_read_kexec_initramfs)
    {
        return 0;
    }
    let Some(scope) = hardened() else {
        return 0;
    };
    let file: *const u8 = ctx.arg(0);
    if file.is_null() {
        return 0;
    }
    check_code(
        HOOK_KERNEL_CODE,
        &scope,
        file,
        true,
        false,
        PathSource::DPath(file.wrapping_add(off!(file_path) as usize)),
    )
}

/// `kernel_load_data(enum kernel_load_data_id id, bool contents)`: `init_module` and
/// `kexec_load` take their code from memory, which nothing vouches for.
#[lsm(hook = "kernel_load_data")]
pub fn provgate_kernel_load_data(ctx: LsmContext) -> i32 {
    let ret: i32 = ctx.arg(2);
    if ret != 0 {
        return ret;
    }
    let id: u32 = ctx.arg(0);
    if id != off!(kernel_load_module) && id != off!(kernel_load_kexec_image) {
        return 0;
    }
    let Some(scope) = hardened() else {
        return 0;
    };
    tamper(HOOK_KERNEL_CODE, &scope, REASON_KERNEL_CODE_FROM_MEMORY, id)
}
