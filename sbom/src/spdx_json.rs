//! SPDX 2.2 and 2.3 JSON. Two passes over the document: the first indexes packages and which
//! files they contain (`hasFiles`, `CONTAINS`/`CONTAINED_BY` relationships, wherever they are in
//! the document), the second yields file and package records.
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
    index::PackageIndex,
    json::{
        BoundedVec, SeenKeys, add_digests, convert_error, for_each_element, read_document, seed, skip_value,
        state_visitor, unsupported,
    },
    limits::{Limits, MAX_DIGESTS_PER_ENTRY, MAX_EXTERNAL_REFS},
    passes::{self, IndexedState as State, Pass, two_passes},
    record::{PackageRef, RecordKind},
    summary::Format,
};

const SUPPORTED: &str = "SPDX-2.2, SPDX-2.3";

pub(crate) fn parse<R: Read + Seek>(
    input: &mut R,
    start: u64,
    limits: &Limits,
    out: &mut Collector<'_>,
) -> Result<(), SbomError> {
    two_passes(input, start, limits, out, |pass, input, index, out| {
        let mut state = State::new(pass, index, out);
        read_document(input, limits, Document(&mut state))
            .map_err(|e| convert_error(e, Format::SpdxJson, &mut state.trail))?;
        if state.out.summary_mut().spec_version.is_none() {
            return Err(SbomError::invalid(Location::path("$"), "no spdxVersion"));
        }
        Ok(())
    })
}

#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier)]
enum DocumentKey {
    #[serde(rename = "spdxVersion")]
    SpdxVersion,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "documentNamespace")]
    Namespace,
    #[serde(rename = "packages")]
    Packages,
    #[serde(rename = "files")]
    Files,
    #[serde(rename = "relationships")]
    Relationships,
    #[serde(other)]
    Other,
}

state_visitor! {
    map Document<'de> -> (), "an SPDX document object";
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key::<DocumentKey>()? {
            let (name, slot) = match key {
                DocumentKey::SpdxVersion => ("spdxVersion", 0),
                DocumentKey::Name => ("name", 1),
                DocumentKey::Namespace => ("documentNamespace", 2),
                DocumentKey::Packages => ("packages", 3),
                DocumentKey::Files => ("files", 4),
                DocumentKey::Relationships => ("relationships", 5),
                DocumentKey::Other => {
                    skip_value(&mut map)?;
                    continue;
                }
            };
            seen.enter(&mut st.trail, name, slot)?;
            match key {
                DocumentKey::SpdxVersion => {
                    let version: String = map.next_value()?;
                    if !SUPPORTED.split(", ").any(|v| v == version) {
                        return Err(unsupported(&mut st.trail, Format::SpdxJson, version, SUPPORTED));
                    }
                    st.out.summary_mut().spec_version = Some(version);
                }
                DocumentKey::Name => st.out.summary_mut().name = Some(map.next_value()?),
                DocumentKey::Namespace => st.out.summary_mut().namespace = Some(map.next_value()?),
                DocumentKey::Packages => map.next_value_seed(Packages(&mut *st))?,
                DocumentKey::Files if st.pass == Pass::Emit => map.next_value_seed(Files(&mut *st))?,
                DocumentKey::Relationships if st.pass == Pass::Index => map.next_value_seed(passes::Relationships::<Relationship>(&mut *st, PhantomData))?,
                _ => skip_value(&mut map)?,
            }
            st.trail.leave();
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Checksum {
    algorithm: String,
    #[serde(rename = "checksumValue")]
    value: String,
}

type Checksums = BoundedVec<Checksum, MAX_DIGESTS_PER_ENTRY>;

fn checksums(list: &Checksums) -> impl Iterator<Item = (usize, &str, &str)> {
    list.0.iter().enumerate().map(|(j, c)| (j, c.algorithm.as_str(), c.value.as_str()))
}

#[derive(Deserialize)]
struct ExternalRef {
    #[serde(rename = "referenceCategory")]
    category: String,
    #[serde(rename = "referenceType")]
    kind: String,
    #[serde(rename = "referenceLocator")]
    locator: String,
}

state_visitor! {
    seq Packages<'de> -> (), "an array of packages";
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for_each_element(&mut seq, self.0, |seq, st| Ok(seq.next_element_seed(Package(st))?.is_some()))
    }
}

#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier)]
enum PackageKey {
    #[serde(rename = "SPDXID")]
    Id,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "versionInfo")]
    Version,
    #[serde(rename = "packageFileName")]
    FileName,
    #[serde(rename = "checksums")]
    Checksums,
    #[serde(rename = "externalRefs")]
    ExternalRefs,
    #[serde(rename = "hasFiles")]
    HasFiles,
    #[serde(other)]
    Other,
}

