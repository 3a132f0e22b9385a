//! One grammar for what the review commands are about, so that what one command prints another
//! takes: a path, a digest (`sha256:<hex>` or 64 hex digits), a unique prefix of at least 8 hex
//! digits of a digest the store knows, or an event number (`#5`, `event:5` or `5`). Every input
//! has one reading or is refused: digits are an event, never a file of that name in the working
//! directory (`./5` is the file), and digits that are also a digest prefix are refused as
//! ambiguous.
use std::path::PathBuf;

use anyhow::bail;

use crate::{
    file_stamp::FileStamp,
    hashing::{HashError, Sha256, hash_file},
    store::Store,
};

/// The shortest digest prefix taken: 8 hex digits, 32 bits, are unique among the digests a
/// store holds in practice, and an ambiguous one is refused rather than guessed.
const MIN_PREFIX: usize = 8;
/// Candidates listed for an ambiguous prefix.
const SHOWN: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Path(PathBuf),
    Digest(Sha256),
    Event(i64),
}

/// Reads `text` against the store (for digest prefixes); errors name the input once.
pub fn resolve(store: &Store, text: &str) -> anyhow::Result<Target> {
    let trimmed = text.trim();
    if let Some(number) = trimmed.strip_prefix('#').or_else(|| trimmed.strip_prefix("event:")) {
        return match number.parse() {
            Ok(id) => Ok(Target::Event(id)),
            Err(_) => bail!("{text:?}: an event is #N or event:N, with N a number"),
        };
    }
    if let Some(digest) = Sha256::parse_lenient(trimmed) {
        return Ok(Target::Digest(digest));
    }
    let digits = !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit());
    let hex = trimmed.strip_prefix("sha256:").unwrap_or(trimmed).to_ascii_lowercase();
    let prefix = hex.len() >= MIN_PREFIX && hex.len() < 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if digits {
        let event: i64 = trimmed.parse()?;
        if prefix && !store.digests_with_prefix(&hex, 1)?.is_empty() {
            bail!("{text:?}: ambiguous, both event #{event} and a digest prefix; write #{event} or sha256:{hex}");
        }
        return Ok(Target::Event(event));
    }
    let path = PathBuf::from(trimmed);
    // Hex that could be a prefix is a path only when written as one.
    if (!prefix || trimmed.contains('/')) && path.symlink_metadata().is_ok() {
        return Ok(Target::Path(path));
    }
    if prefix {
        let found = store.digests_with_prefix(&hex, SHOWN + 1)?;
        return match found.as_slice() {
            [] => bail!("{text:?}: no digest known to the store starts with {hex}"),
            [one] => Ok(Target::Digest(*one)),
            many => {
                let mut listed: Vec<String> = many.iter().take(SHOWN).map(ToString::to_string).collect();
                if many.len() > SHOWN {
                    listed.push("...".into());
                }
                bail!("{text:?}: ambiguous, several digests start with {hex}: {}", listed.join(", "))
            }
        };
    }
    bail!(
        "{text:?}: no such file, and not a digest (sha256:<hex>, or at least {MIN_PREFIX} hex digits) nor an event \
         (#N)"
    )
}

/// The content a target is about: its digest, and the file (a path given, or the one an event
/// names).
pub struct Subject {
    pub digest: Sha256,
    /// A file given by path, which exists.
    pub file: Option<PathBuf>,
    /// The path an event recorded, which may be gone.
    pub recorded_path: Option<String>,
}

