//! Denials and would-denies reported by the kernel programs.
use rusqlite::params;
use serde::Serialize;

use super::{Result, Store};
use crate::hashing::Sha256Digest;

#[derive(Clone, Debug)]
pub struct EventRecord {
    pub at_ms: i64,
    pub hook: &'static str,
    pub action: &'static str,
    pub reason: &'static str,
    pub tgid: u32,
    pub pid: u32,
    pub uid: u32,
    pub comm: String,
    pub cgroup_id: u64,
    pub dev: u32,
    pub ino: u64,
    pub path: Option<String>,
    pub sha256: Option<Sha256Digest>,
}

/// Events about one file (by digest when known, else by identity), aggregated.
#[derive(Clone, Debug, Serialize)]
pub struct DenialGroup {
    pub sha256: Option<String>,
    pub path: Option<String>,
    pub dev: u32,
    pub ino: u64,
    pub count: i64,
    pub first_ms: i64,
    pub last_ms: i64,
    pub actions: Vec<String>,
    pub hooks: Vec<String>,
    pub reasons: Vec<String>,
    pub comms: Vec<String>,
    pub uids: Vec<u32>,
    pub cgroup_ids: Vec<u64>,
}

impl Store {
    pub fn insert_events(&mut self, events: &[EventRecord]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO events (at_ms, hook, action, reason, tgid, pid, uid, comm, cgroup_id, dev, ino, path, sha256)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(err)?;
            for e in events {
                insert
                    .execute(params![
                        e.at_ms,
                        e.hook,
                        e.action,
                        e.reason,
                        e.tgid,
                        e.pid,
                        e.uid,
                        e.comm,
                        e.cgroup_id as i64,
                        e.dev,
                        e.ino as i64,
                        e.path,
                        e.sha256.as_ref().map(|d| d.0.to_vec()),
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    pub fn denial_groups(&self) -> Result<Vec<DenialGroup>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT lower(hex(sha256)), max(path), dev, ino, count(*), min(at_ms), max(at_ms),
                        json_group_array(DISTINCT action), json_group_array(DISTINCT hook),
                        json_group_array(DISTINCT reason), json_group_array(DISTINCT comm),
                        json_group_array(DISTINCT uid), json_group_array(DISTINCT cgroup_id)
                 FROM events
                 GROUP BY coalesce(hex(sha256), dev || ':' || ino)
                 ORDER BY max(at_ms) DESC",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                let json = |i: usize| -> rusqlite::Result<String> { row.get(i) };
                let list = |i: usize| -> rusqlite::Result<Vec<String>> {
                    Ok(serde_json::from_str(&json(i)?).unwrap_or_default())
                };
                let sha256: Option<String> = row.get(0)?;
                Ok(DenialGroup {
                    sha256: sha256.filter(|s| !s.is_empty()),
                    path: row.get(1)?,
                    dev: row.get(2)?,
                    ino: row.get::<_, i64>(3)? as u64,
                    count: row.get(4)?,
                    first_ms: row.get(5)?,
                    last_ms: row.get(6)?,
                    actions: list(7)?,
                    hooks: list(8)?,
                    reasons: list(9)?,
                    comms: list(10)?,
                    uids: serde_json::from_str(&json(11)?).unwrap_or_default(),
                    cgroup_ids: serde_json::from_str(&json(12)?).unwrap_or_default(),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }
}
