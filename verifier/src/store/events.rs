//! Denials and would-denies reported by the kernel programs, and their review state.
use std::borrow::Cow;

use rusqlite::{params, params_from_iter};
use serde::Serialize;

use super::{Result, Store};
use crate::hashing::Sha256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    pub at_ms: i64,
    // Names from the kernel decoder's tables when recorded, owned when read back from the store.
    pub hook: Cow<'static, str>,
    pub action: Cow<'static, str>,
    pub reason: Cow<'static, str>,
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
    /// The process's context: its parent, its executable and command line, its parent's command
    /// line.
    pub context: ProcessContext,
}

/// Who tried, as far as could be read when the event was recorded (a process that exited by
/// then has none of it but its parent's pid).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessContext {
    pub ppid: u32,
    pub exe: Option<String>,
    pub command: Option<String>,
    pub parent_command: Option<String>,
    pub parent_exe: Option<String>,
}

/// The action each mode records: enforce denies, audit would deny, observe-only observes. The
/// one table between a mode (`denials --mode`, exported events' `mode`) and the action column.
const MODE_ACTIONS: [(&str, &str); 3] = [("enforce", "denied"), ("audit", "would-deny"), ("observe", "observed")];

/// The mode in which an event with this action was recorded.
pub fn mode_of_action(action: &str) -> Option<&'static str> {
    MODE_ACTIONS.iter().find(|(_, a)| *a == action).map(|(m, _)| *m)
}

/// The action events recorded in this mode carry.
pub fn action_of_mode(mode: &str) -> Option<&'static str> {
    MODE_ACTIONS.iter().find(|(m, _)| *m == mode).map(|(_, a)| *a)
}

/// Which file an event is about: its digest when known, else its identity. Groups, the
/// "same file as event N" filter and dismissals all use it.
const FILE_KEY: &str = "coalesce(hex(sha256), dev || ':' || ino)";

/// The condition: an event about the same file as event `?`.
fn same_file_as_event() -> String {
    format!("{FILE_KEY} = (SELECT {FILE_KEY} FROM events WHERE id = ?)")
}

/// Distinct values listed per group and field (processes, command lines, cgroups...).
const MAX_LISTED: usize = 16;

/// Which events `denial_groups` considers.
#[derive(Clone, Debug, Default)]
pub struct DenialFilter {
    pub since_ms: Option<i64>,
    /// A cgroup as recorded (its path below the cgroup2 root, as `denials` prints it) or its id.
    pub cgroup: Option<(Option<String>, Option<u64>)>,
    /// `denied` (enforce) or `would-deny` (audit) or `observed` (observe-only).
    pub action: Option<&'static str>,
    pub sha256: Option<Sha256>,
    pub path: Option<String>,
    /// Events of the file whose event this is (by digest, else by identity).
    pub like_event: Option<i64>,
    pub state: Option<ReviewState>,
}

/// Where a group of events stands. Only `new`, `approved` and `dismissed` are stored; whether
/// the file is allowed now is read from the allowlist at each query, so it is never stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewState {
    /// Not reviewed, and still not allowed.
    New,
    /// Not reviewed, but allowed since by some source.
    NowAllowed,
    /// Approved, and still allowed.
    Approved,
    /// Approved, but the trust was revoked since.
    NoLongerAllowed,
    /// Dismissed by an admin: blocked on purpose.
    Dismissed,
}

impl DenialGroup {
    /// The digest of the group's file, when the events know it.
    pub fn digest(&self) -> Option<Sha256> {
        self.sha256.as_deref().and_then(Sha256::parse_lenient)
    }
}

impl ReviewState {
    pub(crate) fn of(stored: &[String], allowed_now: bool) -> Self {
        let has = |state: &str| stored.iter().any(|s| s == state);
        // Trust wins over a dismissal: a dismissed file some source vouches for since runs.
        match (has("approved"), has("dismissed"), allowed_now) {
            (true, _, true) => Self::Approved,
            (true, _, false) => Self::NoLongerAllowed,
            (false, _, true) => Self::NowAllowed,
            (false, true, false) => Self::Dismissed,
            (false, false, false) => Self::New,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::NowAllowed => "now-allowed",
            Self::Approved => "approved",
            Self::NoLongerAllowed => "no-longer-allowed",
            Self::Dismissed => "dismissed",
        }
    }
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
    /// The executables of the processes that tried, as the kernel names them (`/proc/PID/exe`).
    pub executables: Vec<String>,
    /// Their command lines: what each process says about itself, which it can set to anything.
    pub commands: Vec<String>,
    /// Their parents: `PID executable: command line` (`PID command line` when the executable
    /// was not read).
    pub parents: Vec<String>,
    /// The review states stored on its events (`new`, `approved`, `dismissed`).
    pub review: Vec<String>,
    /// Where the group stands, with the allowlist as it is now.
    pub state: ReviewState,
}

