//! Sources of trust and the digests they vouch for. A digest is allowed while at least one
//! source vouches for it; removing a source removes exactly its own rows.
use std::{collections::HashSet, path::PathBuf};

use rusqlite::params;

use super::{Result, Store, now_ms};
use crate::hashing::Sha256Digest;

/// One (digest, path, package) record of a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRecord {
    pub digest: Sha256Digest,
    pub path: Option<String>,
    pub package: Option<String>,
}

/// Who vouches, and why.
#[derive(Clone, Debug)]
pub struct NewSource {
    pub kind: &'static str,
    pub name: String,
    pub signer: Option<String>,
    pub issuer: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub created_by: String,
    pub reason: Option<String>,
}

impl Store {
    /// Adds a source and all its records in one transaction, with an audit-log entry.
    pub fn add_source(&mut self, source: &NewSource, records: &[SourceRecord]) -> Result<i64> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        let at = now_ms();
        tx.execute(
            "INSERT INTO sources (kind, name, signer, issuer, detail, created_at, created_by, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                source.kind,
                source.name,
                source.signer,
                source.issuer,
                source.detail.as_ref().map(|d| d.to_string()),
                at / 1000,
                source.created_by,
                source.reason,
            ],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        {
            let mut insert = tx
                .prepare("INSERT OR IGNORE INTO source_digests (source_id, sha256, path, package) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for record in records {
                insert
                    .execute(params![id, &record.digest.0[..], record.path.as_deref().unwrap_or(""), record.package])
                    .map_err(err)?;
            }
        }
        let detail = serde_json::json!({
            "source": id, "kind": source.kind, "name": source.name, "records": records.len(),
            "reason": source.reason,
        });
        tx.execute(
            "INSERT INTO audit_log (at_ms, actor, action, detail) VALUES (?1, ?2, 'add-source', ?3)",
            params![at, source.created_by, detail.to_string()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(id)
    }

    pub fn allowed_digests(&self) -> Result<HashSet<Sha256Digest>> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT sha256 FROM source_digests")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| {
                let bytes: Vec<u8> = row.get(0)?;
                let mut digest = [0u8; 32];
                digest.copy_from_slice(&bytes);
                Ok(Sha256Digest(digest))
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
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(0).map(PathBuf::from))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

}
