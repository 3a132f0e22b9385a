//! The operating system from its signed archive (`os trust`): a Debian archive signs its
//! `InRelease` (a clear-signed OpenPGP message) with a key of the archive keyring; InRelease
//! names the SHA-256 of each `Packages` index; each index names the SHA-256 of each `.deb`; a
//! `.deb` holds the package's files. Each link is checked here, so that a package's files are
//! vouched for only through an unbroken chain from a keyring key:
//!
//! - [`Keyring::load`] reads the keys trusted to sign archives;
//! - [`verify_release`] verifies an InRelease and keeps what its signed text says
//!   ([`VerifiedRelease`]), refusing one that is unsigned, signed by no keyring key, or expired;
//! - [`read_index`] reads a Packages index, refusing it unless its SHA-256 and size are those the
//!   verified release names, and yields the entries wanted as [`Vouched`] (which nothing outside
//!   this module can make);
//! - [`admit_deb`] reads the `.deb` (provgate-archive: streamed, bounded) and refuses it unless
//!   its SHA-256 is the one its index entry names.
//!
//! Debian first; an rpm repository (repomd.xml signed, primary.xml naming each rpm's digest)
//! would be a sibling of these functions with the same [`Vouched`] at the end.
use std::{
    collections::HashMap,
    io::{BufReader, Read},
    path::{Path, PathBuf},
};

use pgp::{
    composed::{CleartextSignedMessage, PublicOrSecret, SignedPublicKey},
    types::KeyDetails as _,
};
use provgate_archive::{Limits, PackageFormat, read_package};
use provgate_sbom::{DigestRecord, Sha256};
use serde_json::json;
use sha2::Digest as _;

use super::{Refusal, SourceKind, actor::current_user, admission::Admission, admission::Records};
use crate::{os::deb822::Paragraphs, store::NewSource};

/// The largest InRelease read (Debian's main archive's is about 150 KB).
const MAX_RELEASE: u64 = 64 << 20;
/// The largest Packages index read, uncompressed (Debian's main amd64 one is about 50 MB).
const MAX_INDEX: u64 = 2 << 30;

/// The keys trusted to sign archives, from binary (`.gpg`) or armored (`.asc`) keyrings.
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
    pub files: Vec<PathBuf>,
}

