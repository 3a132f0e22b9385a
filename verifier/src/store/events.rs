//! Denials and would-denies reported by the kernel programs, and their review state.
use rusqlite::{params, params_from_iter};
use serde::Serialize;

use super::{Result, Store};
use crate::hashing::Sha256;

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
    pub cgroup_path: Option<String>,
    pub container: Option<String>,
    pub dev: u32,
    pub ino: u64,
    pub path: Option<String>,
    pub sha256: Option<Sha256>,
}

/// Which events `denial_groups` considers.
#[derive(Clone, Debug, Default)]
pub struct DenialFilter {
    pub since_ms: Option<i64>,
    pub cgroup_id: Option<u64>,
    /// `denied` (enforce) or `would-deny` (audit) or `observed` (observe-only).
    pub action: Option<&'static str>,
    pub sha256: Option<Sha256>,
    pub path: Option<String>,
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
    /// Id of the newest event, for `provgate approve EVENT`.
    pub last_event: i64,
    pub actions: Vec<String>,
    pub hooks: Vec<String>,
    pub reasons: Vec<String>,
    pub comms: Vec<String>,
    pub pids: Vec<u32>,
    pub uids: Vec<u32>,
    pub cgroup_ids: Vec<u64>,
    pub cgroups: Vec<String>,
    pub containers: Vec<String>,
    /// `new` until an approval covers the digest.
    pub review: Vec<String>,
}

impl Store {
    pub fn insert_events(&mut self, events: &[EventRecord]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO events (at_ms, hook, action, reason, tgid, pid, uid, comm, cgroup_id, dev, ino, path,
                                         sha256, cgroup_path, container)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
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
                        e.cgroup_path,
                        e.container,
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    pub fn denial_groups(&self, filter: &DenialFilter) -> Result<Vec<DenialGroup>> {
        let mut conditions = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(since) = filter.since_ms {
            conditions.push("at_ms >= ?");
            values.push(since.into());
        }
        if let Some(id) = filter.cgroup_id {
            conditions.push("cgroup_id = ?");
            values.push((id as i64).into());
        }
        if let Some(action) = filter.action {
            conditions.push("action = ?");
            values.push(action.to_owned().into());
        }
        if let Some(path) = &filter.path {
            conditions.push("path = ?");
            values.push(path.clone().into());
        }
        if let Some(digest) = filter.sha256 {
            conditions.push("sha256 = ?");
            values.push(digest.0.to_vec().into());
        }
        let filter_sql =
            if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!(
            "SELECT lower(hex(sha256)), max(path), dev, ino, count(*), min(at_ms), max(at_ms), max(id),
                    json_group_array(DISTINCT action), json_group_array(DISTINCT hook),
                    json_group_array(DISTINCT reason), json_group_array(DISTINCT comm),
                    json_group_array(DISTINCT tgid), json_group_array(DISTINCT uid),
                    json_group_array(DISTINCT cgroup_id), json_group_array(DISTINCT cgroup_path),
                    json_group_array(DISTINCT container), json_group_array(DISTINCT review)
             FROM events {filter_sql}
             GROUP BY coalesce(hex(sha256), dev || ':' || ino)
             ORDER BY max(at_ms) DESC"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params_from_iter(values), |row| {
                fn list<T: serde::de::DeserializeOwned>(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<T>> {
                    let json: String = row.get(i)?;
                    // json_group_array keeps NULLs; they mean "not known" and are left out.
                    let values: Vec<Option<T>> = serde_json::from_str(&json).unwrap_or_default();
                    Ok(values.into_iter().flatten().collect())
                }
                let sha256: Option<String> = row.get(0)?;
                Ok(DenialGroup {
                    sha256: sha256.filter(|s| !s.is_empty()),
                    path: row.get(1)?,
                    dev: row.get(2)?,
                    ino: row.get::<_, i64>(3)? as u64,
                    count: row.get(4)?,
                    first_ms: row.get(5)?,
                    last_ms: row.get(6)?,
                    last_event: row.get(7)?,
                    actions: list(row, 8)?,
                    hooks: list(row, 9)?,
                    reasons: list(row, 10)?,
                    comms: list(row, 11)?,
                    pids: list(row, 12)?,
                    uids: list(row, 13)?,
                    cgroup_ids: list(row, 14)?,
                    cgroups: list(row, 15)?,
                    containers: list(row, 16)?,
                    review: list(row, 17)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }
}
