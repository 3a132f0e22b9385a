//! The observe-only program's verdicts, written here and nowhere else: `VERDICTS`, every file
//! identity with an allow verdict, and `VERDICT_SLOTS`, the part of it the program reads by
//! index instead of a hash lookup. The order of writes keeps a slot from ever holding a verdict
//! the map does not: the map first when adding, the slot first when removing.
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

    pub fn insert(&mut self, key: FileKey, verdict: Verdict) -> Result<(), MapError> {
        self.map.insert(key, verdict, 0)?;
        let index = VerdictSlot::index(&key);
        self.slots.set(index, VerdictSlot::new(key, verdict), 0)?;
        self.held.insert(index, key);
        Ok(())
    }

    /// Removes `key`'s verdict; removing one that is not there is not an error.
    pub fn remove(&mut self, key: &FileKey) -> Result<(), MapError> {
        let index = VerdictSlot::index(key);
        if self.held.get(&index) == Some(key) {
            self.slots.set(index, VerdictSlot::default(), 0)?;
            self.held.remove(&index);
        }
        match self.map.remove(key) {
            Err(MapError::KeyNotFound) => Ok(()),
            other => other,
        }
    }

    /// What the map holds now (a previous daemon's verdicts, when taking over its programs),
    /// with every slot rewritten from it: what a previous daemon left in the slots is unknown.
    pub fn adopt(&mut self) -> Result<HashMap<FileKey, Verdict>, MapError> {
        for index in 0..VERDICT_SLOT_COUNT {
            self.slots.set(index, VerdictSlot::default(), 0)?;
        }
        self.held.clear();
        let keys: Vec<FileKey> = self.map.keys().collect::<Result<_, _>>()?;
        let existing: HashMap<FileKey, Verdict> =
            keys.into_iter().filter_map(|k| self.map.get(&k, 0).ok().map(|v| (k, v))).collect();
        for (key, verdict) in &existing {
            let index = VerdictSlot::index(key);
            self.slots.set(index, VerdictSlot::new(*key, *verdict), 0)?;
            self.held.insert(index, *key);
        }
        Ok(existing)
    }
}
