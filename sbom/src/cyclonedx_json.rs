//! CycloneDX 1.2 to 1.7 JSON, in one streaming pass: `metadata.component` and `components`,
//! nested to any depth the limits allow.
use std::{fmt, io::Read};

use serde::{
    Deserialize,
    de::{self, MapAccess, SeqAccess, Visitor},
};

use crate::{
    collector::Collector,
    cyclonedx::{ComponentTree, SUPPORTED, supported},
    error::{Location, SbomError},
    json::{
        BoundedVec, HasTrail, SeenKeys, Trail, add_digests, convert_error, for_each_element, read_document, seed,
        skip_value, state_visitor, unsupported,
    },
    limits::{Limits, MAX_DIGESTS_PER_ENTRY},
    record::PackageRef,
    summary::Format,
};

pub(crate) fn parse<R: Read>(input: &mut R, limits: &Limits, out: &mut Collector<'_>) -> Result<(), SbomError> {
    let mut state = State { trail: Trail::default(), tree: ComponentTree::new(limits.max_deferred_records), out };
    read_document(input, limits, Bom(&mut state)).map_err(|e| convert_error(e, Format::CyclonedxJson, &mut state.trail))
}

struct State<'a, 's> {
    trail: Trail,
    tree: ComponentTree,
    out: &'a mut Collector<'s>,
}

impl HasTrail for State<'_, '_> {
    fn trail(&mut self) -> &mut Trail {
        &mut self.trail
    }
}

#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier)]
enum BomKey {
    #[serde(rename = "bomFormat")]
    BomFormat,
    #[serde(rename = "specVersion")]
    SpecVersion,
    #[serde(rename = "serialNumber")]
    SerialNumber,
    #[serde(rename = "metadata")]
    Metadata,
    #[serde(rename = "components")]
    Components,
    #[serde(other)]
    Other,
}

state_visitor! {
    map Bom<'de> -> (), "a CycloneDX BOM object";
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key::<BomKey>()? {
            let name = match key {
                BomKey::BomFormat => "bomFormat",
                BomKey::SpecVersion => "specVersion",
                BomKey::SerialNumber => "serialNumber",
                BomKey::Metadata => "metadata",
                BomKey::Components => "components",
                BomKey::Other => {
                    skip_value(&mut map)?;
                    continue;
                }
            };
            seen.enter(&mut st.trail, name, key as u32)?;
            match key {
                BomKey::BomFormat => {
                    let format: String = map.next_value()?;
                    if format != "CycloneDX" {
                        let e = SbomError::invalid(
                            st.trail.location(""),
                            format!("bomFormat is {format:?}, not \"CycloneDX\""),
                        );
                        return Err(st.trail.fail(e));
                    }
                }
                BomKey::SpecVersion => {
                    let version: String = map.next_value()?;
                    if !supported(&version) {
                        return Err(unsupported(&mut st.trail, Format::CyclonedxJson, version, SUPPORTED));
                    }
                    st.out.summary_mut().spec_version = Some(version);
                }
                BomKey::SerialNumber => st.out.summary_mut().namespace = Some(map.next_value()?),
                BomKey::Metadata => map.next_value_seed(Metadata(&mut *st))?,
                _ => map.next_value_seed(Components(&mut *st))?,
            }
            st.trail.leave();
        }
        for (slot, what) in [(BomKey::BomFormat, "bomFormat"), (BomKey::SpecVersion, "specVersion")] {
            if seen.first_time(slot as u32) {
                return Err(st.trail.fail(SbomError::invalid(Location::path("$"), format!("no {what}"))));
            }
        }
        Ok(())
    }
}

state_visitor! {
    map Metadata<'de> -> (), "a metadata object";
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let st = self.0;
        let mut seen_component = false;
        while let Some(key) = map.next_key::<MetadataKey>()? {
            match key {
                MetadataKey::Component if !seen_component => {
                    seen_component = true;
                    st.trail.enter_key("component");
                    let identity = map.next_value_seed(Component(&mut *st))?;
                    st.out.summary_mut().name = identity.name;
                    st.trail.leave();
                }
                MetadataKey::Component => {
                    return Err(de::Error::custom("metadata.component appears twice"));
                }
                MetadataKey::Other => skip_value(&mut map)?,
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum MetadataKey {
    #[serde(rename = "component")]
    Component,
    #[serde(other)]
    Other,
}

state_visitor! {
    seq Components<'de> -> (), "an array of components";
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for_each_element(&mut seq, self.0, |seq, st| Ok(seq.next_element_seed(Component(st))?.is_some()))
    }
}

#[derive(Clone, Copy, Deserialize)]
#[serde(field_identifier)]
enum ComponentKey {
    #[serde(rename = "type")]
    Type,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "version")]
    Version,
    #[serde(rename = "purl")]
    Purl,
    #[serde(rename = "hashes")]
    Hashes,
    #[serde(rename = "components")]
    Components,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Hash {
    alg: String,
    content: String,
}

state_visitor! {
    map Component<'de> -> PackageRef, "a component object";
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let st = self.0;
        st.tree.open();
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key::<ComponentKey>()? {
            if !matches!(key, ComponentKey::Other) {
                seen.once(key as u32)?;
            }
            match key {
                ComponentKey::Type => {
                    let kind: String = map.next_value()?;
                    st.tree.current().set_type(&kind);
                }
                ComponentKey::Name => st.tree.current().identity.name = Some(map.next_value()?),
                ComponentKey::Version => st.tree.current().identity.version = Some(map.next_value()?),
                ComponentKey::Purl => st.tree.current().identity.purl = Some(map.next_value()?),
                ComponentKey::Hashes => {
                    let hashes: BoundedVec<Hash, MAX_DIGESTS_PER_ENTRY> = map.next_value()?;
                    let list = hashes.0.iter().enumerate().map(|(j, h)| (j, h.alg.as_str(), h.content.as_str()));
                    add_digests(&mut st.tree.current().digests, list, &st.trail, "hashes")
                        .map_err(|e| st.trail.fail(e))?;
                }
                ComponentKey::Components => {
                    st.trail.enter_key("components");
                    map.next_value_seed(Components(&mut *st))?;
                    st.trail.leave();
                }
                ComponentKey::Other => skip_value(&mut map)?,
            }
        }
        let trail = &st.trail;
        Ok(st.tree.close(st.out, || trail.to_string()))
    }
}
