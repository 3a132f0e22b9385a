//! Human-readable tables and times.
use comfy_table::{ContentArrangement, Table, presets::NOTHING};

/// Narrower than this, wrapping cells makes a table unreadable: one character per line.
const MIN_WRAP_WIDTH: u16 = 40;

pub fn new(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(NOTHING).set_header(header.to_vec());
    // A serial console is a terminal that reports 0 columns; wrapping to it would stack every
    // cell one letter per line, so such tables are left unwrapped.
    table.set_content_arrangement(arrangement(table.width()));
    table
}

/// A table that is never wrapped to the terminal: `--wide`, for everything on one line per row.
pub fn wide(header: &[&str]) -> Table {
    let mut table = new(header);
    table.set_content_arrangement(ContentArrangement::Disabled);
    table
}

fn arrangement(terminal_width: Option<u16>) -> ContentArrangement {
    match terminal_width {
        Some(width) if width >= MIN_WRAP_WIDTH => ContentArrangement::Dynamic,
        _ => ContentArrangement::Disabled,
    }
}

/// `--since`: a duration ago ("90s", "10m", "2h 30m", "7d") or a time (RFC 3339), as Unix ms.
pub fn since_ms(text: &str) -> anyhow::Result<i64> {
    use anyhow::Context as _;
    let at = match humantime::parse_duration(text) {
        Ok(ago) => std::time::SystemTime::now() - ago,
        Err(_) => humantime::parse_rfc3339_weak(text).with_context(|| {
            format!("--since {text:?}: neither a duration (10m, 2h) nor a time (2026-11-25T10:00:00Z)")
        })?,
    };
    Ok(at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0))
}

pub fn time_ms(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

pub fn short_digest(hex: &str) -> String {
    hex.get(..12).unwrap_or(hex).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_of_no_width_gets_whole_lines() {
        // What a serial console reports.
        let console_width = 0;
        let render = |arrangement: ContentArrangement| {
            let mut table = new(&["DIGEST", "PATH"]);
            table.set_width(console_width).set_content_arrangement(arrangement);
            table.add_row(["3d9f2889d678", "/tmp/downloaded"]);
            table.to_string()
        };
        let whole = |text: &str| text.lines().any(|l| l.contains("3d9f2889d678") && l.contains("/tmp/downloaded"));
        assert!(!whole(&render(ContentArrangement::Dynamic)), "wrapping to 0 columns stacks the cells");
        let text = render(arrangement(Some(console_width)));
        assert!(whole(&text), "{text}");
        assert!(matches!(arrangement(Some(120)), ContentArrangement::Dynamic));
        assert!(matches!(arrangement(None), ContentArrangement::Disabled));
    }
}
