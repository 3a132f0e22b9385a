//! syft's own JSON (`syft -o syft-json`, schema 1 to 16). Its `files` array lists each file
//! with `location.path` and `digests[{algorithm, value}]`; its `artifacts` are packages, and
//! `artifactRelationships` of type `contains` say which package a file belongs to (parent: the
//! package's id, child: the file's). Two passes, as for SPDX, since nothing fixes the order of
//! the three arrays: the first indexes packages and `contains` links, the second yields a
//! record per file. Entries that are not regular files (directories, links: syft's
//! `metadata.type`) are not files anything runs and are left out; packages carry no digest.
use std::{
    fmt,
    io::{Read, Seek},
    marker::PhantomData,
};

use serde::{
    Deserialize,
    de::{MapAccess, SeqAccess, Visitor},
};

use crate::{
    collector::{Collector, Entry},
    error::{Location, SbomError},
    json::{
        BoundedVec, SeenKeys, add_digests, convert_error, for_each_element, read_document, seed, skip_value,
        state_visitor, unsupported,
    },
    limits::{Limits, MAX_DIGESTS_PER_ENTRY},
    passes::{self, IndexedState as State, Pass, two_passes},
    record::{PackageRef, RecordKind},
    summary::Format,
};

/// The schema's major versions read (syft 0.x wrote 1 to 3; syft 1.x writes 16). Their `files`,
/// `artifacts` and `artifactRelationships` have kept these fields since the first.
const SUPPORTED: &str = "1 to 16";
const MAX_MAJOR: u64 = 16;
/// syft's `descriptor.name`: what tells its JSON from any other.
pub(crate) const GENERATOR: &str = "syft";

pub(crate) fn parse<R: Read + Seek>(
    input: &mut R,
    start: u64,
    limits: &Limits,
    out: &mut Collector<'_>,
) -> Result<(), SbomError> {
    two_passes(input, start, limits, out, |pass, input, index, out| {
        let mut state = State::new(pass, index, out);
        let descriptor = read_document(input, limits, Document(&mut state))
            .map_err(|e| convert_error(e, Format::SyftJson, &mut state.trail))?;
        match descriptor.as_deref() {
            Some(GENERATOR) => {}
            Some(other) => {
                return Err(SbomError::invalid(
                    Location::path("$.descriptor.name"),
                    format!("{other:?}, not {GENERATOR:?}"),
                ));
            }
            None => return Err(SbomError::invalid(Location::path("$"), "no descriptor")),
        }
        if state.out.summary_mut().spec_version.is_none() {
            return Err(SbomError::invalid(Location::path("$"), "no schema.version"));
        }
        Ok(())
    })
}

#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier)]
enum DocumentKey {
    #[serde(rename = "artifacts")]
    Artifacts,
    #[serde(rename = "artifactRelationships")]
    Relationships,
    #[serde(rename = "files")]
    Files,
    #[serde(rename = "source")]
    Source,
    #[serde(rename = "descriptor")]
    Descriptor,
    #[serde(rename = "schema")]
    Schema,
    #[serde(other)]
    Other,
}

/// `descriptor`: the generator (and its configuration, not needed).
#[derive(Deserialize)]
struct Descriptor {
    name: String,
}

/// Whether a `descriptor` value, whatever its shape, names syft: for detection, where a
/// document of another format may hold a key of that name. Nothing is kept but the name.
pub(crate) struct NamesSyft(pub bool);

impl<'de> Deserialize<'de> for NamesSyft {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(Probe { name_only: false })
            .map(|name| NamesSyft(name.as_deref() == Some(GENERATOR)))
    }
}

