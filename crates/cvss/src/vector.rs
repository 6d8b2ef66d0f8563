//! Parsing of CVSS vector strings into a [`Vector`]: the prefix picks the version, each
//! `METRIC:VALUE` component is checked against that version's metric table.
//!
//! Ordering rules follow each specification's text:
//! - v3.0 and v3.1 §6: "Programs reading CVSS v3.x vector strings must accept metrics in any
//!   order", so any order after the prefix is accepted.
//! - v4.0 §7: "A vector string must contain metrics in the order shown in Table 23, every other
//!   ordering is invalid", so an out-of-order metric is an error (`metric_out_of_order`).
//!
//! In every version: metric names and values are case-sensitive, a metric may appear at most
//! once, all base metrics are mandatory, and `X` (Not Defined) is accepted wherever the
//! specification lists it. This module must not score: scoring lives in `v3` and `v4`.

use std::fmt;

use crate::error::CvssError;

/// CVSS version of a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V3_0,
    V3_1,
    V4_0,
}

impl Version {
    /// `"3.0"`, `"3.1"` or `"4.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V3_0 => "3.0",
            Version::V3_1 => "3.1",
            Version::V4_0 => "4.0",
        }
    }

    fn defs(self) -> &'static [MetricDef] {
        match self {
            Version::V3_0 | Version::V3_1 => V3_METRICS,
            Version::V4_0 => V4_METRICS,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One metric of a version's vector-string table.
pub(crate) struct MetricDef {
    pub(crate) name: &'static str,
    pub(crate) values: &'static [&'static str],
    pub(crate) mandatory: bool,
}

