//! CycloneDX XML (namespaces `http://cyclonedx.org/schema/bom/1.2` to `1.7`), in one streaming
//! pass over quick-xml events. DTDs are refused: a BOM has no use for them, and entity
//! expansion is the classic XML bomb.
use std::io::{BufReader, Read};

use quick_xml::{Reader, XmlVersion, events::BytesStart, events::Event};

use crate::{
    collector::Collector,
    cyclonedx::{ComponentTree, SUPPORTED, supported},
    error::{Location, SbomError},
    limits::{BoundedReader, LimitExceeded, Limits, MAX_DIGESTS_PER_ENTRY, Syntax},
    summary::Format,
};

const NAMESPACE_PREFIX: &str = "http://cyclonedx.org/schema/bom/";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Bom,
    Metadata,
    Components,
    Component {
        in_metadata: bool,
    },
    Name,
    Version,
    Purl,
    Hashes,
    Hash,
    /// Anything else, with all it contains.
    Skipped,
}

struct Open {
    node: Node,
    /// `component[3]` for the error path.
    label: String,
    /// Children seen so far, to number `component` and `hash` elements.
    children: usize,
    /// The `alg` of a hash.
    alg: Option<String>,
}

pub(crate) fn parse<R: Read>(input: &mut R, limits: &Limits, out: &mut Collector<'_>) -> Result<(), SbomError> {
    let mut reader = Reader::from_reader(BufReader::new(BoundedReader::new(input, Syntax::Markup, limits)));
    reader.config_mut().expand_empty_elements = true;
    let mut parser = Parser {
        stack: Vec::new(),
        tree: ComponentTree::new(limits.max_deferred_records),
        text: String::new(),
        max_text: limits.max_string_bytes,
        max_depth: limits.max_depth,
        saw_bom: false,
    };
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let event = reader.read_event_into(&mut buf).map_err(|e| parser.xml_error(e, reader.error_position()))?;
        let at = reader.buffer_position();
        match event {
            Event::Start(start) => parser.start(&start, at, out)?,
            // Expanded into Start and End by the reader configuration.
            Event::Empty(_) => unreachable!("expand_empty_elements is set"),
            Event::End(_) => parser.end(at, out)?,
            Event::Text(text) => parser.add_text(&text.xml10_content(), at)?,
            Event::CData(data) => parser.add_text(&data.xml10_content(), at)?,
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&reference) {
                        Some(s) => s.to_owned(),
                        None => {
                            return Err(parser.invalid(at, format!("unknown entity &{};", &*reference)));
                        }
                    },
                    Err(e) => return Err(parser.invalid(at, e.to_string())),
                };
                parser.add_text(&resolved, at)?;
            }
            Event::DocType(_) => {
                return Err(parser.invalid(at, "a DTD (<!DOCTYPE>) is not accepted in a BOM"));
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !parser.stack.is_empty() {
        return Err(SbomError::Truncated {
            location: parser.location(reader.buffer_position()),
            message: "elements are still open at the end".into(),
        });
    }
    if !parser.saw_bom {
        return Err(SbomError::invalid(Location::default(), "no <bom> element"));
    }
    Ok(())
}

/// A quick-xml error as ours: limits and truncation told apart from bad syntax.
pub(crate) fn convert_error(error: quick_xml::Error, location: Location) -> SbomError {
    use quick_xml::errors::SyntaxError;
    match &error {
        quick_xml::Error::Io(io) => match LimitExceeded::from_io(io) {
            Some(limit) => {
                let location = Location { byte: Some(limit.byte), ..location };
                SbomError::Limit { location, what: limit.what, limit: limit.limit }
            }
            None => SbomError::Read(std::io::Error::new(io.kind(), io.to_string())),
        },
        // Every other syntax error quick-xml has is something left open at the end of input.
        quick_xml::Error::Syntax(e) if *e != SyntaxError::InvalidBangMarkup => {
            SbomError::Truncated { location, message: error.to_string() }
        }
        _ => SbomError::Syntax { format: Format::CyclonedxXml, location, message: error.to_string() },
    }
}

struct Parser {
    stack: Vec<Open>,
    tree: ComponentTree,
    text: String,
    max_text: usize,
    max_depth: usize,
    saw_bom: bool,
}

impl Parser {
    fn location(&self, byte: u64) -> Location {
        let path: String = self.stack.iter().map(|o| format!("/{}", o.label)).collect();
        Location {
            path: Some(if path.is_empty() { "/".into() } else { path }),
            byte: Some(byte),
            ..Location::default()
        }
    }

    fn invalid(&self, byte: u64, message: impl Into<String>) -> SbomError {
        SbomError::invalid(self.location(byte), message)
    }

    fn xml_error(&self, error: quick_xml::Error, byte: u64) -> SbomError {
        convert_error(error, self.location(byte))
    }

