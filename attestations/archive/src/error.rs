/// Why an archive was not read. Each says what bound or rule was broken; the caller names the
/// archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error(
        "decompresses to more than {max} bytes from {compressed} compressed bytes (more than {ratio} times, beyond the first {allowance} bytes): refusing a decompression bomb"
    )]
    Bomb { max: u64, compressed: u64, ratio: u64, allowance: u64 },
    #[error("decompresses to more than {max} bytes in all")]
    TotalTooLarge { max: u64 },
    #[error("{size} bytes, more than the {max} allowed for one archive")]
    TooLarge { size: u64, max: u64 },
    #[error("{format} data is corrupt: {detail}")]
    Decompress { format: &'static str, detail: String },
    #[error("not a valid tar stream: {0}")]
    Tar(String),
    #[error("member {path:?}: {problem}")]
    Member { path: String, problem: String },
    #[error("more than {max} members")]
    TooManyMembers { max: u64 },
    #[error("not a valid {format} archive: {detail}")]
    Format { format: &'static str, detail: String },
    #[error("reading it: {0}")]
    Io(String),
    #[error("changed while it was read: its SHA-256 is now {now}, not the {verified} that was verified")]
    Changed { verified: String, now: String },
}
