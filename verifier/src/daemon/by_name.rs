//! Files the observe-only program knows by name only (a `#!` script, once its interpreter took
//! over the exec: see `KernelEvent::by_name`), identified and decided in user space as the
//! program decides the files it sees: a current allow verdict, else the digest in the allowlist.
//!
//! The identity comes, in order, from the file fanotify handed over while the exec waited (exact,
//! where the script's filesystem is watched: `script_opens`), or from opening the name as the
//! process sees it at once, while it most likely still runs (`named_file`). A file identified
//! neither way is reported as not identified, never cleared.

use super::{
    engine::Engine,
    named_file::{NamedFile, open_named},
    script_opens::{ScriptOpen, ScriptOpens},
};
use crate::{
    file_stamp::FileStamp,
    hashing::{hash_file, hash_open_file},
    kernel::events::KernelEvent,
};

/// The reason recorded for a script that could not be identified (its process had ended before
/// its name could be opened, or the name could not be followed safely, and fanotify did not see
/// it): reported, not cleared.
pub const NOT_IDENTIFIED: &str = "not-identified";

/// An event as the recorder receives it, with the identity of a file known by name gathered as
/// the event was read.
pub struct Received {
    pub event: KernelEvent,
    pub identity: Option<Identity>,
}

pub enum Identity {
    /// The file opened to execute, as fanotify saw it.
    Opened(ScriptOpen),
    /// The file opened by its name, as the process sees it.
    Named(NamedFile),
}

pub enum Decided {
    Allowed,
    NotAllowed,
}

impl Received {
    /// Runs on the event loop: only a lookup and an open, never a hash.
    pub fn new(event: KernelEvent, script_opens: &ScriptOpens) -> Self {
        let identity = match event.path.as_deref().filter(|_| event.by_name) {
            Some(name) => script_opens
                .take(event.tgid, name)
                .map(Identity::Opened)
                .or_else(|| open_named(event.tgid, name).map(Identity::Named)),
            None => None,
        };
        if event.by_name {
            tracing::debug!(name = ?event.path, pid = event.tgid, identified = identity.is_some(), "a file known by name");
        }
        Self { event, identity }
    }
}

impl Identity {
    /// Decides the file, filling the event with its identity, path and digest.
    pub fn decide(self, engine: &Engine, event: &mut KernelEvent) -> Decided {
        let (stamp, path, file) = match self {
            Identity::Opened(open) => (Some(open.stamp), open.path, None),
            Identity::Named(named) => {
                let stamp = named.file.metadata().ok().filter(|m| m.is_file()).map(|m| FileStamp::of(&m));
                (stamp, named.path, Some(named.file))
            }
        };
        let Some(stamp) = stamp else { return Decided::NotAllowed };
        event.ino = stamp.key.ino;
        event.dev = stamp.key.dev;
        event.path = Some(path.display().to_string());
        if engine.verdict(&stamp.key) == Some(stamp.allow_verdict()) {
            return Decided::Allowed;
        }
        let hashed = engine.digest_or_hash(&stamp, &path.display().to_string(), false, || match file.as_ref() {
            Some(file) => hash_open_file(file, &path),
            None => hash_file(&path),
        });
        // A file changed since it was identified is judged as nothing: its digest is another
        // file's (the engine still learns it, for the stamp it had).
        let Some(digest) = hashed.ok().filter(|h| h.stamp == stamp).map(|h| h.digest) else {
            return Decided::NotAllowed;
        };
        event.digest = Some(digest.0);
        if engine.is_allowed(&digest) { Decided::Allowed } else { Decided::NotAllowed }
    }
}
