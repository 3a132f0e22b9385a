//! Enforcement scopes: cgroup v2 directories, resolved to the id the kernel reports
//! (`bpf_get_current_cgroup_id`, the directory's inode number) and their depth in the hierarchy.
use std::{
    os::unix::fs::MetadataExt as _,
    path::{Path, PathBuf},
};

use provgate_common::MAX_CGROUP_LEVEL;
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Deny unknown code with EPERM.
    Enforce,
    /// Allow unknown code and record that it would have been denied.
    Audit,
}

impl Mode {
    pub fn to_kernel(self) -> u32 {
        match self {
            Self::Enforce => provgate_common::MODE_ENFORCE,
            Self::Audit => provgate_common::MODE_AUDIT,
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Enforce => "enforce",
            Self::Audit => "audit",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupScope {
    pub path: PathBuf,
    pub id: u64,
    pub level: u32,
    pub mode: Mode,
    /// Processes here may trace and write the memory of other processes.
    #[serde(default)]
    pub debugger: bool,
    /// Processes here are exempt from the hardened tamper rules (they still run only vouched
    /// code): where provgate's own commands run in a hardened scope.
    #[serde(default)]
    pub admin: bool,
}

impl CgroupScope {
    /// The `SCOPES` map value: the mode and the role flags.
    pub fn kernel_value(&self) -> u32 {
        let mut value = self.mode.to_kernel();
        if self.debugger {
            value |= provgate_common::SCOPE_DEBUGGER;
        }
        if self.admin {
            value |= provgate_common::SCOPE_ADMIN;
        }
        value
    }
}

#[derive(Debug, Error)]
pub enum ScopeError {
    #[error("cgroup {0}: no cgroup v2 filesystem is mounted (see /proc/self/mountinfo)")]
    NoCgroup2(PathBuf),
    #[error("cgroup {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cgroup {0}: not inside a mounted cgroup v2 hierarchy")]
    NotCgroup2(PathBuf),
    #[error("cgroup {path}: level {level} is deeper than the supported {MAX_CGROUP_LEVEL}")]
    TooDeep { path: PathBuf, level: u32 },
}

/// A cgroup2 mount: where it is mounted, and which cgroup of the hierarchy is its root.
struct Cgroup2Mount {
    mount_point: PathBuf,
    root_level: u32,
}

fn cgroup2_mounts() -> Vec<Cgroup2Mount> {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    info.lines()
        .filter_map(|line| {
            // id parent major:minor root mount-point options ... - fstype source super-options
            let (left, right) = line.split_once(" - ")?;
            if right.split_whitespace().next()? != "cgroup2" {
                return None;
            }
            let fields: Vec<&str> = left.split_whitespace().collect();
            let root = fields.get(3)?;
            let mount_point = unescape(fields.get(4)?);
            Some(Cgroup2Mount {
                mount_point: PathBuf::from(mount_point),
                root_level: Path::new(root)
                    .components()
                    .filter(|c| matches!(c, std::path::Component::Normal(_)))
                    .count() as u32,
            })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as octal.
pub(super) fn unescape(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let code: String = chars.by_ref().take(3).collect();
            if let Ok(byte) = u8::from_str_radix(&code, 8) {
                out.push(byte as char);
                continue;
            }
            out.push('\\');
            out.push_str(&code);
        } else {
            out.push(c);
        }
    }
    out
}

/// Resolves a cgroup given as a path (absolute, or relative to the cgroup2 mount).
pub fn resolve(path: &Path, mode: Mode) -> Result<CgroupScope, ScopeError> {
    let mounts = cgroup2_mounts();
    if mounts.is_empty() {
        return Err(ScopeError::NoCgroup2(path.to_owned()));
    }
    let full = if path.is_absolute() { path.to_owned() } else { mounts[0].mount_point.join(path) };
    let canonical = full.canonicalize().map_err(|source| ScopeError::Io { path: full.clone(), source })?;
    let mount = mounts
        .iter()
        .filter(|m| canonical.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
        .ok_or_else(|| ScopeError::NotCgroup2(canonical.clone()))?;
    if !canonical.join("cgroup.procs").exists() {
        return Err(ScopeError::NotCgroup2(canonical));
    }
    let meta = std::fs::metadata(&canonical).map_err(|source| ScopeError::Io { path: canonical.clone(), source })?;
    let below = canonical.strip_prefix(&mount.mount_point).map(|p| p.components().count()).unwrap_or(0) as u32;
    let level = mount.root_level + below;
    if level > MAX_CGROUP_LEVEL {
        return Err(ScopeError::TooDeep { path: canonical, level });
    }
    Ok(CgroupScope { path: canonical, id: meta.ino(), level, mode, debugger: false, admin: false })
}

/// A debugger or admin cgroup takes the mode of the deepest scope it sits in (or the host's, when
/// no scope is listed); outside every scope nothing is enforced on it and its role is moot.
pub fn resolve_role(
    path: &Path,
    scopes: &[CgroupScope],
    host: Option<Mode>,
) -> Result<Option<CgroupScope>, ScopeError> {
    let resolved = resolve(path, Mode::Audit)?;
    let enclosing =
        scopes.iter().filter(|s| resolved.path.starts_with(&s.path)).max_by_key(|s| s.path.as_os_str().len());
    let mode = match (enclosing, host) {
        (Some(scope), _) => scope.mode,
        (None, Some(mode)) => mode,
        (None, None) => return Ok(None),
    };
    Ok(Some(CgroupScope { mode, ..resolved }))
}

/// The cgroup2 mount point.
pub fn cgroup2_mount_point() -> Option<PathBuf> {
    cgroup2_mounts().into_iter().next().map(|m| m.mount_point)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo_fields() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn resolves_the_root_cgroup_and_refuses_other_paths() {
        let Some(root) = cgroup2_mount_point() else {
            return provgate_test_support::skip_or_fail("no cgroup v2 mount");
        };
        let scope = resolve(&root, Mode::Audit).unwrap();
        assert_eq!(scope.level, 0);
        assert_eq!(scope.id, std::fs::metadata(&root).unwrap().ino());
        assert!(matches!(resolve(Path::new("/tmp"), Mode::Audit), Err(ScopeError::NotCgroup2(_))));
        assert!(matches!(
            resolve(Path::new("/sys/fs/cgroup/does-not-exist-xyz"), Mode::Audit),
            Err(ScopeError::Io { .. })
        ));
    }
}
