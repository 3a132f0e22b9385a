//! Sources of trust and the digests they vouch for. A digest is allowed while at least one
//! source vouches for it; removing a source removes exactly its own rows.
use std::{collections::HashSet, path::PathBuf};

use provgate_sbom::{DigestRecord, Sha256};
use rusqlite::{OptionalExtension as _, Transaction, params};
use serde::Serialize;

use super::{Result, Store, StoreError, now_ms};
use crate::trust::SourceKind;

/// Who vouches, and why.
#[derive(Clone, Debug)]
pub struct NewSource {
    pub kind: SourceKind,
    pub name: String,
    pub signer: Option<String>,
    pub issuer: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub created_by: String,
    pub reason: Option<String>,
    /// For signed sources: what to verify again (see `sources verify`).
    pub evidence: Option<serde_json::Value>,
}

/// SQLite's page cache while a source is added, and otherwise (SQLite's default), in KiB.
const BULK_CACHE_KIB: i64 = 64 * 1024;
const DEFAULT_CACHE_KIB: i64 = 2000;

impl Store {
    /// Adds a source and all its records in one transaction, with an audit-log entry.
    #[cfg(test)]
    pub fn add_source(&mut self, source: &NewSource, records: &[DigestRecord]) -> Result<i64> {
        let mut writer = self.begin_source(source)?;
        for record in records {
            writer.add(record)?;
        }
        writer.commit(None)
    }

