//! Wire-level SARIF 2.1.0 shapes, deserialized with serde derive.
//!
//! Only the members the importer uses are declared; serde skips everything else without
//! allocating (`IgnoredAny`). These types are private: the public shapes live in `model`.
//! Arrays that can be huge per result (locations, thread-flow steps) are capped while parsing,
//! so one pathological result cannot blow up memory.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;

use super::model::{Level, ResultKind};

/// Keeps the first `N` items of a JSON array and counts the rest without materialising them.
#[derive(Debug)]
pub(crate) struct Capped<T, const N: usize> {
    pub items: Vec<T>,
    pub total: usize,
}

impl<T, const N: usize> Default for Capped<T, N> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            total: 0,
        }
    }
}

impl<'de, T: Deserialize<'de>, const N: usize> Deserialize<'de> for Capped<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for V<T, N> {
            type Value = Capped<T, N>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Capped::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Capped::<T, N>::default();
                loop {
                    if out.items.len() < N {
                        match seq.next_element::<T>()? {
                            Some(t) => out.items.push(t),
                            None => break,
                        }
                    } else if seq.next_element::<IgnoredAny>()?.is_none() {
                        break;
                    }
                    out.total += 1;
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V::<T, N>(PhantomData))
    }
}

/// A number that producers may write as a JSON number or as a string (GitHub's
/// `security-severity` is documented as a string). Anything unparsable becomes `None`, because
/// a property bag is free-form and GitHub treats bad values as "no security severity".
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct LooseNumber(pub Option<f64>);