impl Store {
    /// The digests the store knows (vouched for, seen in events, cached for files) whose hex
    /// form starts with `prefix` (lowercase hex), at most `limit` of them.
    pub fn digests_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<Sha256>> {
        // The digests between prefix-000… and prefix-fff…: a range the digest indexes answer.
        let bound = |fill: char| {
            let padded: String = prefix.chars().chain(std::iter::repeat(fill)).take(64).collect();
            hex::decode(padded).unwrap_or_default()
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT sha256 FROM source_digests WHERE sha256 BETWEEN ?1 AND ?2
                 UNION SELECT sha256 FROM events WHERE sha256 BETWEEN ?1 AND ?2
                 UNION SELECT sha256 FROM file_cache WHERE sha256 BETWEEN ?1 AND ?2
                 ORDER BY sha256 LIMIT ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![bound('0'), bound('f'), limit as i64], |row| {
                let bytes: Vec<u8> = row.get(0)?;
                Ok(bytes.try_into().map(Sha256).ok())
            })
            .map_err(|e| self.err(e))?;
        Ok(rows.filter_map(|r| r.ok().flatten()).collect())
    }

    /// Deletes the events recorded before `before_ms`, a batch per transaction so that the
    /// recorder's inserts never wait long; returns how many.
    pub fn prune_events(&mut self, before_ms: i64) -> Result<usize> {
        const BATCH: usize = 10_000;
        let mut total = 0;
        loop {
            let deleted = self
                .conn
                .execute(
                    "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at_ms < ?1 ORDER BY id LIMIT ?2)",
                    params![before_ms, BATCH as i64],
                )
                .map_err(|e| self.err(e))?;
            total += deleted;
            if deleted < BATCH {
                return Ok(total);
            }
        }
    }

