//! The daemon under abuse, on this host (observe-only, a test cgroup, test-owned tmpfs mounts):
//! killed with SIGKILL mid-scan and mid-approval, handed a corrupt or foreign store, watching a
//! filesystem that gets 100,000 new files, serving metrics and its API.
mod support;

use std::{
    io::{Read as _, Write as _},
    os::unix::{fs::PermissionsExt as _, process::CommandExt as _},
    path::Path,
    time::{Duration, Instant},
};

use support::setup;

fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let result: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(result, "ok");
}

fn count(db: &Path, sql: &str) -> i64 {
    try_count(db, sql).unwrap()
}

fn try_count(db: &Path, sql: &str) -> rusqlite::Result<i64> {
    rusqlite::Connection::open(db)?.query_row(sql, [], |r| r.get(0))
}

/// Files with an execute bit, so a scan hashes them; distinct contents.
fn populate(dir: &Path, files: usize, size: usize) {
    let mut block = vec![0u8; size];
    for i in 0..files {
        block[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let path = dir.join(format!("bin{i:05}"));
        std::fs::write(&path, &block).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn killed_mid_scan_the_store_is_intact_and_a_restart_resumes() {
    let Some(mut host) = setup("killscan") else {
        return;
    };
    let root = host.mount_tmpfs("scanned");
    const FILES: usize = 1500;
    populate(&root, FILES, 1 << 20);
    let root_arg = root.display().to_string();
    host.spawn(&["--observe-only", "--root", &root_arg]);
    // Kill as soon as the first checkpoint of the file cache is committed: mid-scan.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Before the schema exists the query fails; that is "not yet".
        if try_count(&host.db(), "SELECT count(*) FROM file_cache").is_ok_and(|n| n > 0) {
            break;
        }
        assert!(Instant::now() < deadline, "no checkpoint: {}", host.log());
        std::thread::sleep(Duration::from_millis(10));
    }
    host.kill9();
    integrity_ok(&host.db());
    let saved = count(&host.db(), "SELECT count(*) FROM file_cache") as u64;
    assert!(saved > 0 && saved < FILES as u64, "killed mid-scan, {saved} of {FILES} saved");

    let status = host.start(&["--observe-only", "--root", &root_arg]);
    let hashes = status["daemon"]["hashes"].as_u64().unwrap();
    let hits = status["daemon"]["cache_hits"].as_u64().unwrap();
    assert!(hits >= saved, "the restart reused what was saved ({hits} hits, {saved} saved)");
    assert_eq!(hashes + hits, FILES as u64, "every file accounted for once");
    host.stop();
    integrity_ok(&host.db());
}

#[test]
fn killed_during_approvals_the_store_stays_consistent_and_a_restart_applies_them() {
    let Some(mut host) = setup("killapprove") else {
        return;
    };
    let root = host.mount_tmpfs("apps");
    let unknown = host.copy_of_true(&root, "tool", true);
    let root_arg = root.display().to_string();
    host.start(&["--observe-only", "--root", &root_arg]);
    // Approval commands killed at staggered moments: each either lands whole or not at all.
    for i in 0..25u64 {
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&i.to_le_bytes());
        let mut child = host
            .provgate()
            .args(["approve", &hex::encode(digest), "--reason", "kill test"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(i * 2));
        let _ = child.kill();
        let _ = child.wait();
    }
    // The daemon is killed right as it applies an approval of the real file.
    let digest = host.ok(&["hash", unknown.to_str().unwrap()]);
    let digest = digest.split_whitespace().next().unwrap().to_owned();
    let approve = host.provgate().args(["approve", &digest, "--reason", "needed"]).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    host.kill9();
    assert!(approve.wait_with_output().unwrap().status.success(), "the approval itself does not need the daemon");
    integrity_ok(&host.db());
    let db = host.db();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM sources s WHERE NOT EXISTS (SELECT 1 FROM source_digests d WHERE d.source_id = s.id)"
        ),
        0,
        "no source without its digests"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM sources"),
        count(&db, "SELECT count(*) FROM audit_log WHERE action = 'add-source'"),
        "every source has its audit entry"
    );
    // Restarted, the daemon applies the approval: the file is in the kernel map.
    host.start(&["--observe-only", "--root", &root_arg]);
    let explain = host.ok(&["explain", unknown.to_str().unwrap()]);
    assert!(explain.contains("ALLOWED") && explain.contains("kernel: current"), "{explain}");
}

