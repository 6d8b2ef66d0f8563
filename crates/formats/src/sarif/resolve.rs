//! Turns wire-level results into [`SarifFinding`]s: rule resolution (driver and extensions, by
//! id, index and tool component), effective level, CWE/CVE extraction, message rendering,
//! location normalisation and the identity/content hashes.
//!
//! Pure functions over already-parsed data: no I/O, no JSON parsing here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::SarifError;
use super::model::{
    AiOrigin, AiProvenance, Fingerprint, FingerprintSource, Level, LevelSource, Location,
    LogicalLocation, ResultKind, RuleInfo, SarifFinding, ToolComponentInfo,
};
use super::raw::{
    RawArtifactLocation, RawComponentRef, RawDescriptorRef, RawLocation, RawResult, RawRule,
    RawToolComponent,
};

/// One tool component's rules, indexed both ways.
#[derive(Debug, Default)]
pub(crate) struct ComponentRules {
    pub name: String,
    pub guid: Option<String>,
    pub rules: Vec<Arc<RuleInfo>>,
    pub by_id: HashMap<String, usize>,
}

/// The rules of one run: component 0 is the driver, `1 + i` is `tool.extensions[i]`.
#[derive(Debug, Default)]
pub(crate) struct ToolTable {
    pub tool_name: Arc<str>,
    pub components: Vec<ComponentRules>,
    pub total_rules: usize,
}

/// Run-level data needed to resolve results (taxonomies, artifacts).
#[derive(Debug, Default)]
pub(crate) struct RunContext {
    /// `taxonomies[i]` → (name, taxa ids).
    pub taxonomies: Vec<(String, Vec<Option<String>>)>,
    /// `artifacts[i].location`.
    pub artifacts: Vec<Option<RawArtifactLocation>>,
}

pub(crate) struct Limits {
    pub max_code_flow_steps: usize,
}

impl ToolTable {
    pub(crate) fn build(
        driver: RawToolComponent,
        extensions: Vec<RawToolComponent>,
        taxonomies: &[(String, Vec<Option<String>>)],
        path: &str,
        offset: u64,
    ) -> Result<(Self, ToolComponentInfo, Vec<ToolComponentInfo>), SarifError> {
        let mut components = Vec::with_capacity(1 + extensions.len());
        let mut infos = Vec::with_capacity(1 + extensions.len());
        let mut total = 0;
        for (ci, comp) in std::iter::once(driver).chain(extensions).enumerate() {
            let comp_path = if ci == 0 {
                format!("{path}.driver")
            } else {
                format!("{path}.extensions[{}]", ci - 1)
            };
            let name = comp.name.ok_or_else(|| SarifError::MissingField {
                path: format!("{comp_path}.name"),
                offset,
            })?;
            let component_label = if ci == 0 { None } else { Some(name.clone()) };
            let mut rules = Vec::with_capacity(comp.rules.len());
            let mut by_id = HashMap::with_capacity(comp.rules.len());
            for (ri, raw) in comp.rules.into_iter().enumerate() {
                let info =
                    rule_info(raw, component_label.clone(), taxonomies).ok_or_else(|| {
                        SarifError::MissingField {
                            path: format!("{comp_path}.rules[{ri}].id"),
                            offset,
                        }
                    })?;
                // First declaration wins, so ruleIndex and ruleId agree on duplicates.
                by_id.entry(info.id.clone()).or_insert(ri);
                rules.push(Arc::new(info));
            }
            total += rules.len();
            infos.push(ToolComponentInfo {
                name: name.clone(),
                version: comp.version,
                semantic_version: comp.semantic_version,
                organization: comp.organization,
                information_uri: comp.information_uri,
                rule_count: rules.len(),
            });
            components.push(ComponentRules {
                name,
                guid: comp.guid,
                rules,
                by_id,
            });
        }
        let mut infos = infos.into_iter();
        let driver_info = infos.next().unwrap_or_default();
        let table = ToolTable {
            tool_name: Arc::from(driver_info.name.as_str()),
            components,
            total_rules: total,
        };
        Ok((table, driver_info, infos.collect()))
    }