impl Keyring {
    /// Every public key of `files`; a file that cannot be read, or holds no usable key, is an
    /// error naming it.
    pub fn load(files: &[PathBuf]) -> Result<Self, Refusal> {
        let mut keys = Vec::new();
        for file in files {
            let refuse = |problem: String| Refusal(format!("keyring {}: {problem}", file.display()));
            let bytes = std::fs::read(file).map_err(|e| refuse(e.to_string()))?;
            let (parsed, _) = PublicOrSecret::from_reader_many(bytes.as_slice())
                .map_err(|e| refuse(format!("not an OpenPGP keyring: {e}")))?;
            let before = keys.len();
            for key in parsed {
                let key = match key {
                    Ok(PublicOrSecret::Public(key)) => key,
                    Ok(PublicOrSecret::Secret(_)) => {
                        return Err(refuse("holds a secret key; give public keys only".into()));
                    }
                    Err(e) => return Err(refuse(format!("a key that does not parse: {e}"))),
                };
                // Not `verify_bindings` over the whole key: Debian's archive keys carry
                // certifications by other keys, which cannot be checked here; the primary key is
                // what the keyring trusts, and a subkey counts only with its binding verified.
                keys.push(key);
            }
            if keys.len() == before {
                return Err(refuse("holds no usable public key".into()));
            }
        }
        if keys.is_empty() {
            return Err(Refusal("no archive keyring given".into()));
        }
        Ok(Self { keys, files: files.to_vec() })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// The fingerprint of the keyring key (its primary key) that made a signature over `text`.
    fn signer(&self, message: &CleartextSignedMessage, text: &[u8]) -> Option<String> {
        for signature in message.signatures() {
            for key in &self.keys {
                let made_by_subkey = key
                    .public_subkeys
                    .iter()
                    .any(|s| signature.verify(&s.key, text).is_ok() && s.verify_bindings(&key.primary_key).is_ok());
                if made_by_subkey || signature.verify(&key.primary_key, text).is_ok() {
                    return Some(fingerprint(key));
                }
            }
        }
        None
    }
}

fn fingerprint(key: &SignedPublicKey) -> String {
    format!("{:X}", key.primary_key.fingerprint())
}

/// What a verified InRelease says.
#[derive(Debug)]
pub struct VerifiedRelease {
    pub file: PathBuf,
    pub origin: Option<String>,
    pub suite: String,
    pub codename: Option<String>,
    /// The keyring key that signed it.
    pub fingerprint: String,
    /// SHA-256 and size of each file of the release, by path (`main/binary-amd64/Packages`).
    files: HashMap<String, (Sha256, u64)>,
}

impl VerifiedRelease {
    /// Whether it names a SHA-256 for `path`.
    pub fn names(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The suite as apt shows it: `bookworm-security (oldstable-security)`.
    pub fn suite_label(&self) -> String {
        match &self.codename {
            Some(codename) if *codename != self.suite => format!("{codename} ({})", self.suite),
            _ => self.suite.clone(),
        }
    }
}

/// Verifies an InRelease with `keyring`: a clear-signed message with a signature by one of its
/// keys, not past its `Valid-Until` at `now` (Unix seconds). Only the signed text is read.
pub fn verify_release(file: &Path, keyring: &Keyring, now: i64) -> Result<VerifiedRelease, Refusal> {
    let refuse = |problem: String| Refusal(format!("{}: {problem}", file.display()));
    let mut text = String::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_RELEASE + 1).read_to_string(&mut text))
        .map_err(|e| refuse(e.to_string()))?;
    if text.len() as u64 > MAX_RELEASE {
        return Err(refuse(format!("larger than {MAX_RELEASE} bytes")));
    }
    let (message, _) = CleartextSignedMessage::from_string(&text)
        .map_err(|e| refuse(format!("not a clear-signed OpenPGP message (unsigned?): {e}")))?;
    let signed = message.signed_text();
    let fingerprint = keyring.signer(&message, signed.as_bytes()).ok_or_else(|| {
        let files: Vec<String> = keyring.files.iter().map(|f| f.display().to_string()).collect();
        refuse(format!(
            "no signature by a key of the archive keyring ({} keys from {})",
            keyring.len(),
            files.join(", ")
        ))
    })?;
    let paragraph = Paragraphs::new(signed.as_bytes(), file)
        .next()
        .transpose()
        .map_err(|e| Refusal(e.to_string()))?
        .ok_or_else(|| refuse("the signed text is empty".into()))?;
    if let Some(until) = paragraph.get("Valid-Until") {
        let until_s = rfc2822_seconds(until).ok_or_else(|| refuse(format!("Valid-Until {until:?} is not a date")))?;
        if until_s < now {
            return Err(refuse(format!("expired: Valid-Until {until} has passed (run apt-get update)")));
        }
    }
    let suite = paragraph
        .get("Suite")
        .or(paragraph.get("Codename"))
        .ok_or_else(|| refuse("names no Suite or Codename".into()))?
        .to_owned();
    let mut files = HashMap::new();
    for line in paragraph.lines("SHA256") {
        let mut words = line.split_whitespace();
        let (Some(hex), Some(size), Some(path), None) = (words.next(), words.next(), words.next(), words.next()) else {
            return Err(refuse(format!("a SHA256 line that is not `HASH SIZE PATH`: {line:?}")));
        };
        let digest = Sha256::parse_lenient(hex).ok_or_else(|| refuse(format!("not a SHA-256: {hex:?}")))?;
        let size = size.parse().map_err(|_| refuse(format!("not a size: {size:?}")))?;
        files.insert(path.to_owned(), (digest, size));
    }
    if files.is_empty() {
        return Err(refuse("names no SHA-256 of any file".into()));
    }
    Ok(VerifiedRelease {
        file: file.to_owned(),
        origin: paragraph.get("Origin").map(str::to_owned),
        suite,
        codename: paragraph.get("Codename").map(str::to_owned),
        fingerprint,
        files,
    })
}

