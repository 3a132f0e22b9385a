//! Reading kernel objects with offsets resolved from BTF at load time: a file's identity and
//! change cookie, its inode's writers and mappings, memfd seals, the current task.
use aya_ebpf::helpers::{bpf_get_current_task, bpf_probe_read_kernel};
use provgate_common::{FileKey, PATH_COMPONENTS, PATH_COMPONENTS_TRUNCATED, PATH_LEN, PATH_SLOT, PATH_SLOTS};

use crate::maps::off;

/// Clears I_CTIME_QUERIED; nanoseconds never reach bit 30.
const CTIME_NSEC_MASK: u32 = 0x7fff_ffff;
/// `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE`: a memfd sealed so its bytes can never change.
const SEALS_IMMUTABLE: u32 = 0x2 | 0x4 | 0x8;
pub const TMPFS_MAGIC: u64 = 0x0102_1994;
pub const OVERLAYFS_MAGIC: u64 = 0x794c_7630;
/// Kernel clock ticks per second as `/proc/PID/stat` counts them (USER_HZ).
pub const NSEC_PER_TICK: u64 = 10_000_000;

/// Every byte is a field, so a copy kept on the stack is whole on every path (6.1's verifier
/// refuses a program that may read stack bytes a path left unwritten).
pub struct Identity {
    pub key: FileKey,
    pub ctime_sec: i64,
    pub ctime_nsec: u32,
    _pad: u32,
    pub size: i64,
}

impl Identity {
    /// No identity: the inode or its superblock could not be read. No file has inode number 0.
    pub const UNREADABLE: Identity =
        Identity { key: FileKey { ino: 0, dev: 0, _pad: 0 }, ctime_sec: 0, ctime_nsec: 0, _pad: 0, size: 0 };

    pub fn is_readable(&self) -> bool {
        self.key.ino != 0
    }
}

/// Loads a pointer-sized member directly (not through a probe read) so the verifier keeps
/// the result typed as a kernel object; `bpf_d_path`, the IMA hash and inode storage only
/// accept such pointers. `offset` comes from frozen read-only data, which the verifier treats
/// as a known constant.
#[inline(always)]
pub fn member_ptr(base: *const u8, offset: u32) -> *const u8 {
    // SAFETY: base is a BTF-typed kernel pointer and offset a member offset from that type's
    // BTF; the verifier checks the access and faults are handled by its exception table.
    unsafe { core::ptr::read_volatile(base.add(offset as usize) as *const *const u8) }
}

/// Loads a scalar member directly from a BTF-typed object. The verifier turns the load into a
/// fault-tolerant one (a fault reads zero), so it costs a load where a probe read costs a helper
/// call; on the exec path these loads are most of the programs' own work.
#[inline(always)]
pub fn member<T: Copy>(base: *const u8, offset: u32) -> T {
    // SAFETY: as for `member_ptr`.
    unsafe { core::ptr::read_volatile(base.add(offset as usize) as *const T) }
}

/// Reads through a plain kernel address, which the verifier does not know the type of.
#[inline(always)]
pub fn read<T>(base: *const u8, offset: u32) -> Result<T, i32> {
    // SAFETY: a probe read never faults; it reports an error instead.
    unsafe { bpf_probe_read_kernel(base.add(offset as usize) as *const T) }
}

/// A pointer read as a plain number: the verifier cannot assume it is non-NULL (6.12 treats an
/// LSM hook's pointer arguments as never NULL and would drop the check otherwise).
#[inline(always)]
pub fn raw_word(base: *const u8, offset: u32) -> u64 {
    read::<u64>(base, offset).unwrap_or(0)
}

/// The identity and change cookie of a BTF-typed inode; an error for no inode (a negative
/// dentry's) or one without a superblock.
#[inline(always)]
pub fn identity(inode: *const u8) -> Result<Identity, i32> {
    let sb = superblock(inode)?;
    let dev: u32 = member(sb, off!(sb_dev));
    let ino: u64 = member(inode, off!(inode_ino));
    Ok(Identity { key: FileKey { ino, dev, _pad: 0 }, ..cookie(inode)? })
}

