//! Running the real daemon on this host, safely: observe-only or audit mode, scoped to a test
//! cgroup, watching only filesystems a test mounted itself. Nothing here can deny anything.
#![allow(dead_code, reason = "each test file uses a different part")]

use std::{
    ffi::CString,
    os::unix::{ffi::OsStrExt as _, process::CommandExt as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use provgate_test_support::Provgate;
use serde_json::Value;

pub struct Host {
    /// The binary with its own store, run directory and configuration (an empty file: the host's
    /// /etc/provgate must not leak into tests).
    pub pg: Provgate,
    pub cgroup: PathBuf,
    pub daemon: Option<Child>,
    pub mounts: Vec<PathBuf>,
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop();
        for m in self.mounts.drain(..).rev() {
            let target = CString::new(m.as_os_str().as_bytes()).unwrap();
            // SAFETY: valid path; a failure only leaves a test mount behind.
            unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
        }
        remove_cgroup_tree(&self.cgroup);
    }
}

/// Removes a cgroup and every cgroup below it (empty of processes), deepest first.
pub fn remove_cgroup_tree(cgroup: &Path) {
    if let Ok(entries) = std::fs::read_dir(cgroup) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(cgroup);
}

fn skip_or_fail(why: &str) -> Option<Host> {
    provgate_test_support::missing(format!("host test cannot run: {why}"))
}

pub fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
    })
}

/// A test host: root, BTF and cgroup v2 are required; a test cgroup is created.
pub fn setup(name: &str) -> Option<Host> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return skip_or_fail("needs root (BPF, cgroups, fanotify, mounts)");
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return skip_or_fail("no kernel BTF");
    }
    let Some(root) = cgroup2_root() else {
        return skip_or_fail("no cgroup v2 mount");
    };
    let cgroup = root.join(format!("provgate-test-{name}-{}", std::process::id()));
    std::fs::create_dir(&cgroup).expect("create test cgroup");
    // The daemon logs at info level, which the tests read.
    let pg = Provgate::new(env!("CARGO_BIN_EXE_provgate")).env("RUST_LOG", "info").env_remove("CI");
    Some(Host { pg, cgroup, daemon: None, mounts: Vec::new() })
}

impl Host {
    /// The fixture's own directory.
    pub fn dir(&self) -> &Path {
        self.pg.dir()
    }

    pub fn db(&self) -> PathBuf {
        self.pg.db()
    }

    pub fn provgate(&self) -> Command {
        self.pg.command()
    }

    /// Runs a provgate command to completion; panics with its output if it fails.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> String {
        self.pg.ok(args)
    }

    /// A tmpfs the test owns; the daemon may watch it.
    pub fn mount_tmpfs(&mut self, name: &str) -> PathBuf {
        self.mount("tmpfs", name)
    }

    /// A filesystem of type `fstype` the test owns at `name` in its directory, unmounted when
    /// the host is dropped (a bpffs with it, and whatever is pinned there).
    pub fn mount(&mut self, fstype: &str, name: &str) -> PathBuf {
        let target = self.dir().join(name);
        std::fs::create_dir_all(&target).unwrap();
        let c_target = CString::new(target.as_os_str().as_bytes()).unwrap();
        let c_fstype = CString::new(fstype).unwrap();
        // SAFETY: valid NUL-terminated strings.
        let rc = unsafe { libc::mount(c_fstype.as_ptr(), c_target.as_ptr(), c_fstype.as_ptr(), 0, std::ptr::null()) };
        assert_eq!(rc, 0, "mount {fstype}: {}", std::io::Error::last_os_error());
        self.mounts.push(target.clone());
        target
    }

    /// Starts the daemon in audit mode on the test cgroup, never watching anything the test did
    /// not create; waits until its API answers.
    pub fn start(&mut self, extra: &[&str]) -> Value {
        self.spawn(extra);
        self.wait_active(Duration::from_secs(60))
    }

    pub fn spawn(&mut self, extra: &[&str]) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir().join("daemon.log")).unwrap();
        let daemon = self
            .provgate()
            .args(["run", "--mode", "audit", "--cgroup"])
            .arg(&self.cgroup)
            .arg("--pin-dir")
            .arg(self.dir().join("pins"))
            .arg("--no-watch-overlays")
            .args(if extra.contains(&"--metrics-address") { &[][..] } else { &["--metrics-address", ""][..] })
            .args(extra)
            .stderr(log)
            .spawn()
            .unwrap();
        self.daemon = Some(daemon);
    }

    pub fn wait_active(&mut self, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.status() {
                return status;
            }
            let exited = self.daemon.as_mut().and_then(|d| d.try_wait().ok().flatten());
            assert!(exited.is_none(), "daemon exited ({exited:?}): {}", self.log());
            assert!(Instant::now() < deadline, "daemon not active: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn status(&self) -> Option<Value> {
        let out = self.provgate().args(["status", "--json"]).output().unwrap();
        serde_json::from_slice::<Value>(&out.stdout).ok().filter(|s| s["state"] == "active")
    }

    pub fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            // SAFETY: plain signal to our own child.
            unsafe { libc::kill(d.id() as i32, libc::SIGTERM) };
            let _ = d.wait();
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }

    /// Checks `done` every 200 ms until it holds; fails after `limit`, naming `what`, with the
    /// daemon's log.
    pub fn wait_until(&self, what: &str, limit: Duration, done: impl Fn() -> bool) {
        let deadline = Instant::now() + limit;
        while !done() {
            assert!(Instant::now() < deadline, "{what} did not happen: {}", self.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("daemon.log")).unwrap_or_default()
    }

    /// Execs `program` as a member of the test cgroup (or not), and waits for it.
    pub fn exec(&self, program: &Path, in_cgroup: bool) {
        self.exec_in(program, in_cgroup.then_some(self.cgroup.as_path()));
    }

    /// Execs `program` as a member of `cgroup` (or of the test's own), and waits for it.
    pub fn exec_in(&self, program: &Path, cgroup: Option<&Path>) {
        let mut cmd = Command::new(program);
        cmd.stdout(Stdio::null());
        if let Some(cgroup) = cgroup {
            let procs = cgroup.join("cgroup.procs");
            // SAFETY: the child only writes its cgroup membership before exec.
            unsafe {
                cmd.pre_exec(move || std::fs::write(&procs, b"0"));
            }
        }
        assert!(cmd.status().unwrap().success(), "{} failed", program.display());
    }

    /// Waits until `provgate denials --json` lists `path`, or gives up after `wait`.
    pub fn reported(&self, path: &Path, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let out = self.provgate().args(["denials", "--json", "--path"]).arg(path).output().unwrap();
            let groups: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            let found = groups.as_array().and_then(|g| g.first().cloned());
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A copy of /bin/true under the test directory: same content, its own identity.
    pub fn copy_of_true(&self, dir: &Path, name: &str, unknown: bool) -> PathBuf {
        let path = dir.join(name);
        let mut bytes = std::fs::read("/bin/true").unwrap();
        if unknown {
            bytes.extend_from_slice(format!("\nprovgate-unknown-{name}\n").as_bytes());
        }
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    }
}
