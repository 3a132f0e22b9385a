//! The image's root filesystem as its layers build it, reduced to what matters here: which
//! regular files it ends up holding, with their digests. Layers apply in manifest order; a
//! layer's whiteouts remove lower layers' paths, and any member replaces what was at its path
//! (a file or link replacing a directory removes what the directory held).
use std::collections::BTreeMap;

use crate::digest::Digest;

use provgate_archive::{ArchiveError, FileNode, Node};

use super::{LayerChanges, reader::LayerError};

/// A candidate file of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// Absolute, as the file appears in a container (`/usr/bin/env`).
    pub path: String,
    pub sha256: Digest,
    pub mode: u32,
    pub size: u64,
}

#[derive(Debug, Default)]
pub struct ImageFiles {
    /// Every regular file, candidate or not: a hard link may name either.
    files: BTreeMap<String, FileNode>,
}

impl ImageFiles {
    /// Applies the next layer (the first call is the bottom layer).
    pub fn apply(&mut self, layer: LayerChanges) -> Result<(), LayerError> {
        for dir in &layer.opaque_dirs {
            self.remove_below(dir);
        }
        for path in &layer.whiteouts {
            self.files.remove(path);
            self.remove_below(path);
        }
        for (path, node) in layer.members {
            match node {
                Node::File(file) => {
                    self.remove_below(&path);
                    self.files.insert(path, file);
                }
                Node::HardLink(target) => {
                    let Some(file) = self.files.get(&target).copied() else {
                        return Err(LayerError::Archive(ArchiveError::Member {
                            path,
                            problem: format!("hard link to {target:?}, which is not a file of the image"),
                        }));
                    };
                    self.remove_below(&path);
                    self.files.insert(path, file);
                }
                Node::Dir => {
                    self.files.remove(&path);
                }
                Node::Other => {
                    self.files.remove(&path);
                    self.remove_below(&path);
                }
            }
        }
        Ok(())
    }

    /// Everything strictly below directory `dir` ("" is the root).
    fn remove_below(&mut self, dir: &str) {
        if dir.is_empty() {
            self.files.clear();
            return;
        }
        let start = format!("{dir}/");
        // '0' follows '/' in ASCII: the range holds exactly the paths starting with "dir/".
        let end = format!("{dir}0");
        let doomed: Vec<String> = self.files.range(start..end).map(|(path, _)| path.clone()).collect();
        for path in doomed {
            self.files.remove(&path);
        }
    }

    /// The candidate files, by path.
    pub fn candidates(&self) -> impl Iterator<Item = ImageFile> + '_ {
        self.files.iter().filter_map(|(path, file)| {
            Some(ImageFile { path: format!("/{path}"), sha256: file.sha256?, mode: file.mode, size: file.size })
        })
    }

    /// How many regular files the image holds.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}
