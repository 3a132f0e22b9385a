//! A package's name and version, from its own metadata or, failing that, its file's name.
//! Metadata that does not parse leaves them unknown: they label records, they decide nothing.
use super::PackageFormat;

type NameVersion = (Option<String>, Option<String>);

/// npm's `package.json`.
pub(super) fn npm(manifest: &[u8]) -> NameVersion {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(manifest) else {
        return (None, None);
    };
    let field = |key: &str| json.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    (field("name"), field("version"))
}

/// Python's core metadata (a wheel's METADATA, an sdist's PKG-INFO): email-style headers.
pub(super) fn core_metadata(text: &[u8]) -> NameVersion {
    let fields = headers(text, &["Name", "Version"]);
    (fields[0].clone(), fields[1].clone())
}

/// The values of `keys` among RFC 822-style `Key: value` lines, up to the first blank line
/// (a deb's control file, Python's core metadata).
pub(super) fn headers(text: &[u8], keys: &[&str]) -> Vec<Option<String>> {
    let text = String::from_utf8_lossy(text);
    let mut found = vec![None; keys.len()];
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        if let Some(i) = keys.iter().position(|k| k.eq_ignore_ascii_case(key.trim())) {
            found[i].get_or_insert_with(|| value.trim().to_owned());
        }
    }
    found
}

/// From a file name, by each ecosystem's naming convention: `NAME-VERSION.tgz` (npm, sdist),
/// `NAME-VERSION-TAGS.whl`, `NAME_VERSION_ARCH.deb`, `NAME-VERSION-RELEASE.ARCH.rpm`.
pub(super) fn from_file_name(file_name: &str, format: PackageFormat) -> NameVersion {
    let stem = [
        ".tar.gz",
        ".tar.xz",
        ".tar.zst",
        ".tar.zstd",
        ".tgz",
        ".txz",
        ".tzst",
        ".tar",
        ".whl",
        ".zip",
        ".deb",
        ".udeb",
        ".rpm",
    ]
    .iter()
    .find_map(|suffix| file_name.strip_suffix(suffix))
    .unwrap_or(file_name);
    let owned = |(name, version): (&str, &str)| (Some(name.to_owned()), Some(version.to_owned()));
    match format {
        PackageFormat::Wheel => {
            let mut parts = stem.splitn(3, '-');
            match (parts.next(), parts.next()) {
                (Some(name), Some(version)) => owned((name, version)),
                _ => (None, None),
            }
        }
        PackageFormat::Deb => {
            let mut parts = stem.splitn(3, '_');
            match (parts.next(), parts.next()) {
                (Some(name), Some(version)) => owned((name, version)),
                _ => (None, None),
            }
        }
        PackageFormat::Rpm => {
            // NAME may hold dashes; VERSION and RELEASE do not.
            let without_arch = stem.rsplit_once('.').map_or(stem, |(rest, _)| rest);
            match without_arch.rsplitn(3, '-').collect::<Vec<_>>()[..] {
                [release, version, name] => (Some(name.to_owned()), Some(format!("{version}-{release}"))),
                _ => (None, None),
            }
        }
        // The last dash followed by a digit starts the version.
        _ => match stem
            .char_indices()
            .rfind(|&(i, c)| c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        {
            Some((i, _)) => owned((&stem[..i], &stem[i + 1..])),
            None => (Some(stem.to_owned()), None),
        },
    }
}
