//! What the three SPDX readers share: two passes over a seekable document and the
//! relationships that make a file part of a package.
use std::io::{Read, Seek, SeekFrom};

use crate::{collector::Collector, error::SbomError, index::PackageIndex, limits::Limits};

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