/// Change cookie only (the key left empty) of a BTF-typed inode.
#[inline(always)]
pub fn cookie(inode: *const u8) -> Result<Identity, i32> {
    if inode.is_null() {
        return Err(-1);
    }
    let size: i64 = member(inode, off!(inode_size));
    let ctime_sec: i64 = member(inode, off!(inode_ctime_sec));
    // Little-endian: the low 32 bits of a `long tv_nsec` are its first four bytes, and
    // nanoseconds always fit in them. Since 6.13 (multigrain timestamps) bit 31 of
    // `i_ctime_nsec` flags "ctime was queried"; stat() masks it, so must we.
    let ctime_nsec: u32 = member::<u32>(inode, off!(inode_ctime_nsec)) & CTIME_NSEC_MASK;
    Ok(Identity { key: FileKey::default(), ctime_sec, ctime_nsec, _pad: 0, size })
}

/// The superblock of a BTF-typed inode; an error for no inode or no superblock.
#[inline(always)]
pub fn superblock(inode: *const u8) -> Result<*const u8, i32> {
    if inode.is_null() {
        return Err(-1);
    }
    let sb = member_ptr(inode, off!(inode_sb));
    if sb.is_null() { Err(-1) } else { Ok(sb) }
}

/// The superblock's magic number (filesystem type) of a BTF-typed inode.
#[inline(always)]
pub fn fs_magic(inode: *const u8) -> u64 {
    superblock(inode).map_or(0, |sb| member::<u64>(sb, off!(sb_magic)))
}

/// Processes holding a BTF-typed inode's file open for writing (including shared writable
/// mappings).
#[inline(always)]
fn writers(inode: *const u8) -> i32 {
    // No inode counts as a writer: the caller then refuses.
    if inode.is_null() {
        return 1;
    }
    member::<i32>(inode, off!(inode_writecount))
}

/// Whether any process maps the file now.
#[inline(always)]
fn mapped(inode: *const u8) -> bool {
    read::<*const u8>(inode, off!(inode_mapping))
        .and_then(|mapping| read::<u64>(mapping, off!(mapping_mmap_root)))
        .map_or(true, |node| node != 0)
}

/// The upper-layer inode behind an overlay's inode, or NULL: not an overlay's inode, or a file
/// only in lower layers (a write copies it up to a new upper inode first). Overlayfs puts the
/// layer's file in place of its own in every mapping and passes writes through, so the upper
/// inode's writers and mappings are the file's.
#[inline(always)]
fn overlay_upper(inode: *const u8, magic: u64) -> *const u8 {
    if magic != OVERLAYFS_MAGIC {
        return core::ptr::null();
    }
    // `__upperdentry` lies past the embedded inode, beyond what the verifier types as an inode:
    // probe reads.
    let at = inode.wrapping_add(off!(ovl_upper_dentry) as usize);
    read::<*const u8>(at, 0)
        .ok()
        .filter(|dentry| !dentry.is_null())
        .and_then(|dentry| read::<*const u8>(dentry, off!(dentry_inode)).ok())
        .unwrap_or(core::ptr::null())
}

/// Processes holding the file's bytes open for writing (including shared writable mappings):
/// through this inode or, for an overlay's file, through its upper-layer inode, which a shared
/// writable mapping keeps open after the overlay's own file is closed.
#[inline(always)]
pub fn content_writers(inode: *const u8, magic: u64) -> i32 {
    let own = writers(inode);
    let upper = overlay_upper(inode, magic);
    if upper.is_null() {
        return own;
    }
    // An unreadable count counts as a writer: the caller then refuses.
    own.max(read::<i32>(upper, off!(inode_writecount)).unwrap_or(1))
}

