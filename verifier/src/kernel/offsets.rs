//! Resolves the struct member offsets the programs need from the running kernel's BTF. They move
//! between releases (`linux_binprm.file` is at 64 on 6.1 and 80 on 7.2; the inode's change time
//! was renamed twice), which is why nothing is hard-coded.
use provgate_common::KernelOffsets;

use super::btf::{Btf, BtfError};

pub fn resolve(btf: &Btf) -> Result<KernelOffsets, BtfError> {
    let (inode_ctime_sec, inode_ctime_nsec) = inode_ctime(btf)?;
    Ok(KernelOffsets {
        binprm_file: btf.member_offset("linux_binprm", "file")?,
        file_inode: btf.member_offset("file", "f_inode")?,
        file_path: btf.member_offset("file", "f_path")?,
        inode_sb: btf.member_offset("inode", "i_sb")?,
        inode_ino: btf.member_offset("inode", "i_ino")?,
        inode_size: btf.member_offset("inode", "i_size")?,
        inode_ctime_sec,
        inode_ctime_nsec,
        sb_dev: btf.member_offset("super_block", "s_dev")?,
        vma_file: btf.member_offset("vm_area_struct", "vm_file")?,
        vma_flags: btf.member_offset("vm_area_struct", "vm_flags")?,
        path_dentry: btf.member_offset("path", "dentry")?,
        path_mnt: btf.member_offset("path", "mnt")?,
        dentry_parent: btf.member_offset("dentry", "d_parent")?,
        dentry_name: btf.member_offset("dentry", "d_name")? + btf.member_offset("qstr", "name")?,
        vfsmount_root: btf.member_offset("vfsmount", "mnt_root")?,
        mount_mnt: btf.member_offset("mount", "mnt")?,
        mount_parent: btf.member_offset("mount", "mnt_parent")?,
        mount_mountpoint: btf.member_offset("mount", "mnt_mountpoint")?,
    })
}

/// 6.11+: `time64_t i_ctime_sec; u32 i_ctime_nsec;`. 6.6 to 6.10: `struct timespec64 __i_ctime`.
/// Up to 6.5: `struct timespec64 i_ctime`.
fn inode_ctime(btf: &Btf) -> Result<(u32, u32), BtfError> {
    if let (Ok(sec), Ok(nsec)) = (
        btf.member_offset("inode", "i_ctime_sec"),
        btf.member_offset("inode", "i_ctime_nsec"),
    ) {
        return Ok((sec, nsec));
    }
    let base = btf
        .member_offset("inode", "__i_ctime")
        .or_else(|_| btf.member_offset("inode", "i_ctime"))?;
    Ok((
        base + btf.member_offset("timespec64", "tv_sec")?,
        base + btf.member_offset("timespec64", "tv_nsec")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_on_the_running_kernel() {
        let path = std::path::Path::new("/sys/kernel/btf/vmlinux");
        if !path.exists() {
            assert!(std::env::var("CI").is_err(), "CI machines must have kernel BTF");
            eprintln!("skipped: no /sys/kernel/btf/vmlinux on this machine");
            return;
        }
        let offsets = resolve(&Btf::from_file(path).unwrap()).unwrap();
        // Nanoseconds follow seconds in every layout the kernel has had.
        assert!(offsets.inode_ctime_nsec > offsets.inode_ctime_sec);
        assert!(offsets.binprm_file > 0 && offsets.file_inode > 0 && offsets.inode_sb > 0);
        // The member read as a pointer and the one read as an embedded path must differ.
        assert_ne!(offsets.file_inode, offsets.file_path);
    }
}