impl<'de> Deserialize<'de> for LooseNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseNumber;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a numeric string")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LooseNumber, E> {
                Ok(LooseNumber(Some(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LooseNumber, E> {
                Ok(LooseNumber(Some(v as f64)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LooseNumber, E> {
                Ok(LooseNumber(Some(v as f64)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LooseNumber, E> {
                Ok(LooseNumber(v.trim().parse::<f64>().ok()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LooseNumber, E> {
                Ok(LooseNumber(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LooseNumber, E> {
                Ok(LooseNumber(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<LooseNumber, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LooseNumber(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<LooseNumber, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LooseNumber(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A string in a free-form property bag; non-strings become `None` instead of an error.
#[derive(Debug, Default, Clone)]
pub(crate) struct LooseString(pub Option<String>);

impl<'de> Deserialize<'de> for LooseString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseString;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LooseString, E> {
                Ok(LooseString(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<LooseString, E> {
                Ok(LooseString(Some(v)))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<LooseString, E> {
                Ok(LooseString(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<LooseString, E> {
                Ok(LooseString(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<LooseString, E> {
                Ok(LooseString(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LooseString, E> {
                Ok(LooseString(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LooseString, E> {
                Ok(LooseString(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<LooseString, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LooseString(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<LooseString, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LooseString(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Tags in a property bag: a list of strings; anything else is ignored rather than rejected.
#[derive(Debug, Default, Clone)]
pub(crate) struct LooseTags(pub Vec<String>);

impl<'de> Deserialize<'de> for LooseTags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseTags;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<LooseTags, A::Error> {
                let mut out = Vec::new();
                while let Some(LooseString(t)) = s.next_element::<LooseString>()? {
                    if let Some(t) = t {
                        out.push(t);
                    }
                }
                Ok(LooseTags(out))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<LooseTags, E> {
                Ok(LooseTags(Vec::new()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<LooseTags, E> {
                Ok(LooseTags(Vec::new()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<LooseTags, E> {
                Ok(LooseTags(Vec::new()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<LooseTags, E> {
                Ok(LooseTags(Vec::new()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LooseTags, E> {
                Ok(LooseTags(Vec::new()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<LooseTags, E> {
                Ok(LooseTags(Vec::new()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<LooseTags, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LooseTags(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
}

pub(crate) const MAX_LOCATIONS: usize = 100;
pub(crate) const MAX_LOGICAL_LOCATIONS: usize = 16;
pub(crate) const MAX_CODE_FLOWS: usize = 4;
pub(crate) const MAX_THREAD_FLOWS: usize = 4;
pub(crate) const MAX_THREAD_FLOW_STEPS: usize = 256;
pub(crate) const MAX_TAXA: usize = 64;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawResult {
    pub rule_id: Option<String>,
    pub rule_index: Option<i64>,
    pub rule: Option<RawDescriptorRef>,
    pub kind: Option<ResultKind>,
    pub level: Option<Level>,
    pub message: Option<RawMessage>,
    pub locations: Capped<RawLocation, MAX_LOCATIONS>,
    pub code_flows: Capped<RawCodeFlow, MAX_CODE_FLOWS>,
    pub fingerprints: Option<BTreeMap<String, String>>,
    pub partial_fingerprints: Option<BTreeMap<String, String>>,
    pub taxa: Capped<RawDescriptorRef, MAX_TAXA>,
    pub guid: Option<String>,
    pub correlation_guid: Option<String>,
    pub suppressions: Option<Vec<RawSuppression>>,
    pub baseline_state: Option<String>,
    pub occurrence_count: Option<u64>,
    pub properties: Option<RawResultProps>,
}

/// Scalar properties of a result kept per finding (the rest of the bag is skipped).
pub(crate) const MAX_SCALAR_PROPS: usize = 16;
/// Longer keys or values are not kept (a property bag may carry whole exploit scripts).
pub(crate) const MAX_SCALAR_PROP_LEN: usize = 128;

/// A result's property bag: `security-severity`, `tags`, and its short scalar properties
/// (booleans, numbers, strings) as text, in file order — the tool's own evidence, such as an AI
/// model's "exploit confirmed" flag or the draft SARIF AI profile's `ai/origin`.
#[derive(Debug, Default)]
pub(crate) struct RawResultProps {
    pub security_severity: LooseNumber,
    pub tags: LooseTags,
    pub scalars: Vec<(String, String)>,
}

/// One property value: its text when it is a short scalar, else `None` (and skipped).
struct LooseScalar(Option<String>);

impl<'de> Deserialize<'de> for LooseScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LooseScalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<LooseScalar, E> {
                Ok(LooseScalar(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<LooseScalar, E> {
                Ok(LooseScalar(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<LooseScalar, E> {
                Ok(LooseScalar(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<LooseScalar, E> {
                Ok(LooseScalar(Some(v.to_string())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LooseScalar, E> {
                Ok(LooseScalar(
                    (v.len() <= MAX_SCALAR_PROP_LEN).then(|| v.to_string()),
                ))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LooseScalar, E> {
                Ok(LooseScalar(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<LooseScalar, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LooseScalar(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut m: A) -> Result<LooseScalar, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LooseScalar(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawResultProps {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawResultProps;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property bag (object)")
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<RawResultProps, A::Error> {
                let mut out = RawResultProps::default();
                while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "security-severity" => out.security_severity = m.next_value()?,
                        "tags" => out.tags = m.next_value()?,
                        k if k.len() <= MAX_SCALAR_PROP_LEN
                            && out.scalars.len() < MAX_SCALAR_PROPS =>
                        {
                            if let LooseScalar(Some(v)) = m.next_value()? {
                                out.scalars.push((k.to_string(), v));
                            }
                        }
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(out)
            }
            // A property bag that is not an object is ignored, as before.
            fn visit_unit<E: de::Error>(self) -> Result<RawResultProps, E> {
                Ok(RawResultProps::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawResultProps, E> {
                Ok(RawResultProps::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<RawResultProps, E> {
                Ok(RawResultProps::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawResultProps, E> {
                Ok(RawResultProps::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawResultProps, E> {
                Ok(RawResultProps::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawResultProps, E> {
                Ok(RawResultProps::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<RawResultProps, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RawResultProps::default())
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawMessage {
    pub text: Option<String>,
    pub markdown: Option<String>,
    pub id: Option<String>,
    pub arguments: Vec<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawMultiformat {
    pub text: Option<String>,
    pub markdown: Option<String>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawDescriptorRef {
    pub id: Option<String>,
    pub index: Option<i64>,
    pub guid: Option<String>,
    pub tool_component: Option<RawComponentRef>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawComponentRef {
    pub name: Option<String>,
    pub index: Option<i64>,
    pub guid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawLocation {
    pub physical_location: Option<RawPhysicalLocation>,
    pub logical_locations: Capped<RawLogicalLocation, MAX_LOGICAL_LOCATIONS>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawPhysicalLocation {
    pub artifact_location: Option<RawArtifactLocation>,
    pub region: Option<RawRegion>,
}

#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawArtifactLocation {
    pub uri: Option<String>,
    pub uri_base_id: Option<String>,
    pub index: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawRegion {
    pub start_line: Option<u32>,
    pub start_column: Option<u32>,
    pub end_line: Option<u32>,
    pub end_column: Option<u32>,
    pub snippet: Option<RawArtifactContent>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawArtifactContent {
    pub text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawLogicalLocation {
    pub name: Option<String>,
    pub fully_qualified_name: Option<String>,
    pub kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawCodeFlow {
    pub thread_flows: Capped<RawThreadFlow, MAX_THREAD_FLOWS>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawThreadFlow {
    pub locations: Capped<RawThreadFlowLocation, MAX_THREAD_FLOW_STEPS>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawThreadFlowLocation {
    pub location: Option<RawLocation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawSuppression {
    pub kind: Option<String>,
    pub status: Option<String>,
}

// ---- run-level members (parsed once per run, so plain derive is fine) ----

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawTool {
    pub driver: Option<RawToolComponent>,
    pub extensions: Vec<RawToolComponent>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawToolComponent {
    pub name: Option<String>,
    pub guid: Option<String>,
    pub version: Option<String>,
    pub semantic_version: Option<String>,
    pub organization: Option<String>,
    pub information_uri: Option<String>,
    pub rules: Vec<RawRule>,
    pub taxa: Vec<RawTaxon>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawRule {
    pub id: Option<String>,
    pub guid: Option<String>,
    pub name: Option<String>,
    pub short_description: Option<RawMultiformat>,
    pub full_description: Option<RawMultiformat>,
    pub help_uri: Option<String>,
    pub default_configuration: Option<RawReportingConfiguration>,
    pub relationships: Vec<RawRelationship>,
    pub message_strings: BTreeMap<String, RawMultiformat>,
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawReportingConfiguration {
    pub level: Option<Level>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawRelationship {
    pub target: Option<RawDescriptorRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawTaxon {
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawInvocation {
    pub start_time_utc: Option<String>,
    pub end_time_utc: Option<String>,
    pub execution_successful: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawAutomationDetails {
    pub id: Option<String>,
    pub guid: Option<String>,
    pub correlation_guid: Option<String>,
    pub description: Option<RawMultiformat>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct RawArtifact {
    pub location: Option<RawArtifactLocation>,
}
