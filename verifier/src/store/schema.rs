//! Versioned schema. Each migration runs once, in its own transaction, and bumps
//! `PRAGMA user_version`; a store newer than this binary is refused rather than guessed at.
use rusqlite::{Connection, Transaction};

/// "prov": marks the file as a provgate store, so a foreign SQLite file is never reused.
pub const APPLICATION_ID: i32 = 0x7072_6f76;

const MIGRATIONS: &[&str] = &[
    // 1: sources of trust, the digests each vouches for, events, audit log.
    r#"
    CREATE TABLE sources (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL,
        name        TEXT NOT NULL,
        signer      TEXT,
        issuer      TEXT,
        detail      TEXT,
        created_at  INTEGER NOT NULL,
        created_by  TEXT NOT NULL,
        reason      TEXT
    );
    CREATE TABLE source_digests (
        source_id   INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        sha256      BLOB NOT NULL CHECK (length(sha256) = 32),
        path        TEXT NOT NULL DEFAULT '',
        package     TEXT,
        UNIQUE (source_id, sha256, path)
    );
    CREATE INDEX source_digests_by_digest ON source_digests(sha256);
    CREATE TABLE events (
        id          INTEGER PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        hook        TEXT NOT NULL,
        action      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        tgid        INTEGER NOT NULL,
        pid         INTEGER NOT NULL,
        uid         INTEGER NOT NULL,
        comm        TEXT NOT NULL,
        cgroup_id   INTEGER NOT NULL,
        dev         INTEGER NOT NULL,
        ino         INTEGER NOT NULL,
        path        TEXT,
        sha256      BLOB CHECK (sha256 IS NULL OR length(sha256) = 32),
        review      TEXT NOT NULL DEFAULT 'new'
    );
    CREATE INDEX events_by_time ON events(at_ms);
    CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        detail      TEXT NOT NULL
    );
    "#,
    // 2: the file cache, so unchanged files are never hashed twice, across restarts too; event
    // context for review (cgroup path, container) and links from events to their approval.
    r#"
    CREATE TABLE file_cache (
        dev         INTEGER NOT NULL,
        ino         INTEGER NOT NULL,
        ctime_sec   INTEGER NOT NULL,
        ctime_nsec  INTEGER NOT NULL,
        size        INTEGER NOT NULL,
        sha256      BLOB NOT NULL CHECK (length(sha256) = 32),
        path        TEXT NOT NULL,
        hashed_at_ms INTEGER NOT NULL,
        PRIMARY KEY (dev, ino)
    ) WITHOUT ROWID;
    CREATE INDEX file_cache_by_digest ON file_cache(sha256);
    ALTER TABLE events ADD COLUMN cgroup_path TEXT;
    ALTER TABLE events ADD COLUMN container TEXT;
    ALTER TABLE events ADD COLUMN approval_source INTEGER REFERENCES sources(id) ON DELETE SET NULL;
    CREATE INDEX events_by_digest ON events(sha256);
    "#,
    // 3: the evidence a signed source was registered with (its bundle, and what the bundle was
    // about), so `sources verify` can check it again after the trust root or policy changed.
    r#"
    ALTER TABLE sources ADD COLUMN evidence TEXT;
    "#,
    // Source ids are never reused: the audit log names sources by id. Seeded with the highest id
    // a source or the audit log has ever had.
    r#"
    CREATE TABLE id_sequence (name TEXT PRIMARY KEY, last INTEGER NOT NULL);
    INSERT INTO id_sequence (name, last) VALUES ('sources', max(
        coalesce((SELECT max(id) FROM sources), 0),
        coalesce((SELECT max(CAST(json_extract(detail, '$.source') AS INTEGER)) FROM audit_log
                  WHERE json_valid(detail)), 0)));
    "#,
    // Who tried: the parent process, the executable and command line of the process and of
    // its parent, as far as the daemon could read them when it recorded the event.
    r#"
    ALTER TABLE events ADD COLUMN ppid INTEGER;
    ALTER TABLE events ADD COLUMN exe TEXT;
    ALTER TABLE events ADD COLUMN command TEXT;
    ALTER TABLE events ADD COLUMN parent_command TEXT;
    "#,
    // Trust feeds this node follows, and how their last sync went. The sources a feed's items
    // became name the feed and the item in their detail, so they are added in the same
    // transaction as the source itself.
    r#"
    CREATE TABLE feeds (
        reference       TEXT PRIMARY KEY,
        policy          TEXT,
        trusted_root    TEXT,
        added_at_ms     INTEGER NOT NULL,
        added_by        TEXT NOT NULL,
        digest          TEXT,
        synced_at_ms    INTEGER,
        attempted_at_ms INTEGER,
        error           TEXT,
        not_used        TEXT
    );
    "#,
    // Images the daemon was asked to trust as containerd pulled them, and refused: why.
    r#"
    CREATE TABLE image_refusals (
        reference   TEXT PRIMARY KEY,
        at_ms       INTEGER NOT NULL,
        problem     TEXT NOT NULL
    );
    "#,
    // The parent's executable, beside its command line.
    r#"
    ALTER TABLE events ADD COLUMN parent_exe TEXT;
    "#,
];

pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Applies the migrations after `from`. Returns the new version.
pub fn migrate(conn: &mut Connection, from: i64) -> rusqlite::Result<i64> {
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        let tx: Transaction<'_> = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        if index == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        tx.commit()?;
    }
    user_version(conn)
}
