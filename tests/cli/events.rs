//! Events as a log shipper and an admin's terminal see them: `denials --follow` prints events
//! recorded after it started, as text or as the JSON object the daemon's events output writes;
//! logs carry colour only on a terminal and never with NO_COLOR. Events are put in the store
//! the way the daemon's recorder stores them (a row in `events`), without a kernel.
mod common;

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use common::{Provgate, Run, provgate};

use provgate_test_support::EVENT_FIELDS as FIELDS;

const CONTAINER: &str = "4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a4f1c2b3a";
const POD: &str = "0f3c8a52-6b1e-4d7a-9c2e-5b8f1a3d7e90";

/// Stores an event as the daemon's recorder would, in a pod's container; returns its id.
fn record_event(db: &Path, path: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let cgroup = format!(
        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/cri-containerd-{CONTAINER}.scope",
        POD.replace('-', "_")
    );
    conn.execute(
        "INSERT INTO events (at_ms, hook, action, reason, tgid, pid, uid, comm, cgroup_id, dev, ino, path, sha256,
                             cgroup_path, container, ppid, exe, command, parent_command, parent_exe)
         VALUES (1764064800123, 'exec', 'would-deny', 'unknown-file', 4242, 4243, 1000, 'miner', 77, 8388609, 1234,
                 ?1, ?2, ?3, ?4, 1, '/usr/bin/bash', 'bash -c ./miner', 'containerd-shim',
                 '/usr/bin/containerd-shim-runc-v2')",
        rusqlite::params![path, vec![0xabu8; 32], cgroup, &CONTAINER[..12]],
    )
    .unwrap();
    conn.last_insert_rowid()
}

/// `denials --follow ARGS`, once it says it is following.
struct Follow {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Follow {
    fn start(fx: &Provgate, json: bool) -> Self {
        let mut command = fx.command();
        command.args(["denials", "--follow"]).args(json.then_some("--json"));
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut said = String::new();
        stderr.read_line(&mut said).unwrap();
        assert!(said.starts_with("following new events"), "{said}");
        let (tx, lines) = mpsc::channel();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    fn next(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(10)).expect("a line from denials --follow within 10 s")
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn follow_json_prints_events_recorded_after_it_started_with_every_field() {
    let fx = provgate();
    fx.ok(&["denials"]); // creates the store
    let before = record_event(&fx.db(), "/tmp/before");
    let follow = Follow::start(&fx, true);
    let after = record_event(&fx.db(), "/tmp/after");
    let second = record_event(&fx.db(), "/tmp/second");
    for (expected, path) in [(after, "/tmp/after"), (second, "/tmp/second")] {
        let line = follow.next();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["event_id"], expected, "not #{before}, printed before it started: {line}");
        assert_eq!(v["path"], path);
        let object = v.as_object().unwrap();
        assert_eq!(object.len(), FIELDS.len(), "{line}");
        for field in FIELDS {
            assert!(!v[field].is_null(), "{field} in {line}");
        }
        assert_eq!(v["time"], "2025-11-25T10:00:00.123Z");
        assert_eq!((&v["action"], &v["mode"]), (&"would-deny".into(), &"audit".into()));
        assert_eq!(v["sha256"], "ab".repeat(32));
        assert_eq!(v["container_id"], CONTAINER);
        assert_eq!(v["pod_uid"], POD);
        assert_eq!((v["pid"].as_u64(), v["tid"].as_u64(), v["ppid"].as_u64()), (Some(4242), Some(4243), Some(1)));
    }
}

#[test]
fn follow_prints_a_line_per_new_event() {
    let fx = provgate();
    fx.ok(&["denials"]);
    record_event(&fx.db(), "/tmp/old");
    let follow = Follow::start(&fx, false);
    let id = record_event(&fx.db(), "/tmp/new tool");
    let line = follow.next();
    for part in [&format!("#{id} "), "would-deny exec unknown-file", "/tmp/new tool", "pid 4242 (miner)"] {
        assert!(line.contains(part), "{part:?} in {line}");
    }
    assert!(line.contains(&format!("container {}", &CONTAINER[..12])), "{line}");
    assert!(!line.contains("/tmp/old"));
}

#[test]
fn follow_takes_no_filters() {
    let fx = provgate();
    let out = fx.run(&["denials", "--follow", "--mode", "audit"]);
    assert!(!out.success());
    assert!(out.stderr.contains("cannot be used with"), "{out}");
}

/// A command that logs a warning: an SBOM of a directory holding a symlink, which it leaves out.
fn warning_command(fx: &Provgate) -> Command {
    let root = fx.path("tree");
    std::fs::create_dir_all(&root).unwrap();
    let _ = std::os::unix::fs::symlink("/bin/true", root.join("link"));
    let mut command = fx.command();
    command.args(["sbom", "generate"]).arg(&root).args(["--format", "spdx-json", "-o"]).arg(fx.path("out.json"));
    command
}

#[test]
fn logs_have_colour_only_on_a_terminal_without_no_color() {
    let fx = provgate();
    let piped = Run::of(warning_command(&fx).env_remove("NO_COLOR"));
    assert!(piped.success(), "{piped}");
    assert!(piped.stderr.contains("left out"), "{piped}");
    assert!(!piped.stderr.contains('\x1b'), "no colour in a pipe: {:?}", piped.stderr);
    // On a terminal (util-linux's script gives it one): colour, unless NO_COLOR says no.
    let on_terminal = |no_color: Option<&str>| -> Option<String> {
        let command = warning_command(&fx);
        let mut line: Vec<String> =
            command.get_envs().filter_map(|(k, v)| Some(format!("{}='{}'", k.to_str()?, v?.to_str()?))).collect();
        line.insert(0, "env".into());
        line.extend(no_color.map(|v| format!("NO_COLOR={v}")));
        line.push(command.get_program().to_str()?.to_owned());
        line.extend(command.get_args().map(|a| format!("'{}'", a.to_str().unwrap())));
        let out =
            Command::new("script").args(["-qec", &line.join(" "), "/dev/null"]).env_remove("NO_COLOR").output().ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let Some(coloured) = on_terminal(None) else {
        return provgate_test_support::skip_or_fail("util-linux's script is not installed");
    };
    assert!(coloured.contains("left out") && coloured.contains('\x1b'), "colour on a terminal: {coloured:?}");
    let plain = on_terminal(Some("1")).unwrap();
    assert!(plain.contains("left out") && !plain.contains('\x1b'), "NO_COLOR: {plain:?}");
}