state_visitor! {
    map Package<'de> -> (), "a package object";
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        let mut id: Option<String> = None;
        let mut package = PackageRef::default();
        let mut file_name: Option<String> = None;
        let mut sums = Checksums::default();
        let mut has_files: Vec<u64> = Vec::new();
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key::<PackageKey>()? {
            if !matches!(key, PackageKey::Other) {
                seen.once(key as u32)?;
            }
            match key {
                PackageKey::Id => id = Some(map.next_value()?),
                PackageKey::Name => package.name = Some(map.next_value()?),
                PackageKey::Version => package.version = Some(map.next_value()?),
                PackageKey::FileName => file_name = Some(map.next_value()?),
                PackageKey::Checksums if st.pass == Pass::Emit => sums = map.next_value()?,
                PackageKey::ExternalRefs => {
                    let refs: BoundedVec<ExternalRef, MAX_EXTERNAL_REFS> = map.next_value()?;
                    package.purl = refs
                        .0
                        .into_iter()
                        .find(|r| {
                            r.kind == "purl" && matches!(r.category.as_str(), "PACKAGE-MANAGER" | "PACKAGE_MANAGER")
                        })
                        .map(|r| r.locator);
                }
                PackageKey::HasFiles if st.pass == Pass::Index => {
                    map.next_value_seed(IdKeys { index: &mut *st.index, keys: &mut has_files })?
                }
                _ => skip_value(&mut map)?,
            }
        }
        match st.pass {
            Pass::Index => {
                if let Some(id) = id {
                    let package_key = st.index.key(&id);
                    for file_key in has_files {
                        st.index.push_reserved_link(file_key, package_key);
                    }
                    st.index.add_package(&id, package);
                }
            }
            Pass::Emit => {
                let mut entry = Entry::new(RecordKind::Package);
                entry.path = file_name;
                entry.package = Some(package);
                add_digests(&mut entry, checksums(&sums), &st.trail, "checksums").map_err(|e| st.trail.fail(e))?;
                let place = st.trail.to_string();
                st.out.finish(entry, || place);
            }
        }
        Ok(())
    }
}

/// A list of SPDX ids kept as index keys, each charged to the index budget as it is read.
pub(crate) struct IdKeys<'x> {
    pub index: &'x mut PackageIndex,
    pub keys: &'x mut Vec<u64>,
}

seed!(seq, IdKeys<'_>, ());

impl<'de> Visitor<'de> for IdKeys<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of SPDX ids")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(id) = seq.next_element::<String>()? {
            if self.index.reserve_link() {
                self.keys.push(self.index.key(&id));
            }
        }
        Ok(())
    }
}

struct Files<'x, 'a, 's>(&'x mut State<'a, 's>);
seed!(seq, Files<'_, '_, '_>, ());

#[derive(Deserialize)]
struct File {
    #[serde(rename = "SPDXID")]
    id: Option<String>,
    #[serde(rename = "fileName")]
    name: Option<String>,
    #[serde(default)]
    checksums: Checksums,
}

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
            let mut entry = Entry::new(RecordKind::File);
            entry.package = file.id.as_deref().and_then(|id| st.index.package_of(id)).cloned();
            entry.path = file.name;
            add_digests(&mut entry, checksums(&file.checksums), &st.trail, "checksums")
                .map_err(|e| st.trail.fail(e))?;
            let trail = &st.trail;
            st.out.finish(entry, || trail.to_string());
            Ok(true)
        })
    }
}

#[derive(Deserialize)]
struct Relationship {
    #[serde(rename = "spdxElementId")]
    from: String,
    #[serde(rename = "relatedSpdxElement")]
    to: String,
    #[serde(rename = "relationshipType")]
    kind: String,
}

impl passes::Relationship for Relationship {
    fn parts(&self) -> (&str, &str, &str) {
        (&self.from, &self.kind, &self.to)
    }
}