#[test]
fn the_daemon_refuses_a_corrupt_or_foreign_store_and_leaves_it_alone() {
    let Some(host) = setup("badstore") else {
        return;
    };
    let garbage = b"definitely not SQLite\n".repeat(100);
    std::fs::write(host.db(), &garbage).unwrap();
    let out = host
        .provgate()
        .args(["run", "--mode", "audit", "--observe-only", "--no-watch-overlays", "--metrics-address", ""])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(last.contains(&host.db().display().to_string()) && last.contains("not an SQLite database"), "{err}");
    assert_eq!(std::fs::read(host.db()).unwrap(), garbage);

    std::fs::remove_file(host.db()).unwrap();
    rusqlite::Connection::open(host.db()).unwrap().execute_batch("CREATE TABLE invoices (n)").unwrap();
    let out = host.provgate().args(["run", "--mode", "audit", "--observe-only"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another application"));
    assert_eq!(count(&host.db(), "SELECT count(*) FROM sqlite_schema WHERE name = 'invoices'"), 1);
}

#[test]
fn the_watcher_survives_100000_new_files_and_still_hashes_before_exec() {
    let Some(mut host) = setup("watch100k") else {
        return;
    };
    let root = host.mount_tmpfs("busy");
    host.ok(&["allow", "/bin/true"]);
    let root_arg = root.display().to_string();
    host.start(&["--observe-only", "--root", &root_arg]);
    let many = root.join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..100_000 {
        std::fs::write(many.join(format!("f{i:06}")), b"x").unwrap();
    }
    // Written just now, executed at once: trusted content is allowed (nothing reported),
    // unknown content is reported.
    let trusted = host.copy_of_true(&root, "fresh-trusted", false);
    host.exec(&trusted, true);
    let unknown = host.copy_of_true(&root, "fresh-unknown", true);
    host.exec(&unknown, true);
    assert!(host.reported(&unknown, Duration::from_secs(10)).is_some(), "{}", host.log());
    assert!(host.reported(&trusted, Duration::ZERO).is_none(), "the exec waited for the hash");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = host.status().expect("daemon alive");
        let seen = status["daemon"]["close_write_events"].as_u64().unwrap();
        assert_eq!(status["daemon"]["fanotify_overflows"], 0);
        if seen >= 100_000 {
            assert!(status["daemon"]["exec_permission_events"].as_u64().unwrap() >= 2);
            break;
        }
        assert!(Instant::now() < deadline, "only {seen} close-write events seen");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Files the daemon has hashed and that have not changed since stop waiting for it at their exec
/// (fanotify ignore marks), a written file is seen again, and a restarted daemon marks its cached
/// files again without hashing them.
#[test]
fn unchanged_files_stop_waiting_for_the_daemon_and_changed_ones_do_not() {
    let Some(mut host) = setup("skipmarks") else {
        return;
    };
    let root = host.mount_tmpfs("apps");
    let tool = host.copy_of_true(&root, "tool", false);
    host.ok(&["allow", tool.to_str().unwrap()]);
    let watch = root.display().to_string();
    host.start(&["--observe-only", "--watch", &watch]);
    let counter =
        |host: &support::Host, name: &str| host.status().expect("daemon alive")["daemon"][name].as_u64().unwrap();
    // Marks are placed at start for the cached files, then at each exec the daemon answers.
    let wait_for_mark = |host: &support::Host| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while counter(host, "exec_skip_marks") == 0 {
            assert!(Instant::now() < deadline, "no ignore mark placed: {}", host.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    host.exec(&tool, true);
    wait_for_mark(&host);
    let before = counter(&host, "exec_permission_events");
    for _ in 0..5 {
        host.exec(&tool, true);
    }
    assert_eq!(counter(&host, "exec_permission_events"), before, "unchanged: the execs did not wait");
    assert!(host.reported(&tool, Duration::ZERO).is_none(), "{}", host.log());
    // Written: the kernel drops the mark, the exec waits again, and the new content is judged.
    let mut bytes = std::fs::read(&tool).unwrap();
    bytes.extend_from_slice(b"\nchanged\n");
    std::fs::write(&tool, bytes).unwrap();
    host.exec(&tool, true);
    assert_eq!(counter(&host, "exec_permission_events"), before + 1, "the changed file was held");
    let group = host.reported(&tool, Duration::from_secs(5)).unwrap_or_else(|| panic!("{}", host.log()));
    assert_eq!(group["reasons"], serde_json::json!(["unknown-file"]), "{group}");
    // Restarted: the marks are rebuilt from the file cache; nothing is hashed again.
    host.stop();
    host.start(&["--observe-only", "--watch", &watch]);
    wait_for_mark(&host);
    let (events, hashes) = (counter(&host, "exec_permission_events"), counter(&host, "hashes"));
    host.exec(&tool, true);
    assert_eq!(counter(&host, "exec_permission_events"), events, "marked again after the restart");
    assert_eq!(counter(&host, "hashes"), hashes);
}

#[test]
fn metrics_are_served_on_loopback_unless_asked_otherwise() {
    let Some(mut host) = setup("metrics") else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    host.ok(&["allow", "/bin/true"]);
    host.start(&["--observe-only", "--metrics-address", &address]);
    let unknown = host.copy_of_true(host.dir(), "metric-unknown", true);
    host.exec(&unknown, true);
    host.reported(&unknown, Duration::from_secs(5)).expect("event");
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.contains("# TYPE provgate_decisions_total counter"), "{body}");
    assert!(body.contains(r#"provgate_decisions_total{hook="exec-observed",verdict="would_deny"} 1"#), "{body}");
    assert!(body.contains("provgate_events_recorded_total 1"), "{body}");
    assert!(body.contains("provgate_enforcing 0"), "{body}");
    host.stop();

    let out = host
        .provgate()
        .args(["run", "--mode", "audit", "--observe-only", "--metrics-address", "0.0.0.0:9999"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a loopback address") && stderr.contains("metrics_public = true"), "{stderr}");

    // Asked for explicitly, any address is served.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    host.start(&["--observe-only", "--metrics-public", "--metrics-address", &format!("0.0.0.0:{port}")]);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    host.stop();
}

#[test]
fn the_api_socket_is_root_only() {
    let Some(mut host) = setup("api") else { return };
    host.start(&["--observe-only"]);
    let socket = host.dir().join("run/api.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode & 0o077, 0, "socket mode {mode:o}: no access for group or others");
    // The run directory must be reachable for the unprivileged user to reach the socket.
    std::fs::set_permissions(host.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(host.dir().join("run"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = host.provgate();
    cmd.arg("status");
    // SAFETY: only setgid/setuid between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("root-only"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Two daemons given the same pin directory would share maps and links: the second would adopt
/// the first one's maps and release its links while the first still writes to them. Each has its
/// own run directory here, so the run directory's lock does not stop the second; the pin
/// directory's does, naming it, and the first daemon goes on with its pins.
#[test]
fn a_second_daemon_on_the_same_pin_directory_refuses_to_start() {
    let Some(mut host) = setup("pin-lock") else { return };
    let pins = host.mount("bpf", "pins");
    host.start(&["--keep-on-exit"]);
    let pinned = || -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(&pins).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    let before = pinned();
    assert!(before.iter().any(|n| n == "VERDICTS"), "the first daemon pinned its maps: {before:?}");

    let other = provgate_test_support::Provgate::new(env!("CARGO_BIN_EXE_provgate")).env_remove("CI");
    let mut second = other
        .command()
        .args(["run", "--mode", "audit", "--keep-on-exit", "--no-watch-overlays", "--metrics-address", ""])
        .arg("--cgroup")
        .arg(&host.cgroup)
        .arg("--pin-dir")
        .arg(&pins)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            let _ = second.wait();
            panic!("the second daemon started on the first one's pin directory");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    second.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(!status.success(), "the second daemon exits with an error: {stderr}");
    let expected = format!("pin directory {} is in use by another provgate daemon", pins.display());
    assert!(stderr.contains(&expected), "the error names the pin directory: {stderr}");
    assert!(host.status().is_some(), "the first daemon goes on: {}", host.log());
    assert_eq!(pinned(), before, "the first daemon's pins are untouched");
}
