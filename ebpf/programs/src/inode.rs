//! Reading a file's identity and change cookie with offsets resolved from BTF at load time.
use aya_ebpf::helpers::bpf_probe_read_kernel;
use provgate_common::{
    FileKey, KernelOffsets, PATH_COMPONENTS, PATH_COMPONENTS_TRUNCATED, PATH_LEN, PATH_SLOT, PATH_SLOTS,
};

/// Clears I_CTIME_QUERIED; nanoseconds never reach bit 30.
const CTIME_NSEC_MASK: u32 = 0x7fff_ffff;

pub struct Identity {
    pub key: FileKey,
    pub ctime_sec: i64,
    pub ctime_nsec: u32,
    pub size: i64,
}

/// Loads a pointer-sized member directly (not through a probe read) so the verifier keeps
/// the result typed as a kernel object; `bpf_d_path` only accepts such pointers. `offset` comes
/// from frozen read-only data, which the verifier treats as a known constant.
#[inline(always)]
pub fn member_ptr(base: *const u8, offset: u32) -> *const u8 {
    // SAFETY: base is a BTF-typed kernel pointer and offset a member offset from that type's
    // BTF; the verifier checks the access and faults are handled by its exception table.
    unsafe { core::ptr::read_volatile(base.add(offset as usize) as *const *const u8) }
}

#[inline(always)]
fn read<T>(base: *const u8, offset: u32) -> Result<T, i32> {
    // SAFETY: a probe read never faults; it reports an error instead.
    unsafe { bpf_probe_read_kernel(base.add(offset as usize) as *const T) }
}

pub fn identity(offsets: &KernelOffsets, file: *const u8) -> Result<Identity, i32> {
    let inode: *const u8 = read(file, offsets.file_inode)?;
    let sb: *const u8 = read(inode, offsets.inode_sb)?;
    let dev: u32 = read(sb, offsets.sb_dev)?;
    let ino: u64 = read(inode, offsets.inode_ino)?;
    let size: i64 = read(inode, offsets.inode_size)?;
    let ctime_sec: i64 = read(inode, offsets.inode_ctime_sec)?;
    // Little-endian: the low 32 bits of a `long tv_nsec` are its first four bytes, and
    // nanoseconds always fit in them. Since 6.13 (multigrain timestamps) bit 31 of
    // `i_ctime_nsec` flags "ctime was queried"; stat() masks it, so must we.
    let ctime_nsec: u32 = read::<u32>(inode, offsets.inode_ctime_nsec)? & CTIME_NSEC_MASK;
    Ok(Identity {
        key: FileKey { ino, dev, _pad: 0 },
        ctime_sec,
        ctime_nsec,
        size,
    })
}

/// Walks from the file's dentry to the root, crossing mounts, writing each name (leaf first)
/// into its own slot of `buf`. Returns (`PATH_COMPONENTS` or `..._TRUNCATED`, slots used).
/// For hooks where the kernel refuses `bpf_d_path`.
#[inline(always)]
pub fn path_components(offsets: &KernelOffsets, file: *const u8, buf: &mut [u8; PATH_LEN]) -> Result<(u8, i32), i32> {
    // Component slots plus mount crossings.
    const STEPS: usize = PATH_SLOTS + 4;
    let mut dentry: *const u8 = read(file, offsets.file_path + offsets.path_dentry)?;
    let mut vfsmnt: *const u8 = read(file, offsets.file_path + offsets.path_mnt)?;
    let mut used: usize = 0;
    for _ in 0..STEPS {
        let mount = vfsmnt.wrapping_sub(offsets.mount_mnt as usize);
        let mnt_root: *const u8 = read(vfsmnt, offsets.vfsmount_root)?;
        if dentry == mnt_root {
            let parent: *const u8 = read(mount, offsets.mount_parent)?;
            if parent == mount {
                return Ok((PATH_COMPONENTS, used as i32));
            }
            dentry = read(mount, offsets.mount_mountpoint)?;
            vfsmnt = parent.wrapping_add(offsets.mount_mnt as usize);
            continue;
        }
        let parent: *const u8 = read(dentry, offsets.dentry_parent)?;
        if parent == dentry {
            return Ok((PATH_COMPONENTS, used as i32));
        }
        if used >= PATH_SLOTS {
            break;
        }
        let name: *const u8 = read(dentry, offsets.dentry_name)?;
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
