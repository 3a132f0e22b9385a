//! Bounds on untrusted input, checked before any parser sees it: a bundle, a DSSE payload or a
//! policy file arrives from outside and must not make us allocate or recurse without limit.
use thiserror::Error;

/// A bundle carries its DSSE payload base64-encoded; SBOM statements of large images reach tens
/// of megabytes, so the bound is generous but finite.
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;
/// A bundle's own JSON is shallow (about six levels); anything deeper is not a bundle.
pub const MAX_BUNDLE_DEPTH: usize = 32;
/// Statements nest their predicate: CycloneDX components nest recursively, so allow more, but
/// stay below serde_json's own recursion limit (128) so the error is ours and names the bound.
pub const MAX_STATEMENT_DEPTH: usize = 100;
/// A file of several attestations (npm's response, PyPI's provenance object) holds one per
/// kind of claim, a handful; thousands would only be work for whoever made us verify them.
pub const MAX_ATTESTATIONS: usize = 64;
/// Trusted roots and policies are small files an operator controls.
pub const MAX_TRUST_ROOT_BYTES: usize = 4 << 20;
pub const MAX_POLICY_BYTES: usize = 1 << 20;
pub const MAX_PUBLIC_KEY_BYTES: usize = 64 << 10;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LimitError {
    #[error("{size} bytes, more than the {max} bytes allowed")]
    TooLarge { size: usize, max: usize },
    #[error("larger than the {max} bytes allowed")]
    FileTooLarge { max: usize },
    #[error("JSON nested deeper than {max} levels")]
    TooDeep { max: usize },
}

/// Why a bounded file could not be read.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Limit(#[from] LimitError),
}

/// Refuses input larger than `max_bytes` or whose JSON arrays and objects nest deeper than
/// `max_depth`. Only brackets outside strings count; the JSON need not be valid (the parser that
/// runs next says what is wrong with it).
pub fn check_json(bytes: &[u8], max_bytes: usize, max_depth: usize) -> Result<(), LimitError> {
    check_size(bytes.len(), max_bytes)?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in bytes {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(LimitError::TooDeep { max: max_depth });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

pub fn check_size(size: usize, max: usize) -> Result<(), LimitError> {
    if size > max {
        return Err(LimitError::TooLarge { size, max });
    }
    Ok(())
}

/// Reads at most `max` bytes of a file: a wrong path pointing at a huge file (or a device) fails
/// with a clear error instead of filling memory.
pub fn read_bounded(path: &std::path::Path, max: usize) -> Result<Vec<u8>, ReadError> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > max {
        return Err(LimitError::FileTooLarge { max }.into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_only_brackets_outside_strings() {
        assert_eq!(check_json(br#"{"a":[1,{"b":"[[[[{{{{"}]}"#, 100, 3), Ok(()));
        assert_eq!(check_json(br#"{"a":[[1]]}"#, 100, 2), Err(LimitError::TooDeep { max: 2 }));
        // An escaped quote does not end the string, so the brackets after it stay inside it.
        assert_eq!(check_json(br#"["\"[[[["]"#, 100, 1), Ok(()));
    }

    #[test]
    fn size_is_bounded() {
        assert_eq!(check_json(b"[1,2,3]", 6, 10), Err(LimitError::TooLarge { size: 7, max: 6 }));
        assert_eq!(check_json(b"[1,2,3]", 7, 10), Ok(()));
    }

    #[test]
    fn deep_input_is_refused_before_any_parser_recurses() {
        let deep = "[".repeat(100_000);
        assert_eq!(check_json(deep.as_bytes(), usize::MAX, 32), Err(LimitError::TooDeep { max: 32 }));
    }

    #[test]
    fn bounded_read_refuses_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'x'; 11]).unwrap();
        let err = read_bounded(&path, 10).unwrap_err();
        assert_eq!(err.to_string(), "larger than the 10 bytes allowed");
        assert_eq!(read_bounded(&path, 11).unwrap().len(), 11);
    }
}
