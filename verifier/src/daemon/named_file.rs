//! Opening a file that a process executed, known only by the name the process gave to `execve`
//! (the observe-only program's report of a `#!` script: see `KernelEvent::by_name`).
//!
//! The name is resolved as the process resolved it, through its own root and working directory
//! (`/proc/<tgid>/root`, `/proc/<tgid>/cwd`), never through the daemon's: a process in a
//! container must not be able to name an allowed host file and so hide its own script. An
//! absolute name is opened with `RESOLVE_IN_ROOT` under the process's root, so its symbolic links
//! resolve as they did for the process. A relative name is opened from the process's working
//! directory, following links freely only when the process shares the daemon's root (a link's
//! absolute target then means the same file to both); otherwise it is opened without following
//! any link and without `..`. What cannot be opened that way stays unidentified, which the caller
//! reports: failing to name the file never counts as the file being allowed.
use std::{
    ffi::CString,
    fs::File,
    os::{
        fd::{FromRawFd as _, OwnedFd},
        unix::ffi::OsStrExt as _,
    },
    path::{Component, Path, PathBuf},
};

/// A file opened by name, with the path to show for it (absolute in the process's view when it
/// is known, else the name as given).
pub struct NamedFile {
    pub file: File,
    pub path: PathBuf,
}

/// Opens `name`, executed by process `tgid`, as that process sees it; `None` if the process is
/// gone or the name cannot be followed safely.
pub fn open_named(tgid: u32, name: &str) -> Option<NamedFile> {
    let name = Path::new(name);
    let proc_dir = Path::new("/proc").join(tgid.to_string());
    if let Ok(inside_root) = name.strip_prefix("/") {
        let root = open_path(&proc_dir.join("root"))?;
        let file = open_beneath(&root, inside_root, libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS)?;
        return Some(NamedFile { file, path: name.to_owned() });
    }
    let cwd_link = proc_dir.join("cwd");
    let cwd = open_path(&cwd_link)?;
    let file = if shares_our_root(&proc_dir) {
        open_beneath(&cwd, name, libc::RESOLVE_NO_MAGICLINKS)?
    } else if name.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir)) {
        open_beneath(&cwd, name, libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS)?
    } else {
        return None;
    };
    // The link's text is the directory as the daemon names it; shown only, never reopened.
    let shown: PathBuf = name.components().filter(|c| !matches!(c, Component::CurDir)).collect();
    let path = std::fs::read_link(&cwd_link).map_or(shown.clone(), |dir| dir.join(shown));
    Some(NamedFile { file, path })
}

fn shares_our_root(proc_dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let identity = |path: &Path| std::fs::metadata(path).map(|m| (m.dev(), m.ino()));
    matches!((identity(&proc_dir.join("root")), identity(Path::new("/"))), (Ok(theirs), Ok(ours)) if theirs == ours)
}

fn open_path(dir: &Path) -> Option<OwnedFd> {
    let c = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: a NUL-terminated path; the descriptor returned is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    // SAFETY: a descriptor the call just opened.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

fn open_beneath(dir: &OwnedFd, relative: &Path, resolve: u64) -> Option<File> {
    use std::os::fd::AsRawFd as _;
    let c = CString::new(relative.as_os_str().as_bytes()).ok()?;
    // O_NONBLOCK: the name may meanwhile be a FIFO, whose open would hang the daemon.
    // SAFETY: `open_how` is plain integers (non-exhaustive: built from zeroes).
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC) as u64;
    how.resolve = resolve;
    // SAFETY: openat2 with a valid directory descriptor, path and `open_how` of the size given.
    let fd = unsafe { libc::syscall(libc::SYS_openat2, dir.as_raw_fd(), c.as_ptr(), &how, size_of::<libc::open_how>()) }
        as i32;
    // SAFETY: a descriptor the call just opened.
    (fd >= 0).then(|| File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

#[cfg(test)]
mod tests {
    use std::{io::Read as _, os::unix::fs::symlink};

    use super::*;

    fn read(named: NamedFile) -> String {
        let mut text = String::new();
        (&named.file).read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn an_absolute_name_is_opened_in_the_process_root() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("x.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let named = open_named(std::process::id(), script.to_str().unwrap()).unwrap();
        assert_eq!(named.path, script);
        assert_eq!(read(named), "#!/bin/sh\n");
    }

    #[test]
    fn a_relative_name_is_opened_in_the_process_working_directory() {
        // The test's own working directory: the crate's, which holds Cargo.toml.
        let named = open_named(std::process::id(), "./Cargo.toml").unwrap();
        assert!(named.path.ends_with("Cargo.toml") && named.path.is_absolute(), "{}", named.path.display());
        assert!(read(named).contains("[package]"));
    }

    #[test]
    fn a_relative_name_follows_links_and_climbs_when_the_root_is_shared() {
        let dir = tempfile::tempdir_in(".").unwrap();
        symlink(std::fs::canonicalize("Cargo.toml").unwrap(), dir.path().join("link")).unwrap();
        let relative = Path::new(dir.path().file_name().unwrap()).join("link");
        assert!(read(open_named(std::process::id(), relative.to_str().unwrap()).unwrap()).contains("[package]"));
        let climbing = Path::new(dir.path().file_name().unwrap()).join("../Cargo.toml");
        assert!(open_named(std::process::id(), climbing.to_str().unwrap()).is_some());
    }

    /// A process in a root of its own (a container's, here a chroot) cannot name a file through
    /// a link or `..`: those would resolve from the daemon's root, not the process's.
    #[test]
    fn a_relative_name_in_another_root_follows_no_link() {
        use std::os::unix::process::CommandExt as _;
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return provgate_test_support::missing::<()>("chroot needs root").unwrap_or(());
        }
        let Ok(busybox) = std::fs::read("/bin/busybox") else {
            return provgate_test_support::missing::<()>("no /bin/busybox (busybox-static)").unwrap_or(());
        };
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("busybox"), busybox).unwrap();
        std::fs::set_permissions(root.path().join("busybox"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::fs::write(root.path().join("x.sh"), "#!/bin/sh\n").unwrap();
        symlink("/x.sh", root.path().join("link")).unwrap();
        let dir = root.path().to_owned();
        let mut child = std::process::Command::new("/busybox");
        child.args(["sleep", "30"]);
        // SAFETY: chroot and chdir only, before exec.
        unsafe {
            child.pre_exec(move || {
                std::os::unix::fs::chroot(&dir)?;
                std::env::set_current_dir("/")
            })
        };
        let mut child = child.spawn().unwrap();
        let pid = child.id();
        let plain = open_named(pid, "x.sh").map(read);
        let linked = open_named(pid, "./link").is_some();
        let climbing = open_named(pid, "../x.sh").is_some();
        let absolute = open_named(pid, "/link").map(read);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(plain.as_deref(), Some("#!/bin/sh\n"));
        assert!(!linked && !climbing);
        // An absolute name resolves its links inside the process's root.
        assert_eq!(absolute.as_deref(), Some("#!/bin/sh\n"));
    }

    #[test]
    fn a_gone_process_leaves_the_name_unidentified() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(open_named(pid, "/etc/hostname").is_none());
    }
}
