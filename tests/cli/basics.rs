//! The CLI as users and scripts drive it: output formats, exit codes, and bad input (missing
//! files, directories, unreadable files, locked, corrupt or foreign stores) answered with one
//! line naming the problem, losing nothing already stored.
use std::{
    os::unix::{fs::PermissionsExt as _, process::CommandExt as _},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use sha2::{Digest as _, Sha256};

fn provgate(db: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provgate"));
    cmd.env("PROVGATE_DB", db).env("PROVGATE_RUN_DIR", db.with_extension("run")).env("RUST_LOG", "warn");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("provgate runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store/provgate.db");
    (dir, db)
}

fn sources(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM sources", [], |r| r.get(0)).unwrap()
}

#[test]
fn hash_prints_digest_and_path() {
    let (dir, db) = fixture();
    let file = dir.path().join("tool");
    std::fs::write(&file, b"some executable bytes").unwrap();
    let out = run(provgate(&db).arg("hash").arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = hex::encode(Sha256::digest(b"some executable bytes"));
    assert_eq!(stdout(&out), format!("sha256:{expected}  {}\n", file.display()));
}

#[test]
fn hash_reports_each_bad_path_on_one_line() {
    let (dir, db) = fixture();
    let good = dir.path().join("good");
    std::fs::write(&good, b"x").unwrap();
    let missing = dir.path().join("missing");
    let out = run(provgate(&db).arg("hash").arg(&missing).arg(dir.path()).arg(&good));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].contains(&missing.display().to_string()) && lines[0].contains("no such file"), "{err}");
    assert!(lines[1].contains(&dir.path().display().to_string()) && lines[1].contains("directory"), "{err}");
    assert!(stdout(&out).contains("good"), "good files are still hashed");
}

#[test]
fn unreadable_file_is_named() {
    let (dir, db) = fixture();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, b"root only").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = provgate(&db);
    cmd.arg("hash").arg(&secret);
    // SAFETY: only async-signal-safe calls between fork and exec.
    if unsafe { libc::geteuid() } == 0 {
        unsafe {
            cmd.pre_exec(|| {
                if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out).trim(), format!("provgate: {}: permission denied", secret.display()));
}

#[test]
fn allow_is_all_or_nothing_and_keeps_what_was_stored() {
    let (dir, db) = fixture();
    let first = dir.path().join("first");
    std::fs::write(&first, b"first").unwrap();
    let out = run(provgate(&db).arg("allow").arg(&first));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("allowed sha256:"));
    assert_eq!(sources(&db), 1);

    let second = dir.path().join("second");
    std::fs::write(&second, b"second").unwrap();
    let missing = dir.path().join("nope");
    let out = run(provgate(&db).arg("allow").arg(&second).arg(&missing));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}: no such file", missing.display())), "{err}");
    assert!(err.contains("nothing was added"), "{err}");
    assert_eq!(sources(&db), 1, "the failed allow added nothing and removed nothing");
}

#[test]
fn locked_store_gives_one_line_and_loses_nothing() {
    let (dir, db) = fixture();
    let file = dir.path().join("f");
    std::fs::write(&file, b"f").unwrap();
    assert!(run(provgate(&db).arg("allow").arg(&file)).status.success());
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = run(provgate(&db).arg("allow").arg(&file));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&db.display().to_string()) && err.contains("locked"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(sources(&db), 1);
}

#[test]
fn corrupt_or_foreign_store_is_refused_untouched() {
    let (dir, db) = fixture();
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::write(&db, b"this is somebody's text file\n").unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, b"f").unwrap();
    for args in [vec!["allow", file.to_str().unwrap()], vec!["denials"]] {
        let out = run(provgate(&db).args(&args));
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&db.display().to_string()) && err.contains("not an SQLite database"), "{err}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), b"this is somebody's text file\n");

    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    let out = run(provgate(&foreign).arg("denials"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("another application"), "{}", stderr(&out));
}

#[test]
fn denials_and_status_without_a_daemon() {
    let (_dir, db) = fixture();
    let out = run(provgate(&db).arg("denials"));
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "no denials recorded");
    let out = run(provgate(&db).args(["denials", "--json"]));
    assert_eq!(stdout(&out).trim(), "[]");
    let out = run(provgate(&db).args(["status", "--pin-dir", "/nonexistent-provgate-pins"]));
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).contains("not running"));
    let out = run(provgate(&db).args(["status", "--wait", "0.3", "--pin-dir", "/nonexistent-provgate-pins"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("gave up after 0.3s"), "{}", stderr(&out));
}

#[test]
fn the_systemd_unit_verifies() {
    let Some(analyze) =
        ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].into_iter().find(|p| Path::new(p).exists())
    else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "systemd-analyze is missing");
        eprintln!("skipped: no systemd-analyze on this machine");
        return;
    };
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/provgate.service")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("provgate.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/provgate", env!("CARGO_BIN_EXE_provgate"))).unwrap();
    let out = run(Command::new(analyze).arg("verify").arg(&path));
    assert!(out.status.success() && out.stderr.is_empty(), "{}", stderr(&out));
}
