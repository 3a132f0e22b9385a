//! The `#!` files processes opened to execute, as fanotify handed them to the daemon while the
//! exec waited: the exact file, race-free. The observe-only program knows a script by its name
//! only (see `KernelEvent::by_name`), and a short script has often exited before the daemon could
//! open that name; where the script's filesystem is watched, this memory identifies it instead.
use std::{
    collections::VecDeque,
    path::{Component, Path, PathBuf},
    sync::Mutex,
};

use crate::file_stamp::FileStamp;

/// How many opens are remembered; the oldest go first. A script's event reaches the recorder
/// within a poll interval, so this only needs to cover the execs of a burst.
const CAPACITY: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptOpen {
    pub tgid: u32,
    pub stamp: FileStamp,
    /// The file's path as the daemon sees it (`/proc/self/fd`'s link).
    pub path: PathBuf,
}

#[derive(Default)]
pub struct ScriptOpens {
    opens: Mutex<VecDeque<ScriptOpen>>,
}

impl ScriptOpens {
    pub fn remember(&self, open: ScriptOpen) {
        let mut opens = self.opens.lock().unwrap_or_else(|e| e.into_inner());
        if opens.len() == CAPACITY {
            opens.pop_front();
        }
        opens.push_back(open);
    }

    /// The file that process `tgid` opened to execute under the name `name` (the name it gave
    /// `execve`, matched on its last components: the daemon's path of a file in a container has
    /// a longer prefix). Every open of that process is taken. Only an unambiguous answer is
    /// given: exactly one open, under that name. Two opens may be an exec that failed after its
    /// open (too many arguments) and the one that ran, or a script whose interpreter is a script;
    /// a name through a link is not the opened file's name. An attacker could arrange any of
    /// these to have an allowed file answer for theirs, so the caller identifies such a script
    /// another way or reports it unidentified.
    pub fn take(&self, tgid: u32, name: &str) -> Option<ScriptOpen> {
        let mut opens = self.opens.lock().unwrap_or_else(|e| e.into_inner());
        let mut taken = Vec::new();
        opens.retain(|o| {
            let theirs = o.tgid == tgid;
            if theirs {
                taken.push(o.clone());
            }
            !theirs
        });
        drop(opens);
        let wanted = normal_components(Path::new(name));
        match taken.as_slice() {
            [only] if !wanted.is_empty() && normal_components(&only.path).ends_with(&wanted) => taken.pop(),
            _ => None,
        }
    }
}

fn normal_components(path: &Path) -> Vec<Component<'_>> {
    path.components().filter(|c| matches!(c, Component::Normal(_))).collect()
}

#[cfg(test)]
mod tests {
    use provgate_common::FileKey;

    use super::*;

    fn open(tgid: u32, path: &str, ino: u64) -> ScriptOpen {
        let key = FileKey { ino, dev: 1, _pad: 0 };
        ScriptOpen { tgid, stamp: FileStamp { key, ctime_sec: 0, ctime_nsec: 0, size: 1 }, path: path.into() }
    }

    #[test]
    fn a_name_finds_its_process_open_by_its_last_components() {
        let opens = ScriptOpens::default();
        opens.remember(open(7, "/var/lib/containers/merged/usr/bin/x.sh", 1));
        opens.remember(open(8, "/work/x.sh", 2));
        assert_eq!(opens.take(8, "./x.sh").map(|o| o.stamp.key.ino), Some(2));
        assert_eq!(opens.take(7, "/usr/bin/x.sh").map(|o| o.stamp.key.ino), Some(1));
        assert_eq!(opens.take(7, "/usr/bin/x.sh"), None, "taken once");
    }

    #[test]
    fn another_process_or_another_name_does_not_match() {
        let opens = ScriptOpens::default();
        opens.remember(open(7, "/work/x.sh", 1));
        assert_eq!(opens.take(8, "/work/x.sh"), None);
        assert_eq!(opens.take(7, "/work/y.sh"), None, "through a link, say");
        opens.remember(open(7, "/work/x.sh", 1));
        assert_eq!(opens.take(7, "/other/work/x.sh"), None, "a longer name than the path");
        opens.remember(open(7, "/work/x.sh", 1));
        assert_eq!(opens.take(7, "."), None);
    }

    /// An allowed script opened by an exec that then failed, and the attacker's script opened by
    /// the exec that ran under the same name: no answer, whichever order.
    #[test]
    fn two_opens_of_the_process_are_no_answer() {
        let opens = ScriptOpens::default();
        opens.remember(open(7, "/tmp/x.sh", 1));
        opens.remember(open(9, "/tmp/x.sh", 3));
        opens.remember(open(7, "/tmp/x.sh", 2));
        assert_eq!(opens.take(7, "/tmp/x.sh"), None);
        assert_eq!(opens.take(7, "/tmp/x.sh"), None, "both were taken");
        assert_eq!(opens.take(9, "/tmp/x.sh").map(|o| o.stamp.key.ino), Some(3));
    }

    #[test]
    fn memory_is_bounded() {
        let opens = ScriptOpens::default();
        for i in 0..CAPACITY as u32 + 10 {
            opens.remember(open(i, &format!("/s{i}.sh"), i.into()));
        }
        assert_eq!(opens.take(0, "/s0.sh"), None, "the oldest went first");
        assert!(opens.take(CAPACITY as u32 + 9, &format!("/s{}.sh", CAPACITY + 9)).is_some());
    }
}
