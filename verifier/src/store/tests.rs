use super::*;
use crate::hashing::Sha256Digest;

fn digest(byte: u8) -> Sha256Digest {
    Sha256Digest([byte; 32])
}

fn allowed(store: &Store, d: &Sha256Digest) -> Result<bool> {
    store.allowed_digests().map(|set| set.contains(d))
}

fn manual(name: &str) -> NewSource {
    NewSource {
        kind: "manual",
        name: name.into(),
        signer: None,
        issuer: None,
        detail: None,
        created_by: "test".into(),
        reason: None,
    }
}

fn record(byte: u8, path: &str) -> SourceRecord {
    SourceRecord { digest: digest(byte), path: Some(path.into()), package: None }
}

#[test]
fn creates_store_and_allows_digests() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/dir/p.db");
    let mut store = Store::open(&path).unwrap();
    assert!(!allowed(&store, &digest(1)).unwrap());
    store.add_source(&manual("a"), &[record(1, "/bin/a"), record(2, "relative/b")]).unwrap();
    assert!(allowed(&store, &digest(1)).unwrap());
    assert!(allowed(&store, &digest(2)).unwrap());
    assert!(!allowed(&store, &digest(3)).unwrap());
    assert_eq!(store.allowed_digests().unwrap().len(), 2);
    // Only absolute paths are scanned.
    assert_eq!(store.recorded_paths().unwrap(), vec![std::path::PathBuf::from("/bin/a")]);
    store.integrity_check().unwrap();
    drop(store);
    // Reopening keeps everything and does not re-run migrations.
    let store = Store::open(&path).unwrap();
    assert!(allowed(&store, &digest(1)).unwrap());
    assert_eq!(schema::user_version(&store.conn).unwrap(), schema::LATEST);
}

#[test]
fn refuses_a_file_that_is_not_sqlite_and_leaves_it_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "my precious notes, not a database\n").unwrap();
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
    assert!(err.to_string().contains("notes.txt"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "my precious notes, not a database\n");
}

#[test]
fn refuses_another_applications_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("CREATE TABLE customers (name TEXT); INSERT INTO customers VALUES ('x');").unwrap();
    drop(other);
    let err = Store::open(&path).err().unwrap();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    let other = rusqlite::Connection::open(&path).unwrap();
    let n: i64 = other.query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 1);
}

#[test]
fn refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    drop(Store::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", schema::LATEST + 1).unwrap();
    drop(conn);
    assert!(matches!(Store::open(&path).err().unwrap(), StoreError::TooNew { .. }));
}

#[test]
fn reports_a_corrupt_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let mut store = Store::open(&path).unwrap();
    let records: Vec<_> = (0..=255u8).map(|b| record(b, "/x")).collect();
    store.add_source(&manual("many"), &records).unwrap();
    drop(store);
    // Fold the WAL into the main file, then overwrite every page after the first with junk.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;").unwrap();
    drop(conn);
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8192);
    for b in bytes.iter_mut().skip(4096) {
        *b = 0xa5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = match Store::open(&path) {
        Err(e) => e,
        Ok(store) => store.integrity_check().err().or_else(|| store.allowed_digests().err()).unwrap(),
    };
    assert!(matches!(err, StoreError::Corrupt { .. } | StoreError::NotADatabase { .. }), "{err}");
    assert!(err.to_string().contains("p.db"));
}

#[test]
fn reports_a_locked_store_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let mut store = Store::open(&path).unwrap();
    store.add_source(&manual("first"), &[record(7, "/bin/seven")]).unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = store.add_source(&manual("second"), &[record(8, "/bin/eight")]).unwrap_err();
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(allowed(&store, &digest(7)).unwrap());
    assert!(!allowed(&store, &digest(8)).unwrap());
}

#[test]
fn groups_events_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    let event = |at_ms, comm: &str, sha| EventRecord {
        at_ms,
        hook: "exec",
        action: "denied",
        reason: "unknown-file",
        tgid: 10,
        pid: 10,
        uid: 0,
        comm: comm.into(),
        cgroup_id: 5,
        dev: 1,
        ino: 2,
        path: Some("/tmp/x".into()),
        sha256: sha,
    };
    store
        .insert_events(&[event(1, "a", Some(digest(9))), event(3, "b", Some(digest(9))), event(2, "c", None)])
        .unwrap();
    let groups = store.denial_groups().unwrap();
    assert_eq!(groups.len(), 2);
    let hashed = groups.iter().find(|g| g.sha256.is_some()).unwrap();
    assert_eq!(hashed.count, 2);
    assert_eq!((hashed.first_ms, hashed.last_ms), (1, 3));
    assert_eq!(hashed.comms.len(), 2);
    assert_eq!(hashed.sha256.as_deref(), Some(digest(9).to_hex().as_str()));
}