/// Resolves `text` to the content it names: a file is hashed (or found in the file cache).
pub fn subject(store: &Store, text: &str) -> anyhow::Result<Subject> {
    match resolve(store, text)? {
        Target::Digest(digest) => Ok(Subject { digest, file: None, recorded_path: None }),
        Target::Path(path) => {
            let meta = std::fs::metadata(&path).map_err(|e| HashError::from_io(&path, e))?;
            let stamp = FileStamp::of(&meta);
            let cached = store.cached_file(&stamp.key)?.filter(|c| c.stamp == stamp).map(|c| c.digest);
            let digest = match cached {
                Some(d) => d,
                None => hash_file(&path)?.digest,
            };
            Ok(Subject { digest, file: Some(path), recorded_path: None })
        }
        Target::Event(event) => match store.event_file(event)? {
            None => bail!("no event #{event} in {}", store.path().display()),
            Some((None, path)) => bail!(
                "event #{event} ({}) has no digest: the file could not be hashed after the denial; name it by digest",
                path.as_deref().unwrap_or("unknown path")
            ),
            Some((Some(digest), path)) => Ok(Subject { digest, file: None, recorded_path: path }),
        },
    }
}

/// A source id as `sources` and `audit` print it: `#5`, `source:5` or `5`.
pub fn source_id(text: &str) -> anyhow::Result<i64> {
    let number = text.trim().trim_start_matches('#');
    let number = number.strip_prefix("source:").unwrap_or(number);
    number.parse().map_err(|_| anyhow::anyhow!("{text:?} is not a source id (#N, see `provgate sources`)"))
}

#[cfg(test)]
mod tests {
    use super::{Target, resolve, source_id};
    use crate::{hashing::Sha256, store::Store};

    #[test]
    fn every_form_resolves() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("p.db")).unwrap();
        let digest = Sha256::of(b"x");
        assert_eq!(resolve(&store, "#5").unwrap(), Target::Event(5));
        assert_eq!(resolve(&store, "event:7").unwrap(), Target::Event(7));
        assert_eq!(resolve(&store, "12").unwrap(), Target::Event(12));
        assert_eq!(resolve(&store, &digest.to_string()).unwrap(), Target::Digest(digest));
        assert_eq!(resolve(&store, &digest.to_hex().to_uppercase()).unwrap(), Target::Digest(digest));
        let file = dir.path().join("12");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(resolve(&store, file.to_str().unwrap()).unwrap(), Target::Path(file));
        // Digits are an event whatever files exist (a file named so is given with a `/`).
        assert_eq!(resolve(&store, "12").unwrap(), Target::Event(12));
        let unknown = resolve(&store, "deadbeef00").unwrap_err().to_string();
        assert!(unknown.contains("no digest known to the store starts with deadbeef00"), "{unknown}");
        let short = resolve(&store, "abc").unwrap_err().to_string();
        assert!(short.contains("no such file, and not a digest"), "{short}");
        let mut store = store;
        let near = |last: u8| {
            Sha256([
                0xab, 0xab, 0xab, 0xab, 0x01, last, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0,
            ])
        };
        let source = crate::store::tests::manual("test");
        let records: Vec<_> = [near(1), near(2)]
            .into_iter()
            .map(|sha256| provgate_sbom::DigestRecord { sha256, path: None, package: None })
            .collect();
        store.add_source(&source, &records).unwrap();
        assert_eq!(resolve(&store, "abababab0101").unwrap(), Target::Digest(near(1)));
        let ambiguous = resolve(&store, "sha256:abababab01").unwrap_err().to_string();
        assert!(ambiguous.contains("ambiguous") && ambiguous.contains(&near(2).to_string()), "{ambiguous}");
        let decimal = Sha256([
            0x12, 0x34, 0x56, 0x78, 0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0,
        ]);
        store
            .add_source(&source, &[provgate_sbom::DigestRecord { sha256: decimal, path: None, package: None }])
            .unwrap();
        let both = resolve(&store, "1234567890").unwrap_err().to_string();
        assert!(both.contains("both event #1234567890 and a digest prefix"), "{both}");
        assert_eq!(resolve(&store, "sha256:1234567890").unwrap(), Target::Digest(decimal));
        assert_eq!(source_id("#3").unwrap(), 3);
        assert_eq!(source_id("source:4").unwrap(), 4);
        assert!(source_id("x").is_err());
    }
}
