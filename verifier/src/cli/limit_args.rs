//! The bounds on reading archives (an image's layers, a package's contents), as flags: one set,
//! since both are read under the same [`Limits`].
use provgate_archive::Limits;

#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Largest compressed archive read: one image layer, or one package (bytes; K, M, G
    /// suffixes).
    #[arg(long, visible_alias = "max-layer-size", value_name = "SIZE", value_parser = parse_size)]
    max_archive_size: Option<u64>,
    /// Largest uncompressed size of an image's layers, or of a package's contents, together
    /// (bytes; K, M, G suffixes).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_total_size: Option<u64>,
    /// How many times its compressed size a stream may decompress to (beyond its first 64 MiB).
    #[arg(long, value_name = "RATIO")]
    max_ratio: Option<u64>,
    /// Most members of one layer, or of one package.
    #[arg(long, value_name = "N")]
    max_members: Option<u64>,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        let defaults = Limits::default();
        Limits {
            max_layer_bytes: self.max_archive_size.unwrap_or(defaults.max_layer_bytes),
            max_total_bytes: self.max_total_size.unwrap_or(defaults.max_total_bytes),
            max_ratio: self.max_ratio.unwrap_or(defaults.max_ratio),
            max_entries: self.max_members.unwrap_or(defaults.max_entries),
            ..defaults
        }
    }
}

fn parse_size(text: &str) -> Result<u64, String> {
    let (number, shift) = match text.trim().to_ascii_uppercase().strip_suffix(['K', 'M', 'G', 'T']) {
        Some(number) => {
            let unit = text.trim().chars().last().unwrap_or('B').to_ascii_uppercase();
            (
                number.to_owned(),
                match unit {
                    'K' => 10,
                    'M' => 20,
                    'G' => 30,
                    _ => 40,
                },
            )
        }
        None => (text.trim().to_owned(), 0),
    };
    let value: u64 =
        number.parse().map_err(|_| format!("{text:?} is not a size (bytes, or a number with K, M, G or T)"))?;
    value.checked_mul(1u64 << shift).ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size(" 8G "), Ok(8 << 30));
        assert_eq!(parse_size("2T"), Ok(2 << 40));
        assert!(parse_size("1.5G").unwrap_err().contains("is not a size"));
        assert!(parse_size("G").is_err());
        assert!(parse_size("99999999999T").unwrap_err().contains("too large"));
    }
}
