use super::*;
use crate::hashing::Sha256;
use provgate_sbom::DigestRecord;

fn digest(byte: u8) -> Sha256 {
    Sha256([byte; 32])
}

fn allowed(store: &Store, d: &Sha256) -> Result<bool> {
    store.allowed_digests().map(|set| set.contains(d))
}

pub(crate) fn manual(name: &str) -> NewSource {
    NewSource {
        kind: crate::trust::SourceKind::Manual,
        name: name.into(),
        signer: None,
        issuer: None,
        detail: None,
        created_by: "test".into(),
        reason: None,
        evidence: None,
    }
}

fn record(byte: u8, path: &str) -> DigestRecord {
    DigestRecord { sha256: digest(byte), path: Some(path.into()), package: None }
}

/// A denied exec at `at_ms` about `sha256`; tests change the fields they are about.
fn denied_exec(at_ms: i64, sha256: Option<Sha256>) -> EventRecord {
    EventRecord {
        at_ms,
        hook: "exec".into(),
        action: "denied".into(),
        reason: "unknown-file".into(),
        tgid: 1,
        pid: 1,
        uid: 0,
        comm: "c".into(),
        cgroup_id: 1,
        cgroup_path: None,
        container: None,
        dev: 1,
        ino: 1,
        path: None,
        sha256,
        context: Default::default(),
    }
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
        tgid: 10,
        pid: 10,
        comm: comm.into(),
        cgroup_id: 5,
        cgroup_path: Some("/sys/fs/cgroup/x".into()),
        ino: 2,
        path: Some("/tmp/x".into()),
        ..denied_exec(at_ms, sha)
    };
    store
        .insert_events(&[event(1, "a", Some(digest(9))), event(3, "b", Some(digest(9))), event(2, "c", None)])
        .unwrap();
    let groups = store.denial_groups(&DenialFilter::default()).unwrap();
    assert_eq!(groups.len(), 2);
    let hashed = groups.iter().find(|g| g.sha256.is_some()).unwrap();
    assert_eq!(hashed.count, 2);
    assert_eq!((hashed.first_ms, hashed.last_ms), (1, 3));
    assert_eq!(hashed.comms.len(), 2);
    assert_eq!(hashed.sha256.as_deref(), Some(digest(9).to_hex().as_str()));
}

#[test]
fn filters_denials() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    let event = |at_ms, action: &'static str, cgroup_id, byte| EventRecord {
        at_ms,
        hook: "exec".into(),
        action: action.into(),
        reason: "unknown-file".into(),
        tgid: 1,
        pid: 1,
        uid: 0,
        comm: "c".into(),
        cgroup_id,
        cgroup_path: None,
        container: Some("abc".into()),
        dev: 1,
        ino: byte as u64,
        path: None,
        sha256: Some(digest(byte)),
        context: Default::default(),
    };
    store
        .insert_events(&[event(100, "denied", 7, 1), event(200, "would-deny", 8, 2), event(300, "denied", 8, 3)])
        .unwrap();
    let count = |f: DenialFilter| store.denial_groups(&f).unwrap().len();
    assert_eq!(count(DenialFilter::default()), 3);
    assert_eq!(count(DenialFilter { since_ms: Some(150), ..Default::default() }), 2);
    assert_eq!(count(DenialFilter { cgroup: Some((None, Some(8))), ..Default::default() }), 2);
    assert_eq!(count(DenialFilter { action: Some("denied"), cgroup: Some((None, Some(8))), ..Default::default() }), 1);
    let groups = store.denial_groups(&DenialFilter::default()).unwrap();
    assert_eq!(groups[0].containers, vec!["abc".to_string()]);
    assert_eq!(groups[0].review, vec!["new".to_string()]);
}

#[test]
fn stored_events_read_back_in_order_after_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    assert_eq!(store.last_event_id().unwrap(), 0);
    let event = |at_ms: i64, sha256| EventRecord {
        at_ms,
        hook: "mmap".into(),
        action: "would-deny".into(),
        reason: "open-for-writing".into(),
        tgid: 10,
        pid: 11,
        uid: 1000,
        comm: "tool".into(),
        cgroup_id: u64::MAX - 1,
        cgroup_path: Some("/kubepods/pod1".into()),
        container: Some("abc".into()),
        dev: 8 << 20 | 1,
        ino: u64::MAX - 2,
        path: Some("/tmp/x".into()),
        sha256,
        context: ProcessContext {
            ppid: 9,
            exe: Some("/usr/bin/tool".into()),
            command: Some("tool --x".into()),
            parent_command: None,
            parent_exe: Some("/usr/bin/make".into()),
        },
    };
    let records = [event(1, Some(digest(4))), event(2, None), event(3, Some(digest(5)))];
    let ids = store.insert_events(&records).unwrap();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(store.last_event_id().unwrap(), ids[2]);
    let after_first = store.events_after(ids[0], 10).unwrap();
    assert_eq!(after_first, vec![(ids[1], records[1].clone()), (ids[2], records[2].clone())]);
    assert_eq!(store.events_after(0, 1).unwrap(), vec![(ids[0], records[0].clone())]);
    assert!(store.events_after(ids[2], 10).unwrap().is_empty());
}

