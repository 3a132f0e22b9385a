//! The SQLite store: sources of trust and their digests, events, the audit log, and the trust
//! feeds followed.
//! Opening is strict: a file that is not a provgate store is refused with a clear error, never
//! reset or overwritten.
mod allowlist;
mod cached_files;
mod events;
mod feeds;
mod image_refusals;
mod schema;

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    time::Duration,
};

use rusqlite::{Connection, ErrorCode, OpenFlags};
use thiserror::Error;

pub use allowlist::{NewSource, SourceSummary};
pub use cached_files::CachedFile;
pub use events::{DenialFilter, DenialGroup, EventRecord, ProcessContext, ReviewState, action_of_mode, mode_of_action};
pub use feeds::{FeedRecord, NotUsedItem};

pub const DEFAULT_PATH: &str = "/var/lib/provgate/provgate.db";
const BUSY_TIMEOUT: Duration = Duration::from_secs(3);
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("store {path} is not an SQLite database (refusing to touch it)")]
    NotADatabase { path: PathBuf },
    #[error(
        "store {path} is an SQLite database of another application (application_id {app_id:#x}); refusing to touch it"
    )]
    Foreign { path: PathBuf, app_id: i32 },
    #[error(
        "store {path} has schema version {found}, newer than this provgate understands ({supported}); upgrade provgate"
    )]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("store {path} is corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("store {path} is locked by another process (gave up after {}s)", BUSY_TIMEOUT.as_secs())]
    Locked { path: PathBuf },
    #[error("store {path} is read-only for this user")]
    ReadOnly { path: PathBuf },
    #[error("store {path}: no source #{id}")]
    NoSuchSource { path: PathBuf, id: i64 },
    #[error("store {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens the store, creating it (and its directory) if it does not exist.
    pub fn open(path: &Path) -> Result<Self> {
        let io_err = |source| StoreError::Io { path: path.to_owned(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err)?;
        }
        refuse_non_sqlite(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(path, e))?;
        let mut store = Self { conn, path: path.to_owned() };
        store.prepare()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, e)
    }

    fn prepare(&mut self) -> Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| self.err(e))?;
        let app_id: i32 =
            self.conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| self.err(e))?;
        let version = schema::user_version(&self.conn).map_err(|e| self.err(e))?;
        if app_id != schema::APPLICATION_ID {
            let tables: i64 =
                self.conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(|e| self.err(e))?;
            if app_id != 0 || tables > 0 || version != 0 {
                return Err(StoreError::Foreign { path: self.path.clone(), app_id });
            }
        }
        if version > schema::LATEST {
            return Err(StoreError::TooNew { path: self.path.clone(), found: version, supported: schema::LATEST });
        }
        // WAL lets the CLI read while the daemon writes.
        let mode: String =
            self.conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(|e| self.err(e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(store = %self.path.display(), mode, "store is not in WAL mode");
        }
        self.conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").map_err(|e| self.err(e))?;
        if version < schema::LATEST {
            schema::migrate(&mut self.conn, version).map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    /// Full consistency check, for the daemon's start and for tests.
    pub fn integrity_check(&self) -> Result<()> {
        let result: String =
            self.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        if result == "ok" { Ok(()) } else { Err(StoreError::Corrupt { path: self.path.clone(), detail: result }) }
    }

    /// Changes whenever trust changes: every change writes the audit log. Cheap to poll (the
    /// largest rowid), and unmoved by events, which are written all the time.
    pub fn trust_generation(&self) -> Result<i64> {
        self.conn.query_row("SELECT coalesce(max(id), 0) FROM audit_log", [], |r| r.get(0)).map_err(|e| self.err(e))
    }
}

/// SQLite itself would happily turn an empty or foreign file into a database; check the
/// header first so that a wrong `--db` never damages someone else's file.
fn refuse_non_sqlite(path: &Path) -> Result<()> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StoreError::Io { path: path.to_owned(), source });
        }
    };
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(StoreError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
        });
    }
    let mut header = [0u8; 16];
    let mut read = 0;
    while read < header.len() {
        match file.read(&mut header[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(source) => {
                return Err(StoreError::Io { path: path.to_owned(), source });
            }
        }
    }
    if read == 0 {
        return Ok(()); // an empty file is a fresh store
    }
    if read < header.len() || &header != SQLITE_MAGIC {
        return Err(StoreError::NotADatabase { path: path.to_owned() });
    }
    Ok(())
}

fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked { path },
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { path },
        Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt { path, detail: e.to_string() },
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly { path },
        _ => StoreError::Sqlite { path, source: e },
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
pub(crate) mod tests;
