//! The CLI as users and scripts drive it: output formats, exit codes, and bad input (missing
//! files, directories, unreadable files, locked, corrupt or foreign stores) answered with one
//! line naming the problem, losing nothing already stored.
use std::{
    os::unix::{fs::PermissionsExt as _, process::CommandExt as _},
    path::Path,
    process::Command,
};

use provgate_test_support::{Provgate, Run, skip_or_fail};
use sha2::{Digest as _, Sha256};

/// The binary with a store one folder down, which provgate creates.
fn fixture() -> Provgate {
    Provgate::new(env!("CARGO_BIN_EXE_provgate")).db_at("store/provgate.db")
}

fn sources(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM sources", [], |r| r.get(0)).unwrap()
}

#[test]
fn hash_prints_digest_and_path() {
    let pg = fixture();
    let dir = pg.dir();
    let file = dir.join("tool");
    std::fs::write(&file, b"some executable bytes").unwrap();
    let out = Run::of(pg.command().arg("hash").arg(&file));
    assert!(out.success(), "{}", out.stderr);
    let expected = hex::encode(Sha256::digest(b"some executable bytes"));
    assert_eq!(out.stdout, format!("sha256:{expected}  {}\n", file.display()));
}

#[test]
fn hash_reports_each_bad_path_on_one_line() {
    let pg = fixture();
    let dir = pg.dir();
    let good = dir.join("good");
    std::fs::write(&good, b"x").unwrap();
    let missing = dir.join("missing");
    let out = Run::of(pg.command().arg("hash").arg(&missing).arg(dir).arg(&good));
    assert_eq!(out.code, 1);
    let err = out.stderr;
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].contains(&missing.display().to_string()) && lines[0].contains("no such file"), "{err}");
    assert!(lines[1].contains(&dir.display().to_string()) && lines[1].contains("directory"), "{err}");
    assert!(out.stdout.contains("good"), "good files are still hashed");
}

#[test]
fn unreadable_file_is_named() {
    let pg = fixture();
    let dir = pg.dir();
    let secret = dir.join("secret");
    std::fs::write(&secret, b"root only").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = pg.command();
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
    let out = Run::of(&mut cmd);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr.trim(), format!("provgate: {}: permission denied", secret.display()));
}

#[test]
fn allow_is_all_or_nothing_and_keeps_what_was_stored() {
    let pg = fixture();
    let (dir, db) = (pg.dir(), pg.db());
    let first = dir.join("first");
    std::fs::write(&first, b"first").unwrap();
    let out = Run::of(pg.command().arg("allow").arg(&first));
    assert!(out.success(), "{}", out.stderr);
    assert!(out.stdout.starts_with("allowed sha256:"));
    assert_eq!(sources(&db), 1);

    let second = dir.join("second");
    std::fs::write(&second, b"second").unwrap();
    let missing = dir.join("nope");
    let out = Run::of(pg.command().arg("allow").arg(&second).arg(&missing));
    assert_eq!(out.code, 1);
    let err = out.stderr;
    assert!(err.contains(&format!("{}: no such file", missing.display())), "{err}");
    assert!(err.contains("nothing was added"), "{err}");
    assert_eq!(sources(&db), 1, "the failed allow added nothing and removed nothing");
}

#[test]
fn locked_store_gives_one_line_and_loses_nothing() {
    let pg = fixture();
    let (dir, db) = (pg.dir(), pg.db());
    let file = dir.join("f");
    std::fs::write(&file, b"f").unwrap();
    assert!(Run::of(pg.command().arg("allow").arg(&file)).success());
    let holder = rusqlite::Connection::open(&db).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let out = Run::of(pg.command().arg("allow").arg(&file));
    assert_eq!(out.code, 1);
    let err = out.stderr;
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&db.display().to_string()) && err.contains("locked"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(sources(&db), 1);
}

#[test]
fn corrupt_or_foreign_store_is_refused_untouched() {
    let pg = fixture();
    let (dir, db) = (pg.dir(), pg.db());
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::write(&db, b"this is somebody's text file\n").unwrap();
    let file = dir.join("f");
    std::fs::write(&file, b"f").unwrap();
    for args in [vec!["allow", file.to_str().unwrap()], vec!["denials"]] {
        let out = Run::of(pg.command().args(&args));
        assert_eq!(out.code, 1);
        let err = out.stderr;
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&db.display().to_string()) && err.contains("not an SQLite database"), "{err}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), b"this is somebody's text file\n");

    let foreign = dir.join("foreign.db");
    rusqlite::Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    let foreign = Provgate::new(env!("CARGO_BIN_EXE_provgate")).db_at(&foreign);
    let out = foreign.run(&["denials"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("another application"), "{}", out.stderr);
}

#[test]
fn denials_and_status_without_a_daemon() {
    let pg = fixture();
    let out = Run::of(pg.command().arg("denials"));
    assert!(out.success());
    assert_eq!(out.stdout.trim(), "no denials recorded");
    let out = Run::of(pg.command().args(["denials", "--json"]));
    assert_eq!(out.stdout.trim(), "[]");
    let out = Run::of(pg.command().args(["status", "--pin-dir", "/nonexistent-provgate-pins"]));
    assert_eq!(out.code, 3);
    assert!(out.stdout.contains("not running"));
    let out = Run::of(pg.command().args(["status", "--wait", "0.3", "--pin-dir", "/nonexistent-provgate-pins"]));
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("gave up after 0.3s"), "{}", out.stderr);
}

#[test]
fn the_systemd_unit_verifies() {
    let Some(analyze) =
        ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].into_iter().find(|p| Path::new(p).exists())
    else {
        return skip_or_fail("no systemd-analyze on this machine");
    };
    let unit = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../packaging/provgate.service")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("provgate.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/provgate", env!("CARGO_BIN_EXE_provgate"))).unwrap();
    let out = Run::of(Command::new(analyze).arg("verify").arg(&path));
    assert!(out.success() && out.stderr.is_empty(), "{}", out.stderr);
}