    fn start(&mut self, start: &BytesStart<'_>, at: u64, out: &mut Collector<'_>) -> Result<(), SbomError> {
        if self.stack.len() >= self.max_depth {
            return Err(SbomError::Limit {
                location: self.location(at),
                what: "nesting",
                limit: self.max_depth as u64,
            });
        }
        let local = start.local_name();
        let name = local.as_ref();
        let parent = self.stack.last().map(|o| o.node);
        let node = match (parent, name) {
            (None, "bom") => {
                self.bom(start, at, out)?;
                Node::Bom
            }
            (None, _) => {
                return Err(self.invalid(at, format!("the root element is <{name}>, not <bom>")));
            }
            (Some(Node::Bom), "metadata") => Node::Metadata,
            (Some(Node::Bom | Node::Component { .. }), "components") => Node::Components,
            (Some(Node::Metadata), "component") => Node::Component { in_metadata: true },
            (Some(Node::Components), "component") => Node::Component { in_metadata: false },
            (Some(Node::Component { .. }), "name") => Node::Name,
            (Some(Node::Component { .. }), "version") => Node::Version,
            (Some(Node::Component { .. }), "purl") => Node::Purl,
            (Some(Node::Component { .. }), "hashes") => Node::Hashes,
            (Some(Node::Hashes), "hash") => Node::Hash,
            _ => Node::Skipped,
        };
        let label = match self.stack.last_mut() {
            Some(parent) if matches!(node, Node::Component { .. } | Node::Hash) => {
                parent.children += 1;
                if node == Node::Hash && parent.children > MAX_DIGESTS_PER_ENTRY {
                    return Err(self.invalid(at, "too many hashes for one component"));
                }
                format!("{name}[{}]", parent.children - 1)
            }
            _ => name.to_owned(),
        };
        let mut alg = None;
        match node {
            Node::Component { .. } => {
                self.tree.open();
                if let Some(kind) = self.attribute(start, "type", at)? {
                    self.tree.current().set_type(&kind);
                }
            }
            Node::Hash => alg = self.attribute(start, "alg", at)?,
            _ => {}
        }
        self.text.clear();
        self.stack.push(Open { node, label, children: 0, alg });
        Ok(())
    }

    fn bom(&mut self, start: &BytesStart<'_>, at: u64, out: &mut Collector<'_>) -> Result<(), SbomError> {
        self.saw_bom = true;
        // The default namespace, or a prefixed one (`<cdx:bom xmlns:cdx="…">`).
        let mut namespace = String::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| self.invalid(at, e.to_string()))?;
            let key = attribute.key.as_ref();
            if (key == "xmlns" || key.starts_with("xmlns:")) && attribute.value.starts_with(NAMESPACE_PREFIX) {
                namespace = attribute.value.into_owned();
                break;
            }
        }
        let version = namespace.strip_prefix(NAMESPACE_PREFIX).unwrap_or_default();
        if !supported(version) {
            return Err(SbomError::UnsupportedVersion {
                format: Format::CyclonedxXml,
                version: namespace,
                supported: SUPPORTED,
                location: self.location(at),
            });
        }
        let summary = out.summary_mut();
        summary.spec_version = Some(version.to_owned());
        summary.namespace = self.attribute(start, "serialNumber", at)?;
        Ok(())
    }

    fn attribute(&self, start: &BytesStart<'_>, key: &str, at: u64) -> Result<Option<String>, SbomError> {
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| self.invalid(at, e.to_string()))?;
            if attribute.key.as_ref() == key {
                let value =
                    attribute.normalized_value(XmlVersion::Implicit1_0).map_err(|e| self.invalid(at, e.to_string()))?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }

    fn add_text(&mut self, text: &str, at: u64) -> Result<(), SbomError> {
        let Some(open) = self.stack.last() else {
            return Ok(());
        };
        if !matches!(open.node, Node::Name | Node::Version | Node::Purl | Node::Hash) {
            return Ok(());
        }
        if self.text.len() + text.len() > self.max_text {
            return Err(SbomError::Limit { location: self.location(at), what: "a text", limit: self.max_text as u64 });
        }
        self.text.push_str(text);
        Ok(())
    }

    fn end(&mut self, at: u64, out: &mut Collector<'_>) -> Result<(), SbomError> {
        let text = std::mem::take(&mut self.text).trim().to_owned();
        let node = self.stack.last().map(|o| o.node);
        match node {
            Some(Node::Name) => self.tree.current().identity.name = Some(text),
            Some(Node::Version) => self.tree.current().identity.version = Some(text),
            Some(Node::Purl) => self.tree.current().identity.purl = Some(text),
            Some(Node::Hash) => {
                let alg = self.stack.last().and_then(|o| o.alg.clone());
                let Some(alg) = alg else {
                    return Err(self.invalid(at, "a <hash> without alg"));
                };
                if let Err(digest) = self.tree.current().digests.add_digest(&alg, &text) {
                    return Err(SbomError::Digest { location: self.location(at), digest: Box::new(digest) });
                }
            }
            Some(Node::Component { in_metadata }) => {
                let place = self.location(at).path.unwrap_or_default();
                let identity = self.tree.close(out, || place);
                if in_metadata {
                    out.summary_mut().name = identity.name;
                }
            }
            _ => {}
        }
        self.stack.pop();
        Ok(())
    }
}
