//! STIX 2.1 for threat-sharing bulletins (C10): TLP 2.0 markings with the identifiers FIRST and
//! OASIS publish, STIX patterns for simple indicators, and the bundle of one bulletin version
//! (report, vulnerability, indicator, course-of-action, the publisher's identity, relationships).
//!
//! Object identifiers are derived from the bulletin's own UUID, so every version of a bulletin
//! re-emits the same ids with a later `modified` (STIX versioning), and a withdrawal emits them
//! once more with `revoked: true`. No I/O: values in, JSON values out.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The TLP 2.0 extension definition every TLP 2.0 marking names.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// The Traffic Light Protocol 2.0 labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

impl Tlp {
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The `tlp_2_0` value of the marking (`clear`, …, `amber+strict`, `red`).
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    pub fn parse(s: &str) -> Option<Tlp> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("tlp:").unwrap_or(&s);
        Tlp::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// `TLP:AMBER+STRICT`, as the marking's `name` and the label people read.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// The marking-definition id OASIS publishes for the label (cti-stix-common-objects).
    pub fn marking_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// The published marking-definition object.
    pub fn marking_definition(self) -> Value {
        json!({
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": self.marking_id(),
            "created": "2022-10-01T00:00:00.000Z",
            "name": self.label(),
            "extensions": {
                TLP2_EXTENSION: {
                    "extension_type": "property-extension",
                    "tlp_2_0": self.as_str(),
                }
            }
        })
    }

    /// FIRST's definition of the label (TLP 2.0, "Usage"), in English.
    pub fn definition_en(self) -> &'static str {
        match self {
            Tlp::Clear => "Recipients can spread this to the world, there is no limit on disclosure. Sources may use TLP:CLEAR when information carries minimal or no foreseeable risk of misuse.",
            Tlp::Green => "Limited disclosure, recipients can spread this within their community. Recipients may share TLP:GREEN information with peers and partner organizations within their community, but not via publicly accessible channels.",
            Tlp::Amber => "Limited disclosure, recipients can only spread this on a need-to-know basis within their organization and its clients.",
            Tlp::AmberStrict => "Limited disclosure, recipients can only spread this on a need-to-know basis within their organization, and not to its clients.",
            Tlp::Red => "For the eyes and ears of individual recipients only, no further disclosure. Recipients may not share TLP:RED information with any parties outside of the specific exchange, meeting, or conversation in which it was originally disclosed.",
        }
    }

    /// The same definition in Korean.
    pub fn definition_ko(self) -> &'static str {
        match self {
            Tlp::Clear => "공개 제한 없음: 받은 사람은 누구에게나 전파할 수 있습니다. 오용 위험이 거의 없는 정보에 씁니다.",
            Tlp::Green => "제한적 공개: 받은 사람은 자신이 속한 공동체(동료·협력 기관) 안에서 전파할 수 있으나, 누구나 볼 수 있는 공개 채널에는 올릴 수 없습니다.",
            Tlp::Amber => "제한적 공개: 받은 사람은 알아야 할 필요가 있는 범위에서 자기 기관과 그 고객에게만 전파할 수 있습니다.",
            Tlp::AmberStrict => "제한적 공개: 받은 사람은 알아야 할 필요가 있는 범위에서 자기 기관 안에서만 전파할 수 있고, 고객에게는 전파할 수 없습니다.",
            Tlp::Red => "지정된 수신자 본인만: 더 이상 전파할 수 없으며, 공유된 그 자리(교환·회의·대화) 밖의 누구와도 나눌 수 없습니다.",
        }
    }
}

