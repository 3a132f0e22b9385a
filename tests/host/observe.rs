//! The observe-only fallback on this machine's own kernel, which refuses BPF LSM programs:
//! the daemon says exactly why, falls back to `tp_btf/sched_process_exec`, and an exec of an
//! unknown file in a test cgroup is reported. Audit mode and a test cgroup keep this safe on a
//! host that does accept LSM programs: nothing is ever denied here.
mod support;

use std::{os::unix::fs::MetadataExt as _, path::Path, time::Duration};

use support::{Host, setup};

fn assert_observes_unknown_exec_in_scope(host: &Host) {
    let unknown = host.copy_of_true(host.dir(), "unknown-in-scope", false);
    let outside = host.copy_of_true(host.dir(), "unknown-outside", false);
    host.exec(&unknown, true);
    host.exec(Path::new("/bin/true"), true);
    host.exec(&outside, false);
    let group =
        host.reported(&unknown, Duration::from_secs(5)).unwrap_or_else(|| panic!("exec not reported: {}", host.log()));
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
    let Some(mut host) = setup("fallback") else {
        return;
    };
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
    let Some(mut host) = setup("observe") else {
        return;
    };
    assert!(host.provgate().args(["allow", "/bin/true"]).status().unwrap().success());
    let status = host.start(&["--observe-only"]);
    assert_eq!(status["enforcement"]["kind"], "observe-only");
    let out = host.provgate().args(["status", "--wait", "5"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "observe-only was asked for, so the daemon is ready");
    assert_observes_unknown_exec_in_scope(&host);
}
