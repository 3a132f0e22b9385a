//! The persistent file cache: (device, inode, change cookie) -> digest. A file whose stamp is
//! unchanged since it was hashed is never hashed again, across daemon restarts too.
use rusqlite::params;

use super::{Result, Store, now_ms};
use crate::{file_stamp::FileStamp, hashing::Sha256};
use provgate_common::FileKey;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedFile {
    pub stamp: FileStamp,
    pub digest: Sha256,
    pub path: String,
}

fn digest_from(bytes: Vec<u8>) -> rusqlite::Result<Sha256> {
    let array: [u8; 32] = bytes
        .try_into()
        .map_err(|_| rusqlite::Error::InvalidColumnType(0, "sha256".into(), rusqlite::types::Type::Blob))?;
    Ok(Sha256(array))
}

fn row_to_cached(row: &rusqlite::Row<'_>) -> rusqlite::Result<CachedFile> {
    Ok(CachedFile {
        stamp: FileStamp {
            key: FileKey { dev: row.get(0)?, ino: row.get::<_, i64>(1)? as u64, _pad: 0 },
            ctime_sec: row.get(2)?,
            ctime_nsec: row.get(3)?,
            size: row.get(4)?,
        },
        digest: digest_from(row.get(5)?)?,
        path: row.get(6)?,
    })
}

const COLUMNS: &str = "dev, ino, ctime_sec, ctime_nsec, size, sha256, path";

impl Store {
    pub fn load_file_cache(&self) -> Result<Vec<CachedFile>> {
        let mut stmt = self.conn.prepare(&format!("SELECT {COLUMNS} FROM file_cache")).map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], row_to_cached).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    pub fn cached_file(&self, key: &FileKey) -> Result<Option<CachedFile>> {
        use rusqlite::OptionalExtension as _;
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM file_cache WHERE dev = ?1 AND ino = ?2"),
                params![key.dev, key.ino as i64],
                row_to_cached,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Files on disk last seen with this digest.
    pub fn cached_files_with_digest(&self, digest: &Sha256) -> Result<Vec<CachedFile>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM file_cache WHERE sha256 = ?1 ORDER BY path"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([&digest.0[..]], row_to_cached).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }

    /// Inserts or replaces cache rows in one transaction.
    pub fn save_file_cache(&mut self, files: &[CachedFile]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut upsert = tx
                .prepare(&format!(
                    "INSERT OR REPLACE INTO file_cache ({COLUMNS}, hashed_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ))
                .map_err(err)?;
            let at = now_ms();
            for f in files {
                upsert
                    .execute(params![
                        f.stamp.key.dev,
                        f.stamp.key.ino as i64,
                        f.stamp.ctime_sec,
                        f.stamp.ctime_nsec,
                        f.stamp.size,
                        &f.digest.0[..],
                        f.path,
                        at
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Drops cache rows of files that no longer exist.
    pub fn forget_files(&mut self, keys: &[FileKey]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| super::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut delete = tx.prepare("DELETE FROM file_cache WHERE dev = ?1 AND ino = ?2").map_err(err)?;
            for key in keys {
                delete.execute(params![key.dev, key.ino as i64]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }
}
