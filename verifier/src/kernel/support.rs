//! What the running kernel offers: active LSMs, whether `bpf` is among them, BTF. Used to say
//! exactly why enforcement is unavailable when the kernel refuses LSM programs.
use std::{ffi::CString, path::Path};

use serde::{Deserialize, Serialize};

const SECURITYFS: &str = "/sys/kernel/security";
const LSM_LIST: &str = "/sys/kernel/security/lsm";
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KernelSupport {
    pub release: String,
    /// Active LSMs in order; empty when the list could not be read (see `lsm_list_error`).
    pub active_lsms: Vec<String>,
    /// Why the list of active LSMs could not be read.
    pub lsm_list_error: Option<String>,
    pub bpf_lsm_active: bool,
    pub btf: bool,
}

impl KernelSupport {
    pub fn probe() -> Self {
        let (active_lsms, lsm_list_error) = match read_lsm_list() {
            Ok(list) => (list, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        let bpf_lsm_active = active_lsms.iter().any(|m| m == "bpf");
        Self {
            release: kernel_release(),
            active_lsms,
            lsm_list_error,
            bpf_lsm_active,
            btf: Path::new(VMLINUX_BTF).exists(),
        }
    }

    /// One line for logs and status: release, LSMs, bpf presence.
    pub fn summary(&self) -> String {
        let lsms = match &self.lsm_list_error {
            None => self.active_lsms.join(","),
            Some(why) => format!("unknown ({why})"),
        };
        format!(
            "kernel {}; active LSMs: {lsms}; bpf LSM {}; BTF {}",
            self.release,
            if self.bpf_lsm_active { "active" } else { "NOT active" },
            if self.btf { "present" } else { "missing" }
        )
    }
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

fn read_lsm_list() -> Result<Vec<String>, String> {
    if !Path::new(LSM_LIST).exists() {
        mount_securityfs()?;
    }
    std::fs::read_to_string(LSM_LIST)
        .map(|s| s.trim().split(',').filter(|m| !m.is_empty()).map(str::to_owned).collect())
        .map_err(|e| format!("cannot read {LSM_LIST}: {e}"))
}

fn mount_securityfs() -> Result<(), String> {
    let src = CString::new("securityfs").unwrap();
    let target = CString::new(SECURITYFS).unwrap();
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    let rc = unsafe { libc::mount(src.as_ptr(), target.as_ptr(), src.as_ptr(), 0, std::ptr::null()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!(
            "securityfs is not mounted at {SECURITYFS} and mounting it failed: {}",
            std::io::Error::last_os_error()
        ))
    }
}