    /// Stores the events in one transaction; returns their ids, in order.
    pub fn insert_events(&mut self, events: &[EventRecord]) -> Result<Vec<i64>> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let mut ids = Vec::with_capacity(events.len());
        {
            let mut insert = tx
                .prepare(
                    "INSERT INTO events (at_ms, hook, action, reason, tgid, pid, uid, comm, cgroup_id, dev, ino, path,
                                         sha256, cgroup_path, container, ppid, exe, command, parent_command,
                                         parent_exe)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                             ?20)",
                )
                .map_err(err)?;
            for e in events {
                insert
                    .insert(params![
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
                        e.context.ppid,
                        e.context.exe,
                        e.context.command,
                        e.context.parent_command,
                        e.context.parent_exe,
                    ])
                    .map_err(err)
                    .map(|id| ids.push(id))?;
            }
        }
        tx.commit().map_err(err)?;
        Ok(ids)
    }

    /// The id of the newest event, 0 when there is none.
    pub fn last_event_id(&self) -> Result<i64> {
        self.conn.query_row("SELECT coalesce(max(id), 0) FROM events", [], |r| r.get(0)).map_err(|e| self.err(e))
    }

    /// Events with ids above `after`, oldest first, at most `limit`: what `denials --follow`
    /// has not printed yet.
    pub fn events_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, EventRecord)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, at_ms, hook, action, reason, tgid, pid, uid, comm, cgroup_id, dev, ino, path, sha256,
                        cgroup_path, container, ppid, exe, command, parent_command, parent_exe
                 FROM events WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![after, limit as i64], |row| {
                let sha256: Option<Vec<u8>> = row.get(13)?;
                let record = EventRecord {
                    at_ms: row.get(1)?,
                    hook: Cow::Owned(row.get(2)?),
                    action: Cow::Owned(row.get(3)?),
                    reason: Cow::Owned(row.get(4)?),
                    tgid: row.get(5)?,
                    pid: row.get(6)?,
                    uid: row.get(7)?,
                    comm: row.get(8)?,
                    cgroup_id: row.get::<_, i64>(9)? as u64,
                    dev: row.get(10)?,
                    ino: row.get::<_, i64>(11)? as u64,
                    path: row.get(12)?,
                    sha256: sha256.and_then(|b| b.try_into().ok()).map(Sha256),
                    cgroup_path: row.get(14)?,
                    container: row.get(15)?,
                    context: ProcessContext {
                        ppid: row.get::<_, Option<u32>>(16)?.unwrap_or(0),
                        exe: row.get(17)?,
                        command: row.get(18)?,
                        parent_command: row.get(19)?,
                        parent_exe: row.get(20)?,
                    },
                };
                Ok((row.get(0)?, record))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    pub fn denial_groups(&self, filter: &DenialFilter) -> Result<Vec<DenialGroup>> {
        let same_file = same_file_as_event();
        let mut conditions = Vec::new();
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(since) = filter.since_ms {
            conditions.push("at_ms >= ?");
            values.push(since.into());
        }
        if let Some((path, id)) = &filter.cgroup {
            conditions.push("(cgroup_path = ? OR cgroup_id = ?)");
            values.push(path.clone().into());
            values.push(id.map(|id| id as i64).into());
        }
        if let Some(event) = filter.like_event {
            conditions.push(&same_file);
            values.push(event.into());
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
                    json_group_array(DISTINCT container), json_group_array(DISTINCT review),
                    max(EXISTS (SELECT 1 FROM source_digests d WHERE d.sha256 = events.sha256)),
                    json_group_array(DISTINCT exe), json_group_array(DISTINCT command),
                    json_group_array(DISTINCT ppid || ' ' || CASE WHEN parent_exe IS NULL
                        THEN coalesce(parent_command, '?')
                        ELSE parent_exe || ': ' || coalesce(parent_command, '?') END)
             FROM events {filter_sql}
             GROUP BY {FILE_KEY}
             ORDER BY max(at_ms) DESC"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params_from_iter(values), |row| {
                fn list<T: serde::de::DeserializeOwned>(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Vec<T>> {
                    let json: String = row.get(i)?;
                    // json_group_array keeps NULLs; they mean "not known" and are left out. What
                    // processes say about themselves is kept to a few values per group.
                    let values: Vec<Option<T>> = serde_json::from_str(&json).unwrap_or_default();
                    Ok(values.into_iter().flatten().take(MAX_LISTED).collect())
                }
                let sha256: Option<String> = row.get(0)?;
                let review: Vec<String> = list(row, 17)?;
                let state = ReviewState::of(&review, row.get::<_, i64>(18)? != 0);
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
                    review,
                    state,
                    executables: list(row, 19)?,
                    commands: list(row, 20)?,
                    parents: list(row, 21)?,
                })
            })
            .map_err(|e| self.err(e))?;
        let groups: Vec<DenialGroup> = rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))?;
        Ok(groups.into_iter().filter(|g| filter.state.is_none_or(|s| s == g.state)).collect())
    }

    /// Marks the new events about a file dismissed (blocked on purpose), with an audit entry, in
    /// one transaction: the events with this digest, or those of the file of event `like_event`.
    /// Returns how many events were marked.
    pub fn dismiss(
        &mut self,
        digest: Option<&Sha256>,
        like_event: Option<i64>,
        actor: &str,
        reason: &str,
    ) -> Result<usize> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let marked = match (digest, like_event) {
            (Some(digest), _) => tx.execute(
                "UPDATE events SET review = 'dismissed' WHERE sha256 = ?1 AND review = 'new'",
                params![&digest.0[..]],
            ),
            (None, Some(event)) => tx.execute(
                &format!("UPDATE events SET review = 'dismissed' WHERE review = 'new' AND {}", same_file_as_event()),
                [event],
            ),
            (None, None) => Ok(0),
        }
        .map_err(err)?;
        let detail = serde_json::json!({
            "sha256": digest.map(ToString::to_string), "event": like_event, "events": marked, "reason": reason,
        });
        super::allowlist::audit(&tx, actor, "dismiss", &detail).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(marked)
    }
}
