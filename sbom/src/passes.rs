//! What the three SPDX readers share: two passes over a seekable document and the
//! relationships that make a file part of a package.
use std::{
    fmt,
    io::{Read, Seek, SeekFrom},
    marker::PhantomData,
};

use serde::de::{Deserialize, DeserializeSeed, Deserializer, SeqAccess, Visitor};

use crate::{
    collector::Collector,
    error::SbomError,
    index::PackageIndex,
    json::{HasTrail, Trail, for_each_element},
    limits::Limits,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// Packages and file-to-package links only.
    Index,
    /// Records, counts and digest checks.
    Emit,
}

/// Runs `pass` twice over the document from `start`: an index pass, then an emit pass that
/// reads the sealed index.
pub(crate) fn two_passes<'s, R: Read + Seek>(
    input: &mut R,
    start: u64,
    limits: &Limits,
    out: &mut Collector<'s>,
    mut pass: impl FnMut(Pass, &mut R, &mut PackageIndex, &mut Collector<'s>) -> Result<(), SbomError>,
) -> Result<(), SbomError> {
    let mut index = PackageIndex::new(limits.max_index_bytes);
    for which in [Pass::Index, Pass::Emit] {
        rewind(input, start)?;
        pass(which, input, &mut index, out)?;
        if which == Pass::Index {
            index.seal();
        }
    }
    report_dropped_links(&index, out);
    Ok(())
}

pub(crate) fn rewind<R: Seek>(input: &mut R, start: u64) -> Result<(), SbomError> {
    input.seek(SeekFrom::Start(start)).map(drop).map_err(SbomError::Read)
}

/// `P CONTAINS F` and `F CONTAINED_BY P` (SPDX 2), `contains` (SPDX 3). Whether the other side
/// is a package is decided at lookup, since packages may be declared later.
pub(crate) fn link_relationship(index: &mut PackageIndex, from: &str, kind: &str, to: &str) {
    if kind.eq_ignore_ascii_case("CONTAINS") {
        let (file, package) = (index.key(to), index.key(from));
        index.link(file, package);
    } else if kind.eq_ignore_ascii_case("CONTAINED_BY") {
        let (file, package) = (index.key(from), index.key(to));
        index.link(file, package);
    }
}

/// What the two-pass JSON readers (SPDX 2, SPDX 3, syft) hold while they read: which pass, where
/// they are, the package index and the records' collector.
pub(crate) struct IndexedState<'a, 's> {
    pub pass: Pass,
    pub trail: Trail,
    pub index: &'a mut PackageIndex,
    pub out: &'a mut Collector<'s>,
}

impl<'a, 's> IndexedState<'a, 's> {
    pub fn new(pass: Pass, index: &'a mut PackageIndex, out: &'a mut Collector<'s>) -> Self {
        Self { pass, trail: Trail::default(), index, out }
    }
}

impl HasTrail for IndexedState<'_, '_> {
    fn trail(&mut self) -> &mut Trail {
        &mut self.trail
    }
}

/// A relationship as a JSON format spells it: (from, type, to).
pub(crate) trait Relationship {
    fn parts(&self) -> (&str, &str, &str);
}

/// A JSON array of relationships of type `R`, each linked into the index as it is read.
pub(crate) struct Relationships<'x, 'a, 's, R>(pub &'x mut IndexedState<'a, 's>, pub PhantomData<R>);

impl<'de, R: Deserialize<'de> + Relationship> DeserializeSeed<'de> for Relationships<'_, '_, '_, R> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, R: Deserialize<'de> + Relationship> Visitor<'de> for Relationships<'_, '_, '_, R> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of relationships")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for_each_element(&mut seq, self.0, |seq, st| {
            let Some(r) = seq.next_element::<R>()? else {
                return Ok(false);
            };
            let (from, kind, to) = r.parts();
            link_relationship(st.index, from, kind, to);
            Ok(true)
        })
    }
}

fn report_dropped_links(index: &PackageIndex, out: &mut Collector<'_>) {
    if index.dropped() > 0 {
        out.problem(
            "document",
            format!(
                "{} packages or file-to-package links did not fit the index limit (max_index_bytes); \
                 the files concerned are recorded without their package",
                index.dropped()
            ),
        );
    }
}