#[test]
fn events_past_their_retention_are_deleted_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    let event = |at_ms: i64| denied_exec(at_ms, Some(digest(1)));
    // More than one batch of old events, and a few recent ones.
    let old: Vec<EventRecord> = (0..25_000).map(|i| event(1_000 + i)).collect();
    store.insert_events(&old).unwrap();
    let recent = store.insert_events(&[event(100_000), event(100_001)]).unwrap();
    assert_eq!(store.prune_events(50_000).unwrap(), 25_000);
    let left: Vec<i64> = store.events_after(0, 100).unwrap().into_iter().map(|(id, _)| id).collect();
    assert_eq!(left, recent);
    assert_eq!(store.prune_events(50_000).unwrap(), 0);
}

#[test]
fn revoking_a_source_removes_exactly_its_trust() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    let a = store.add_source(&manual("a"), &[record(1, "/a"), record(2, "/shared")]).unwrap();
    let b = store.add_source(&manual("b"), &[record(2, "/shared"), record(3, "/b")]).unwrap();
    assert_eq!(store.vouchers(&digest(2)).unwrap().iter().map(|s| s.id).collect::<Vec<_>>(), vec![a, b]);
    let revoked = store.revoke_source(a, "admin", Some("compromised")).unwrap();
    assert_eq!((revoked.id, revoked.digests), (a, 2));
    assert!(!allowed(&store, &digest(1)).unwrap());
    assert!(allowed(&store, &digest(2)).unwrap(), "still vouched for by b");
    assert!(allowed(&store, &digest(3)).unwrap());
    assert!(matches!(store.revoke_source(a, "admin", None), Err(StoreError::NoSuchSource { .. })));
    let log: Vec<String> = store
        .conn
        .prepare("SELECT action FROM audit_log ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(log, ["add-source", "add-source", "revoke-source"]);
}

#[test]
fn approving_marks_events_and_adds_an_approval_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    store.insert_events(&[EventRecord { path: Some("/tmp/tool".into()), ..denied_exec(1, Some(digest(4))) }]).unwrap();
    assert_eq!(store.event_file(1).unwrap(), Some((Some(digest(4)), Some("/tmp/tool".into()))));
    let approval = crate::trust::Evidence::Approval { sha256: digest(4), path: Some("/tmp/tool".into()), force: false };
    let circumstances =
        crate::trust::Circumstances { trust: None, forbid_unsigned: true, reason: Some("needed by the build".into()) };
    let id = crate::trust::accept(&mut store, approval, circumstances).unwrap().unwrap().id;
    assert!(allowed(&store, &digest(4)).unwrap());
    let groups = store.denial_groups(&DenialFilter::default()).unwrap();
    assert_eq!(groups[0].review, vec!["approved".to_string()]);
    let sources = store.sources().unwrap();
    assert_eq!((sources[0].id, sources[0].kind.as_str()), (id, "approval"));
    assert_eq!(sources[0].reason.as_deref(), Some("needed by the build"));
}

#[test]
fn file_cache_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    let stamp = crate::file_stamp::FileStamp {
        key: provgate_common::FileKey { dev: 0x80_0001, ino: 1 << 40, _pad: 0 },
        ctime_sec: 1_700_000_000,
        ctime_nsec: 999_999_999,
        size: 4096,
    };
    let file = CachedFile { stamp, digest: digest(5), path: "/usr/bin/x".into() };
    store.save_file_cache(std::slice::from_ref(&file)).unwrap();
    store.save_file_cache(std::slice::from_ref(&file)).unwrap();
    assert_eq!(store.load_file_cache().unwrap(), vec![file.clone()]);
    assert_eq!(store.cached_files_with_digest(&digest(5)).unwrap(), vec![file]);
    store.forget_files(&[stamp.key]).unwrap();
    assert!(store.load_file_cache().unwrap().is_empty());
}

#[test]
fn source_ids_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("p.db")).unwrap();
    let first = store.add_source(&manual("one"), &[record(1, "/a")]).unwrap();
    let second = store.add_source(&manual("two"), &[record(2, "/b")]).unwrap();
    store.revoke_source(second, "test", None).unwrap();
    let third = store.add_source(&manual("three"), &[record(3, "/c")]).unwrap();
    assert!(third > second && second > first, "{first} {second} {third}");
    // The log names each id once, for one source.
    let added: Vec<i64> = store
        .audit_entries(None)
        .unwrap()
        .iter()
        .filter(|e| e.action == "add-source")
        .map(|e| e.detail["source"].as_i64().unwrap())
        .collect();
    assert_eq!(added, vec![first, second, third]);
}

#[test]
fn review_states_follow_the_allowlist() {
    use super::ReviewState::{self, *};
    let of =
        |stored: &[&str], allowed| ReviewState::of(&stored.iter().map(|s| s.to_string()).collect::<Vec<_>>(), allowed);
    assert_eq!(of(&["new"], false), New);
    assert_eq!(of(&["new"], true), NowAllowed);
    assert_eq!(of(&["approved"], true), Approved);
    assert_eq!(of(&["approved", "new"], false), NoLongerAllowed, "revoked, then denied again");
    assert_eq!(of(&["dismissed"], false), Dismissed);
    assert_eq!(of(&["dismissed"], true), NowAllowed, "trust given since wins over a dismissal");
}
