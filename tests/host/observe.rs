//! The observe-only fallback on this machine's own kernel, which refuses BPF LSM programs:
//! the daemon says exactly why, falls back to `tp_btf/sched_process_exec`, and an exec of an
//! unknown file in a test cgroup is reported. Audit mode and a test cgroup keep this safe on a
//! host that does accept LSM programs: nothing is ever denied here.
mod support;

use std::{os::unix::fs::MetadataExt as _, path::Path, time::Duration};

use support::{Host, remove_cgroup_tree, setup};

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

/// The exported event about `file` in the JSON-lines file, once it is there.
fn exported(events: &Path, file: &Path, wait: Duration) -> Option<serde_json::Value> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let text = std::fs::read_to_string(events).unwrap_or_default();
        let found = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .find(|v| v["path"] == file.display().to_string());
        if found.is_some() || std::time::Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn observe_only_on_request() {
    let Some(mut host) = setup("observe") else {
        return;
    };
    // Events out to a JSON-lines file, as a log shipper would read them.
    let events = host.dir().join("log/events.jsonl");
    host.pg.write_config(&format!("[events]\noutput = \"file\"\nfile = \"{}\"\n", events.display()));
    assert!(host.provgate().args(["allow", "/bin/true"]).status().unwrap().success());
    let status = host.start(&["--observe-only"]);
    assert_eq!(status["enforcement"]["kind"], "observe-only");
    let out = host.provgate().args(["status", "--wait", "5"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "observe-only was asked for, so the daemon is ready");
    assert_observes_unknown_exec_in_scope(&host);
    // The same event in the file, with every field, and the id `denials` prints.
    let unknown = host.dir().join("unknown-in-scope");
    let event = exported(&events, &unknown, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("not exported: {:?}\n{}", std::fs::read_to_string(&events), host.log()));
    let group = host.reported(&unknown, Duration::ZERO).unwrap();
    assert_eq!(event["event_id"], group["last_event"], "{event}");
    let fields = event.as_object().unwrap();
    // Known only when the process still runs, or the cgroup is a container's or a pod's.
    let may_be_unknown = ["exe", "command", "parent_command", "parent_exe", "container_id", "pod_uid"];
    for field in provgate_test_support::EVENT_FIELDS {
        assert!(fields.contains_key(field), "{field} in {event}");
        assert!(may_be_unknown.contains(&field) || !event[field].is_null(), "{field} in {event}");
    }
    assert_eq!(fields.len(), provgate_test_support::EVENT_FIELDS.len(), "{event}");
    assert_eq!((&event["action"], &event["mode"]), (&"observed".into(), &"observe".into()));
    assert_eq!(event["sha256"], group["sha256"]);
    assert_eq!(event["cgroup_id"], std::fs::metadata(&host.cgroup).unwrap().ino());
    assert!(event["time"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 24), "{event}");
    // Named fields only: LSMs as a list, counters per hook by name.
    let status: serde_json::Value = serde_json::from_str(&host.ok(&["status", "--json"])).unwrap();
    assert!(status["kernel"]["active_lsms"].as_array().is_some_and(|l| !l.is_empty()), "{status}");
    assert!(status["kernel"]["lsm_list_error"].is_null(), "{status}");
    assert!(status["counters"]["allowed"]["exec-observed"].as_u64().is_some(), "{status}");
    assert!(status["counters"]["audited"]["exec-observed"].as_u64().is_some_and(|n| n >= 1), "{status}");
}

/// A `#!` script is reported as itself, not as its interpreter: an unknown script and an allowed
/// one run by the same allowed interpreter are told apart, named by an absolute path, a relative
/// one, or through a link; on a watched filesystem (fanotify hands the daemon the exact file) and
/// on another (the daemon opens the name as the process sees it while it runs).
#[test]
fn observe_only_reports_scripts_not_their_interpreter() {
    let Some(mut host) = setup("scripts") else {
        return;
    };
    let watched = host.mount_tmpfs("watched");
    let unwatched = host.dir().join("unwatched");
    std::fs::create_dir(&unwatched).unwrap();
    let script = |dir: &Path, name: &str, body: &str| {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\nexit 0\n")).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    };
    let allowed = script(&watched, "allowed.sh", "# vouched for");
    // Named through a link, a script is identified by opening its name while it runs.
    let allowed_linked = script(&watched, "allowed-linked.sh", "sleep 1 # vouched for");
    std::os::unix::fs::symlink("allowed-linked.sh", watched.join("link-to-allowed.sh")).unwrap();
    // An attacker's script through a link, done at once: identified or not, always reported.
    let evil = script(&unwatched, "evil.sh", "# an attacker's");
    std::os::unix::fs::symlink("evil.sh", unwatched.join("innocent.sh")).unwrap();
    let unknown = script(&watched, "unknown.sh", "# nobody vouches");
    let unknown_relative = script(&watched, "unknown-relative.sh", "# nobody vouches either");
    // Alive for a while, so that its name can be opened as its process sees it.
    let unknown_unwatched = script(&unwatched, "unknown-unwatched.sh", "sleep 1 # nobody vouches");
    let allowed_unwatched = script(&unwatched, "allowed-unwatched.sh", "sleep 1 # vouched for");
    let interpreter = std::fs::canonicalize("/bin/sh").unwrap();
    let sleep = std::fs::canonicalize("/bin/sleep").unwrap();
    for file in [&allowed, &allowed_linked, &allowed_unwatched, &interpreter, &sleep] {
        host.ok(&["allow", file.to_str().unwrap()]);
    }
    host.start(&["--observe-only", "--watch", watched.to_str().unwrap()]);
    let run = |dir: &Path, program: &str| {
        let procs = host.cgroup.join("cgroup.procs");
        let mut cmd = std::process::Command::new(program);
        cmd.current_dir(dir);
        // SAFETY: the child only writes its cgroup membership before exec.
        unsafe { std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || std::fs::write(&procs, b"0")) };
        assert!(cmd.status().unwrap().success(), "{program}");
    };
    run(&watched, allowed.to_str().unwrap());
    run(&watched, "./link-to-allowed.sh");
    run(&watched, unknown.to_str().unwrap());
    run(&watched, "./unknown-relative.sh");
    run(&unwatched, "./unknown-unwatched.sh");
    run(&unwatched, "./allowed-unwatched.sh");
    run(&unwatched, "./innocent.sh");
    for file in [&unknown, &unknown_relative, &unknown_unwatched] {
        let group = host
            .reported(file, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("{} not reported: {}\n{}", file.display(), host.ok(&["denials"]), host.log()));
        assert_eq!(group["hooks"], serde_json::json!(["exec-observed"]), "{group}");
        assert_eq!(group["reasons"], serde_json::json!(["unknown-file"]), "{group}");
        let expected = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(file).unwrap()));
        assert_eq!(group["sha256"], expected, "the script's own digest, not its interpreter's: {group}");
    }
    let evil_reported = |path: &Path| host.reported(path, Duration::ZERO);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let evil_group = loop {
        match evil_reported(&unwatched.join("innocent.sh")).or_else(|| evil_reported(Path::new("./innocent.sh"))) {
            Some(group) => break group,
            None if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            None => panic!("the attacker's script was not reported: {}", host.ok(&["denials"])),
        }
    };
    let evil_digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&evil).unwrap()));
    match evil_group["reasons"][0].as_str() {
        Some("unknown-file") => assert_eq!(evil_group["sha256"], evil_digest, "{evil_group}"),
        Some("not-identified") => assert!(evil_group["sha256"].is_null(), "{evil_group}"),
        _ => panic!("{evil_group}"),
    }
    // Settle: a report of an allowed script or of the interpreter would have arrived by now.
    std::thread::sleep(Duration::from_millis(600));
    let groups: serde_json::Value = serde_json::from_str(&host.ok(&["denials", "--json"])).unwrap();
    assert_eq!(groups.as_array().unwrap().len(), 4, "only the four unknown scripts: {groups:#}");
}