/// `Sat, 12 Dec 2026 03:33:28 UTC` (the form Release files use) as Unix seconds.
fn rfc2822_seconds(text: &str) -> Option<i64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let words = if words.first()?.ends_with(',') { &words[1..] } else { &words[..] };
    let [day, month, year, time, zone] = words else { return None };
    let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let month = months.iter().position(|m| month.eq_ignore_ascii_case(m))? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let mut hms = time.split(':').map(|p| p.parse::<i64>());
    let (h, m, s) = (hms.next()?.ok()?, hms.next()?.ok()?, hms.next().unwrap_or(Ok(0)).ok()?);
    let offset = match *zone {
        "UTC" | "GMT" | "Z" => 0,
        zone => {
            let (sign, digits) = zone.split_at_checked(1)?;
            let value: i64 = digits.parse().ok()?;
            let seconds = (value / 100) * 3600 + (value % 100) * 60;
            if sign == "-" { -seconds } else { seconds }
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 { (year - 1, month + 9) } else { (year, month - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + s - offset)
}

/// A package a verified index names: what the archive's key vouches for, through its index.
/// Made only by [`read_index`].
#[derive(Clone, Debug)]
pub struct Vouched {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// The `.deb`'s path in the archive (`pool/main/d/debianutils/...`).
    pub filename: String,
    pub sha256: Sha256,
    pub suite: String,
    pub origin: Option<String>,
    pub fingerprint: String,
    /// The index it came from (the file in apt's lists).
    pub index: PathBuf,
    _made_here: (),
}

/// Counts and hashes what passes, so an index is checked as it is parsed.
struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
    count: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if self.count > MAX_INDEX {
            return Err(std::io::Error::other(format!("larger than {MAX_INDEX} bytes uncompressed")));
        }
        Ok(n)
    }
}

/// Reads the Packages index `file` (apt's copy: plain, gzip, xz, zstd or lz4), which `release`
/// names as `index_path`, and returns the entries `wanted(name, version, architecture)` keeps.
/// Refused, with nothing returned, unless its content has the SHA-256 and size `release` names.
pub fn read_index(
    file: &Path,
    index_path: &str,
    release: &VerifiedRelease,
    wanted: &dyn Fn(&str, &str, &str) -> bool,
) -> Result<Vec<Vouched>, Refusal> {
    let refuse = |problem: String| Refusal(format!("{}: {problem}", file.display()));
    let Some(&(expected, expected_size)) = release.files.get(index_path) else {
        return Err(refuse(format!("{} names no SHA-256 for {index_path}", release.file.display())));
    };
    let opened = std::fs::File::open(file).map_err(|e| refuse(e.to_string()))?;
    let input = BufReader::new(opened);
    let decoded: Box<dyn Read> = if file.extension().is_some_and(|e| e == "lz4") {
        Box::new(lz4_flex::frame::FrameDecoder::new(input))
    } else {
        let mut input = input;
        let start = std::io::BufRead::fill_buf(&mut input).map_err(|e| refuse(e.to_string()))?;
        provgate_archive::Compression::sniff(start).decoder(input).map_err(|e| refuse(e.to_string()))?
    };
    let mut hashing = Hashing { inner: decoded, hasher: sha2::Sha256::new(), count: 0 };
    let mut found = Vec::new();
    {
        let paragraphs = Paragraphs::new(BufReader::with_capacity(256 << 10, &mut hashing), file);
        for paragraph in paragraphs {
            let paragraph = paragraph.map_err(|e| Refusal(e.to_string()))?;
            let (Some(name), Some(version), Some(architecture)) =
                (paragraph.get("Package"), paragraph.get("Version"), paragraph.get("Architecture"))
            else {
                continue;
            };
            if !wanted(name, version, architecture) {
                continue;
            }
            let at = |problem: &str| refuse(format!("line {}: {name} {version}: {problem}", paragraph.line));
            let filename = paragraph.get("Filename").ok_or_else(|| at("no Filename"))?;
            let sha256 = paragraph.get("SHA256").and_then(Sha256::parse_lenient).ok_or_else(|| at("no SHA256"))?;
            found.push(Vouched {
                name: name.to_owned(),
                version: version.to_owned(),
                architecture: architecture.to_owned(),
                filename: filename.to_owned(),
                sha256,
                suite: release.suite_label(),
                origin: release.origin.clone(),
                fingerprint: release.fingerprint.clone(),
                index: file.to_owned(),
                _made_here: (),
            });
        }
    }
    let got = Sha256(hashing.hasher.finalize().into());
    if got != expected || hashing.count != expected_size {
        return Err(refuse(format!(
            "its content ({got}, {} bytes) is not the {index_path} that {} vouches for ({expected}, {expected_size} \
             bytes)",
            hashing.count,
            release.file.display()
        )));
    }
    Ok(found)
}