/// A UUID (version-4 layout) derived from a name: the same name always gives the same id.
pub fn uuid_from(name: &str) -> String {
    let d = Sha256::digest(name.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A STIX timestamp (UTC, millisecond precision, `Z`).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// What an indicator observes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndicatorKind {
    Ipv4,
    Ipv6,
    Domain,
    Url,
    Email,
    Sha256,
    Md5,
}

impl IndicatorKind {
    pub const ALL: [IndicatorKind; 7] = [
        IndicatorKind::Ipv4,
        IndicatorKind::Ipv6,
        IndicatorKind::Domain,
        IndicatorKind::Url,
        IndicatorKind::Email,
        IndicatorKind::Sha256,
        IndicatorKind::Md5,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::Ipv4 => "ipv4",
            IndicatorKind::Ipv6 => "ipv6",
            IndicatorKind::Domain => "domain",
            IndicatorKind::Url => "url",
            IndicatorKind::Email => "email",
            IndicatorKind::Sha256 => "sha256",
            IndicatorKind::Md5 => "md5",
        }
    }

    pub fn parse(s: &str) -> Option<IndicatorKind> {
        let s = s.trim().to_ascii_lowercase();
        IndicatorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Checks a value of this kind; the error says what is expected.
    pub fn check(self, v: &str) -> Result<(), &'static str> {
        let ok = match self {
            IndicatorKind::Ipv4 => v.parse::<std::net::Ipv4Addr>().is_ok(),
            IndicatorKind::Ipv6 => v.parse::<std::net::Ipv6Addr>().is_ok(),
            IndicatorKind::Domain => {
                v.len() <= 253
                    && v.contains('.')
                    && v.split('.').all(|l| {
                        !l.is_empty()
                            && l.len() <= 63
                            && !l.starts_with('-')
                            && !l.ends_with('-')
                            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    })
            }
            IndicatorKind::Url => {
                (v.starts_with("http://") || v.starts_with("https://"))
                    && v.len() > 8
                    && !v.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            IndicatorKind::Email => match v.split_once('@') {
                Some((l, d)) => {
                    !l.is_empty()
                        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
                        && IndicatorKind::Domain.check(d).is_ok()
                }
                None => false,
            },
            IndicatorKind::Sha256 => v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()),
            IndicatorKind::Md5 => v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()),
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            IndicatorKind::Ipv4 => "is not an IPv4 address",
            IndicatorKind::Ipv6 => "is not an IPv6 address",
            IndicatorKind::Domain => "is not a domain name",
            IndicatorKind::Url => "is not an http(s) URL",
            IndicatorKind::Email => "is not an e-mail address",
            IndicatorKind::Sha256 => "is not a SHA-256 hash (64 hex digits)",
            IndicatorKind::Md5 => "is not an MD5 hash (32 hex digits)",
        })
    }

    /// The STIX pattern that matches the value (quotes and backslashes escaped).
    pub fn pattern(self, v: &str) -> String {
        let q = v.replace('\\', "\\\\").replace('\'', "\\'");
        match self {
            IndicatorKind::Ipv4 => format!("[ipv4-addr:value = '{q}']"),
            IndicatorKind::Ipv6 => format!("[ipv6-addr:value = '{q}']"),
            IndicatorKind::Domain => format!("[domain-name:value = '{}']", q.to_lowercase()),
            IndicatorKind::Url => format!("[url:value = '{q}']"),
            IndicatorKind::Email => format!("[email-addr:value = '{q}']"),
            IndicatorKind::Sha256 => {
                format!("[file:hashes.'SHA-256' = '{}']", q.to_lowercase())
            }
            IndicatorKind::Md5 => format!("[file:hashes.MD5 = '{}']", q.to_lowercase()),
        }
    }
}

/// One indicator of a bulletin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorValue {
    pub kind: IndicatorKind,
    pub value: String,
    pub note: String,
}

/// The publishing organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publisher {
    /// Stable key the identity's id is derived from.
    pub key: &'static str,
    pub name: &'static str,
}

impl Publisher {
    pub fn identity_id(self) -> String {
        format!(
            "identity--{}",
            uuid_from(&format!("haechi-publisher:{}", self.key))
        )
    }

    pub fn identity(self) -> Value {
        json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": self.identity_id(),
            "created": "2026-01-01T00:00:00.000Z",
            "modified": "2026-01-01T00:00:00.000Z",
            "name": self.name,
            "identity_class": "organization",
            "sectors": ["financial-services"],
        })
    }
}

