//! Debian's control-file syntax (deb822): dpkg's status file, apt's Packages lists and the
//! archive's Release files are paragraphs of `Field: value` lines, continued by lines that start
//! with a space, separated by blank lines. Read one paragraph at a time from a stream, with every
//! line bounded, so a 60 MB Packages list costs one paragraph's memory; an error names the file
//! and the line.
use std::{
    io::{BufRead, Read as _},
    path::{Path, PathBuf},
};

/// The longest line read; Debian's longest are a few KiB (Description, Depends).
const MAX_LINE: u64 = 1 << 20;
/// The most bytes one paragraph may hold (a Release file's SHA256 field is the largest: a few
/// thousand lines).
const MAX_PARAGRAPH: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
#[error("{file}, line {line}: {problem}")]
pub struct Deb822Error {
    pub file: PathBuf,
    pub line: u64,
    pub problem: String,
}

/// One paragraph: its fields in order, and the line it starts on.
#[derive(Debug, Default)]
pub struct Paragraph {
    pub line: u64,
    fields: Vec<(String, String)>,
}

impl Paragraph {
    /// The value of `name` (field names are case-insensitive); a multi-line value has one line
    /// per continuation line, trimmed, after the first line's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The continuation lines of a multi-line field (Conffiles, SHA256), without the first line.
    pub fn lines(&self, name: &str) -> impl Iterator<Item = &str> {
        self.get(name).into_iter().flat_map(|v| v.lines().skip(1)).filter(|l| !l.is_empty())
    }
}

/// The paragraphs of a stream, in order.
pub struct Paragraphs<R> {
    reader: R,
    file: PathBuf,
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Paragraphs<R> {
    pub fn new(reader: R, file: &Path) -> Self {
        Self { reader, file: file.to_owned(), line: 0, buf: Vec::new(), done: false }
    }

    fn error(&self, problem: impl Into<String>) -> Deb822Error {
        Deb822Error { file: self.file.clone(), line: self.line, problem: problem.into() }
    }

    /// The next line without its line break; `None` at the end.
    fn next_line(&mut self) -> Result<Option<String>, Deb822Error> {
        self.buf.clear();
        let read = (&mut self.reader).take(MAX_LINE + 1).read_until(b'\n', &mut self.buf).map_err(|e| Deb822Error {
            file: self.file.clone(),
            line: self.line + 1,
            problem: e.to_string(),
        })?;
        if read == 0 {
            return Ok(None);
        }
        self.line += 1;
        if self.buf.len() as u64 > MAX_LINE {
            return Err(self.error(format!("a line longer than {MAX_LINE} bytes")));
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        // dpkg's status can hold descriptions from before UTF-8; they are not what is read here.
        Ok(Some(String::from_utf8_lossy(&self.buf).into_owned()))
    }

    fn paragraph(&mut self) -> Result<Option<Paragraph>, Deb822Error> {
        let mut paragraph = Paragraph::default();
        let mut size = 0usize;
        while let Some(line) = self.next_line()? {
            if line.trim().is_empty() {
                if paragraph.fields.is_empty() {
                    continue;
                }
                return Ok(Some(paragraph));
            }
            if line.starts_with('#') {
                continue;
            }
            size += line.len() + 1;
            if size > MAX_PARAGRAPH {
                return Err(self.error(format!("a paragraph larger than {MAX_PARAGRAPH} bytes")));
            }
            if line.starts_with([' ', '\t']) {
                let Some((_, value)) = paragraph.fields.last_mut() else {
                    return Err(self.error("a continuation line before any field"));
                };
                value.push('\n');
                value.push_str(line.trim());
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(self.error(format!("not a field (`Name: value`): {:?}", truncate(&line))));
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(self.error(format!("not a field name: {:?}", truncate(name))));
            }
            if paragraph.fields.is_empty() {
                paragraph.line = self.line;
            }
            paragraph.fields.push((name.to_owned(), value.trim().to_owned()));
        }
        Ok((!paragraph.fields.is_empty()).then_some(paragraph))
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(80).collect()
}

impl<R: BufRead> Iterator for Paragraphs<R> {
    type Item = Result<Paragraph, Deb822Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.paragraph().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Paragraphs;

    #[test]
    fn reads_fields_continuations_and_paragraphs() {
        let text = "Package: a\nConffiles:\n /etc/a 0123 \n /etc/b 4567 obsolete\n\n\nPackage: b\r\nVersion: 1:2.0\r\n";
        let paragraphs: Vec<_> = Paragraphs::new(text.as_bytes(), Path::new("status")).map(Result::unwrap).collect();
        assert_eq!(paragraphs.len(), 2);
        assert_eq!(paragraphs[0].get("package"), Some("a"));
        assert_eq!(paragraphs[0].lines("Conffiles").collect::<Vec<_>>(), ["/etc/a 0123", "/etc/b 4567 obsolete"]);
        assert_eq!((paragraphs[1].line, paragraphs[1].get("Version")), (7, Some("1:2.0")));
    }

    #[test]
    fn a_bad_line_names_the_file_and_line() {
        let error = Paragraphs::new("Package: a\nno colon here\n".as_bytes(), Path::new("/x/status"))
            .find_map(Result::err)
            .unwrap();
        assert_eq!(error.to_string(), "/x/status, line 2: not a field (`Name: value`): \"no colon here\"");
        let error = Paragraphs::new(" leading\n".as_bytes(), Path::new("f")).find_map(Result::err).unwrap();
        assert!(error.to_string().contains("continuation line before any field"), "{error}");
    }
}
