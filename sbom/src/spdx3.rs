//! SPDX 3.0 JSON-LD: a `@graph` of elements. Files (`software_File`) and packages
//! (`software_Package`) carry digests in `verifiedUsing` (`Hash` entries; package verification
//! codes are not digests of an artifact and are ignored); `contains` relationships say which
//! package a file is part of. Relationships may come anywhere in the graph: two passes.
use std::{
    fmt,
    io::{Read, Seek},
};

use serde::{
    Deserialize,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
};

use crate::{
    collector::{Collector, Entry},
    error::{Location, SbomError},
    json::{
        BoundedVec, SeenKeys, add_digests, convert_error, for_each_element, read_document, seed, skip_value,
        state_visitor, unsupported,
    },
    limits::{Limits, MAX_DIGESTS_PER_ENTRY},
    passes::{IndexedState as State, Pass, two_passes},
    record::{PackageRef, RecordKind},
    spdx_json::IdKeys,
    summary::Format,
};

const SUPPORTED: &str = "3.0.0, 3.0.1";

pub(crate) fn parse<R: Read + Seek>(
    input: &mut R,
    start: u64,
    limits: &Limits,
    out: &mut Collector<'_>,
) -> Result<(), SbomError> {
    two_passes(input, start, limits, out, |pass, input, index, out| {
        let mut state = State::new(pass, index, out);
        read_document(input, limits, Document(&mut state))
            .map_err(|e| convert_error(e, Format::Spdx3JsonLd, &mut state.trail))
    })
}

/// The SPDX version named by a context IRI such as `https://spdx.org/rdf/3.0.1/spdx-context.jsonld`.
fn context_version(iri: &str) -> Option<&str> {
    let rest = iri.split_once("spdx.org/rdf/")?.1;
    rest.split('/').next().filter(|v| !v.is_empty())
}

#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier)]
enum DocumentKey {
    #[serde(rename = "@context")]
    Context,
    #[serde(rename = "@graph")]
    Graph,
    #[serde(other)]
    Other,
}

state_visitor! {
    map Document<'de> -> (), "an SPDX 3 JSON-LD object";
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key::<DocumentKey>()? {
            let name = match key {
                DocumentKey::Context => "@context",
                DocumentKey::Graph => "@graph",
                DocumentKey::Other => {
                    skip_value(&mut map)?;
                    continue;
                }
            };
            seen.enter(&mut st.trail, name, key as u32)?;
            match key {
                DocumentKey::Context => {
                    let iris = map.next_value::<ContextIris>()?.0;
                    let version = iris.iter().find_map(|iri| context_version(iri));
                    match version {
                        Some(v) if SUPPORTED.split(", ").any(|s| s == v) => {
                            st.out.summary_mut().spec_version = Some(v.to_owned());
                        }
                        _ => {
                            let version = version.map_or_else(|| iris.join(" "), str::to_owned);
                            return Err(unsupported(&mut st.trail, Format::Spdx3JsonLd, version, SUPPORTED));
                        }
                    }
                }
                _ => map.next_value_seed(Graph(&mut *st))?,
            }
            st.trail.leave();
        }
        if !seen.first_time(DocumentKey::Context as u32) {
            return Ok(());
        }
        Err(st.trail.fail(SbomError::invalid(Location::path("$"), "no @context naming an SPDX 3 version")))
    }
}

/// The string IRIs of `@context` (a string or an array); inline context objects are skipped.
struct ContextIris(Vec<String>);

impl<'de> Deserialize<'de> for ContextIris {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContextIris;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a context IRI or an array of contexts")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ContextIris, E> {
                Ok(ContextIris(vec![v.to_owned()]))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContextIris, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(ContextIris(Vec::new()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ContextIris, A::Error> {
                let mut iris = Vec::new();
                while let Some(item) = seq.next_element::<ContextIris>()? {
                    if iris.len() < 16 {
                        iris.extend(item.0);
                    }
                }
                Ok(ContextIris(iris))
            }
        }
        d.deserialize_any(V)
    }
}

state_visitor! {
    seq Graph<'de> -> (), "an array of elements";
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for_each_element(&mut seq, self.0, |seq, st| Ok(seq.next_element_seed(Element(st))?.is_some()))
    }
}