/// One version of a bulletin, as STIX needs it.
#[derive(Debug, Clone)]
pub struct BulletinDoc<'a> {
    /// The bulletin's UUID: every object id is derived from it.
    pub uuid: &'a str,
    pub title: &'a str,
    pub description: String,
    /// `threat-report`, `vulnerability`, `indicator`, … (STIX report-type-ov).
    pub report_type: &'static str,
    /// `low` … `critical`, carried as a label.
    pub severity: &'a str,
    pub cves: &'a [String],
    pub cwes: &'a [u32],
    pub indicators: &'a [IndicatorValue],
    pub actions: &'a [String],
    /// Source references, cited as text.
    pub sources: &'a [String],
    pub tlp: Tlp,
    pub publisher: Publisher,
    /// When the bulletin was first published (every object's `created`).
    pub created: DateTime<Utc>,
    /// This version's publication (every object's `modified`).
    pub modified: DateTime<Utc>,
    /// Withdrawn: every object is revoked.
    pub revoked: bool,
    pub lang: &'static str,
}

impl BulletinDoc<'_> {
    fn id(&self, ty: &str, key: &str) -> String {
        format!("{ty}--{}", uuid_from(&format!("{}:{ty}:{key}", self.uuid)))
    }

    pub fn report_id(&self) -> String {
        format!("report--{}", self.uuid)
    }

    fn common(&self, ty: &str, id: &str) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), json!(ty));
        m.insert("spec_version".into(), json!("2.1"));
        m.insert("id".into(), json!(id));
        m.insert("created".into(), json!(timestamp(self.created)));
        m.insert("modified".into(), json!(timestamp(self.modified)));
        m.insert("created_by_ref".into(), json!(self.publisher.identity_id()));
        m.insert("object_marking_refs".into(), json!([self.tlp.marking_id()]));
        if self.revoked {
            m.insert("revoked".into(), json!(true));
        }
        m
    }

    /// The bulletin's objects: report first, then the objects it refers to, the publisher's
    /// identity and the TLP marking definition last.
    pub fn objects(&self) -> Vec<Value> {
        let mut refs: Vec<String> = Vec::new();
        let mut out: Vec<Value> = Vec::new();
        let mut vulns: Vec<String> = Vec::new();
        for cve in self.cves {
            let id = self.id("vulnerability", cve);
            let mut m = self.common("vulnerability", &id);
            m.insert("name".into(), json!(cve));
            m.insert(
                "external_references".into(),
                json!([{"source_name": "cve", "external_id": cve}]),
            );
            refs.push(id.clone());
            vulns.push(id);
            out.push(Value::Object(m));
        }
        let mut indicators = Vec::new();
        for ind in self.indicators {
            let id = self.id("indicator", &format!("{}:{}", ind.kind.as_str(), ind.value));
            let mut m = self.common("indicator", &id);
            // Name and description both (validator check 303, strict).
            let description = if ind.note.trim().is_empty() {
                self.title.to_string()
            } else {
                ind.note.trim().to_string()
            };
            m.insert(
                "name".into(),
                json!(format!("{} {}", ind.kind.as_str(), ind.value)),
            );
            m.insert("description".into(), json!(description));
            m.insert("indicator_types".into(), json!(["malicious-activity"]));
            m.insert("pattern".into(), json!(ind.kind.pattern(&ind.value)));
            m.insert("pattern_type".into(), json!("stix"));
            m.insert("pattern_version".into(), json!("2.1"));
            m.insert("valid_from".into(), json!(timestamp(self.created)));
            refs.push(id.clone());
            indicators.push(id);
            out.push(Value::Object(m));
        }
        let mut courses = Vec::new();
        for (i, a) in self.actions.iter().enumerate() {
            let id = self.id("course-of-action", &i.to_string());
            let mut m = self.common("course-of-action", &id);
            let name: String = a.lines().next().unwrap_or("").chars().take(120).collect();
            m.insert("name".into(), json!(name));
            m.insert("description".into(), json!(a));
            refs.push(id.clone());
            courses.push(id);
            out.push(Value::Object(m));
        }
        let rel = |ty: &str, s: &str, t: &str, out: &mut Vec<Value>, refs: &mut Vec<String>| {
            let id = self.id("relationship", &format!("{ty}:{s}:{t}"));
            let mut m = self.common("relationship", &id);
            m.insert("relationship_type".into(), json!(ty));
            m.insert("source_ref".into(), json!(s));
            m.insert("target_ref".into(), json!(t));
            refs.push(id);
            out.push(Value::Object(m));
        };
        for c in &courses {
            for v in &vulns {
                rel("mitigates", c, v, &mut out, &mut refs);
            }
        }
        for i in &indicators {
            for v in &vulns {
                rel("related-to", i, v, &mut out, &mut refs);
            }
        }
        refs.push(self.publisher.identity_id());
        let mut report = self.common("report", &self.report_id());
        report.insert("name".into(), json!(self.title));
        report.insert("description".into(), json!(self.description));
        report.insert("lang".into(), json!(self.lang));
        report.insert("report_types".into(), json!([self.report_type]));
        report.insert("published".into(), json!(timestamp(self.modified)));
        report.insert(
            "labels".into(),
            json!([format!("severity-{}", self.severity)]),
        );
        let mut ext: Vec<Value> = self
            .cwes
            .iter()
            .map(|c| json!({"source_name": "cwe", "external_id": format!("CWE-{c}")}))
            .collect();
        for s in self.sources {
            let s = s.trim();
            // A reference with a URL must carry the file's hash (validator check 302, strict):
            // sources are cited as text.
            if !s.is_empty() {
                ext.push(json!({"source_name": "source", "description": s}));
            }
        }
        if !ext.is_empty() {
            report.insert("external_references".into(), Value::Array(ext));
        }
        report.insert("object_refs".into(), json!(refs));
        let mut all = vec![Value::Object(report)];
        all.extend(out);
        all.push(self.publisher.identity());
        all.push(self.tlp.marking_definition());
        all
    }

    /// The bundle of this version (its id derived from the bulletin and the version's time).
    pub fn bundle(&self) -> Value {
        json!({
            "type": "bundle",
            "id": format!("bundle--{}", uuid_from(&format!("{}:bundle:{}", self.uuid, timestamp(self.modified)))),
            "objects": self.objects(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tlp_markings_carry_the_published_ids() {
        let m = Tlp::AmberStrict.marking_definition();
        assert_eq!(
            m["id"],
            "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
        );
        assert_eq!(m["name"], "TLP:AMBER+STRICT");
        assert_eq!(m["extensions"][TLP2_EXTENSION]["tlp_2_0"], "amber+strict");
        assert_eq!(Tlp::parse("TLP:amber+strict"), Some(Tlp::AmberStrict));
        assert_eq!(Tlp::parse("white"), None);
    }

    #[test]
    fn derived_ids_are_stable_uuids() {
        let a = uuid_from("x");
        assert_eq!(a, uuid_from("x"));
        assert_ne!(a, uuid_from("y"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn patterns_escape_quotes() {
        assert_eq!(
            IndicatorKind::Url.pattern("https://x.example/a'b"),
            "[url:value = 'https://x.example/a\\'b']"
        );
        assert!(IndicatorKind::Ipv4.check("10.0.0.300").is_err());
        assert!(IndicatorKind::Domain.check("evil.example").is_ok());
        assert!(IndicatorKind::Sha256.check(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn versions_keep_ids_and_move_modified() {
        let cves = vec!["CVE-2026-0001".to_string()];
        let actions = vec!["Patch it".to_string()];
        let t0 = DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t1 = DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let doc = |m| BulletinDoc {
            uuid: "9b0e8f0e-0000-4000-8000-000000000001",
            title: "t",
            description: "d".into(),
            report_type: "vulnerability",
            severity: "high",
            cves: &cves,
            cwes: &[79],
            indicators: &[],
            actions: &actions,
            sources: &[],
            tlp: Tlp::Green,
            publisher: Publisher {
                key: "fsi",
                name: "FSI",
            },
            created: t0,
            modified: m,
            revoked: false,
            lang: "ko",
        };
        let a = doc(t0).objects();
        let b = doc(t1).objects();
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x["id"], y["id"]);
        }
        assert_eq!(b[0]["modified"], "2026-11-02T00:00:00.000Z");
        assert_eq!(b[0]["created"], "2026-11-01T00:00:00.000Z");
        assert!(a.iter().any(|o| o["relationship_type"] == "mitigates"));
        if let Ok(path) = std::env::var("HAECHI_STIX_DUMP") {
            std::fs::write(
                path,
                serde_json::to_string_pretty(&doc(t1).bundle()).unwrap(),
            )
            .unwrap();
        }
    }
}
