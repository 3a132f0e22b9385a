//! RFC 6962 Merkle trees: leaf and node hashes, tree heads and inclusion paths.
use sha2::{Digest as _, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new().chain_update([0u8]).chain_update(data).finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new().chain_update([1u8]).chain_update(left).chain_update(right).finalize().into()
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) of RFC 6962 2.1, over leaf hashes.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => Sha256::digest([]).into(),
        [leaf] => *leaf,
        _ => {
            let k = split(leaves.len());
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]) of RFC 6962 2.1.1: the audit path of leaf `index`, leaf-side first.
pub fn inclusion_path(index: usize, leaves: &[Hash]) -> Vec<Hash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = split(leaves.len());
    let (mut path, sibling) = if index < k {
        (inclusion_path(index, &leaves[..k]), root(&leaves[k..]))
    } else {
        (inclusion_path(index - k, &leaves[k..]), root(&leaves[..k]))
    };
    path.push(sibling);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recomputes the root from a path (RFC 9162 2.1.3.2), to check our paths independently.
    fn root_from_path(mut index: usize, size: usize, leaf: Hash, path: &[Hash]) -> Hash {
        let mut last = size - 1;
        let mut hash = leaf;
        for sibling in path {
            if !index.is_multiple_of(2) || index == last {
                hash = node_hash(sibling, &hash);
                while index.is_multiple_of(2) && index != 0 {
                    index >>= 1;
                    last >>= 1;
                }
            } else {
                hash = node_hash(&hash, sibling);
            }
            index >>= 1;
            last >>= 1;
        }
        hash
    }

    #[test]
    fn every_path_of_every_tree_size_leads_to_the_root() {
        let leaves: Vec<Hash> = (0u8..20).map(|i| leaf_hash(&[i])).collect();
        for size in 1..=leaves.len() {
            let tree = &leaves[..size];
            for index in 0..size {
                let path = inclusion_path(index, tree);
                assert_eq!(root_from_path(index, size, tree[index], &path), root(tree), "size {size} index {index}");
            }
        }
    }
}
