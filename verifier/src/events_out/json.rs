//! The one JSON object an event is, for every sink and for `denials --follow --json`. The
//! README's "Events out" section documents each field; every field is always present (null when
//! not known), so consumers can rely on the shape.
use std::time::{Duration, UNIX_EPOCH};

use serde::Serialize;

use crate::store::{EventRecord, mode_of_action};

#[derive(Debug, Serialize)]
pub struct EventJson<'a> {
    /// The event's id in the store (`#N` for `explain`, `approve`...); null if storing failed.
    pub event_id: Option<i64>,
    pub time: String,
    pub host: &'a str,
    pub action: &'a str,
    pub mode: Option<&'static str>,
    pub hook: &'a str,
    pub reason: &'a str,
    pub path: Option<&'a str>,
    pub sha256: Option<String>,
    pub dev: u32,
    pub ino: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub comm: &'a str,
    pub exe: Option<&'a str>,
    pub command: Option<&'a str>,
    pub parent_command: Option<&'a str>,
    pub parent_exe: Option<&'a str>,
    pub cgroup_id: u64,
    pub cgroup: Option<&'a str>,
    pub container_id: Option<&'a str>,
    pub pod_uid: Option<String>,
}

impl<'a> EventJson<'a> {
    pub fn new(event_id: Option<i64>, e: &'a EventRecord, host: &'a str) -> Self {
        let cgroup = e.cgroup_path.as_deref();
        Self {
            event_id,
            time: rfc3339_ms(e.at_ms),
            host,
            action: &e.action,
            mode: mode_of_action(&e.action),
            hook: &e.hook,
            reason: &e.reason,
            path: e.path.as_deref(),
            sha256: e.sha256.map(|d| d.to_hex()),
            dev: e.dev,
            ino: e.ino,
            pid: e.tgid,
            tid: e.pid,
            ppid: e.context.ppid,
            uid: e.uid,
            comm: &e.comm,
            exe: e.context.exe.as_deref(),
            command: e.context.command.as_deref(),
            parent_command: e.context.parent_command.as_deref(),
            parent_exe: e.context.parent_exe.as_deref(),
            cgroup_id: e.cgroup_id,
            cgroup,
            // The full id from the path (the stored column keeps the 12-digit short form), so
            // a shipper can join it with what the runtime and kubelet report.
            container_id: cgroup.and_then(crate::workload::container_id).or(e.container.as_deref()),
            pod_uid: cgroup.and_then(crate::workload::pod_uid),
        }
    }

    /// The object and a newline, appended to `out`.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        // Serializing plain strings and numbers into a Vec cannot fail.
        serde_json::to_writer(&mut *out, self).expect("serializing an event");
        out.push(b'\n');
    }
}

/// RFC 3339, UTC, milliseconds: `2026-11-25T10:00:00.123Z`.
pub fn rfc3339_ms(at_ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(at_ms.max(0) as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

/// This machine's name, read once per sink or command: events say which node they come from.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or fails.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "-".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{hashing::Sha256, store::ProcessContext};

    pub use provgate_test_support::EVENT_FIELDS as FIELDS;

    pub fn kubernetes_event() -> EventRecord {
        let container = "4f1c2b3a".repeat(8);
        EventRecord {
            at_ms: 1_764_064_800_123,
            hook: "exec".into(),
            action: "denied".into(),
            reason: "unknown-file".into(),
            tgid: 4242,
            pid: 4243,
            uid: 1000,
            comm: "miner".into(),
            cgroup_id: 77,
            cgroup_path: Some(format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f3c8a52_6b1e_4d7a_9c2e_5b8f1a3d7e90.slice/cri-containerd-{container}.scope"
            )),
            container: Some(container[..12].into()),
            dev: 8 << 20 | 1,
            ino: 1234,
            path: Some("/tmp/miner \"x\"".into()),
            sha256: Some(Sha256([0xab; 32])),
            context: ProcessContext {
                ppid: 1,
                exe: Some("/usr/bin/bash".into()),
                command: Some("bash -c ./miner".into()),
                parent_command: Some("containerd-shim".into()),
                parent_exe: Some("/usr/bin/containerd-shim-runc-v2".into()),
            },
        }
    }

    #[test]
    fn carries_every_field_with_its_value() {
        let event = kubernetes_event();
        let mut line = Vec::new();
        EventJson::new(Some(7), &event, "node-1").write_line(&mut line);
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), FIELDS.len(), "{keys:?}");
        for field in FIELDS {
            assert!(!v[field].is_null(), "{field} missing or null in {v}");
        }
        assert_eq!(v["event_id"], 7);
        assert_eq!(v["time"], "2025-11-25T10:00:00.123Z");
        assert_eq!(v["host"], "node-1");
        assert_eq!((&v["action"], &v["mode"]), (&"denied".into(), &"enforce".into()));
        assert_eq!(v["path"], "/tmp/miner \"x\"");
        assert_eq!(v["sha256"], "ab".repeat(32));
        assert_eq!((v["pid"].as_u64(), v["tid"].as_u64(), v["ppid"].as_u64()), (Some(4242), Some(4243), Some(1)));
        assert_eq!(v["container_id"], "4f1c2b3a".repeat(8));
        assert_eq!(v["pod_uid"], "0f3c8a52-6b1e-4d7a-9c2e-5b8f1a3d7e90");
    }

    #[test]
    fn unknowns_are_null_not_missing() {
        let mut event = kubernetes_event();
        event.cgroup_path = None;
        event.container = None;
        event.path = None;
        event.sha256 = None;
        event.action = "would-deny".into();
        event.context = ProcessContext::default();
        let mut line = Vec::new();
        EventJson::new(None, &event, "h").write_line(&mut line);
        let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v.as_object().unwrap().len(), FIELDS.len());
        for field in [
            "event_id",
            "path",
            "sha256",
            "exe",
            "command",
            "parent_command",
            "parent_exe",
            "cgroup",
            "container_id",
            "pod_uid",
        ] {
            assert!(v[field].is_null(), "{field}: {v}");
        }
        assert_eq!(v["mode"], "audit");
    }

    #[test]
    fn names_this_host() {
        let host = hostname();
        assert!(!host.is_empty() && host != "-");
    }
}
