//! The file cache in memory: which digest a file had when it last had this stamp. Loaded from
//! the store at start; new entries are written back in batches.
use std::collections::HashMap;

use provgate_common::FileKey;

use crate::{
    file_stamp::FileStamp,
    hashing::Sha256,
    store::{CachedFile, Store},
};

#[derive(Default)]
pub struct FileCache {
    by_key: HashMap<FileKey, CachedFile>,
    unsaved: Vec<CachedFile>,
}

impl FileCache {
    pub fn load(store: &Store) -> crate::store::Result<Self> {
        let by_key = store.load_file_cache()?.into_iter().map(|f| (f.stamp.key, f)).collect();
        Ok(Self { by_key, unsaved: Vec::new() })
    }

    /// The digest of the file with exactly this stamp, if it was hashed before.
    pub fn digest(&self, stamp: &FileStamp) -> Option<Sha256> {
        self.by_key.get(&stamp.key).filter(|f| f.stamp == *stamp).map(|f| f.digest)
    }

    pub fn insert(&mut self, file: CachedFile) {
        if self.by_key.get(&file.stamp.key) != Some(&file) {
            self.unsaved.push(file.clone());
            self.by_key.insert(file.stamp.key, file);
        }
    }

    /// Forgets entries whose path no longer names the file they describe (deleted or replaced
    /// while nobody watched), in memory and in the store. Returns how many.
    pub fn prune_vanished(&mut self, store: &mut Store) -> crate::store::Result<usize> {
        use std::os::unix::fs::MetadataExt as _;
        let vanished: Vec<FileKey> = self
            .by_key
            .values()
            .filter(|f| {
                std::fs::metadata(&f.path)
                    .map(|m| m.ino() != f.stamp.key.ino || crate::file_stamp::kernel_dev(m.dev()) != f.stamp.key.dev)
                    .unwrap_or(true)
            })
            .map(|f| f.stamp.key)
            .collect();
        store.forget_files(&vanished)?;
        for key in &vanished {
            self.by_key.remove(key);
        }
        Ok(vanished.len())
    }

    pub fn entries(&self) -> impl Iterator<Item = &CachedFile> {
        self.by_key.values()
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Entries not yet written to the store.
    pub fn take_unsaved(&mut self) -> Vec<CachedFile> {
        std::mem::take(&mut self.unsaved)
    }

    pub fn save(&mut self, store: &mut Store) -> crate::store::Result<usize> {
        let unsaved = self.take_unsaved();
        if !unsaved.is_empty()
            && let Err(e) = store.save_file_cache(&unsaved)
        {
            self.unsaved = unsaved;
            return Err(e);
        }
        Ok(unsaved.len())
    }
}