    fn find_component(&self, r: &RawComponentRef) -> Option<usize> {
        if let Some(i) = r.index.filter(|i| *i >= 0) {
            // toolComponentReference.index points into tool.extensions (SARIF §3.54.3).
            let ci = usize::try_from(i).ok()? + 1;
            return (ci < self.components.len()).then_some(ci);
        }
        if let Some(g) = &r.guid {
            if let Some(ci) = self.components.iter().position(|c| {
                c.guid
                    .as_deref()
                    .is_some_and(|cg| cg.eq_ignore_ascii_case(g))
            }) {
                return Some(ci);
            }
        }
        if let Some(n) = &r.name {
            return self.components.iter().position(|c| &c.name == n);
        }
        None
    }

    fn lookup_id(&self, ci: usize, id: &str) -> Option<&Arc<RuleInfo>> {
        let comp = &self.components[ci];
        if let Some(&i) = comp.by_id.get(id) {
            return comp.rules.get(i);
        }
        // Hierarchical rule ids ("CA2101/1") resolve to their base rule (SARIF §3.27.5).
        let mut s = id;
        while let Some(p) = s.rfind('/') {
            s = &s[..p];
            if let Some(&i) = comp.by_id.get(s) {
                return comp.rules.get(i);
            }
        }
        None
    }
}