/// Whether any process maps the file's bytes now: through this inode or, for an overlay's
/// file, through its upper-layer inode (where overlayfs puts every mapping of it).
#[inline(always)]
pub fn content_mapped(inode: *const u8) -> bool {
    if mapped(inode) {
        return true;
    }
    let upper = overlay_upper(inode, fs_magic(inode));
    !upper.is_null() && mapped(upper)
}

/// A tmpfs file (memfds are) sealed so that its bytes can never change again.
#[inline(always)]
pub fn sealed(inode: *const u8, magic: u64) -> bool {
    if magic != TMPFS_MAGIC {
        return false;
    }
    // `seals` sits before the embedded `vfs_inode`; the offset is the distance back to it.
    // SAFETY: a probe read never faults.
    let back = off!(shmem_seals) as usize;
    let seals: u32 = unsafe { bpf_probe_read_kernel(inode.wrapping_sub(back) as *const u32) }.unwrap_or(0);
    seals & SEALS_IMMUTABLE == SEALS_IMMUTABLE
}

/// The current task, as a plain kernel address for probe reads.
#[inline(always)]
pub fn current_task() -> *const u8 {
    // SAFETY: helper without arguments.
    unsafe { bpf_get_current_task() as *const u8 }
}

/// The current process's start time in clock ticks since boot (`/proc/PID/stat` field 22).
#[inline(always)]
pub fn current_start_ticks() -> u64 {
    let leader: *const u8 = read(current_task(), off!(task_group_leader)).unwrap_or(core::ptr::null());
    read::<u64>(leader, off!(task_start_boottime)).unwrap_or(u64::MAX) / NSEC_PER_TICK
}

/// Walks from the file's dentry to the root, crossing mounts, writing each name (leaf first)
/// into its own slot of `buf`. Returns (`PATH_COMPONENTS` or `..._TRUNCATED`, slots used).
/// For hooks where the kernel refuses `bpf_d_path`.
#[inline(always)]
pub fn path_components(file: *const u8, buf: &mut [u8; PATH_LEN]) -> Result<(u8, i32), i32> {
    // Component slots plus mount crossings.
    const STEPS: usize = PATH_SLOTS + 4;
    let mut dentry: *const u8 = read(file, off!(file_path) + off!(path_dentry))?;
    let mut vfsmnt: *const u8 = read(file, off!(file_path) + off!(path_mnt))?;
    let mut used: usize = 0;
    for _ in 0..STEPS {
        let mount = vfsmnt.wrapping_sub(off!(mount_mnt) as usize);
        let mnt_root: *const u8 = read(vfsmnt, off!(vfsmount_root))?;
        if dentry == mnt_root {
            let parent: *const u8 = read(mount, off!(mount_parent))?;
            if parent == mount {
                return Ok((PATH_COMPONENTS, used as i32));
            }
            dentry = read(mount, off!(mount_mountpoint))?;
            vfsmnt = parent.wrapping_add(off!(mount_mnt) as usize);
            continue;
        }
        let parent: *const u8 = read(dentry, off!(dentry_parent))?;
        if parent == dentry {
            return Ok((PATH_COMPONENTS, used as i32));
        }
        if used >= PATH_SLOTS {
            break;
        }
        let name: *const u8 = read(dentry, off!(dentry_name))?;
        // The mask keeps the slot offset provably inside `buf` for the verifier.
        let offset = (used & (PATH_SLOTS - 1)) * PATH_SLOT;
        // SAFETY: offset + PATH_SLOT <= PATH_LEN; a failed read leaves an empty slot.
        unsafe {
            let slot = buf.as_mut_ptr().add(offset);
            aya_ebpf::helpers::generated::bpf_probe_read_kernel_str(slot.cast(), PATH_SLOT as u32, name.cast());
        }
        used += 1;
        dentry = parent;
    }
    Ok((PATH_COMPONENTS_TRUNCATED, used as i32))
}
