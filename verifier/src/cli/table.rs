//! Human-readable tables and times.
use comfy_table::{ContentArrangement, Table, presets::NOTHING};

pub fn new(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    table
}

pub fn time_ms(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

pub fn short_digest(hex: &str) -> String {
    hex.get(..12).unwrap_or(hex).to_owned()
}
