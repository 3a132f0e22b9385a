//! The observe-only fallback on this machine's own kernel, which refuses BPF LSM programs:
//! the daemon says exactly why, falls back to `tp_btf/sched_process_exec`, and an exec of an
//! unknown file in a test cgroup is reported. Audit mode and a test cgroup keep this safe on a
//! host that does accept LSM programs: nothing is ever denied here.
use std::{
    os::unix::{fs::MetadataExt as _, process::CommandExt as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

struct Host {
    dir: tempfile::TempDir,
    cgroup: PathBuf,
    daemon: Option<Child>,
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            // SAFETY: plain signal to our own child.
            unsafe { libc::kill(d.id() as i32, libc::SIGTERM) };
            let _ = d.wait();
        }
        let _ = std::fs::remove_dir(&self.cgroup);
    }
}

fn skip_or_fail(why: &str) -> Option<Host> {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "host test cannot run in CI: {why}");
    eprintln!("skipped: {why}");
    None
}

fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&"cgroup2")).then(|| PathBuf::from(f[1]))
    })
}

fn setup(name: &str) -> Option<Host> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return skip_or_fail("needs root (BPF and cgroups)");
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return skip_or_fail("no kernel BTF");
    }
    let Some(root) = cgroup2_root() else {
        return skip_or_fail("no cgroup v2 mount");
    };
    let cgroup = root.join(format!("provgate-test-{name}-{}", std::process::id()));
    std::fs::create_dir(&cgroup).expect("create test cgroup");
    Some(Host { dir: tempfile::tempdir().unwrap(), cgroup, daemon: None })
}

impl Host {
    fn provgate(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_provgate"));
        cmd.env("PROVGATE_DB", self.dir.path().join("p.db"))
            .env("PROVGATE_RUN_DIR", self.dir.path().join("run"))
            .env("RUST_LOG", "info");
        cmd
    }

    fn start(&mut self, extra: &[&str]) -> Value {
        let log = std::fs::File::create(self.dir.path().join("daemon.log")).unwrap();
        let daemon = self
            .provgate()
            .args(["run", "--mode", "audit", "--cgroup"])
            .arg(&self.cgroup)
            .arg("--pin-dir")
            .arg(self.dir.path().join("pins"))
            // On the host, never watch anything but what a test created.
            .args(["--no-watch-overlays", "--metrics-address", ""])
            .args(extra)
            .stderr(log)
            .spawn()
            .unwrap();
        self.daemon = Some(daemon);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.provgate().args(["status", "--json"]).output().unwrap();
            if let Ok(status) = serde_json::from_slice::<Value>(&out.stdout)
                && status["state"] == "active"
            {
                return status;
            }
            assert!(Instant::now() < deadline, "daemon not active: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    /// Execs `program` as a member of the test cgroup (or not), and waits for it.
    fn exec(&self, program: &Path, in_cgroup: bool) {
        let mut cmd = Command::new(program);
        cmd.stdout(Stdio::null());
        if in_cgroup {
            let procs = self.cgroup.join("cgroup.procs");
            // SAFETY: between fork and exec only open/write/close, which are async-signal-safe
            // in practice for this single-threaded child.
            unsafe {
                cmd.pre_exec(move || std::fs::write(&procs, b"0"));
            }
        }
        assert!(cmd.status().unwrap().success());
    }

    /// Waits until `provgate denials --json` lists `path`, or gives up after a few seconds.
    fn reported(&self, path: &Path, wait: Duration) -> Option<Value> {
        let deadline = Instant::now() + wait;
        loop {
            let out = self.provgate().args(["denials", "--json"]).output().unwrap();
            let groups: Value = serde_json::from_slice(&out.stdout).unwrap();
            let found = groups.as_array().unwrap().iter().find(|g| g["path"] == path.display().to_string()).cloned();
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn copy(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::copy("/bin/true", &path).unwrap();
        path
    }
}

fn assert_observes_unknown_exec_in_scope(host: &Host) {
    let unknown = host.copy("unknown-in-scope");
    let outside = host.copy("unknown-outside");
    host.exec(&unknown, true);
    host.exec(Path::new("/bin/true"), true);
    host.exec(&outside, false);
    let group = host.reported(&unknown, Duration::from_secs(5)).unwrap_or_else(|| panic!("exec not reported: {}", host.log()));
    assert_eq!(group["actions"], serde_json::json!(["observed"]));
    assert_eq!(group["hooks"], serde_json::json!(["exec-observed"]));
    let cgroup_id = std::fs::metadata(&host.cgroup).unwrap().ino();
    assert_eq!(group["cgroup_ids"], serde_json::json!([cgroup_id]));
    assert!(group["sha256"].as_str().is_some_and(|s| s.len() == 64), "digest computed after the fact");
    // Trusted code and processes outside the scope are not reported.
    assert!(host.reported(Path::new("/bin/true"), Duration::ZERO).is_none());
    assert!(host.reported(&outside, Duration::from_millis(600)).is_none());
}

#[test]
fn kernel_refusing_lsm_falls_back_loudly_and_observes() {
    let Some(mut host) = setup("fallback") else { return };
    assert!(host.provgate().args(["allow", "/bin/true"]).status().unwrap().success());
    let status = host.start(&[]);
    let enforcement = &status["enforcement"];
    if enforcement["kind"] == "lsm" {
        // This kernel accepts BPF LSM programs: there is no fallback to observe here (the
        // forced observe-only test below still covers the observe program).
        eprintln!("skipped: this kernel accepts BPF LSM programs, so it has no fallback to test");
        return;
    }
    assert_eq!(enforcement["kind"], "observe-only");
    let reason = enforcement["reason"].as_str().unwrap();
    // Exactly why: the load error, the active LSMs and whether bpf is among them.
    assert!(reason.contains("BPF LSM programs refused"), "{reason}");
    assert!(reason.contains("load failed: "), "{reason}");
    assert!(reason.contains("active LSMs: "), "{reason}");
    assert!(reason.contains("bpf LSM active") || reason.contains("bpf LSM NOT active"), "{reason}");
    // Loudly: an error in the log, and `status` says nothing is denied and exits non-zero.
    assert!(host.log().contains("ENFORCEMENT UNAVAILABLE"), "{}", host.log());
    let out = host.provgate().arg("status").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("OBSERVE-ONLY, nothing is denied"));
    let out = host.provgate().args(["status", "--wait", "5"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--wait fails at once: waiting will not make it enforce");
    assert_observes_unknown_exec_in_scope(&host);
}

#[test]
fn observe_only_on_request() {
    let Some(mut host) = setup("observe") else { return };
    assert!(host.provgate().args(["allow", "/bin/true"]).status().unwrap().success());
    let status = host.start(&["--observe-only"]);
    assert_eq!(status["enforcement"]["kind"], "observe-only");
    let out = host.provgate().args(["status", "--wait", "5"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "observe-only was asked for, so the daemon is ready");
    assert_observes_unknown_exec_in_scope(&host);
}