const fn base(name: &'static str, values: &'static [&'static str]) -> MetricDef {
    MetricDef {
        name,
        values,
        mandatory: true,
    }
}

const fn opt(name: &'static str, values: &'static [&'static str]) -> MetricDef {
    MetricDef {
        name,
        values,
        mandatory: false,
    }
}

/// CVSS v3.0/v3.1 Table 15 (same metrics in both versions), in the preferred order.
pub(crate) const V3_METRICS: &[MetricDef] = &[
    base("AV", &["N", "A", "L", "P"]),
    base("AC", &["L", "H"]),
    base("PR", &["N", "L", "H"]),
    base("UI", &["N", "R"]),
    base("S", &["U", "C"]),
    base("C", &["H", "L", "N"]),
    base("I", &["H", "L", "N"]),
    base("A", &["H", "L", "N"]),
    opt("E", &["X", "H", "F", "P", "U"]),
    opt("RL", &["X", "U", "W", "T", "O"]),
    opt("RC", &["X", "C", "R", "U"]),
    opt("CR", &["X", "H", "M", "L"]),
    opt("IR", &["X", "H", "M", "L"]),
    opt("AR", &["X", "H", "M", "L"]),
    opt("MAV", &["X", "N", "A", "L", "P"]),
    opt("MAC", &["X", "L", "H"]),
    opt("MPR", &["X", "N", "L", "H"]),
    opt("MUI", &["X", "N", "R"]),
    opt("MS", &["X", "U", "C"]),
    opt("MC", &["X", "H", "L", "N"]),
    opt("MI", &["X", "H", "L", "N"]),
    opt("MA", &["X", "H", "L", "N"]),
];

/// CVSS v4.0 Table 23, in the order the specification requires.
pub(crate) const V4_METRICS: &[MetricDef] = &[
    base("AV", &["N", "A", "L", "P"]),
    base("AC", &["L", "H"]),
    base("AT", &["N", "P"]),
    base("PR", &["N", "L", "H"]),
    base("UI", &["N", "P", "A"]),
    base("VC", &["H", "L", "N"]),
    base("VI", &["H", "L", "N"]),
    base("VA", &["H", "L", "N"]),
    base("SC", &["H", "L", "N"]),
    base("SI", &["H", "L", "N"]),
    base("SA", &["H", "L", "N"]),
    opt("E", &["X", "A", "P", "U"]),
    opt("CR", &["X", "H", "M", "L"]),
    opt("IR", &["X", "H", "M", "L"]),
    opt("AR", &["X", "H", "M", "L"]),
    opt("MAV", &["X", "N", "A", "L", "P"]),
    opt("MAC", &["X", "L", "H"]),
    opt("MAT", &["X", "N", "P"]),
    opt("MPR", &["X", "N", "L", "H"]),
    opt("MUI", &["X", "N", "P", "A"]),
    opt("MVC", &["X", "H", "L", "N"]),
    opt("MVI", &["X", "H", "L", "N"]),
    opt("MVA", &["X", "H", "L", "N"]),
    opt("MSC", &["X", "H", "L", "N"]),
    opt("MSI", &["X", "S", "H", "L", "N"]),
    opt("MSA", &["X", "S", "H", "L", "N"]),
    opt("S", &["X", "N", "P"]),
    opt("AU", &["X", "N", "Y"]),
    opt("R", &["X", "A", "U", "I"]),
    opt("V", &["X", "D", "C"]),
    opt("RE", &["X", "L", "M", "H"]),
    opt("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

/// A parsed, valid CVSS v3.0, v3.1 or v4.0 vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vector {
    version: Version,
    /// Value of each metric of `version.defs()`, by index; `None` when absent.
    values: Vec<Option<&'static str>>,
}

impl Vector {
    /// Parses a vector string strictly (see the module documentation for the rules).
    pub fn parse(input: &str) -> Result<Vector, CvssError> {
        if input.is_empty() {
            return Err(CvssError::Empty);
        }
        // A bare prefix has no components at all (reported as a missing metric below), while a
        // prefix followed by '/' and nothing else has one empty component.
        let (prefix, body) = match input.split_once('/') {
            Some((prefix, body)) => (prefix, Some(body)),
            None => (input, None),
        };
        let version = match prefix {
            "CVSS:3.0" => Version::V3_0,
            "CVSS:3.1" => Version::V3_1,
            "CVSS:4.0" => Version::V4_0,
            _ => {
                return Err(CvssError::UnknownPrefix {
                    prefix: prefix.to_string(),
                })
            }
        };
        let defs = version.defs();
        let ordered = version == Version::V4_0;
        let mut values: Vec<Option<&'static str>> = vec![None; defs.len()];
        let mut last: Option<usize> = None;
        for (i, component) in body.into_iter().flat_map(|b| b.split('/')).enumerate() {
            if component.is_empty() {
                // Position counts the prefix as component 0.
                return Err(CvssError::EmptyComponent { position: i + 1 });
            }
            let (name, value) = match component.split_once(':') {
                Some((n, v)) if !n.is_empty() && !v.is_empty() && !v.contains(':') => (n, v),
                _ => {
                    return Err(CvssError::MalformedComponent {
                        component: component.to_string(),
                    })
                }
            };
            let Some(index) = defs.iter().position(|d| d.name == name) else {
                return Err(CvssError::UnknownMetric {
                    metric: name.to_string(),
                    version: version.as_str(),
                });
            };
            let def = &defs[index];
            if values[index].is_some() {
                return Err(CvssError::DuplicateMetric {
                    metric: name.to_string(),
                });
            }
            let Some(known) = def.values.iter().find(|v| **v == value) else {
                return Err(CvssError::UnknownValue {
                    metric: name.to_string(),
                    value: value.to_string(),
                });
            };
            if ordered {
                if let Some(prev) = last {
                    if index < prev {
                        return Err(CvssError::OutOfOrder {
                            metric: name.to_string(),
                            before: defs[prev].name.to_string(),
                        });
                    }
                }
            }
            last = Some(index);
            values[index] = Some(known);
        }
        if let Some(missing) = defs
            .iter()
            .zip(&values)
            .find(|(d, v)| d.mandatory && v.is_none())
        {
            return Err(CvssError::MissingMetric {
                metric: missing.0.name,
            });
        }
        Ok(Vector { version, values })
    }

    /// The vector's CVSS version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The value written for `metric` (`"N"`, `"X"`, ...), or `None` when the vector does not
    /// carry it (or the version has no such metric).
    pub fn get(&self, metric: &str) -> Option<&'static str> {
        let index = self.version.defs().iter().position(|d| d.name == metric)?;
        self.values[index]
    }

    /// The effective value of an optional metric: its value, or `"X"` when absent.
    pub(crate) fn get_or_x(&self, metric: &str) -> &'static str {
        self.get(metric).unwrap_or("X")
    }

    /// True when any of `metrics` is present with a value other than `X`.
    pub(crate) fn any_defined(&self, metrics: &[&str]) -> bool {
        metrics
            .iter()
            .any(|m| matches!(self.get(m), Some(v) if v != "X"))
    }
}

/// The normalised form: the prefix, then every metric in the specification's table order,
/// leaving out optional metrics that are absent or `X` (Not Defined) since they change nothing.
impl fmt::Display for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CVSS:{}", self.version.as_str())?;
        for (def, value) in self.version.defs().iter().zip(&self.values) {
            if let Some(v) = value {
                if def.mandatory || *v != "X" {
                    write!(f, "/{}:{}", def.name, v)?;
                }
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for Vector {
    type Err = CvssError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Vector::parse(s)
    }
}
