//! The observe-only program's verdicts, written here and nowhere else: `VERDICTS`, every file
//! identity with an allow verdict, and `VERDICT_SLOTS`, the part of it the program reads by
//! index instead of a hash lookup. The order of writes keeps a slot from ever holding a verdict
//! the map does not: a file's own slot is emptied before its map entry changes or goes, and
//! filled only after the map took the new verdict.
use std::collections::HashMap;

use aya::maps::{Array, HashMap as BpfHashMap, MapData, MapError};
use provgate_common::{FileKey, VERDICT_SLOT_COUNT, Verdict, VerdictSlot};

pub struct Verdicts {
    map: BpfHashMap<MapData, FileKey, Verdict>,
    slots: Array<MapData, VerdictSlot>,
    /// The identity each slot holds, as written here.
    held: HashMap<u32, FileKey>,
}

impl Verdicts {
    pub fn new(map: BpfHashMap<MapData, FileKey, Verdict>, slots: Array<MapData, VerdictSlot>) -> Self {
        Self { map, slots, held: HashMap::new() }
    }

    /// Sets `key`'s verdict. An error means the map was not changed; the slot is best effort
    /// (a file whose slot could not be written is found in the map).
    pub fn insert(&mut self, key: FileKey, verdict: Verdict) -> Result<(), MapError> {
        // An older verdict of this file leaves its slot before the map changes.
        self.clear_slot(&key)?;
        self.map.insert(key, verdict, 0)?;
        if let Err(e) = self.fill_slot(key, verdict) {
            tracing::warn!(dev = key.dev, ino = key.ino, "verdict slot not written: {e}");
        }
        Ok(())
    }

    /// Puts `key`'s verdict in its slot, in place of whatever the slot held.
    fn fill_slot(&mut self, key: FileKey, verdict: Verdict) -> Result<(), MapError> {
        let index = VerdictSlot::index(&key);
        self.slots.set(index, VerdictSlot::new(key, verdict), 0)?;
        self.held.insert(index, key);
        Ok(())
    }

    /// Removes `key`'s verdict; removing one that is not there is not an error. An error means
    /// the map still holds it.
    pub fn remove(&mut self, key: &FileKey) -> Result<(), MapError> {
        self.clear_slot(key)?;
        match self.map.remove(key) {
            Err(MapError::KeyNotFound) => Ok(()),
            other => other,
        }
    }

    /// Empties `key`'s slot if it holds `key`.
    fn clear_slot(&mut self, key: &FileKey) -> Result<(), MapError> {
        let index = VerdictSlot::index(key);
        if self.held.get(&index) == Some(key) {
            self.slots.set(index, VerdictSlot::default(), 0)?;
            self.held.remove(&index);
        }
        Ok(())
    }

    /// What the map holds now (a previous daemon's verdicts, when taking over its programs),
    /// with every slot rewritten from it: what a previous daemon left in the slots is unknown.
    pub fn adopt(&mut self) -> Result<HashMap<FileKey, Verdict>, MapError> {
        let keys: Vec<FileKey> = self.map.keys().collect::<Result<_, _>>()?;
        let existing: HashMap<FileKey, Verdict> =
            keys.into_iter().filter_map(|k| self.map.get(&k, 0).ok().map(|v| (k, v))).collect();
        self.held.clear();
        for index in 0..VERDICT_SLOT_COUNT {
            self.slots.set(index, VerdictSlot::default(), 0)?;
        }
        for (key, verdict) in &existing {
            self.fill_slot(*key, *verdict)?;
        }
        Ok(existing)
    }
}