fn rule_info(
    raw: RawRule,
    component: Option<String>,
    taxonomies: &[(String, Vec<Option<String>>)],
) -> Option<RuleInfo> {
    let id = raw.id?;
    let mut info = RuleInfo {
        name: raw.name,
        short_description: raw.short_description.and_then(|m| m.text.or(m.markdown)),
        help_uri: raw.help_uri,
        default_level: raw.default_configuration.as_ref().and_then(|c| c.level),
        enabled: raw
            .default_configuration
            .as_ref()
            .and_then(|c| c.enabled)
            .unwrap_or(true),
        component,
        ..RuleInfo::default()
    };
    let mut cwes = Vec::new();
    if let Some(props) = &raw.properties {
        info.security_severity = props.get("security-severity").and_then(loose_f64);
        info.security_severity = info.security_severity.filter(|v| valid_severity(*v));
        info.precision = props.get("precision").and_then(str_of);
        info.problem_severity = props.get("problem.severity").and_then(str_of);
        info.cvss_v3_vector = props.get("cvssv3_vector").and_then(str_of);
        info.cvss_v4_vector = props.get("cvssv40_vector").and_then(str_of);
        if let Some(Value::Array(tags)) = props.get("tags") {
            info.tags = tags.iter().filter_map(str_of).collect();
        }
        // Bandit writes "cwe": "CWE-605"; some tools write a list or a number.
        match props.get("cwe") {
            Some(Value::String(s)) => cwes.extend(cwe_from_tag(s)),
            Some(Value::Number(n)) => cwes.extend(n.as_u64().and_then(|n| u32::try_from(n).ok())),
            Some(Value::Array(a)) => {
                for v in a {
                    match v {
                        Value::String(s) => cwes.extend(cwe_from_tag(s)),
                        Value::Number(n) => {
                            cwes.extend(n.as_u64().and_then(|n| u32::try_from(n).ok()))
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    for t in &info.tags {
        cwes.extend(cwe_from_tag(t));
    }
    for rel in &raw.relationships {
        if let Some(t) = &rel.target {
            cwes.extend(cwe_from_taxon_ref(t, taxonomies));
        }
    }
    sort_dedup(&mut cwes);
    info.cwes = cwes;
    let mut cves = Vec::new();
    collect_cves(&id, &mut cves);
    if let Some(n) = &info.name {
        collect_cves(n, &mut cves);
    }
    for t in &info.tags {
        collect_cves(t, &mut cves);
    }
    sort_dedup(&mut cves);
    info.cves = cves;
    info.message_strings = raw
        .message_strings
        .into_iter()
        .filter_map(|(k, v)| v.text.or(v.markdown).map(|t| (k, t)))
        .collect::<BTreeMap<_, _>>();
    info.id = id;
    Some(info)
}

fn str_of(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn loose_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// GitHub: "0.0 or any other value outside the given range is regarded as having no security
/// severity".
fn valid_severity(v: f64) -> bool {
    v.is_finite() && v > 0.0 && v <= 10.0
}

fn sort_dedup<T: Ord>(v: &mut Vec<T>) {
    v.sort_unstable();
    v.dedup();
}

/// CWE number from a tag: `external/cwe/cwe-079`, `CWE-89: Improper ...`, `cwe-79`, `CWE-79`.
pub(crate) fn cwe_from_tag(tag: &str) -> Option<u32> {
    let t = tag.trim();
    let rest = if let Some(r) = strip_prefix_ci(t, "external/cwe/cwe-") {
        r
    } else {
        strip_prefix_ci(t, "cwe-").or_else(|| strip_prefix_ci(t, "cwe:"))?
    };
    let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn is_cwe_taxonomy(name: &str) -> bool {
    name.eq_ignore_ascii_case("cwe")
}

/// A reportingDescriptorReference into a CWE taxonomy → CWE number.
fn cwe_from_taxon_ref(
    r: &RawDescriptorRef,
    taxonomies: &[(String, Vec<Option<String>>)],
) -> Option<u32> {
    let taxonomy = r.tool_component.as_ref().and_then(|tc| {
        if let Some(n) = &tc.name {
            return Some((n.as_str(), None));
        }
        let i = usize::try_from(tc.index?).ok()?;
        taxonomies.get(i).map(|(n, taxa)| (n.as_str(), Some(taxa)))
    });
    let id: Option<&str> = r.id.as_deref().or_else(|| {
        let (_, taxa) = taxonomy?;
        let i = usize::try_from(r.index?).ok()?;
        taxa?.get(i)?.as_deref()
    });
    let id = id?;
    match taxonomy {
        Some((name, _)) if is_cwe_taxonomy(name) => {
            id.trim().parse().ok().or_else(|| cwe_from_tag(id))
        }
        _ => cwe_from_tag(id),
    }
}

/// Appends every `CVE-YYYY-NNNN…` found in `s`, upper-cased.
pub(crate) fn collect_cves(s: &str, out: &mut Vec<String>) {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 13 <= b.len() {
        // Jump to the next 'C'/'c': most text has none.
        match memchr::memchr2(b'C', b'c', &b[i..b.len() - 12]) {
            Some(k) => i += k,
            None => return,
        }
        if b[i..i + 4].eq_ignore_ascii_case(b"CVE-")
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            let y = &b[i + 4..i + 8];
            if y.iter().all(u8::is_ascii_digit) && b[i + 8] == b'-' {
                let n = b[i + 9..].iter().take_while(|c| c.is_ascii_digit()).count();
                if n >= 4 {
                    let end = i + 9 + n;
                    out.push(s[i..end].to_ascii_uppercase());
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
}

/// AI provenance from run properties (keys documented on [`AiProvenance`]).
pub(crate) fn ai_provenance(props: &serde_json::Map<String, Value>) -> AiProvenance {
    let pick = |keys: &[&str], nested: &[&str]| -> Option<String> {
        for k in keys {
            if let Some(s) = props.get(*k).and_then(Value::as_str) {
                return Some(s.to_owned());
            }
        }
        if let Some(Value::Object(ai)) = props.get("ai") {
            for k in nested {
                if let Some(s) = ai.get(*k).and_then(Value::as_str) {
                    return Some(s.to_owned());
                }
            }
        }
        None
    };
    AiProvenance {
        model: pick(
            &[
                "ai.model",
                "aiModel",
                "ai_model",
                "ai-model",
                "model",
                "modelName",
            ],
            &["model", "name"],
        ),
        model_version: pick(
            &[
                "ai.modelVersion",
                "aiModelVersion",
                "ai_model_version",
                "ai.model_version",
                "ai-model-version",
                "modelVersion",
            ],
            &["modelVersion", "model_version", "version"],
        ),
        provider: pick(
            &[
                "ai.provider",
                "aiProvider",
                "ai_provider",
                "ai-provider",
                "provider",
            ],
            &["provider", "vendor"],
        ),
        origin: pick(&AiOrigin::KEYS, &["origin"])
            .as_deref()
            .and_then(AiOrigin::parse),
    }
}

/// Where a rule reference sits, for error paths.
fn ref_path(base: &str, via_rule: bool, what: &str) -> String {
    if via_rule {
        format!("{base}.rule.{what}")
    } else {
        format!(
            "{base}.{}",
            if what == "index" {
                "ruleIndex"
            } else {
                "ruleId"
            }
        )
    }
}

/// Finds the rule a result refers to. `Ok(None)` for rule-less results and for rule ids in a run
/// that declares no rules at all (legal: `tool.driver.rules` is optional).
fn resolve_rule(
    tool: &ToolTable,
    raw: &RawResult,
    base: &str,
    offset: u64,
) -> Result<Option<Arc<RuleInfo>>, SarifError> {
    let rref = raw.rule.as_ref();
    let component = match rref.and_then(|r| r.tool_component.as_ref()) {
        Some(tc) => {
            Some(
                tool.find_component(tc)
                    .ok_or_else(|| SarifError::UnknownToolComponent {
                        path: format!("{base}.rule.toolComponent"),
                        reference: describe_component_ref(tc),
                        offset,
                    })?,
            )
        }
        None => None,
    };
    let ci = component.unwrap_or(0);
    let (index, index_via_rule) = match rref.and_then(|r| r.index).filter(|i| *i >= 0) {
        Some(i) => (Some(i), true),
        None => (raw.rule_index.filter(|i| *i >= 0), false),
    };
    let (id, id_via_rule) = match (&raw.rule_id, rref.and_then(|r| r.id.as_ref())) {
        (Some(id), _) => (Some(id.as_str()), false),
        (None, Some(id)) => (Some(id.as_str()), true),
        (None, None) => (None, false),
    };
    if let Some(i) = index {
        let rule = usize::try_from(i)
            .ok()
            .and_then(|i| tool.components[ci].rules.get(i))
            .ok_or_else(|| SarifError::UnknownRule {
                path: ref_path(base, index_via_rule, "index"),
                reference: i.to_string(),
                offset,
            })?;
        if let Some(id) = id {
            let matches = id == rule.id
                || id
                    .strip_prefix(rule.id.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
            if !matches {
                return Err(SarifError::RuleMismatch {
                    path: base.to_owned(),
                    rule_id: id.to_owned(),
                    indexed: rule.id.clone(),
                    offset,
                });
            }
        }
        return Ok(Some(Arc::clone(rule)));
    }
    let Some(id) = id else { return Ok(None) };
    if let Some(r) = tool.lookup_id(ci, id) {
        return Ok(Some(Arc::clone(r)));
    }
    if component.is_none() {
        // Lenient on producers that omit rule.toolComponent for extension rules.
        for c in 1..tool.components.len() {
            if let Some(r) = tool.lookup_id(c, id) {
                return Ok(Some(Arc::clone(r)));
            }
        }
    }
    if tool.total_rules == 0 {
        return Ok(None);
    }
    Err(SarifError::UnknownRule {
        path: ref_path(base, id_via_rule, "id"),
        reference: format!("{id:?}"),
        offset,
    })
}

fn describe_component_ref(tc: &RawComponentRef) -> String {
    if let Some(i) = tc.index {
        format!("index {i}")
    } else if let Some(g) = &tc.guid {
        format!("guid {g:?}")
    } else if let Some(n) = &tc.name {
        format!("name {n:?}")
    } else {
        "(empty reference)".to_owned()
    }
}

/// Fills `{n}` placeholders from `args`; `{{`/`}}` are literal braces (SARIF §3.11.5).
fn format_message(template: &str, args: &[String]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let rest = &template[i + 1..];
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                if n > 0 && rest.as_bytes().get(n) == Some(&b'}') {
                    if let Some(arg) = rest[..n].parse::<usize>().ok().and_then(|k| args.get(k)) {
                        out.push_str(arg);
                        for _ in 0..=n {
                            chars.next();
                        }
                        continue;
                    }
                }
                out.push('{');
            }
            _ => out.push(c),
        }
    }
    out
}

fn render_message(raw: &mut RawResult, rule: Option<&RuleInfo>) -> String {
    let Some(msg) = raw.message.as_mut() else {
        return String::new();
    };
    let template = match msg.text.take() {
        Some(t) => t,
        None => match msg
            .id
            .as_ref()
            .and_then(|id| rule.and_then(|r| r.message_strings.get(id)))
        {
            Some(t) => t.clone(),
            None => msg.markdown.take().unwrap_or_default(),
        },
    };
    if msg.arguments.is_empty() {
        template
    } else {
        format_message(&template, &msg.arguments)
    }
}

/// `file:///a/b%20c.js` → `/a/b c.js`; `./src/x.py` → `src/x.py`.
pub(crate) fn uri_to_path(uri: &str) -> String {
    let mut s = uri;
    if let Some(rest) = strip_prefix_ci(s, "file://") {
        s = rest;
        if strip_prefix_ci(s, "localhost/").is_some() {
            s = &s["localhost".len()..];
        }
        // file:///C:/x → C:/x on Windows paths.
        let b = s.as_bytes();
        if b.len() >= 3 && b[0] == b'/' && b[1].is_ascii_alphabetic() && b[2] == b':' {
            s = &s[1..];
        }
    }
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    if s.contains('%') {
        percent_decode(s)
    } else {
        s.to_owned()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let h = (b[i + 1] as char).to_digit(16);
            let l = (b[i + 2] as char).to_digit(16);
            if let (Some(h), Some(l)) = (h, l) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn convert_location(raw: RawLocation, ctx: &RunContext) -> (Location, Vec<LogicalLocation>) {
    let mut loc = Location::default();
    if let Some(pl) = raw.physical_location {
        if let Some(al) = pl.artifact_location {
            let (uri, base) = match (al.uri, al.index) {
                (Some(u), _) => (Some(u), al.uri_base_id),
                (None, Some(i)) => {
                    let art = usize::try_from(i)
                        .ok()
                        .and_then(|i| ctx.artifacts.get(i))
                        .and_then(|a| a.as_ref());
                    match art {
                        Some(a) => (a.uri.clone(), al.uri_base_id.or(a.uri_base_id.clone())),
                        None => (None, al.uri_base_id),
                    }
                }
                (None, None) => (None, al.uri_base_id),
            };
            loc.path = uri.as_deref().map(uri_to_path);
            loc.uri = uri;
            loc.uri_base_id = base;
        }
        if let Some(r) = pl.region {
            loc.start_line = r.start_line;
            loc.start_column = r.start_column;
            loc.end_line = r.end_line;
            loc.end_column = r.end_column;
            loc.snippet = r.snippet.and_then(|s| s.text);
            loc.placeholder_region = loc.start_line == Some(1)
                && loc.end_line == Some(1)
                && loc.start_column == Some(1)
                && loc.end_column == Some(1)
                && loc.snippet.is_none();
        }
    }
    let logical = raw
        .logical_locations
        .items
        .into_iter()
        .filter_map(|l| {
            l.fully_qualified_name
                .or(l.name)
                .map(|name| LogicalLocation { name, kind: l.kind })
        })
        .collect();
    (loc, logical)
}

fn flow_step(raw: &RawLocation, ctx: &RunContext) -> Option<String> {
    let pl = raw.physical_location.as_ref()?;
    let al = pl.artifact_location.as_ref()?;
    let uri = match (&al.uri, al.index) {
        (Some(u), _) => Some(uri_to_path(u)),
        (None, Some(i)) => usize::try_from(i)
            .ok()
            .and_then(|i| ctx.artifacts.get(i))
            .and_then(|a| a.as_ref())
            .and_then(|a| a.uri.as_deref())
            .map(uri_to_path),
        _ => None,
    }?;
    Some(match pl.region.as_ref().and_then(|r| r.start_line) {
        Some(l) => format!("{uri}:{l}"),
        None => uri,
    })
}

/// Where a result sits, for the finding and for error messages.
pub(crate) struct ResultPos {
    pub run: usize,
    pub result: usize,
    /// Byte offset reported by errors about this result.
    pub offset: u64,
}

impl ResultPos {
    /// JSON path; only built on error paths, to keep the hot path allocation-free.
    pub(crate) fn path(&self) -> String {
        format!("runs[{}].results[{}]", self.run, self.result)
    }
}

/// Builds the finding for the result at `pos`.
pub(crate) fn build_finding(
    tool: &ToolTable,
    ctx: &RunContext,
    limits: &Limits,
    mut raw: RawResult,
    pos: &ResultPos,
) -> Result<SarifFinding, SarifError> {
    let offset = pos.offset;
    let (run_index, result_index) = (pos.run, pos.result);
    let base = || pos.path();
    if raw.message.is_none() {
        return Err(SarifError::MissingField {
            path: format!("{}.message", base()),
            offset,
        });
    }
    let rule = match resolve_rule(tool, &raw, "", offset) {
        Ok(r) => r,
        Err(e) => return Err(prefix_path(e, &base())),
    };
    let kind = raw.kind.unwrap_or(ResultKind::Fail);
    let (level, level_source) = match (raw.level, kind) {
        (Some(l), _) => (l, LevelSource::Result),
        (None, k) if k != ResultKind::Fail => (Level::None, LevelSource::KindNotFail),
        (None, _) => match rule.as_ref().and_then(|r| r.default_level) {
            Some(l) => (l, LevelSource::RuleDefault),
            None => (Level::Warning, LevelSource::Default),
        },
    };
    let message = render_message(&mut raw, rule.as_deref());
    let mut props = raw.properties.take().unwrap_or_default();
    let properties = std::mem::take(&mut props.scalars);
    let ai_origin = properties
        .iter()
        .find(|(k, _)| AiOrigin::KEYS.contains(&k.as_str()))
        .and_then(|(_, v)| AiOrigin::parse(v));
    let security_severity = props
        .security_severity
        .0
        .filter(|v| valid_severity(*v))
        .or_else(|| rule.as_ref().and_then(|r| r.security_severity));

    let mut cwes: Vec<u32> = rule.as_ref().map(|r| r.cwes.clone()).unwrap_or_default();
    for t in &props.tags.0 {
        cwes.extend(cwe_from_tag(t));
    }
    for t in &raw.taxa.items {
        cwes.extend(cwe_from_taxon_ref(t, &ctx.taxonomies));
    }
    sort_dedup(&mut cwes);
    let mut cves: Vec<String> = rule.as_ref().map(|r| r.cves.clone()).unwrap_or_default();
    if let Some(id) = &raw.rule_id {
        collect_cves(id, &mut cves);
    }
    collect_cves(&message, &mut cves);
    for t in &props.tags.0 {
        collect_cves(t, &mut cves);
    }
    sort_dedup(&mut cves);

    let mut code_flow = Vec::new();
    let mut code_flow_total = 0usize;
    for cf in &raw.code_flows.items {
        for tf in &cf.thread_flows.items {
            code_flow_total += tf.locations.total;
            for step in &tf.locations.items {
                if code_flow.len() >= limits.max_code_flow_steps {
                    break;
                }
                if let Some(s) = step.location.as_ref().and_then(|l| flow_step(l, ctx)) {
                    code_flow.push(s);
                }
            }
        }
    }

    let mut locations = Vec::with_capacity(raw.locations.items.len());
    let mut logical_locations = Vec::new();
    for (i, l) in std::mem::take(&mut raw.locations.items)
        .into_iter()
        .enumerate()
    {
        let (loc, logical) = convert_location(l, ctx);
        if i == 0 {
            logical_locations = logical;
        }
        locations.push(loc);
    }

    let rule_id = raw
        .rule_id
        .take()
        .or_else(|| raw.rule.as_mut().and_then(|r| r.id.take()))
        .or_else(|| rule.as_ref().map(|r| r.id.clone()));
    let suppressed = raw.suppressions.as_ref().is_some_and(|s| {
        s.iter()
            .any(|s| !matches!(s.status.as_deref(), Some("rejected") | Some("underReview")))
    });
    let fingerprints = raw.fingerprints.take().unwrap_or_default();
    let partial_fingerprints = raw.partial_fingerprints.take().unwrap_or_default();

    let primary = locations.first();
    let (fingerprint, fingerprint_source) = identity(
        &tool.tool_name,
        rule_id.as_deref(),
        primary,
        &message,
        &fingerprints,
        &partial_fingerprints,
    );
    let content_hash = content_hash(
        level,
        kind,
        &message,
        security_severity,
        primary,
        suppressed,
        raw.baseline_state.as_deref(),
        &cwes,
        &properties,
    );

    Ok(SarifFinding {
        run_index,
        result_index,
        tool_name: Arc::clone(&tool.tool_name),
        rule_id,
        rule,
        kind,
        level,
        level_source,
        message,
        security_severity,
        cwes,
        cves,
        locations,
        logical_locations,
        code_flow,
        code_flow_total,
        fingerprints,
        partial_fingerprints,
        fingerprint,
        fingerprint_source,
        content_hash,
        properties,
        ai_origin,
        guid: raw.guid,
        correlation_guid: raw.correlation_guid,
        suppressed,
        baseline_state: raw.baseline_state,
        occurrence_count: raw.occurrence_count,
    })
}

/// `resolve_rule` reports paths relative to the result; make them absolute.
fn prefix_path(e: SarifError, base: &str) -> SarifError {
    match e {
        SarifError::UnknownRule {
            path,
            reference,
            offset,
        } => SarifError::UnknownRule {
            path: format!("{base}{path}"),
            reference,
            offset,
        },
        SarifError::UnknownToolComponent {
            path,
            reference,
            offset,
        } => SarifError::UnknownToolComponent {
            path: format!("{base}{path}"),
            reference,
            offset,
        },
        SarifError::RuleMismatch {
            path,
            rule_id,
            indexed,
            offset,
        } => SarifError::RuleMismatch {
            path: format!("{base}{path}"),
            rule_id,
            indexed,
            offset,
        },
        other => other,
    }
}

/// Length-prefixed fields so ("ab","c") and ("a","bc") hash differently.
struct FieldHasher(Sha256);

impl FieldHasher {
    fn new(domain: &str) -> Self {
        let mut h = FieldHasher(Sha256::new());
        h.field(domain.as_bytes());
        h
    }
    fn field(&mut self, b: &[u8]) {
        self.0.update((b.len() as u64).to_le_bytes());
        self.0.update(b);
    }
    fn opt(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.0.update([1u8]);
                self.field(s.as_bytes());
            }
            None => self.0.update([0u8]),
        }
    }
    /// `s` with whitespace runs collapsed to one space and ends trimmed, without allocating, so
    /// re-indentation does not change identity.
    fn ws_normalised(&mut self, s: Option<&str>) {
        let Some(s) = s else {
            self.0.update([0u8]);
            return;
        };
        self.0.update([1u8]);
        let (mut len, mut words) = (0usize, 0usize);
        for w in s.split_whitespace() {
            len += w.len();
            words += 1;
        }
        len += words.saturating_sub(1);
        self.0.update((len as u64).to_le_bytes());
        for (i, w) in s.split_whitespace().enumerate() {
            if i > 0 {
                self.0.update(b" ");
            }
            self.0.update(w.as_bytes());
        }
    }

    fn finish(self) -> Fingerprint {
        let d = self.0.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&d[..16]);
        Fingerprint(out)
    }
}

/// A producer fingerprint is only trusted when it looks like a hash: Semgrep writes a
/// "requires login" sentence into `matchBasedId/v1` when not logged in.
fn meaningful(v: &str) -> bool {
    (6..=512).contains(&v.len())
        && !v.chars().any(char::is_whitespace)
        && v.bytes().any(|b| b.is_ascii_alphanumeric())
}

/// The finding's identity within its tool. Order of preference:
/// 1. `fingerprints[k]` for the first key `k` (sorted) whose value looks like a hash; each such
///    value identifies a result on its own (SARIF §3.27.16), hashed with tool and rule id;
/// 2. `partialFingerprints.primaryLocationLineHash`, else the first other key (sorted) with a
///    hash-like value, hashed with tool, rule id and the primary path (partial fingerprints such
///    as CodeQL's line hash do not include the file);
/// 3. otherwise SHA-256 over tool name, rule id, primary path, start line, the snippet with
///    whitespace collapsed, and the message.
///
/// Each is truncated to 16 bytes. Domain tags keep the three kinds apart.
fn identity(
    tool: &str,
    rule_id: Option<&str>,
    primary: Option<&Location>,
    message: &str,
    fps: &BTreeMap<String, String>,
    partial: &BTreeMap<String, String>,
) -> (Fingerprint, FingerprintSource) {
    if let Some((k, v)) = fps.iter().find(|(_, v)| meaningful(v)) {
        let mut h = FieldHasher::new("haechi.sarif.fp.v1.fingerprints");
        h.field(tool.as_bytes());
        h.opt(rule_id);
        h.field(k.as_bytes());
        h.field(v.as_bytes());
        return (
            h.finish(),
            FingerprintSource::Fingerprints { key: k.clone() },
        );
    }
    let chosen = partial
        .get_key_value("primaryLocationLineHash")
        .filter(|(_, v)| meaningful(v))
        .or_else(|| partial.iter().find(|(_, v)| meaningful(v)));
    if let Some((k, v)) = chosen {
        let mut h = FieldHasher::new("haechi.sarif.fp.v1.partial");
        h.field(tool.as_bytes());
        h.opt(rule_id);
        h.opt(primary.and_then(|l| l.path.as_deref()));
        h.field(k.as_bytes());
        h.field(v.as_bytes());
        return (
            h.finish(),
            FingerprintSource::PartialFingerprints { key: k.clone() },
        );
    }
    let mut h = FieldHasher::new("haechi.sarif.fp.v1.computed");
    h.field(tool.as_bytes());
    h.opt(rule_id);
    h.opt(primary.and_then(|l| l.path.as_deref()));
    h.field(
        &primary
            .and_then(|l| l.start_line)
            .unwrap_or(0)
            .to_le_bytes(),
    );
    h.ws_normalised(primary.and_then(|l| l.snippet.as_deref()));
    h.field(message.as_bytes());
    (h.finish(), FingerprintSource::Computed)
}

#[allow(clippy::too_many_arguments)]
fn content_hash(
    level: Level,
    kind: ResultKind,
    message: &str,
    severity: Option<f64>,
    primary: Option<&Location>,
    suppressed: bool,
    baseline: Option<&str>,
    cwes: &[u32],
    properties: &[(String, String)],
) -> Fingerprint {
    let mut h = FieldHasher::new("haechi.sarif.content.v1");
    h.field(level.as_str().as_bytes());
    h.field(kind.as_str().as_bytes());
    h.field(message.as_bytes());
    h.field(&severity.map(f64::to_bits).unwrap_or(u64::MAX).to_le_bytes());
    if let Some(l) = primary {
        for n in [l.start_line, l.start_column, l.end_line, l.end_column] {
            h.field(&n.unwrap_or(0).to_le_bytes());
        }
        h.opt(l.snippet.as_deref());
    }
    h.field(&[u8::from(suppressed)]);
    h.opt(baseline);
    for c in cwes {
        h.field(&c.to_le_bytes());
    }
    // Only a result with properties hashes them (so the hashes of results without any are
    // those of earlier versions): a tool that adds "exploit confirmed" on a re-run changes the
    // finding.
    if !properties.is_empty() {
        let mut sorted: Vec<&(String, String)> = properties.iter().collect();
        sorted.sort();
        for (k, v) in sorted {
            h.field(k.as_bytes());
            h.field(v.as_bytes());
        }
    }
    h.finish()
}

/// The finding's identity scoped to a resource (or institution) chosen by the caller, so the
/// same code issue in two resources stays two findings. SHA-256 over a domain tag, the scope and
/// the finding's fingerprint, truncated to 16 bytes.
pub fn fingerprint_with_scope(finding: &SarifFinding, scope: &str) -> Fingerprint {
    let mut h = FieldHasher::new("haechi.sarif.fp.v1.scope");
    h.field(scope.as_bytes());
    h.field(finding.fingerprint.as_bytes());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cwe_tags() {
        for (tag, want) in [
            ("external/cwe/cwe-079", Some(79)),
            ("external/cwe/cwe-89", Some(89)),
            ("CWE-89: Improper Neutralization", Some(89)),
            ("cwe-22", Some(22)),
            ("security", None),
            ("CWE-", None),
            ("OWASP-A03", None),
        ] {
            assert_eq!(cwe_from_tag(tag), want, "{tag}");
        }
    }

    #[test]
    fn cves_in_text() {
        let mut v = Vec::new();
        collect_cves(
            "Package: x cve-2021-44228 and CVE-2023-1234567; not XCVE-2020-1111 nor CVE-20-1",
            &mut v,
        );
        assert_eq!(v, vec!["CVE-2021-44228", "CVE-2023-1234567"]);
    }

    #[test]
    fn whitespace_normalisation_matches_collapsing() {
        let hash = |s: &str| {
            let mut h = FieldHasher::new("t");
            h.ws_normalised(Some(s));
            h.finish()
        };
        let plain = |s: &str| {
            let mut h = FieldHasher::new("t");
            h.opt(Some(s));
            h.finish()
        };
        assert_eq!(hash("  a \t b\n c  "), plain("a b c"));
        assert_eq!(hash("a b"), hash("a\n\n   b"));
        assert_ne!(hash("ab"), hash("a b"));
    }

    #[test]
    fn message_placeholders() {
        let args = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            format_message("x {0} y {1} {2} {{0}}", &args),
            "x a y b {2} {0}"
        );
    }

    #[test]
    fn uri_paths() {
        for (uri, want) in [
            ("file:///home/u/app/src/a%20b.js", "/home/u/app/src/a b.js"),
            ("file:///C:/x/y.js", "C:/x/y.js"),
            ("./src/x.py", "src/x.py"),
            ("src/%zz.py", "src/%zz.py"),
            ("src/a%2", "src/a%2"),
        ] {
            assert_eq!(uri_to_path(uri), want, "{uri}");
        }
    }
}