/// The row `denials` prints for `file`, split into its columns.
fn denials_row(host: &Host, args: &[&str], file: &Path) -> Option<Vec<String>> {
    let mut all = vec!["denials"];
    all.extend_from_slice(args);
    let out = host.ok(&all);
    let name = file.display().to_string();
    out.lines().find(|l| l.contains(&name)).map(|l| l.split_whitespace().map(str::to_owned).collect())
}

fn column(row: &[String], prefix: &str) -> String {
    row.iter().find(|c| c.starts_with(prefix)).cloned().unwrap_or_else(|| panic!("no {prefix}… column in {row:?}"))
}

/// What `denials` prints, every review command takes back; review states follow the allowlist
/// as it changes, and every change is in the audit log under ids never reused.
#[test]
fn review_identifiers_round_trip_and_states_follow_trust() {
    let Some(mut host) = setup("review") else {
        return;
    };
    host.start(&["--observe-only"]);
    let files: Vec<_> = ["first", "second", "third"].iter().map(|n| host.copy_of_true(host.dir(), n, true)).collect();
    for file in &files {
        host.exec(file, true);
        host.reported(file, Duration::from_secs(5)).unwrap_or_else(|| panic!("not reported: {}", host.log()));
    }
    let row = denials_row(&host, &[], &files[0]).unwrap();
    let (event, short) = (column(&row, "#"), row[row.len() - 5].clone());
    assert_eq!(short.len(), 12, "a short digest in {row:?}");
    let digest = host.reported(&files[0], Duration::ZERO).unwrap()["sha256"].as_str().unwrap().to_owned();
    assert!(digest.starts_with(&short));
    // explain takes the event and the short digest as printed.
    for target in [event.as_str(), short.as_str(), &format!("event:{}", &event[1..])] {
        let out = host.provgate().args(["explain", target]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{target}: {text}");
        assert!(text.contains(&digest), "{target}: {text}");
    }
    // denials takes the cgroup as its CGROUP column prints it, and a file by short digest.
    let cgroup = column(&row, "/provgate-test-review");
    assert!(denials_row(&host, &["--cgroup", &cgroup], &files[1]).is_some());
    let only_first = host.ok(&["denials", &short]);
    assert!(only_first.contains(&files[0].display().to_string()) && !only_first.contains("second"), "{only_first}");
    // States: trusting a file by another way makes its denials "now allowed".
    assert_eq!(denials_row(&host, &[], &files[1]).unwrap().last().unwrap(), "new");
    host.ok(&["allow", files[1].to_str().unwrap()]);
    assert!(denials_row(&host, &["--review", "now-allowed"], &files[1]).is_some());
    assert!(denials_row(&host, &["--review", "new"], &files[1]).is_none());
    // Approving by short digest; a second approval adds nothing unless forced.
    host.ok(&["approve", &short, "--reason", "built by CI"]);
    let again = host.provgate().args(["approve", &short, "--reason", "again"]).output().unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is already allowed by source #"));
    assert_eq!(denials_row(&host, &[], &files[0]).unwrap().last().unwrap(), "approved");
    // Revoking the approval: its denials are "no longer allowed", not "approved".
    let sources: serde_json::Value = serde_json::from_str(&host.ok(&["sources", "--json"])).unwrap();
    let approval =
        sources.as_array().unwrap().iter().find(|s| s["kind"] == "approval").unwrap()["id"].as_i64().unwrap();
    host.ok(&["revoke", &format!("#{approval}"), "--reason", "key leaked"]);
    assert!(denials_row(&host, &["--review", "no-longer-allowed"], &files[0]).is_some());
    // Dismissed: blocked on purpose.
    let third = column(&denials_row(&host, &[], &files[2]).unwrap(), "#");
    host.ok(&["dismiss", &third, "--reason", "crypto miner"]);
    assert_eq!(denials_row(&host, &[], &files[2]).unwrap().last().unwrap(), "dismissed");
    // Ids never reused, and the log names each once.
    host.ok(&["allow", files[2].to_str().unwrap(), "--reason", "changed my mind"]);
    let audit: serde_json::Value = serde_json::from_str(&host.ok(&["audit", "--json"])).unwrap();
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["add-source", "add-source", "revoke-source", "dismiss", "add-source"]);
    let added: Vec<i64> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "add-source")
        .map(|e| e["detail"]["source"].as_i64().unwrap())
        .collect();
    assert!(added.windows(2).all(|w| w[0] < w[1]), "{added:?}");
    assert!(host.ok(&["audit"]).contains("key leaked"));
}

