//! The CycloneDX component tree, shared by the JSON and XML readers. A component of type `file`
//! is a file of the nearest enclosing non-file component; every other component is a package,
//! whose hashes are counted but never make a record (CycloneDX gives a package no file name, so
//! nothing says what file they are the digest of). Components are read depth first, so a file's record is
//! complete when the file ends, except when its package's name comes after its nested
//! components in the document: then the record waits for the package (bounded by
//! `Limits::max_deferred_records`).
use crate::{
    collector::{Collector, Entry},
    record::{PackageRef, RecordKind},
};

pub(crate) const SUPPORTED: &str = "1.2, 1.3, 1.4, 1.5, 1.6, 1.7";

pub(crate) fn supported(version: &str) -> bool {
    SUPPORTED.split(", ").any(|v| v == version)
}

pub(crate) struct Component {
    /// `None` until the `type` is read.
    is_file: Option<bool>,
    pub identity: PackageRef,
    pub digests: Entry,
    waiting: Vec<(Entry, String)>,
}

impl Component {
    pub fn set_type(&mut self, kind: &str) {
        self.is_file = Some(kind == "file");
    }

    fn can_own_files(&self) -> bool {
        self.is_file != Some(true)
    }
}

pub(crate) struct ComponentTree {
    open: Vec<Component>,
    waiting: usize,
    max_waiting: usize,
}

impl ComponentTree {
    pub fn new(max_waiting: usize) -> Self {
        Self { open: Vec::new(), waiting: 0, max_waiting }
    }

    pub fn open(&mut self) {
        self.open.push(Component {
            is_file: None,
            identity: PackageRef::default(),
            digests: Entry::new(RecordKind::Package),
            waiting: Vec::new(),
        });
    }

    pub fn current(&mut self) -> &mut Component {
        self.open.last_mut().expect("a component is open")
    }

    /// Ends the innermost component, yields what it and its waiting files make, and returns its
    /// identity.
    pub fn close(&mut self, out: &mut Collector<'_>, place: impl FnOnce() -> String) -> PackageRef {
        let mut component = self.open.pop().expect("a component is open");
        let mut entry = std::mem::replace(&mut component.digests, Entry::new(RecordKind::Package));
        if component.is_file == Some(true) {
            entry.kind = RecordKind::File;
            entry.path = component.identity.name.clone();
            self.place_file(entry, place(), out);
            for (waiting, place) in std::mem::take(&mut component.waiting) {
                self.waiting -= 1;
                self.place_file(waiting, place, out);
            }
        } else {
            entry.package = Some(component.identity.clone());
            out.finish(entry, place);
            for (mut waiting, place) in std::mem::take(&mut component.waiting) {
                self.waiting -= 1;
                waiting.package = Some(component.identity.clone());
                out.finish(waiting, || place);
            }
        }
        component.identity
    }

    fn place_file(&mut self, mut entry: Entry, place: String, out: &mut Collector<'_>) {
        let owner = self.open.iter_mut().rev().find(|c| c.can_own_files());
        match owner {
            Some(owner) if owner.identity.is_empty() && self.waiting < self.max_waiting => {
                self.waiting += 1;
                owner.waiting.push((entry, place));
            }
            Some(owner) if owner.identity.is_empty() => {
                out.problem(
                    place.clone(),
                    "too many file components wait for their package's name (max_deferred_records); recorded without a package",
                );
                out.finish(entry, || place);
            }
            owner => {
                entry.package = owner.map(|o| o.identity.clone());
                out.finish(entry, || place);
            }
        }
    }
}
