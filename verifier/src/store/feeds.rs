//! Trust feeds a node follows and the outcome of their last sync. The sources made from a
//! feed's items carry `feed` and `feed_item` in their detail: the tie is written with the
//! source, all or nothing.
use std::path::PathBuf;

use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use super::{Result, Store, allowlist::audit, now_ms};

/// A feed item that was not used, and the check it failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotUsedItem {
    pub item: String,
    pub problem: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FeedRecord {
    pub reference: String,
    pub policy: Option<PathBuf>,
    pub trusted_root: Option<PathBuf>,
    pub added_at_ms: i64,
    pub added_by: String,
    /// The feed index last applied.
    pub digest: Option<String>,
    pub synced_at_ms: Option<i64>,
    pub attempted_at_ms: Option<i64>,
    /// Why the last attempt failed; the state of `digest` is kept meanwhile.
    pub error: Option<String>,
    pub not_used: Vec<NotUsedItem>,
}

/// A source that came from a feed item.
#[derive(Clone, Debug)]
pub struct FeedSource {
    pub id: i64,
    pub item: String,
}

const COLUMNS: &str =
    "reference, policy, trusted_root, added_at_ms, added_by, digest, synced_at_ms, attempted_at_ms, error, not_used";

fn record(row: &rusqlite::Row<'_>) -> rusqlite::Result<FeedRecord> {
    let path = |i| row.get::<_, Option<String>>(i).map(|p| p.map(PathBuf::from));
    let not_used: Option<String> = row.get(9)?;
    Ok(FeedRecord {
        reference: row.get(0)?,
        policy: path(1)?,
        trusted_root: path(2)?,
        added_at_ms: row.get(3)?,
        added_by: row.get(4)?,
        digest: row.get(5)?,
        synced_at_ms: row.get(6)?,
        attempted_at_ms: row.get(7)?,
        error: row.get(8)?,
        not_used: not_used.and_then(|n| serde_json::from_str(&n).ok()).unwrap_or_default(),
    })
}

impl Store {
    /// Follows a feed; a feed followed already keeps its state and takes the new policy and
    /// root. Returns whether it was new.
    pub fn add_feed(
        &mut self,
        reference: &str,
        policy: Option<&std::path::Path>,
        trusted_root: Option<&std::path::Path>,
        actor: &str,
    ) -> Result<bool> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let (policy, root) = (policy.map(|p| p.display().to_string()), trusted_root.map(|p| p.display().to_string()));
        let existed: bool = tx
            .query_row("SELECT 1 FROM feeds WHERE reference = ?1", [reference], |_| Ok(true))
            .optional()
            .map_err(err)?
            .unwrap_or(false);
        if existed {
            tx.execute(
                "UPDATE feeds SET policy = ?2, trusted_root = ?3 WHERE reference = ?1",
                params![reference, policy, root],
            )
            .map_err(err)?;
        } else {
            tx.execute(
                "INSERT INTO feeds (reference, policy, trusted_root, added_at_ms, added_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![reference, policy, root, now_ms(), actor],
            )
            .map_err(err)?;
            let detail = serde_json::json!({ "feed": reference, "policy": policy, "trusted_root": root });
            audit(&tx, actor, "add-feed", &detail).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(!existed)
    }

    pub fn feeds(&self) -> Result<Vec<FeedRecord>> {
        let mut stmt =
            self.conn.prepare(&format!("SELECT {COLUMNS} FROM feeds ORDER BY reference")).map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], record).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    pub fn feed(&self, reference: &str) -> Result<Option<FeedRecord>> {
        self.conn
            .query_row(&format!("SELECT {COLUMNS} FROM feeds WHERE reference = ?1"), [reference], record)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Stops following a feed (its sources are revoked by the caller first). Audited.
    pub fn remove_feed(&mut self, reference: &str, actor: &str) -> Result<bool> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let removed = tx.execute("DELETE FROM feeds WHERE reference = ?1", [reference]).map_err(err)? > 0;
        if removed {
            audit(&tx, actor, "remove-feed", &serde_json::json!({ "feed": reference })).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(removed)
    }

    /// The sources the feed's items became.
    pub fn feed_sources(&self, reference: &str) -> Result<Vec<FeedSource>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, json_extract(detail, '$.feed_item') FROM sources
                 WHERE json_valid(detail) AND json_extract(detail, '$.feed') = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([reference], |row| Ok(FeedSource { id: row.get(0)?, item: row.get(1)? }))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// A sync that applied the feed at `digest`; `not_used` are its items that failed a check.
    pub fn record_feed_sync(&mut self, reference: &str, digest: &str, not_used: &[NotUsedItem]) -> Result<()> {
        let now = now_ms();
        self.conn
            .execute(
                "UPDATE feeds SET digest = ?2, synced_at_ms = ?3, attempted_at_ms = ?3, error = NULL, not_used = ?4
                 WHERE reference = ?1",
                params![reference, digest, now, serde_json::to_string(not_used).unwrap_or_default()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A sync that could not read the feed: the last verified state stays, the error is kept.
    pub fn record_feed_failure(&mut self, reference: &str, error: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE feeds SET attempted_at_ms = ?2, error = ?3 WHERE reference = ?1",
                params![reference, now_ms(), error],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }
}