/// Reads any value, keeping only a string: the value itself (`name_only`), or an object's `name`.
struct Probe {
    name_only: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for Probe {
    type Value = Option<String>;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Probe {
    type Value = Option<String>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.name_only.then(|| v.to_owned()))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut name = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "name" && !self.name_only && name.is_none() {
                name = map.next_value_seed(Probe { name_only: true })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(name.filter(|_| !self.name_only))
    }
}

#[derive(Deserialize)]
struct Schema {
    version: String,
}

/// `source`: what was scanned (a directory, an image, a file); its name names the document.
#[derive(Deserialize)]
struct Source {
    id: Option<String>,
    name: Option<String>,
}

state_visitor! {
    map Document<'de> -> Option<String>, "a syft JSON document object";
    /// Returns the generator's name (`descriptor.name`).
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let st = self.0;
        let mut seen = SeenKeys::default();
        let mut descriptor = None;
        while let Some(key) = map.next_key::<DocumentKey>()? {
            let name = match key {
                DocumentKey::Artifacts => "artifacts",
                DocumentKey::Relationships => "artifactRelationships",
                DocumentKey::Files => "files",
                DocumentKey::Source => "source",
                DocumentKey::Descriptor => "descriptor",
                DocumentKey::Schema => "schema",
                DocumentKey::Other => {
                    skip_value(&mut map)?;
                    continue;
                }
            };
            seen.enter(&mut st.trail, name, key as u32)?;
            match key {
                DocumentKey::Descriptor => descriptor = Some(map.next_value::<Descriptor>()?.name),
                DocumentKey::Schema => {
                    let version = map.next_value::<Schema>()?.version;
                    let major = version.split('.').next().and_then(|m| m.parse::<u64>().ok());
                    if !major.is_some_and(|m| (1..=MAX_MAJOR).contains(&m)) {
                        return Err(unsupported(&mut st.trail, Format::SyftJson, version, SUPPORTED));
                    }
                    st.out.summary_mut().spec_version = Some(version);
                }
                DocumentKey::Source => {
                    let source: Source = map.next_value()?;
                    let summary = st.out.summary_mut();
                    summary.name = source.name.filter(|n| !n.is_empty());
                    summary.namespace = source.id;
                }
                DocumentKey::Artifacts => map.next_value_seed(Artifacts(&mut *st))?,
                DocumentKey::Relationships if st.pass == Pass::Index => map.next_value_seed(passes::Relationships::<Relationship>(&mut *st, PhantomData))?,
                DocumentKey::Files if st.pass == Pass::Emit => map.next_value_seed(Files(&mut *st))?,
                _ => skip_value(&mut map)?,
            }
            st.trail.leave();
        }
        Ok(descriptor)
    }
}

/// One package (only what names it; its `metadata` is skipped unread).
#[derive(Deserialize)]
struct Artifact {
    id: Option<String>,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
}

struct Artifacts<'x, 'a, 's>(&'x mut State<'a, 's>);
seed!(seq, Artifacts<'_, '_, '_>, ());

impl<'de> Visitor<'de> for Artifacts<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of artifacts")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for_each_element(&mut seq, self.0, |seq, st| {
            let Some(artifact) = seq.next_element::<Artifact>()? else {
                return Ok(false);
            };
            let package = PackageRef {
                name: artifact.name.filter(|s| !s.is_empty()),
                version: artifact.version.filter(|s| !s.is_empty()),
                purl: artifact.purl.filter(|s| !s.is_empty()),
            };
            match st.pass {
                Pass::Index => {
                    if let Some(id) = &artifact.id {
                        st.index.add_package(id, package);
                    }
                }
                // Counted as a package; syft gives it no digest of its own, so no record.
                Pass::Emit => {
                    let mut entry = Entry::new(RecordKind::Package);
                    entry.package = Some(package);
                    let trail = &st.trail;
                    st.out.finish(entry, || trail.to_string());
                }
            }
            Ok(true)
        })
    }
}

#[derive(Deserialize)]
struct Relationship {
    parent: String,
    child: String,
    #[serde(rename = "type")]
    kind: String,
}

/// `contains` is SPDX's CONTAINS: the package (parent) contains the file (child).
impl passes::Relationship for Relationship {
    fn parts(&self) -> (&str, &str, &str) {
        (&self.parent, &self.kind, &self.child)
    }
}

#[derive(Deserialize)]
struct Digest {
    algorithm: String,
    value: String,
}

#[derive(Deserialize)]
struct FileLocation {
    path: String,
}

#[derive(Deserialize)]
struct FileMetadata {
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct File {
    id: Option<String>,
    location: FileLocation,
    metadata: Option<FileMetadata>,
    #[serde(default)]
    digests: BoundedVec<Digest, MAX_DIGESTS_PER_ENTRY>,
}

struct Files<'x, 'a, 's>(&'x mut State<'a, 's>);
seed!(seq, Files<'_, '_, '_>, ());

impl<'de> Visitor<'de> for Files<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of files")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for_each_element(&mut seq, self.0, |seq, st| {
            let Some(file) = seq.next_element::<File>()? else {
                return Ok(false);
            };
            // Directories, links and devices have no content of their own to allow.
            if file.metadata.as_ref().and_then(|m| m.kind.as_deref()).is_some_and(|kind| kind != "RegularFile") {
                return Ok(true);
            }
            let mut entry = Entry::new(RecordKind::File);
            entry.package = file.id.as_deref().and_then(|id| st.index.package_of(id)).cloned();
            entry.path = Some(file.location.path);
            let digests = file.digests.0.iter().enumerate().map(|(j, d)| (j, d.algorithm.as_str(), d.value.as_str()));
            add_digests(&mut entry, digests, &st.trail, "digests").map_err(|e| st.trail.fail(e))?;
            let trail = &st.trail;
            st.out.finish(entry, || trail.to_string());
            Ok(true)
        })
    }
}
