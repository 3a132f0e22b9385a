//! Naming the cgroup of an event (the kernel reports its id, the inode of its directory), for
//! review; what the name says about the container is `crate::workload`'s.
use std::{collections::HashMap, os::unix::fs::MetadataExt as _, path::PathBuf, time::Instant};

pub struct CgroupNames {
    root: Option<PathBuf>,
    by_id: HashMap<u64, String>,
    walked_at: Option<Instant>,
}

impl CgroupNames {
    pub fn new() -> Self {
        Self { root: super::scope::cgroup2_mount_point(), by_id: HashMap::new(), walked_at: None }
    }

    /// The cgroup's path relative to the cgroup2 root; re-walks the hierarchy on a miss, at
    /// most once a second.
    pub fn path(&mut self, id: u64) -> Option<String> {
        if let Some(p) = self.by_id.get(&id) {
            return Some(p.clone());
        }
        if self.walked_at.is_some_and(|t| t.elapsed().as_secs() < 1) {
            return None;
        }
        self.walk();
        self.by_id.get(&id).cloned()
    }

    fn walk(&mut self) {
        self.walked_at = Some(Instant::now());
        let Some(root) = self.root.clone() else {
            return;
        };
        self.by_id.clear();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            if let Ok(meta) = std::fs::metadata(&dir) {
                let relative = dir.strip_prefix(&root).map(|p| format!("/{}", p.display())).unwrap_or_default();
                self.by_id.insert(meta.ino(), relative);
            }
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            stack.extend(entries.flatten().filter(|e| e.file_type().is_ok_and(|t| t.is_dir())).map(|e| e.path()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_root_cgroup() {
        let mut names = CgroupNames::new();
        let Some(root) = names.root.clone() else {
            eprintln!("skipped: no cgroup v2 mount");
            return;
        };
        let id = std::fs::metadata(&root).unwrap().ino();
        assert_eq!(names.path(id).as_deref(), Some("/"));
    }
}