/// The package `vouched` names, read from `deb` ([`super::Evidence::OsPackage`]): an admission of its files (data and maintainer
/// scripts, at the paths dpkg installs them to) as one source, refused unless the file is the
/// very `.deb` the index names.
pub(super) fn admit_deb(
    vouched: &Vouched,
    deb: &Path,
    limits: &Limits,
    reason: Option<String>,
) -> Result<Admission, Refusal> {
    let package = read_package(deb, PackageFormat::Deb, limits)
        .map_err(|e| Refusal(format!("{}: reading the Debian package: {e}", deb.display())))?;
    if package.sha256 != vouched.sha256 {
        return Err(Refusal(format!(
            "{}: its SHA-256 is {}, but the index {} names {} for {} {} {}",
            deb.display(),
            package.sha256,
            vouched.index.display(),
            vouched.sha256,
            vouched.name,
            vouched.version,
            vouched.architecture
        )));
    }
    if package.name.as_deref() != Some(&vouched.name) || package.version.as_deref() != Some(&vouched.version) {
        return Err(Refusal(format!(
            "{}: its control file says {} {}, the index {}",
            deb.display(),
            package.name.as_deref().unwrap_or("?"),
            package.version.as_deref().unwrap_or("?"),
            vouched.name
        )));
    }
    let label = format!("{} {} {}", vouched.name, vouched.version, vouched.architecture);
    let records = package
        .files
        .iter()
        .map(|f| DigestRecord { sha256: f.sha256, path: Some(f.path.clone()), package: Some(label.clone()) })
        .collect();
    let detail = json!({
        "format": "deb",
        "package": vouched.name,
        "version": vouched.version,
        "architecture": vouched.architecture,
        "suite": vouched.suite,
        "origin": vouched.origin,
        "fingerprint": vouched.fingerprint,
        "deb_sha256": vouched.sha256.to_hex(),
        "filename": vouched.filename,
        "index": vouched.index,
        "files": package.files.len(),
    });
    let source = NewSource {
        kind: SourceKind::OsPackage,
        name: label,
        signer: Some(format!("openpgp:{}", vouched.fingerprint)),
        issuer: Some(vouched.suite.clone()),
        detail: Some(detail),
        created_by: current_user(),
        reason,
        evidence: None,
    };
    let verified = format!(
        "{} from {} ({}), InRelease signed by {}",
        vouched.filename,
        vouched.suite,
        vouched.index.display(),
        vouched.fingerprint
    );
    let contents = Some(format!("{} files, {} bytes uncompressed", package.files.len(), package.uncompressed_bytes));
    Ok(Admission { source, records: Records::List(records), verified, only_if_new: false, contents })
}

#[cfg(test)]
mod tests {
    use super::rfc2822_seconds;

    #[test]
    fn release_dates() {
        assert_eq!(rfc2822_seconds("Thu, 01 Jan 1970 00:00:00 UTC"), Some(0));
        assert_eq!(rfc2822_seconds("Sat, 12 Dec 2026 03:33:28 UTC"), Some(1_797_046_408));
        assert_eq!(rfc2822_seconds("Sat, 12 Dec 2026 04:33:28 +0100"), Some(1_797_046_408));
        assert_eq!(rfc2822_seconds("12 Dec 2026"), None);
    }
}
