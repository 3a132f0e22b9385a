//! A JSON-lines file that rotates itself by size: when the next line would take it past
//! `max_bytes`, `FILE` becomes `FILE.1` (`FILE.1` becomes `FILE.2`, ... up to `FILE.<keep>`, the
//! oldest being removed) and a new `FILE` starts. Lines are never split across files, so the
//! files on disk never hold more than `(keep + 1) * max_bytes` bytes. provgate rotates the file
//! itself: an outside rotator (logrotate) moving it would leave provgate writing the moved file.
use std::{
    ffi::OsString,
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write as _},
    os::unix::fs::OpenOptionsExt as _,
    path::{Path, PathBuf},
};

pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    out: BufWriter<File>,
    /// Bytes in the current file, buffered ones included.
    size: u64,
}

impl RotatingFile {
    /// Opens `path` for appending (creating it and its directory), continuing its size.
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(Self { path: path.to_owned(), max_bytes, keep, out: BufWriter::with_capacity(64 * 1024, file), size })
    }

    /// Appends one line (with its newline). A line longer than `max_bytes` on its own cannot be
    /// kept within the bound and is not written: returns false.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<bool> {
        let len = line.len() as u64;
        if len > self.max_bytes {
            return Ok(false);
        }
        if self.size + len > self.max_bytes {
            self.rotate()?;
        }
        self.out.write_all(line)?;
        self.size += len;
        Ok(true)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if self.keep == 0 {
            std::fs::remove_file(&self.path).or_else(not_found_is_ok)?;
        } else {
            std::fs::remove_file(self.numbered(self.keep)).or_else(not_found_is_ok)?;
            for n in (1..self.keep).rev() {
                std::fs::rename(self.numbered(n), self.numbered(n + 1)).or_else(not_found_is_ok)?;
            }
            std::fs::rename(&self.path, self.numbered(1))?;
        }
        self.out = BufWriter::with_capacity(64 * 1024, open_append(&self.path)?);
        self.size = 0;
        Ok(())
    }

    /// `FILE.n`.
    pub fn numbered(&self, n: u32) -> PathBuf {
        let mut name = OsString::from(self.path.as_os_str());
        name.push(format!(".{n}"));
        name.into()
    }
}

impl Drop for RotatingFile {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

/// Events name processes, files and command lines: not for everyone to read (the daemon's
/// umask makes it root's only).
fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).mode(0o600).open(path)
}

fn not_found_is_ok(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound { Ok(()) } else { Err(e) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_disk(dir: &Path) -> Vec<(String, u64)> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().len()))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn rotation_keeps_at_most_the_configured_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let (max_bytes, keep) = (1000, 3);
        let mut file = RotatingFile::open(&path, max_bytes, keep).unwrap();
        let mut written = Vec::new();
        for i in 0..500 {
            // Lines of varying length, so files do not fill exactly.
            let line = format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 37));
            assert!(file.write_line(line.as_bytes()).unwrap());
            written.push(line);
        }
        file.flush().unwrap();
        let files = on_disk(dir.path());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["events.jsonl", "events.jsonl.1", "events.jsonl.2", "events.jsonl.3"]);
        for (name, len) in &files {
            assert!(*len <= max_bytes, "{name}: {len} bytes");
        }
        let total: u64 = files.iter().map(|(_, len)| len).sum();
        assert!(total <= (u64::from(keep) + 1) * max_bytes, "{total}");
        // What is kept is the newest lines, whole and in order, oldest file first.
        let kept: String = ["events.jsonl.3", "events.jsonl.2", "events.jsonl.1", "events.jsonl"]
            .iter()
            .map(|n| std::fs::read_to_string(dir.path().join(n)).unwrap())
            .collect();
        let newest: String = written[written.len() - kept.lines().count()..].concat();
        assert_eq!(kept, newest);
        // Nearly full files: each rotated file was filled until the next line did not fit.
        assert!(files[1..].iter().all(|(_, len)| *len > max_bytes - 60), "{files:?}");
    }

    #[test]
    fn reopening_continues_the_size_and_keep_zero_keeps_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/events.jsonl");
        let line = b"0123456789\n";
        {
            let mut file = RotatingFile::open(&path, 30, 0).unwrap();
            for _ in 0..2 {
                file.write_line(line).unwrap();
            }
        }
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 22);
        let mut file = RotatingFile::open(&path, 30, 0).unwrap();
        file.write_line(line).unwrap();
        file.flush().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 11, "33 bytes would pass 30: a new file");
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
        assert!(!file.write_line(&[b'x'; 31]).unwrap(), "a line longer than the bound is not written");
    }
}
