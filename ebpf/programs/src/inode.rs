//! Reading a file's identity and change cookie with offsets resolved from BTF at load time.
use aya_ebpf::helpers::bpf_probe_read_kernel;
use provgate_common::{FileKey, KernelOffsets};

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
    // nanoseconds always fit in them.
    let ctime_nsec: u32 = read(inode, offsets.inode_ctime_nsec)?;
    Ok(Identity {
        key: FileKey { ino, dev, _pad: 0 },
        ctime_sec,
        ctime_nsec,
        size,
    })
}
