//! CycloneDX JSON BOMs (spec versions 1.5 and 1.6): the components of a resource's software,
//! for the inventory (SPEC C11) and for matching vulnerabilities to what is installed.
//!
//! Reads `metadata.component` and `components[]`, flattening nested `components` (each keeps
//! its parent's `bom-ref`). Other spec versions are rejected rather than half-read. It does not
//! resolve `dependencies` or evaluate VEX; it only reports what the BOM lists.

use std::io::Read;

use serde::Deserialize;

use crate::feeds::{read_json, FeedError};

/// Spec versions this reader accepts.
pub const SUPPORTED_SPEC_VERSIONS: [&str; 2] = ["1.5", "1.6"];

/// A BOM's components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bom {
    /// `specVersion`.
    pub spec_version: String,
    /// `serialNumber` (`urn:uuid:…`).
    pub serial_number: Option<String>,
    /// `version` of the BOM document.
    pub version: Option<u64>,
    /// `metadata.component`: what the BOM describes.
    pub subject: Option<Component>,
    /// `components[]`, nested ones flattened depth-first after their parent (components nested
    /// in `metadata.component` come first).
    pub components: Vec<Component>,
}

/// One component.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Component {
    /// `type` (`library`, `application`, `container`, `operating-system`, …).
    pub kind: String,
    /// `name`.
    pub name: String,
    /// `group` (e.g. Maven group id).
    pub group: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `purl`.
    pub purl: Option<String>,
    /// `cpe`.
    pub cpe: Option<String>,
    /// `bom-ref`.
    pub bom_ref: Option<String>,
    /// `bom-ref` of the enclosing component, for nested components.
    pub parent: Option<String>,
    /// JSON path, e.g. `components[3].components[0]`.
    pub path: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBom {
    bom_format: String,
    spec_version: String,
    serial_number: Option<String>,
    version: Option<u64>,
    metadata: Option<RawMetadata>,
    #[serde(default)]
    components: Vec<RawComponent>,
}

#[derive(Deserialize)]
struct RawMetadata {
    component: Option<RawComponent>,
}

#[derive(Deserialize)]
struct RawComponent {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    group: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    cpe: Option<String>,
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    #[serde(default)]
    components: Vec<RawComponent>,
}

fn flatten(raw: RawComponent, path: String, parent: Option<String>, out: &mut Vec<Component>) {
    let children = raw.components;
    let bom_ref = raw.bom_ref;
    out.push(Component {
        kind: raw.kind,
        name: raw.name,
        group: raw.group,
        version: raw.version,
        purl: raw.purl,
        cpe: raw.cpe,
        bom_ref: bom_ref.clone(),
        parent,
        path: path.clone(),
    });
    for (i, c) in children.into_iter().enumerate() {
        flatten(c, format!("{path}.components[{i}]"), bom_ref.clone(), out);
    }
}

/// Reads a CycloneDX JSON BOM (gzip accepted).
pub fn read_cyclonedx<R: Read>(input: R) -> Result<Bom, FeedError> {
    let raw: RawBom = read_json(input)?;
    if raw.bom_format != "CycloneDX" {
        return Err(FeedError::Unsupported {
            path: "bomFormat".to_owned(),
            found: raw.bom_format,
            supported: "CycloneDX",
        });
    }
    if !SUPPORTED_SPEC_VERSIONS.contains(&raw.spec_version.as_str()) {
        return Err(FeedError::Unsupported {
            path: "specVersion".to_owned(),
            found: raw.spec_version,
            supported: "1.5, 1.6",
        });
    }
    let mut components = Vec::new();
    // Components nested in the subject are listed with the others.
    let subject = raw.metadata.and_then(|m| m.component).and_then(|c| {
        let mut v = Vec::new();
        flatten(c, "metadata.component".to_owned(), None, &mut v);
        let mut it = v.into_iter();
        let subject = it.next();
        components.extend(it);
        subject
    });
    for (i, c) in raw.components.into_iter().enumerate() {
        flatten(c, format!("components[{i}]"), None, &mut components);
    }
    Ok(Bom {
        spec_version: raw.spec_version,
        serial_number: raw.serial_number,
        version: raw.version,
        subject,
        components,
    })
}
