//! Bounds on what a document may make the reader hold. The reader below enforces them on the
//! raw bytes, before any parser allocates, so a hostile document cannot make one string, one
//! line or one nesting level cost more than the limit.
use std::io::{self, Read};

/// Defaults suit real SBOMs of whole distributions: license texts of a few hundred KiB, component
/// trees a dozen levels deep, documents of several GiB.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_document_bytes: u64,
    /// One JSON string, one XML text or tag, one tag-value line or `<text>` block.
    pub max_string_bytes: usize,
    /// Nesting of JSON arrays and objects, or of XML elements.
    pub max_depth: usize,
    /// Memory for the package index of SPDX documents (packages and file-to-package links),
    /// the one structure that grows with the document; past it, package attribution degrades
    /// (a reported problem), digests do not.
    pub max_index_bytes: usize,
    /// CycloneDX file components held back until their package has a name.
    pub max_deferred_records: usize,
    /// Problems kept for the summary; further ones are only counted.
    pub max_problems: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: 64 << 30,
            max_string_bytes: 4 << 20,
            max_depth: 100,
            max_index_bytes: 512 << 20,
            max_deferred_records: 100_000,
            max_problems: 100,
        }
    }
}

/// Digests listed for one file or package; real documents list at most a dozen algorithms.
pub(crate) const MAX_DIGESTS_PER_ENTRY: usize = 64;
/// External references of one SPDX package (where its purl is).
pub(crate) const MAX_EXTERNAL_REFS: usize = 4096;

/// A limit crossed in the raw bytes; travels inside an `io::Error` through the parsers.
#[derive(Debug)]
pub(crate) struct LimitExceeded {
    pub what: &'static str,
    pub limit: u64,
    pub byte: u64,
}

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} exceeds the limit of {} at byte {}", self.what, self.limit, self.byte)
    }
}

impl std::error::Error for LimitExceeded {}

