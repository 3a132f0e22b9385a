//! What one layer changes in the image's filesystem: its tar members, with the whiteout files
//! among them taken out as what they mean. Whiteouts apply to lower layers only (OCI image spec,
//! "Whiteouts"), so they are kept apart from the members.
use provgate_archive::{Node, WalkStats};

use super::reader::LayerError;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerChanges {
    /// Paths removed (`dir/.wh.name` removes `dir/name`).
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer contents are removed (`dir/.wh..wh..opq`).
    pub opaque_dirs: Vec<String>,
    pub members: Vec<(String, Node)>,
}

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

impl LayerChanges {
    /// Sorts a layer's members from its whiteouts; `stats` stops counting whiteout files as
    /// regular files.
    pub(super) fn of(members: Vec<(String, Node)>, stats: &mut WalkStats) -> Result<Self, LayerError> {
        let mut changes = Self::default();
        for (path, node) in members {
            if let Node::File(file) = &node
                && let Some(change) = whiteout(&path).map_err(|problem| {
                    LayerError::Archive(provgate_archive::ArchiveError::Member {
                        path: path.clone(),
                        problem: problem.to_owned(),
                    })
                })?
            {
                stats.regular_files -= 1;
                if file.sha256.is_some() {
                    stats.hashed -= 1;
                    stats.hashed_bytes -= file.size;
                }
                match change {
                    Whiteout::Path(target) => changes.whiteouts.push(target),
                    Whiteout::Opaque(dir) => changes.opaque_dirs.push(dir),
                    Whiteout::Ignored => {}
                }
                continue;
            }
            changes.members.push((path, node));
        }
        Ok(changes)
    }
}

enum Whiteout {
    Path(String),
    Opaque(String),
    /// AUFS's own bookkeeping (`.wh..wh.plnk`, `.wh..wh.aufs`), not a whiteout.
    Ignored,
}
fn whiteout(path: &str) -> Result<Option<Whiteout>, &'static str> {
    let (dir, base) = match path.rsplit_once('/') {
        Some((dir, base)) => (dir, base),
        None => ("", path),
    };
    let Some(removed) = base.strip_prefix(WHITEOUT) else {
        return Ok(None);
    };
    let join = |name: &str| {
        if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
    };
    if base == OPAQUE {
        return Ok(Some(Whiteout::Opaque(dir.to_owned())));
    }
    if removed.starts_with(WHITEOUT) {
        return Ok(Some(Whiteout::Ignored));
    }
    if removed.is_empty() || removed == "." || removed == ".." {
        return Err("whiteout of no file");
    }
    Ok(Some(Whiteout::Path(join(removed))))
}