    /// Starts adding a source whose records arrive one by one (an SBOM being read), so memory
    /// does not grow with their number. Nothing is visible until [`SourceWriter::commit`];
    /// dropping the writer adds nothing.
    pub fn begin_source(&mut self, source: &NewSource) -> Result<SourceWriter<'_>> {
        let path = self.path.clone();
        // A large source's digests arrive in no order, so each insert lands on a random page of
        // two indexes: with SQLite's default 2 MiB cache most of those pages are read again from
        // disk. The cache is bounded (memory stays flat whatever the count) and given back at
        // commit, or by the writer's drop when a step below fails.
        let tx = self.conn.transaction().map_err(|e| super::classify(&path, e))?;
        let mut writer = SourceWriter { tx: Some(tx), id: 0, records: 0, source: source.clone(), path: path.clone() };
        let tx = writer.tx();
        tx.pragma_update(None, "cache_size", -BULK_CACHE_KIB).map_err(|e| super::classify(&path, e))?;
        let id: i64 = tx
            .query_row(
                "UPDATE id_sequence SET last = max(last, (SELECT coalesce(max(id), 0) FROM sources)) + 1
                 WHERE name = 'sources' RETURNING last",
                [],
                |row| row.get(0),
            )
            .map_err(|e| super::classify(&path, e))?;
        tx.execute(
            "INSERT INTO sources (id, kind, name, signer, issuer, detail, created_at, created_by, reason, evidence)
             VALUES (?10, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                source.kind.as_str(),
                source.name,
                source.signer,
                source.issuer,
                source.detail.as_ref().map(|d| d.to_string()),
                now_ms() / 1000,
                source.created_by,
                source.reason,
                source.evidence.as_ref().map(|e| e.to_string()),
                id,
            ],
        )
        .map_err(|e| super::classify(&path, e))?;
        writer.id = id;
        Ok(writer)
    }

    fn source_query(&self, filter: &str, param: Option<&dyn rusqlite::ToSql>) -> Result<Vec<SourceSummary>> {
        let sql = format!(
            "SELECT s.id, s.kind, s.name, s.signer, s.issuer, s.detail, s.created_at, s.created_by, s.reason,
                    (SELECT count(DISTINCT sha256) FROM source_digests d WHERE d.source_id = s.id)
             FROM sources s {filter} ORDER BY s.id"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let map = |row: &rusqlite::Row<'_>| {
            let detail: Option<String> = row.get(5)?;
            Ok(SourceSummary {
                id: row.get(0)?,
                kind: row.get(1)?,
                name: row.get(2)?,
                signer: row.get(3)?,
                issuer: row.get(4)?,
                detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
                created_at: row.get(6)?,
                created_by: row.get(7)?,
                reason: row.get(8)?,
                digests: row.get(9)?,
            })
        };
        let rows = match param {
            Some(p) => stmt.query_map([p], map),
            None => stmt.query_map([], map),
        }
        .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Every source, with how many distinct digests it vouches for.
    pub fn sources(&self) -> Result<Vec<SourceSummary>> {
        self.source_query("", None)
    }

    /// Sources registered with signed evidence, with that evidence.
    pub fn signed_sources(&self) -> Result<Vec<(SourceSummary, serde_json::Value)>> {
        let evidence: std::collections::HashMap<i64, serde_json::Value> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, evidence FROM sources WHERE evidence IS NOT NULL")
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))
                .map_err(|e| self.err(e))?;
            rows.filter_map(|r| r.ok())
                .filter_map(|(id, text)| serde_json::from_str(&text).ok().map(|v| (id, v)))
                .collect()
        };
        Ok(self.sources()?.into_iter().filter_map(|s| evidence.get(&s.id).cloned().map(|e| (s, e))).collect())
    }

    /// The sources that vouch for `digest`.
    pub fn vouchers(&self, digest: &Sha256) -> Result<Vec<SourceSummary>> {
        let bytes = digest.0.to_vec();
        self.source_query("WHERE s.id IN (SELECT source_id FROM source_digests WHERE sha256 = ?1)", Some(&bytes))
    }

    /// How each source names `digest`: the path and package of its records (a package's files
    /// are recorded with their path in the package and the package's name and version), in
    /// source order, at most `per_source` each.
    pub fn records_of(&self, digest: &Sha256, per_source: usize) -> Result<Vec<VouchedAs>> {
        let mut stmt = self
            .conn
            .prepare("SELECT source_id, path, package FROM source_digests WHERE sha256 = ?1 ORDER BY source_id, path")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([digest.0.to_vec()], |row| {
                let path: String = row.get(1)?;
                Ok(VouchedAs { source_id: row.get(0)?, path: (!path.is_empty()).then_some(path), package: row.get(2)? })
            })
            .map_err(|e| self.err(e))?;
        let mut found: Vec<VouchedAs> = Vec::new();
        for row in rows {
            let row = row.map_err(|e| self.err(e))?;
            if found.iter().filter(|f| f.source_id == row.source_id).count() < per_source {
                found.push(row);
            }
        }
        Ok(found)
    }

    /// Removes a source and exactly the trust it gave: digests other sources vouch for stay
    /// allowed. Audited with what was removed.
    pub fn revoke_source(&mut self, id: i64, actor: &str, reason: Option<&str>) -> Result<SourceSummary> {
        let summary = self
            .source_query("WHERE s.id = ?1", Some(&id))?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::NoSuchSource { path: self.path.clone(), id })?;
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let orphaned: i64 = tx
            .query_row(
                "SELECT count(DISTINCT sha256) FROM source_digests d WHERE d.source_id = ?1
                 AND NOT EXISTS (SELECT 1 FROM source_digests o WHERE o.sha256 = d.sha256 AND o.source_id != ?1)",
                [id],
                |r| r.get(0),
            )
            .map_err(err)?;
        tx.execute("DELETE FROM sources WHERE id = ?1", [id]).map_err(err)?;
        let detail = serde_json::json!({
            "source": id, "kind": summary.kind, "name": summary.name, "digests": summary.digests,
            "no_longer_allowed": orphaned, "reason": reason,
        });
        audit(&tx, actor, "revoke-source", &detail).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(summary)
    }

    /// The digest and path of a recorded event, for `approve EVENT`.
    pub fn event_file(&self, event: i64) -> Result<Option<(Option<Sha256>, Option<String>)>> {
        self.conn
            .query_row("SELECT sha256, path FROM events WHERE id = ?1", [event], |row| {
                let digest: Option<Vec<u8>> = row.get(0)?;
                Ok((digest.and_then(|d| d.try_into().ok()).map(Sha256), row.get(1)?))
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn allowed_digests(&self) -> Result<HashSet<Sha256>> {
        let mut stmt = self.conn.prepare("SELECT DISTINCT sha256 FROM source_digests").map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                let bytes: Vec<u8> = row.get(0)?;
                let mut digest = [0u8; 32];
                digest.copy_from_slice(&bytes);
                Ok(Sha256(digest))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// The (path, digest) records of the sources of `kind` (`os trust --check` compares the
    /// files on disk with what their packages hold).
    pub fn records_of_kind(&self, kind: SourceKind) -> Result<Vec<(String, Sha256)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT d.path, d.sha256 FROM source_digests d JOIN sources s ON s.id = d.source_id
                 WHERE s.kind = ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([kind.as_str()], |row| {
                let bytes: Vec<u8> = row.get(1)?;
                let mut digest = [0u8; 32];
                digest.copy_from_slice(&bytes);
                Ok((row.get::<_, String>(0)?, Sha256(digest)))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Absolute paths that sources name; the daemon hashes them at start so their verdicts are
    /// in the kernel map before anything runs.
    pub fn recorded_paths(&self) -> Result<Vec<PathBuf>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT path FROM source_digests WHERE path LIKE '/%' ORDER BY path")
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0).map(PathBuf::from)).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }
}

/// One entry of the trust-change log.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub detail: serde_json::Value,
}

impl Store {
    /// The trust-change log, oldest first, from `since_ms` on.
    pub fn audit_entries(&self, since_ms: Option<i64>) -> Result<Vec<AuditEntry>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, at_ms, actor, action, detail FROM audit_log WHERE at_ms >= ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([since_ms.unwrap_or(0)], |row| {
                let detail: String = row.get(4)?;
                Ok(AuditEntry {
                    id: row.get(0)?,
                    at_ms: row.get(1)?,
                    actor: row.get(2)?,
                    action: row.get(3)?,
                    detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }
}

/// One record of a digest: which source, under which path and package.
#[derive(Clone, Debug, Serialize)]
pub struct VouchedAs {
    pub source_id: i64,
    pub path: Option<String>,
    pub package: Option<String>,
}

/// A source as `sources`, `explain` and `revoke` show it.
#[derive(Clone, Debug, Serialize)]
pub struct SourceSummary {
    pub id: i64,
    pub kind: SourceKind,
    pub name: String,
    pub signer: Option<String>,
    pub issuer: Option<String>,
    pub detail: Option<serde_json::Value>,
    /// Unix seconds.
    pub created_at: i64,
    pub created_by: String,
    pub reason: Option<String>,
    pub digests: i64,
}

pub(super) fn audit(
    tx: &Transaction<'_>,
    actor: &str,
    action: &str,
    detail: &serde_json::Value,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
        params![now_ms(), actor, action, detail.to_string()],
    )
    .map(|_| ())
}

/// A source being added; see [`Store::begin_source`].
pub struct SourceWriter<'a> {
    /// Taken by [`SourceWriter::commit`]; still here when the writer is dropped without one.
    tx: Option<Transaction<'a>>,
    id: i64,
    records: u64,
    source: NewSource,
    path: std::path::PathBuf,
}

impl<'a> SourceWriter<'a> {
    fn tx(&self) -> &Transaction<'a> {
        self.tx.as_ref().expect("a writer's transaction lives until commit")
    }

    pub fn add(&mut self, record: &DigestRecord) -> Result<()> {
        self.tx()
            .prepare_cached(
                "INSERT OR IGNORE INTO source_digests (source_id, sha256, path, package) VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut insert| {
                insert.execute(params![
                    self.id,
                    &record.sha256.0[..],
                    record.path.as_deref().unwrap_or(""),
                    record.package
                ])
            })
            .map_err(|e| super::classify(&self.path, e))?;
        self.records += 1;
        Ok(())
    }

    /// Marks the new events about `digest` approved by this source (an approval), in the
    /// source's transaction.
    pub fn mark_events_approved(&mut self, digest: &Sha256) -> Result<()> {
        self.tx()
            .execute(
                "UPDATE events SET review = 'approved', approval_source = ?1 WHERE sha256 = ?2 AND review = 'new'",
                params![self.id, &digest.0[..]],
            )
            .map_err(|e| super::classify(&self.path, e))?;
        Ok(())
    }

    pub fn records(&self) -> u64 {
        self.records
    }

    /// Commits the source and its records, with an audit-log entry. `named` replaces the name
    /// and detail given at the start, for sources that learn them while their records arrive.
    pub fn commit(mut self, named: Option<(String, Option<serde_json::Value>)>) -> Result<i64> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let mut source = self.source.clone();
        if let Some((name, detail)) = named {
            self.tx()
                .execute(
                    "UPDATE sources SET name = ?1, detail = ?2 WHERE id = ?3",
                    params![name, detail.as_ref().map(|d| d.to_string()), self.id],
                )
                .map_err(err)?;
            source.name = name;
        }
        let detail = serde_json::json!({
            "source": self.id, "kind": source.kind.as_str(), "name": source.name, "records": self.records,
            "reason": source.reason,
        });
        audit(self.tx(), &source.created_by, "add-source", &detail).map_err(err)?;
        // Smaller again before the commit writes the dirty pages: SQLite frees only clean ones.
        self.tx().pragma_update(None, "cache_size", -DEFAULT_CACHE_KIB).map_err(err)?;
        let tx = self.tx.take().expect("a writer's transaction lives until commit");
        tx.commit().map_err(err)?;
        Ok(self.id)
    }
}

impl Drop for SourceWriter<'_> {
    /// A writer dropped without a commit rolls back; the store keeps its usual cache.
    fn drop(&mut self) {
        if let Some(tx) = &self.tx {
            let _ = tx.pragma_update(None, "cache_size", -DEFAULT_CACHE_KIB);
        }
    }
}