impl LimitExceeded {
    pub(crate) fn from_io(e: &io::Error) -> Option<&Self> {
        e.get_ref().and_then(|inner| inner.downcast_ref::<Self>())
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Syntax {
    /// Strings and nesting of `{`/`[`.
    Json,
    /// Runs between `<` and `>`: one tag or one text node.
    Markup,
    /// Lines.
    Lines,
}

/// Scans bytes as they are read and fails the read that crosses a limit.
pub(crate) struct BoundedReader<R> {
    inner: R,
    syntax: Syntax,
    max_run: usize,
    max_depth: usize,
    max_total: u64,
    total: u64,
    run: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Once crossed, a limit fails every later read too (parsers may read on after an error).
    crossed: Option<(&'static str, u64, u64)>,
}

impl<R: Read> BoundedReader<R> {
    pub(crate) fn new(inner: R, syntax: Syntax, limits: &Limits) -> Self {
        Self {
            inner,
            syntax,
            max_run: limits.max_string_bytes,
            max_depth: limits.max_depth,
            max_total: limits.max_document_bytes,
            total: 0,
            run: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            crossed: None,
        }
    }

    fn exceeded(&mut self, what: &'static str, limit: usize, at: usize) -> io::Error {
        let crossed = (what, limit as u64, self.total + at as u64);
        self.crossed = Some(crossed);
        io::Error::other(LimitExceeded { what, limit: crossed.1, byte: crossed.2 })
    }

    /// Adds `count` bytes starting at `at` to the current run, failing where it crosses the limit.
    fn extend_run(&mut self, count: usize, at: usize, what: &'static str) -> io::Result<()> {
        self.run += count;
        if self.run > self.max_run {
            let crossing = (at + count).saturating_sub(self.run - self.max_run);
            return Err(self.exceeded(what, self.max_run, crossing));
        }
        Ok(())
    }

    fn string_bytes(&mut self, count: usize, at: usize) -> io::Result<()> {
        self.extend_run(count, at, "a string")
    }

    fn scan_json(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut at = 0;
        while at < bytes.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    self.string_bytes(1, at)?;
                    at += 1;
                    continue;
                }
                // Most of a document is inside strings (digests, paths): skip to the next quote
                // or backslash at memchr speed.
                let Some(found) = memchr::memchr2(b'"', b'\\', &bytes[at..]) else {
                    self.string_bytes(bytes.len() - at, at)?;
                    return Ok(());
                };
                self.string_bytes(found, at)?;
                at += found;
                if bytes[at] == b'"' {
                    self.in_string = false;
                } else {
                    self.escaped = true;
                    self.string_bytes(1, at)?;
                }
                at += 1;
                continue;
            }
            let b = bytes[at];
            match b {
                b'"' => {
                    self.in_string = true;
                    self.run = 0;
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    if self.depth > self.max_depth {
                        return Err(self.exceeded("nesting", self.max_depth, at));
                    }
                }
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
            at += 1;
        }
        Ok(())
    }

    /// Runs between break bytes (`\n`, or `<` and `>`).
    fn scan_runs(&mut self, bytes: &[u8], what: &'static str) -> io::Result<()> {
        let mut at = 0;
        loop {
            let rest = &bytes[at..];
            let next = match self.syntax {
                Syntax::Markup => memchr::memchr2(b'<', b'>', rest),
                _ => memchr::memchr(b'\n', rest),
            };
            let Some(found) = next else {
                return self.extend_run(rest.len(), at, what);
            };
            self.extend_run(found, at, what)?;
            self.run = 0;
            at += found + 1;
        }
    }
}

impl<R: Read> Read for BoundedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((what, limit, byte)) = self.crossed {
            return Err(io::Error::other(LimitExceeded { what, limit, byte }));
        }
        let n = self.inner.read(buf)?;
        if self.total + n as u64 > self.max_total {
            let over = (self.max_total - self.total) as usize;
            return Err(self.exceeded("the document", self.max_total as usize, over));
        }
        let bytes = &buf[..n];
        match self.syntax {
            Syntax::Json => self.scan_json(bytes)?,
            Syntax::Markup => self.scan_runs(bytes, "a tag or text")?,
            Syntax::Lines => self.scan_runs(bytes, "a line")?,
        }
        self.total += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], syntax: Syntax, limits: &Limits) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        BoundedReader::new(input, syntax, limits).read_to_end(&mut out)?;
        Ok(out)
    }

    fn limit_of(e: io::Error) -> (&'static str, u64) {
        let l = LimitExceeded::from_io(&e).expect("a limit error");
        (l.what, l.byte)
    }

    #[test]
    fn json_strings_and_depth_are_bounded() {
        let limits = Limits { max_string_bytes: 8, max_depth: 3, ..Limits::default() };
        assert!(read_all(br#"{"a":["12345678"]}"#, Syntax::Json, &limits).is_ok());
        assert_eq!(limit_of(read_all(br#"{"a":"123456789"}"#, Syntax::Json, &limits).unwrap_err()), ("a string", 14));
        // Escaped quotes do not end the string, brackets inside strings do not nest.
        assert!(read_all(br#"{"a":"[[[[\"xyz"}"#, Syntax::Json, &limits).is_err());
        assert!(read_all(br#"{"a":"[[[[[["}"#, Syntax::Json, &limits).is_ok());
        assert_eq!(limit_of(read_all(b"[[[[]]]]", Syntax::Json, &limits).unwrap_err()).0, "nesting");
    }

    #[test]
    fn lines_markup_and_size_are_bounded() {
        let limits = Limits { max_string_bytes: 4, max_document_bytes: 12, ..Limits::default() };
        assert!(read_all(b"abcd\nefgh\n", Syntax::Lines, &limits).is_ok());
        assert_eq!(limit_of(read_all(b"abcde\n", Syntax::Lines, &limits).unwrap_err()).0, "a line");
        assert_eq!(limit_of(read_all(b"<abcdef>", Syntax::Markup, &limits).unwrap_err()).0, "a tag or text");
        assert_eq!(limit_of(read_all(b"ab\nab\nab\nab\nab\n", Syntax::Lines, &limits).unwrap_err()).0, "the document");
    }
}