#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier)]
enum ElementKey {
    #[serde(rename = "type", alias = "@type")]
    Type,
    #[serde(rename = "spdxId", alias = "@id")]
    Id,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "software_packageVersion")]
    Version,
    #[serde(rename = "software_packageUrl")]
    Purl,
    #[serde(rename = "verifiedUsing")]
    VerifiedUsing,
    #[serde(rename = "from")]
    From,
    #[serde(rename = "to")]
    To,
    #[serde(rename = "relationshipType")]
    RelationshipType,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct IntegrityMethod {
    #[serde(rename = "type", alias = "@type")]
    kind: String,
    algorithm: Option<String>,
    #[serde(rename = "hashValue")]
    value: Option<String>,
}

state_visitor! {
    map Element<'de> -> (), "an element object";
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        let (mut kind, mut id, mut from, mut relationship): (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        ) = (None, None, None, None);
        let mut package = PackageRef::default();
        let mut methods = BoundedVec::<IntegrityMethod, MAX_DIGESTS_PER_ENTRY>::default();
        let mut to: Vec<u64> = Vec::new();
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key::<ElementKey>()? {
            if !matches!(key, ElementKey::Other) {
                seen.once(key as u32)?;
            }
            match key {
                ElementKey::Type => kind = Some(map.next_value()?),
                ElementKey::Id => id = Some(map.next_value()?),
                ElementKey::Name => package.name = Some(map.next_value()?),
                ElementKey::Version => package.version = Some(map.next_value()?),
                ElementKey::Purl => package.purl = Some(map.next_value()?),
                ElementKey::VerifiedUsing if st.pass == Pass::Emit => methods = map.next_value()?,
                ElementKey::From if st.pass == Pass::Index => from = Some(map.next_value()?),
                ElementKey::RelationshipType if st.pass == Pass::Index => relationship = Some(map.next_value()?),
                ElementKey::To if st.pass == Pass::Index => {
                    map.next_value_seed(OneOrMany(IdKeys { index: &mut *st.index, keys: &mut to }))?
                }
                _ => skip_value(&mut map)?,
            }
        }
        let kind = kind.unwrap_or_default();
        match (st.pass, kind.as_str()) {
            (Pass::Index, "software_Package") => {
                if let Some(id) = &id {
                    st.index.add_package(id, package);
                }
            }
            (Pass::Index, "SpdxDocument") => {
                let summary = st.out.summary_mut();
                summary.name = summary.name.take().or(package.name);
                summary.namespace = summary.namespace.take().or(id);
            }
            (Pass::Emit, "software_File" | "software_Package") => {
                let mut entry;
                if kind == "software_File" {
                    entry = Entry::new(RecordKind::File);
                    entry.package = id.as_deref().and_then(|id| st.index.package_of(id)).cloned();
                    entry.path = package.name;
                } else {
                    entry = Entry::new(RecordKind::Package);
                    entry.package = Some(package);
                }
                let mut hashes = Vec::new();
                for (j, method) in methods.0.iter().enumerate() {
                    if method.kind != "Hash" {
                        continue;
                    }
                    let (Some(algorithm), Some(value)) = (&method.algorithm, &method.value) else {
                        let e = SbomError::invalid(
                            st.trail.location(&format!(".verifiedUsing[{j}]")),
                            "a Hash without algorithm or hashValue",
                        );
                        return Err(st.trail.fail(e));
                    };
                    hashes.push((j, algorithm.as_str(), value.as_str()));
                }
                add_digests(&mut entry, hashes.into_iter(), &st.trail, "verifiedUsing")
                    .map_err(|e| st.trail.fail(e))?;
                let trail = &st.trail;
                st.out.finish(entry, || trail.to_string());
            }
            _ => {}
        }
        let wanted = st.pass == Pass::Index
            && matches!(kind.as_str(), "Relationship" | "LifecycleScopedRelationship")
            && relationship.as_deref() == Some("contains");
        match from.filter(|_| wanted) {
            Some(from) => {
                let package = st.index.key(&from);
                for file in to {
                    st.index.push_reserved_link(file, package);
                }
            }
            None => st.index.release_links(to.len()),
        }
        Ok(())
    }
}

/// `to` is an array of ids; a lone id is accepted too.
struct OneOrMany<'x>(IdKeys<'x>);
seed!(any, OneOrMany<'_>, ());

impl<'de> Visitor<'de> for OneOrMany<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an element id or an array of them")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if self.0.index.reserve_link() {
            self.0.keys.push(self.0.index.key(v));
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.visit_seq(seq)
    }
}
