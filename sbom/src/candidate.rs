//! Which files count as code: the one rule for directories provgate scans (`baseline`, the
//! daemon's roots) and for the layers of images.

/// The rule, for help texts.
pub const CANDIDATE_HELP: &str = "regular files that are ELF objects (\\x7fELF), #! scripts, or have an execute bit";

/// How many leading bytes [`is_candidate`] looks at.
pub const MAGIC_BYTES: usize = 4;

/// Whether a regular file with these permission bits and these first bytes is a candidate for
/// execution: an execute bit, or the start of an ELF object or a `#!` script.
pub fn is_candidate(mode: u32, start: &[u8]) -> bool {
    mode & 0o111 != 0 || start.starts_with(b"\x7fELF") || start.starts_with(b"#!")
}

#[cfg(test)]
mod tests {
    use super::is_candidate;

    #[test]
    fn code_is_an_execute_bit_or_a_magic() {
        assert!(is_candidate(0o755, b""));
        assert!(is_candidate(0o100, b"data"));
        assert!(is_candidate(0o644, b"\x7fELF\x02"));
        assert!(is_candidate(0o644, b"#!/bin/sh"));
        assert!(!is_candidate(0o644, b"\x7fEL"));
        assert!(!is_candidate(0o644, b"plain text"));
    }
}