/// A private tmux server running one command in a pane, for a test to type into and read.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &std::process::Command) -> Option<Self> {
        if std::process::Command::new("tmux").arg("-V").output().is_err() {
            return provgate_test_support::missing("tmux is not installed");
        }
        let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
        let mut line: Vec<String> = command
            .get_envs()
            .map(|(k, v)| match v {
                Some(v) => format!("{}={}", k.to_string_lossy(), quote(v)),
                None => format!("-u {}", k.to_string_lossy()),
            })
            .collect();
        line.insert(0, "env".into());
        line.push(quote(command.get_program()));
        line.extend(command.get_args().map(quote));
        // Kept open after the command ends, to read what it printed last.
        let shell = format!("{}; echo provgate-exited-$?; sleep 60", line.join(" "));
        let socket = format!("provgate-test-{}", std::process::id());
        let ok = std::process::Command::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-x", "160", "-y", "45", &shell])
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session");
        Some(Self { socket })
    }

    fn screen(&self) -> String {
        let out = std::process::Command::new("tmux").args(["-L", &self.socket, "capture-pane", "-p"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text`; panics with the screen if it does not.
    #[track_caller]
    fn wait_for(&self, text: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.screen().contains(text) {
            assert!(std::time::Instant::now() < deadline, "{text:?} never showed:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let ok =
            std::process::Command::new("tmux").args(["-L", &self.socket, "send-keys"]).args(keys).status().unwrap();
        assert!(ok.success());
    }

    fn type_text(&self, text: &str) {
        self.keys(&["-l", text]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}

/// The review queue, driven through a real terminal: newest first, with who tried; an approval
/// and a dismissal are applied and audited at once; a pipe is refused.
#[test]
fn the_review_queue_applies_each_decision_at_once() {
    let Some(mut host) = setup("queue") else {
        return;
    };
    host.start(&["--observe-only"]);
    let files: Vec<_> = ["older", "newer"].iter().map(|n| host.copy_of_true(host.dir(), n, true)).collect();
    for file in &files {
        host.exec(file, true);
        host.reported(file, Duration::from_secs(5)).unwrap_or_else(|| panic!("not reported: {}", host.log()));
    }
    let piped = host.provgate().arg("review").output().unwrap();
    assert_ne!(piped.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&piped.stderr).contains("needs a terminal"));
    let mut review = host.provgate();
    review.arg("review");
    let Some(tmux) = Tmux::start(&review) else {
        return;
    };
    tmux.wait_for("provgate review: 1 of 2");
    let first = tmux.screen();
    assert!(first.contains(&files[1].display().to_string()), "newest first:\n{first}");
    assert!(first.contains("nothing vouches for this content"), "{first}");
    // Who tried: the test process is the parent of each exec.
    let parents = first.lines().find(|l| l.contains("PARENTS")).unwrap_or_else(|| panic!("no PARENTS:\n{first}"));
    assert!(parents.contains(&format!("PARENTS     {} ", std::process::id())), "the parent pid:\n{first}");
    tmux.keys(&["a"]);
    tmux.wait_for("approve: why may this run?");
    tmux.type_text("built by our CI");
    tmux.keys(&["Enter"]);
    tmux.wait_for("provgate review: 2 of 2");
    assert!(tmux.screen().contains("approved sha256:"), "{}", tmux.screen());
    assert!(tmux.screen().contains(&files[0].display().to_string()));
    tmux.keys(&["d"]);
    tmux.type_text("not ours");
    tmux.keys(&["Enter"]);
    tmux.wait_for("1 approved, 1 dismissed, 0 skipped");
    tmux.wait_for("provgate-exited-0");
    let state = |file: &Path| host.reported(file, Duration::ZERO).unwrap()["state"].as_str().unwrap().to_owned();
    assert_eq!(state(&files[1]), "approved");
    assert_eq!(state(&files[0]), "dismissed");
    let audit = host.ok(&["audit"]);
    assert!(audit.contains("built by our CI") && audit.contains("not ours"), "{audit}");
    drop(tmux);
    // Tables fit the terminal: long reasons are for --wide.
    let long = "a reason long enough to make a row wider than any terminal ".repeat(4);
    host.ok(&["allow", files[0].to_str().unwrap(), "--reason", &long]);
    let mut sources = host.provgate();
    sources.arg("sources");
    let tmux = Tmux::start(&sources).unwrap();
    tmux.wait_for("provgate-exited-0");
    let screen = tmux.screen();
    assert!(screen.contains("manual") && !screen.contains("a reason long enough"), "{screen}");
    assert!(host.ok(&["sources", "--wide"]).contains(&long));
}

#[test]
fn events_past_their_retention_are_deleted_by_the_daemon() {
    let Some(mut host) = setup("retention") else {
        return;
    };
    host.pg.write_config("event_retention = \"3s\"\n");
    host.start(&["--observe-only"]);
    let unknown = host.copy_of_true(host.dir(), "unknown-retained", false);
    host.exec(&unknown, true);
    assert!(host.reported(&unknown, Duration::from_secs(5)).is_some(), "exec not reported: {}", host.log());
    // Deleted once older than 3 s, by the daemon's own schedule (a quarter of the retention).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while host.reported(&unknown, Duration::ZERO).is_some() {
        assert!(std::time::Instant::now() < deadline, "the event outlived its retention: {}", host.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(host.log().contains("old events deleted"), "{}", host.log());
}

/// The observe program finds the scope of a process by climbing from its cgroup with plain
/// loads, and through the kernel's helper for cgroups deeper than that climb goes: processes in
/// cgroups below the scope, near and far below, are in it; one beside it is not, nor one above
/// it (ruled out by its cgroup's level alone, before the file is read).
#[test]
fn processes_in_cgroups_below_the_scope_are_in_it_and_beside_or_above_it_are_not() {
    let Some(mut host) = setup("nested") else {
        return;
    };
    host.start(&["--observe-only"]);
    let near = host.cgroup.join("a/b");
    let far = (0..40).fold(host.cgroup.clone(), |path, level| path.join(format!("d{level}")));
    let beside = host.cgroup.with_extension("beside");
    for cgroup in [&near, &far, &beside] {
        std::fs::create_dir_all(cgroup).unwrap();
    }
    let above = host.cgroup.parent().unwrap().to_path_buf();
    let cases =
        [("in-near", &near, true), ("in-far", &far, true), ("beside", &beside, false), ("above", &above, false)];
    for (name, cgroup, _) in cases {
        let program = host.copy_of_true(host.dir(), name, true);
        host.exec_in(&program, Some(cgroup));
    }
    for (name, cgroup, in_scope) in cases {
        let program = host.dir().join(name);
        let wait = Duration::from_secs(if in_scope { 5 } else { 1 });
        match host.reported(&program, wait) {
            Some(group) => {
                assert!(in_scope, "{name} is outside the scope, and was reported: {group}");
                let cgroup_id = std::fs::metadata(cgroup).unwrap().ino();
                assert_eq!(group["cgroup_ids"], serde_json::json!([cgroup_id]), "{name}");
            }
            None => assert!(!in_scope, "{name} is in the scope and was not reported: {}", host.log()),
        }
    }
    remove_cgroup_tree(&beside);
}

/// The kernel device number as the programs key files by (`MAJOR << 20 | MINOR`).
fn kernel_dev(path: &Path) -> u32 {
    let dev = std::fs::metadata(path).unwrap().dev();
    (libc::major(dev) << 20) | libc::minor(dev)
}

/// Two allowed files whose identities share one slot of the observe program's verdict slots:
/// the file whose slot another took is found in the verdict map, and a revoked file is reported
/// again even when it held the slot: a slot never keeps a verdict the map lost.
#[test]
fn files_sharing_a_verdict_slot_keep_their_own_verdicts() {
    use provgate_common::{FileKey, VerdictSlot};
    let Some(mut host) = setup("slots") else {
        return;
    };
    let dir = host.mount_tmpfs("slots");
    let first = host.copy_of_true(&dir, "first", true);
    let slot_of = |path: &Path| {
        let key = FileKey { ino: std::fs::metadata(path).unwrap().ino(), dev: kernel_dev(path), _pad: 0 };
        VerdictSlot::index(&key)
    };
    // Inode numbers come in sequence: make files until one lands in the first file's slot.
    let mut second = None;
    for n in 0..200_000 {
        let candidate = dir.join(format!("candidate-{n}"));
        std::fs::write(&candidate, b"").unwrap();
        if slot_of(&candidate) == slot_of(&first) {
            second = Some(candidate);
            break;
        }
        std::fs::remove_file(&candidate).unwrap();
    }
    let second = second.expect("a file in the same slot");
    let mut program = std::fs::read("/bin/true").unwrap();
    program.extend_from_slice(b"\nprovgate-second\n");
    std::fs::write(&second, program).unwrap();
    std::fs::set_permissions(&second, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    assert_eq!(slot_of(&second), slot_of(&first), "writing the file kept its identity");
    let source_of = |host: &Host| -> String {
        let sources: serde_json::Value = serde_json::from_str(&host.ok(&["sources", "--json"])).unwrap();
        sources.as_array().unwrap().last().unwrap()["id"].to_string()
    };
    // Runs `files`, then an unknown file: events are recorded in order, so once the unknown
    // file is reported, any report of `files` would be too. The names of those reported.
    let mut round = 0;
    let mut run = |host: &Host, files: &[&Path]| -> Vec<String> {
        round += 1;
        let count = |f: &Path| host.reported(f, Duration::ZERO).and_then(|g| g["count"].as_u64()).unwrap_or(0);
        let before: Vec<u64> = files.iter().map(|f| count(f)).collect();
        let unknown = host.copy_of_true(host.dir(), &format!("unknown-{round}"), true);
        for file in files {
            host.exec(file, true);
        }
        host.exec(&unknown, true);
        assert!(host.reported(&unknown, Duration::from_secs(5)).is_some(), "round {round}: {}", host.log());
        files
            .iter()
            .zip(before)
            .filter(|(f, before)| count(f) > *before)
            .map(|(f, _)| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    };
    host.ok(&["allow", first.to_str().unwrap()]);
    let first_source = source_of(&host);
    host.start(&["--observe-only"]);
    assert!(run(&host, &[&first]).is_empty(), "the first file, in its slot, is allowed");
    // The second file takes the slot; the first is found in the map.
    host.ok(&["allow", second.to_str().unwrap()]);
    let second_source = source_of(&host);
    wait_for_verdicts(&host, &[&first, &second]);
    assert!(run(&host, &[&first, &second]).is_empty(), "both allowed, the first from the map");
    // Revoking the file whose slot the other holds: it alone is reported.
    host.ok(&["revoke", &first_source]);
    wait_until_reported(&host, &first);
    assert!(run(&host, &[&second]).is_empty(), "the second file keeps its slot and verdict");
    // Allowed again, the first file takes the slot back; revoking it, the slot's holder, must
    // empty the slot, and the second file is found in the map.
    host.ok(&["allow", first.to_str().unwrap()]);
    wait_for_verdicts(&host, &[&first, &second]);
    assert!(run(&host, &[&first, &second]).is_empty(), "both allowed, the second from the map");
    let again = source_of(&host);
    host.ok(&["revoke", &again]);
    wait_until_reported(&host, &first);
    assert!(run(&host, &[&second]).is_empty(), "the second file keeps its verdict");
    host.ok(&["revoke", &second_source]);
    wait_until_reported(&host, &second);
}

/// Until the daemon holds an allow verdict for each of `files` in the kernel's verdict map (as
/// `explain` reports it).
fn wait_for_verdicts(host: &Host, files: &[&Path]) {
    let held = |f: &&Path| {
        let out = host.provgate().args(["explain", "--json"]).arg(f).output().unwrap();
        let explained: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        explained["kernel"].as_str().is_some_and(|k| k.starts_with("current: the kernel allows"))
    };
    host.wait_until(&format!("verdicts for {files:?}"), Duration::from_secs(20), || files.iter().all(held));
}

/// Execs `file` until the daemon reports it once more (after a revocation it applies on its own).
fn wait_until_reported(host: &Host, file: &Path) {
    let count = || host.reported(file, Duration::ZERO).and_then(|g| g["count"].as_u64()).unwrap_or(0);
    let before = count();
    host.wait_until(&format!("{} reported again", file.display()), Duration::from_secs(20), || {
        count() > before || {
            host.exec(file, true);
            false
        }
    });
}
