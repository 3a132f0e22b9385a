//! Images pulled on this node that matched `[images] auto` but were refused, with why; an image
//! trusted later leaves the list.
use rusqlite::params;
use serde::Serialize;

use super::{Result, Store, now_ms};

#[derive(Clone, Debug, Serialize)]
pub struct ImageRefusal {
    /// `registry/repository[:tag]@sha256:...`
    pub reference: String,
    pub at_ms: i64,
    pub problem: String,
}

impl Store {
    pub fn record_image_refusal(&mut self, reference: &str, problem: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO image_refusals (reference, at_ms, problem) VALUES (?1, ?2, ?3)
                 ON CONFLICT (reference) DO UPDATE SET at_ms = excluded.at_ms, problem = excluded.problem",
                params![reference, now_ms(), problem],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn forget_image_refusal(&mut self, reference: &str) -> Result<()> {
        self.conn.execute("DELETE FROM image_refusals WHERE reference = ?1", [reference]).map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn image_refusals(&self) -> Result<Vec<ImageRefusal>> {
        let mut stmt = self
            .conn
            .prepare("SELECT reference, at_ms, problem FROM image_refusals ORDER BY at_ms DESC")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |row| Ok(ImageRefusal { reference: row.get(0)?, at_ms: row.get(1)?, problem: row.get(2)? }))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| self.err(e))
    }
}
