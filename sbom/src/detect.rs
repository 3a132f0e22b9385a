//! Which format a document is in, from its content alone: the first byte tells JSON, XML or
//! text apart; the top-level keys, the root element or the first tag tell the rest.
use std::{
    fmt,
    io::{BufReader, Read, Seek},
};

use serde::de::{self, IgnoredAny, MapAccess, Visitor};

use crate::{
    error::SbomError,
    json::{Trail, convert_error, read_document, seed},
    limits::{BoundedReader, Limits, Syntax},
    passes::rewind,
    summary::Format,
};

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
const PREFIX: usize = 64 * 1024;

/// Returns the format and the offset where the document starts (after a UTF-8 byte order
/// mark), and leaves `input` there.
pub fn detect<R: Read + Seek>(input: &mut R, limits: &Limits) -> Result<(Format, u64), SbomError> {
    rewind(input, 0)?;
    let mut prefix = Vec::with_capacity(PREFIX);
    input.take(PREFIX as u64).read_to_end(&mut prefix).map_err(SbomError::Read)?;
    let start = if prefix.starts_with(UTF8_BOM) { UTF8_BOM.len() } else { 0 };
    let body = &prefix[start..];
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    let format = match first {
        None => return Err(SbomError::UnknownFormat("the document is empty".into())),
        Some(b'{') => {
            rewind(input, start as u64)?;
            json_kind(input, limits)?
        }
        Some(b'<') => {
            rewind(input, start as u64)?;
            xml_kind(input, limits)?
        }
        Some(_) if is_tag_value(body) => Format::SpdxTagValue,
        Some(_) => {
            let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).trim().to_owned();
            return Err(SbomError::UnknownFormat(format!("it starts with {shown:?}")));
        }
    };
    rewind(input, start as u64)?;
    Ok((format, start as u64))
}

fn is_tag_value(body: &[u8]) -> bool {
    body.split(|&b| b == b'\n')
        .map(|line| line.trim_ascii())
        .find(|line| !line.is_empty() && !line.starts_with(b"#"))
        .is_some_and(|line| line.starts_with(b"SPDXVersion:"))
}

/// Reads top-level keys until one names the format.
fn json_kind<R: Read>(input: &mut R, limits: &Limits) -> Result<Format, SbomError> {
    let mut found = None;
    let result = read_document(input, limits, KeyScan(&mut found));
    match (found, result) {
        (Some(format), _) => Ok(format),
        (None, Ok(())) => Err(SbomError::UnknownFormat(
            "a JSON object with none of spdxVersion, bomFormat, @context or syft's descriptor".into(),
        )),
        // A limit crossed while looking is reported as such, not as an unknown format.
        (None, Err(e)) if e.is_io() => Err(convert_error(e, Format::SpdxJson, &mut Trail::default())),
        (None, Err(e)) => Err(SbomError::UnknownFormat(format!("JSON that cannot be read: {e}"))),
    }
}

struct KeyScan<'a>(&'a mut Option<Format>);
seed!(map, KeyScan<'_>, ());

impl<'de> Visitor<'de> for KeyScan<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let format = match key.as_str() {
                "spdxVersion" | "SPDXID" => Format::SpdxJson,
                "bomFormat" => Format::CyclonedxJson,
                "@context" | "@graph" => Format::Spdx3JsonLd,
                // syft's JSON has no key of its own; its descriptor names the generator.
                "descriptor" => match map.next_value::<crate::syft_json::NamesSyft>()? {
                    crate::syft_json::NamesSyft(true) => Format::SyftJson,
                    crate::syft_json::NamesSyft(false) => continue,
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *self.0 = Some(format);
            // Stops the scan; the error is dropped since `found` is set.
            return Err(de::Error::custom("format found"));
        }
        Ok(())
    }
}

fn xml_kind<R: Read>(input: &mut R, limits: &Limits) -> Result<Format, SbomError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(BoundedReader::new(input, Syntax::Markup, limits)));
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let event = reader.read_event_into(&mut buf).map_err(|e| match e {
            quick_xml::Error::Io(_) => crate::cyclonedx_xml::convert_error(e, crate::error::Location::default()),
            e => SbomError::UnknownFormat(format!("XML that cannot be read: {e}")),
        })?;
        let root = match event {
            Event::Start(e) | Event::Empty(e) => e,
            Event::Eof => {
                return Err(SbomError::UnknownFormat("XML without a root element".into()));
            }
            _ => continue,
        };
        let name = root.local_name().as_ref().to_owned();
        let cyclonedx = root.attributes().flatten().any(|a| a.value.starts_with("http://cyclonedx.org/schema/bom/"));
        return match name.as_str() {
            "bom" if cyclonedx => Ok(Format::CyclonedxXml),
            "RDF" => Err(SbomError::UnknownFormat("SPDX RDF/XML is not supported; convert it to SPDX JSON".into())),
            _ => Err(SbomError::UnknownFormat(format!("XML whose root element is <{name}>"))),
        };
    }
}
