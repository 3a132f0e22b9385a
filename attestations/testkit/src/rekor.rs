//! A transparency log in the manner of Rekor: entries in an RFC 6962 Merkle tree, inclusion
//! proofs against signed checkpoints (C2SP signed notes), and, for Rekor v1, signed entry
//! timestamps (inclusion promises).
use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};
use rand_core::{OsRng, RngCore as _};
use serde_json::{Value, json};

use crate::{
    keys::Keypair,
    merkle::{self, Hash},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RekorVersion {
    /// Entries carry an integrated time and an inclusion promise; ECDSA P-256 log key.
    V1,
    /// Entries carry neither (signed timestamps give the time); Ed25519 log key.
    V2,
}

pub struct TransparencyLog {
    pub key: Keypair,
    pub version: RekorVersion,
    /// The checkpoint's origin line.
    pub origin: String,
    /// The name signatures are listed under.
    pub signer_name: String,
    leaves: Vec<Hash>,
}

/// An inclusion proof with the checkpoint it leads to.
pub struct InclusionProof {
    pub index: u64,
    pub tree_size: u64,
    pub root: Hash,
    pub hashes: Vec<Hash>,
    pub checkpoint: String,
}

impl TransparencyLog {
    pub fn new(version: RekorVersion) -> Self {
        let (key, name) = match version {
            RekorVersion::V1 => (Keypair::p256(), "rekor.provgate.test"),
            RekorVersion::V2 => (Keypair::ed25519(), "log2026.rekor.provgate.test"),
        };
        let origin = match version {
            RekorVersion::V1 => format!("{name} - {}", OsRng.next_u64() >> 1),
            RekorVersion::V2 => name.to_owned(),
        };
        let mut log = Self { key, version, origin, signer_name: name.to_owned(), leaves: Vec::new() };
        // Entries of other people, so that proofs have several levels.
        for _ in 0..5 {
            let mut filler = [0u8; 32];
            OsRng.fill_bytes(&mut filler);
            log.append(&filler);
        }
        log
    }

    pub fn log_id(&self) -> [u8; 32] {
        self.key.log_id()
    }

    pub fn len(&self) -> u64 {
        self.leaves.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// Adds an entry body; returns its index.
    pub fn append(&mut self, body: &[u8]) -> u64 {
        self.leaves.push(merkle::leaf_hash(body));
        self.len() - 1
    }

    /// The proof that entry `index` is in the tree as it is now.
    pub fn prove(&self, index: u64) -> InclusionProof {
        let root = merkle::root(&self.leaves);
        InclusionProof {
            index,
            tree_size: self.len(),
            root,
            hashes: merkle::inclusion_path(index as usize, &self.leaves),
            checkpoint: self.checkpoint(self.len(), &root),
        }
    }

    /// A signed note: origin, size and root, signed with the log key. The key hint is the first
    /// four bytes of the log ID.
    pub fn checkpoint(&self, tree_size: u64, root: &Hash) -> String {
        let note = format!("{}\n{tree_size}\n{}\n", self.origin, BASE64.encode(root));
        let mut hint_and_signature = self.log_id()[..4].to_vec();
        hint_and_signature.extend_from_slice(&self.key.sign(note.as_bytes()));
        format!("{note}\n\u{2014} {} {}\n", self.signer_name, BASE64.encode(hint_and_signature))
    }

    /// Rekor v1's inclusion promise: the log's signature over the canonical JSON of the entry's
    /// body, integrated time, log ID and index.
    pub fn signed_entry_timestamp(&self, body: &[u8], integrated_time: i64, index: u64) -> Vec<u8> {
        let payload = format!(
            r#"{{"body":"{}","integratedTime":{integrated_time},"logID":"{}","logIndex":{index}}}"#,
            BASE64.encode(body),
            hex::encode(self.log_id())
        );
        self.key.sign(payload.as_bytes())
    }

    /// Logs `body` as an entry of `kind`/`version` and returns the bundle's `tlogEntries` item:
    /// inclusion proof and checkpoint, plus integrated time and inclusion promise on v1.
    pub fn log(&mut self, kind: &str, version: &str, body: &[u8], integrated_time: jiff::Timestamp) -> Value {
        let index = self.append(body);
        let proof = self.prove(index);
        let mut entry = json!({
            "logIndex": index.to_string(),
            "logId": { "keyId": BASE64.encode(self.log_id()) },
            "kindVersion": { "kind": kind, "version": version },
            "inclusionProof": {
                "logIndex": index.to_string(),
                "rootHash": BASE64.encode(proof.root),
                "treeSize": proof.tree_size.to_string(),
                "hashes": proof.hashes.iter().map(|h| BASE64.encode(h)).collect::<Vec<_>>(),
                "checkpoint": { "envelope": proof.checkpoint },
            },
            "canonicalizedBody": BASE64.encode(body),
        });
        if self.version == RekorVersion::V1 {
            let seconds = integrated_time.as_second();
            entry["integratedTime"] = json!(seconds.to_string());
            entry["inclusionPromise"] =
                json!({ "signedEntryTimestamp": BASE64.encode(self.signed_entry_timestamp(body, seconds, index)) });
        }
        entry
    }
}
