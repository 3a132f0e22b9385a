//! Resolves the struct member offsets the programs need from the running kernel's BTF. They move
//! between releases (`linux_binprm.file` is at 64 on 6.1 and 80 on 7.2; the inode's change time
//! was renamed twice), which is why nothing is hard-coded.
use provgate_common::KernelOffsets;

use super::btf::{Btf, BtfError};

pub fn resolve(btf: &Btf) -> Result<KernelOffsets, BtfError> {
    let (inode_ctime_sec, inode_ctime_nsec) = inode_ctime(btf)?;
    let m = |strukt: &str, member: &str| btf.member_offset(strukt, member);
    let enumerator = |name: &str| btf.enum_value(name).map(|v| v as u32);
    Ok(KernelOffsets {
        binprm_file: m("linux_binprm", "file")?,
        binprm_filename: m("linux_binprm", "filename")?,
        binprm_interp: m("linux_binprm", "interp")?,
        file_inode: m("file", "f_inode")?,
        file_path: m("file", "f_path")?,
        file_mode: m("file", "f_mode")?,
        inode_sb: m("inode", "i_sb")?,
        inode_ino: m("inode", "i_ino")?,
        inode_size: m("inode", "i_size")?,
        inode_ctime_sec,
        inode_ctime_nsec,
        inode_mode: m("inode", "i_mode")?,
        inode_rdev: m("inode", "i_rdev")?,
        inode_writecount: m("inode", "i_writecount")?,
        inode_mapping: m("inode", "i_mapping")?,
        mapping_mmap_root: btf.nested_offset("address_space", &["i_mmap", "rb_root", "rb_node"])?,
        shmem_seals: m("shmem_inode_info", "vfs_inode")? - m("shmem_inode_info", "seals")?,
        ovl_upper_dentry: overlay_upper_dentry(btf)?,
        sb_dev: m("super_block", "s_dev")?,
        sb_magic: m("super_block", "s_magic")?,
        vma_file: m("vm_area_struct", "vm_file")?,
        vma_flags: m("vm_area_struct", "vm_flags")?,
        vma_anon_vma: m("vm_area_struct", "anon_vma")?,
        path_dentry: m("path", "dentry")?,
        path_mnt: m("path", "mnt")?,
        dentry_parent: m("dentry", "d_parent")?,
        dentry_name: m("dentry", "d_name")? + m("qstr", "name")?,
        dentry_inode: m("dentry", "d_inode")?,
        qstr_name: m("qstr", "name")?,
        dentry_fsdata: m("dentry", "d_fsdata")?,
        vfsmount_root: m("vfsmount", "mnt_root")?,
        mount_mnt: m("mount", "mnt")?,
        mount_parent: m("mount", "mnt_parent")?,
        mount_mountpoint: m("mount", "mnt_mountpoint")?,
        task_group_leader: m("task_struct", "group_leader")?,
        task_real_parent: m("task_struct", "real_parent")?,
        task_tgid: m("task_struct", "tgid")?,
        task_start_boottime: m("task_struct", "start_boottime")?,
        task_personality: m("task_struct", "personality")?,
        task_mm: m("task_struct", "mm")?,
        mm_start_stack: m("mm_struct", "start_stack")?,
        // 6.15 renamed kernfs_node.parent to __parent (read under RCU).
        kernfs_parent: m("kernfs_node", "__parent").or_else(|_| m("kernfs_node", "parent"))?,
        kernfs_id: m("kernfs_node", "id")?,
        task_cgroups: m("task_struct", "cgroups")?,
        css_set_dfl_cgrp: m("css_set", "dfl_cgrp")?,
        cgroup_kn: m("cgroup", "kn")?,
        cgroup_level: m("cgroup", "level")?,
        bpf_map_id: m("bpf_map", "id")?,
        bpf_prog_aux: m("bpf_prog", "aux")?,
        bpf_prog_aux_id: m("bpf_prog_aux", "id")?,
        bpf_attr_id: m("bpf_attr", "map_id")?,
        kernel_read_module: enumerator("READING_MODULE")?,
        kernel_read_kexec_image: enumerator("READING_KEXEC_IMAGE")?,
        kernel_read_kexec_initramfs: enumerator("READING_KEXEC_INITRAMFS")?,
        kernel_load_module: enumerator("LOADING_MODULE")?,
        kernel_load_kexec_image: enumerator("LOADING_KEXEC_IMAGE")?,
        pt_regs_di: m("pt_regs", "di")?,
        pt_regs_bx: m("pt_regs", "bx")?,
    })
}

/// `ovl_inode.__upperdentry` relative to the embedded `ovl_inode.vfs_inode`. Overlayfs is a
/// module on most distributions (Debian's included), and a module's types are not in the
/// kernel's BTF: then the layout every kernel since 4.13 has, the upper dentry right after the
/// inode. The VM tests check it on each kernel they boot (`overlay_*` attacks).
fn overlay_upper_dentry(btf: &Btf) -> Result<u32, BtfError> {
    match (btf.member_offset("ovl_inode", "__upperdentry"), btf.member_offset("ovl_inode", "vfs_inode")) {
        (Ok(upper), Ok(inode)) => Ok(upper - inode),
        _ => btf.struct_size("inode"),
    }
}

/// 6.11+: `time64_t i_ctime_sec; u32 i_ctime_nsec;`. 6.6 to 6.10: `struct timespec64 __i_ctime`.
/// Up to 6.5: `struct timespec64 i_ctime`.
fn inode_ctime(btf: &Btf) -> Result<(u32, u32), BtfError> {
    if let (Ok(sec), Ok(nsec)) = (btf.member_offset("inode", "i_ctime_sec"), btf.member_offset("inode", "i_ctime_nsec"))
    {
        return Ok((sec, nsec));
    }
    let base = btf.member_offset("inode", "__i_ctime").or_else(|_| btf.member_offset("inode", "i_ctime"))?;
    Ok((base + btf.member_offset("timespec64", "tv_sec")?, base + btf.member_offset("timespec64", "tv_nsec")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_on_the_running_kernel() {
        let path = std::path::Path::new("/sys/kernel/btf/vmlinux");
        if !path.exists() {
            return provgate_test_support::skip_or_fail("no /sys/kernel/btf/vmlinux on this machine");
        }
        let offsets = resolve(&Btf::from_file(path).unwrap()).unwrap();
        // Nanoseconds follow seconds in every layout the kernel has had.
        assert!(offsets.inode_ctime_nsec > offsets.inode_ctime_sec);
        assert!(offsets.binprm_file > 0 && offsets.file_inode > 0 && offsets.inode_sb > 0);
        assert_ne!(offsets.binprm_filename, offsets.binprm_interp);
        // The member read as a pointer and the one read as an embedded path must differ.
        assert_ne!(offsets.file_inode, offsets.file_path);
        // An overlay's upper dentry follows the whole inode, as a pointer.
        assert!(
            offsets.ovl_upper_dentry > offsets.inode_writecount && offsets.ovl_upper_dentry > offsets.inode_mapping
        );
        assert_eq!(offsets.ovl_upper_dentry % 8, 0);
    }
}
