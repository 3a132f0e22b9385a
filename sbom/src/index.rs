//! The one thing SPDX makes a reader remember across the document: which package each file
//! belongs to. Relationships may come after the files, so the first pass fills this index and
//! the second pass reads it. Ids are kept as keyed 64-bit hashes (SipHash with a random key, so a
//! document cannot aim collisions), 16 bytes a link; the memory is capped by
//! `Limits::max_index_bytes`, beyond which links are dropped and reported, never digests.
use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
};

use crate::record::PackageRef;

const LINK_BYTES: usize = 16;
const PACKAGE_OVERHEAD: usize = 96;

pub(crate) struct PackageIndex {
    hasher: RandomState,
    packages: HashMap<u64, PackageRef>,
    /// (file id, package id), sorted by file id once sealed; document order among equals.
    links: Vec<(u64, u64)>,
    /// Links the document implies rather than states (a tag-value file following a package);
    /// consulted only for files no stated link names.
    implied: Vec<(u64, u64)>,
    bytes: usize,
    budget: usize,
    dropped: u64,
}

impl PackageIndex {
    pub fn new(budget: usize) -> Self {
        Self {
            hasher: RandomState::new(),
            packages: HashMap::new(),
            links: Vec::new(),
            implied: Vec::new(),
            bytes: 0,
            budget,
            dropped: 0,
        }
    }

    pub fn key(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    fn charge(&mut self, bytes: usize) -> bool {
        if self.bytes + bytes > self.budget {
            self.dropped += 1;
            return false;
        }
        self.bytes += bytes;
        true
    }

    /// The first package with an id wins; a repeated id is the document's error, reported by
    /// the second pass.
    pub fn add_package(&mut self, id: &str, package: PackageRef) {
        let key = self.key(id);
        if self.packages.contains_key(&key) {
            return;
        }
        let size = PACKAGE_OVERHEAD
            + [&package.name, &package.version, &package.purl]
                .iter()
                .map(|s| s.as_ref().map_or(0, String::len))
                .sum::<usize>();
        if self.charge(size) {
            self.packages.insert(key, package);
        }
    }

    pub fn link(&mut self, file_key: u64, package_key: u64) {
        if self.reserve_link() {
            self.push_reserved_link(file_key, package_key);
        }
    }

    pub fn link_implied(&mut self, file_key: u64, package_key: u64) {
        if self.reserve_link() {
            self.implied.push((file_key, package_key));
        }
    }

    /// Makes room for a link whose package is not known yet; false (and counted as dropped)
    /// when the budget is spent.
    pub fn reserve_link(&mut self) -> bool {
        self.charge(LINK_BYTES)
    }

    /// Gives back room reserved for links that turned out not to be wanted.
    pub fn release_links(&mut self, count: usize) {
        self.bytes = self.bytes.saturating_sub(count * LINK_BYTES);
    }

    pub fn push_reserved_link(&mut self, file_key: u64, package_key: u64) {
        self.links.push((file_key, package_key));
    }

    /// Links and packages that did not fit the budget.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn seal(&mut self) {
        self.links.sort_by_key(|&(file, _)| file);
        self.implied.sort_by_key(|&(file, _)| file);
    }

    /// The first package, in document order, that the document says contains the file; else
    /// the first it implies does.
    pub fn package_of(&self, file_id: &str) -> Option<&PackageRef> {
        let key = self.key(file_id);
        let first_in = |links: &[(u64, u64)]| {
            let start = first_at_or_after(links, key);
            links[start..]
                .iter()
                .take_while(|&&(file, _)| file == key)
                .find_map(|(_, package)| self.packages.get(package))
        };
        first_in(&self.links).or_else(|| first_in(&self.implied))
    }
}

/// Where `key` is or would be in `links` (sorted by file key). Keys are keyed hashes, uniform
/// over u64, so the answer is near `key / 2^64` of the way in: galloping out from there touches
/// a few neighbouring cache lines where a binary search over millions of links would miss the
/// cache twenty times per file.
fn first_at_or_after(links: &[(u64, u64)], key: u64) -> usize {
    let n = links.len();
    if n == 0 {
        return 0;
    }
    let guess = ((u128::from(key) * n as u128) >> 64) as usize;
    // Invariant: entries before `lo` are smaller than `key`, entries from `hi` on are not.
    let (mut lo, mut hi);
    let mut step = 1;
    if links[guess].0 < key {
        lo = guess + 1;
        loop {
            let probe = guess + step;
            if probe >= n {
                hi = n;
                break;
            }
            if links[probe].0 >= key {
                hi = probe;
                break;
            }
            lo = probe + 1;
            step *= 2;
        }
    } else {
        hi = guess;
        loop {
            if step > guess {
                lo = 0;
                break;
            }
            let probe = guess - step;
            if links[probe].0 < key {
                lo = probe + 1;
                break;
            }
            hi = probe;
            step *= 2;
        }
    }
    lo + links[lo..hi].partition_point(|&(file, _)| file < key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> PackageRef {
        PackageRef { name: Some(name.into()), ..PackageRef::default() }
    }

    #[test]
    fn links_resolve_in_document_order_and_only_to_packages() {
        let mut index = PackageIndex::new(1 << 20);
        let (f, p1, p2, other) = (index.key("F"), index.key("P1"), index.key("P2"), index.key("X"));
        index.link(f, other); // not a package: ignored at lookup
        index.link(f, p2);
        index.link(f, p1);
        index.add_package("P1", named("one"));
        index.add_package("P2", named("two"));
        index.add_package("P2", named("second copy"));
        index.seal();
        assert_eq!(index.package_of("F").and_then(|p| p.name.as_deref()), Some("two"));
        assert!(index.package_of("G").is_none());
    }

    #[test]
    fn galloping_search_agrees_with_binary_search() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for n in [0usize, 1, 2, 3, 10, 1000] {
            let mut links: Vec<(u64, u64)> = (0..n).map(|i| (next() >> (i % 3 * 20), i as u64)).collect();
            // Duplicates and extremes too.
            if n > 3 {
                links[1].0 = links[0].0;
                links[2].0 = 0;
                links[3].0 = u64::MAX;
            }
            links.sort_by_key(|&(f, _)| f);
            let mut probes: Vec<u64> = links.iter().map(|&(f, _)| f).collect();
            probes.extend((0..200).map(|_| next()));
            probes.extend([0, 1, u64::MAX, u64::MAX - 1]);
            for key in probes {
                assert_eq!(first_at_or_after(&links, key), links.partition_point(|&(f, _)| f < key), "n {n} key {key}");
            }
        }
    }

    #[test]
    fn budget_drops_links_and_counts_them() {
        let mut index = PackageIndex::new(PACKAGE_OVERHEAD + 3 + 2 * LINK_BYTES);
        index.add_package("P", named("one"));
        for i in 0..5 {
            let k = index.key(&format!("F{i}"));
            let p = index.key("P");
            index.link(k, p);
        }
        index.seal();
        assert_eq!(index.dropped(), 3);
        assert!(index.package_of("F1").is_some());
        assert!(index.package_of("F2").is_none());
    }
}
