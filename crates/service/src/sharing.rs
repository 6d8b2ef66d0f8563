//! C10 threat sharing: bulletins written by the research institute and the support center,
//! reviewed by a second person, published (with their STIX 2.1 bundle and TAXII objects),
//! corrected as new versions that say what changed, withdrawn; their reach (audience and TLP),
//! what they touch in an institution's estate, and institutions' acknowledgements.
//!
//! An emergency patch advisory bulletin publishes the advisory record of `feeds.rs` on its
//! CVEs, so findings on them become P1 and fall within immunity scope exactly as before; a
//! correction replaces that record and a withdrawal withdraws it.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use haechi_core::{Actor, FieldError, Role, Sector};
pub use haechi_formats::stix::{uuid_from, Tlp};
use haechi_formats::stix::{BulletinDoc, IndicatorKind, IndicatorValue, Publisher};
use haechi_store::{
    BulletinAckRow, BulletinRow, BulletinVersionRow, BulletinWrite, StixObjectRow, StixQuery,
    StixWrite,
};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action};
use crate::{record, Result, Service, ServiceError};
use haechi_store::cve_key;

/// The kinds of bulletin (the policy's `[sharing.default_tlp]` keys).
pub const KINDS: [&str; 5] = [
    "ai_attack_trend",
    "vulnerability",
    "indicators",
    "recommended_actions",
    "emergency_patch_advisory",
];
pub const EMERGENCY: &str = "emergency_patch_advisory";
pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];
/// Who a bulletin is for.
pub const AUDIENCES: [&str; 4] = ["all", "sector", "named", "regulator"];

pub fn kind_label(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "ai_attack_trend" => ("AI 공격 동향 분석", "AI attack trend analysis"),
        "vulnerability" => ("취약점 정보", "Vulnerability"),
        "indicators" => ("침해지표", "Indicators of compromise"),
        "recommended_actions" => ("대응 권고", "Recommended actions"),
        EMERGENCY => ("긴급 보안패치 권고", "Emergency patch advisory"),
        _ => ("기타", "Other"),
    }
}

fn report_type(kind: &str) -> &'static str {
    match kind {
        "vulnerability" | EMERGENCY => "vulnerability",
        "indicators" => "indicator",
        _ => "threat-report",
    }
}

/// The publisher a role writes for.
pub fn publisher_of(role: Role) -> Publisher {
    match role {
        Role::SupportCenter => Publisher {
            key: "support_center",
            name: "AI Security Support Center (AI 보안 지원센터)",
        },
        _ => Publisher {
            key: "fsi",
            name: "Financial AI Security Research Institute (금융 AI 보안 연구소)",
        },
    }
}

fn publisher_by_key(key: &str) -> Publisher {
    publisher_of(if key == "support_center" {
        Role::SupportCenter
    } else {
        Role::Analyst
    })
}

/// A bulletin as written in a form or sent to the API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulletinInput {
    pub kind: String,
    pub title_ko: String,
    #[serde(default)]
    pub title_en: String,
    pub body_ko: String,
    #[serde(default)]
    pub body_en: String,
    pub severity: String,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default)]
    pub cves: Vec<String>,
    /// `CWE-79` or `79`.
    #[serde(default)]
    pub cwes: Vec<String>,
    /// `KIND VALUE [note]`, e.g. `ipv4 203.0.113.7 C2 server`.
    #[serde(default)]
    pub indicators: Vec<String>,
    #[serde(default)]
    pub actions: Vec<String>,
    /// `clear`, `green`, `amber`, `amber+strict`, `red` (or `TLP:…`).
    pub tlp: String,
    pub audience: String,
    #[serde(default)]
    pub audience_sector: String,
    #[serde(default)]
    pub audience_institutions: Vec<i64>,
    /// What a correction changed (required for a correction).
    #[serde(default)]
    pub change_note: String,
}

/// An indicator as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredIndicator {
    pub kind: String,
    pub value: String,
    pub note: String,
}

/// The lists of a bulletin (stored as JSON beside the columns).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulletinLists {
    pub sources: Vec<String>,
    pub products: Vec<String>,
    pub cves: Vec<String>,
    pub cwes: Vec<u32>,
    pub indicators: Vec<StoredIndicator>,
    pub actions: Vec<String>,
}

/// One version of a bulletin's content, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulletinContent {
    pub kind: String,
    pub title_ko: String,
    pub title_en: Option<String>,
    pub body_ko: String,
    pub body_en: Option<String>,
    pub severity: String,
    pub lists: BulletinLists,
    pub tlp: String,
    pub audience: String,
    pub audience_sector: Option<String>,
    pub audience_institutions: Vec<i64>,
    pub change_note: Option<String>,
}

impl BulletinContent {
    pub fn from_row(r: &BulletinRow) -> BulletinContent {
        BulletinContent {
            kind: r.kind.clone(),
            title_ko: r.title_ko.clone(),
            title_en: r.title_en.clone(),
            body_ko: r.body_ko.clone(),
            body_en: r.body_en.clone(),
            severity: r.severity.clone(),
            lists: serde_json::from_str(&r.content_json).unwrap_or_default(),
            tlp: r.tlp.clone(),
            audience: r.audience.clone(),
            audience_sector: r.audience_sector.clone(),
            audience_institutions: serde_json::from_str(&r.audience_institutions)
                .unwrap_or_default(),
            change_note: r.change_note.clone(),
        }
    }

    pub fn tlp(&self) -> Tlp {
        Tlp::parse(&self.tlp).unwrap_or(Tlp::Red)
    }

    fn reach(&self) -> Reach<'_> {
        Reach {
            audience: &self.audience,
            sector: self.audience_sector.as_deref(),
            institutions: &self.audience_institutions,
            tlp: self.tlp(),
        }
    }
}

/// Who a bulletin (or a TAXII collection) is for.
#[derive(Debug, Clone, Copy)]
pub struct Reach<'a> {
    pub audience: &'a str,
    pub sector: Option<&'a str>,
    pub institutions: &'a [i64],
    pub tlp: Tlp,
}

/// Whether published content of this reach may be shown to the actor. The regulator side
/// (including the auditor) reads everything; an institution reads what is addressed to all
/// institutions, to its sector or to it by name, and TLP:RED only reaches its CISO (the named
/// recipient, FIRST: "for the eyes and ears of individual recipients only"); an advisor reads
/// only TLP:CLEAR for all institutions; nobody signed out reads anything but that either.
pub fn reaches(actor: Option<&Actor>, own_sector: Option<&str>, r: Reach<'_>) -> bool {
    let public = r.audience == "all" && r.tlp == Tlp::Clear;
    let Some(actor) = actor else { return public };
    match actor.role {
        Role::Ciso | Role::SecurityStaff => {
            let Some(inst) = actor.institution_id else {
                return false;
            };
            let addressed = match r.audience {
                "all" => true,
                "sector" => r.sector.is_some() && r.sector == own_sector,
                "named" => r.institutions.contains(&inst),
                _ => false,
            };
            addressed && (r.tlp != Tlp::Red || actor.role == Role::Ciso)
        }
        Role::Advisor => public,
        _ => true,
    }
}

/// A bulletin as a reader sees it: the row and the content of the version the reader may see
/// (the latest published one; a writer also sees the draft in the row).
#[derive(Debug, Clone, Serialize)]
pub struct BulletinView {
    pub row: BulletinRow,
    /// The latest published content (`None` before the first publication).
    pub published: Option<BulletinContent>,
}

/// What a bulletin touches in one institution's estate.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Affected {
    pub findings: usize,
    pub resources: usize,
    /// The first finding ids (for links).
    pub finding_ids: Vec<i64>,
}

/// One institution's acknowledgement state of a bulletin (regulator view).
#[derive(Debug, Clone, Serialize)]
pub struct AckState {
    pub institution_id: i64,
    pub institution_name_ko: String,
    pub institution_name_en: String,
    pub ack: Option<BulletinAckRow>,
    /// Not acknowledged and past the due time (emergency advisories).
    pub overdue: bool,
}

/// Everything the bulletin page shows.
#[derive(Debug, Clone, Serialize)]
pub struct BulletinDetail {
    pub view: BulletinView,
    /// The draft under way (writers only).
    pub draft: Option<BulletinContent>,
    pub versions: Vec<BulletinVersionRow>,
    /// For an institution user: its findings and resources the bulletin names.
    pub affected: Option<Affected>,
    /// For an institution user: its acknowledgement.
    pub my_ack: Option<BulletinAckRow>,
    /// For the regulator side: every addressed institution's acknowledgement.
    pub acks: Vec<AckState>,
}

/// Where a bulletin is in its life, for the pages.
pub fn state_label(state: &str) -> (&'static str, &'static str) {
    match state {
        "draft" => ("작성 중", "Draft"),
        "in_review" => ("검토 대기", "In review"),
        "published" => ("게시됨", "Published"),
        "withdrawn" => ("철회됨", "Withdrawn"),
        _ => ("알 수 없음", "Unknown"),
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Checks a bulletin's input; every problem is a field error.
pub fn check_input(input: &BulletinInput, correction: bool) -> Result<BulletinContent> {
    let mut errors = Vec::new();
    let kind = input.kind.trim();
    if !KINDS.contains(&kind) {
        errors.push(FieldError::new(
            "kind",
            format!("'{kind}' is not one of {}", KINDS.join(", ")),
        ));
    }
    if input.title_ko.trim().is_empty() {
        errors.push(FieldError::new("title_ko", "must not be empty"));
    }
    if input.body_ko.trim().is_empty() {
        errors.push(FieldError::new("body_ko", "must not be empty"));
    }
    let severity = input.severity.trim();
    if !SEVERITIES.contains(&severity) {
        errors.push(FieldError::new(
            "severity",
            format!("'{severity}' is not one of {}", SEVERITIES.join(", ")),
        ));
    }
    let tlp = Tlp::parse(&input.tlp);
    if tlp.is_none() {
        errors.push(FieldError::new(
            "tlp",
            format!(
                "'{}' is not one of clear, green, amber, amber+strict, red",
                input.tlp.trim()
            ),
        ));
    }
    let audience = input.audience.trim();
    let mut sector = None;
    let mut named: Vec<i64> = Vec::new();
    match audience {
        "all" | "regulator" => {}
        "sector" => match Sector::parse(&input.audience_sector) {
            Some(s) => sector = Some(s.as_str().to_string()),
            None => errors.push(FieldError::new(
                "audience_sector",
                format!(
                    "'{}' is not one of {}",
                    input.audience_sector.trim(),
                    Sector::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        },
        "named" => {
            named = input.audience_institutions.clone();
            named.sort_unstable();
            named.dedup();
            if named.is_empty() {
                errors.push(FieldError::new(
                    "audience_institutions",
                    "name at least one institution",
                ));
            }
        }
        other => errors.push(FieldError::new(
            "audience",
            format!("'{other}' is not one of {}", AUDIENCES.join(", ")),
        )),
    }
    // FIRST: TLP:RED is for named recipients only, never a community.
    if tlp == Some(Tlp::Red) && !matches!(audience, "named" | "regulator") {
        errors.push(FieldError::new(
            "tlp",
            "TLP:RED needs named institutions or the regulator as its audience",
        ));
    }
    let mut cves: Vec<String> = Vec::new();
    for (i, c) in input.cves.iter().enumerate() {
        let c = c.trim().to_uppercase();
        if c.is_empty() {
            continue;
        }
        if cve_key(&c).is_none() {
            errors.push(FieldError::new(
                format!("cves[{i}]"),
                format!("{c:?} is not a CVE id (CVE-YYYY-NNNN)"),
            ));
        } else if cves.contains(&c) {
            errors.push(FieldError::new(
                format!("cves[{i}]"),
                format!("{c} is listed twice"),
            ));
        } else {
            cves.push(c);
        }
    }
    let mut cwes: Vec<u32> = Vec::new();
    for (i, c) in input.cwes.iter().enumerate() {
        let t = c.trim();
        if t.is_empty() {
            continue;
        }
        let n = t
            .to_ascii_uppercase()
            .trim_start_matches("CWE-")
            .parse::<u32>();
        match n {
            Ok(n) if n > 0 && !cwes.contains(&n) => cwes.push(n),
            Ok(n) if n > 0 => errors.push(FieldError::new(
                format!("cwes[{i}]"),
                format!("CWE-{n} is listed twice"),
            )),
            _ => errors.push(FieldError::new(
                format!("cwes[{i}]"),
                format!("{t:?} is not a CWE id (CWE-NNN)"),
            )),
        }
    }
    let mut indicators = Vec::new();
    for (i, line) in input.indicators.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, char::is_whitespace);
        let k = parts.next().unwrap_or("");
        let v = parts.next().unwrap_or("").trim();
        let note = parts.next().unwrap_or("").trim();
        match IndicatorKind::parse(k) {
            None => errors.push(FieldError::new(
                format!("indicators[{i}]"),
                format!(
                    "'{k}' is not one of {}",
                    IndicatorKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            )),
            Some(kind) => match kind.check(v) {
                Ok(()) => indicators.push(StoredIndicator {
                    kind: kind.as_str().to_string(),
                    value: v.to_string(),
                    note: note.to_string(),
                }),
                Err(why) => errors.push(FieldError::new(
                    format!("indicators[{i}]"),
                    format!("'{v}' {why}"),
                )),
            },
        }
    }
    let clean = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let actions = clean(&input.actions);
    if kind == EMERGENCY && cves.is_empty() {
        errors.push(FieldError::new("cves", "list at least one CVE"));
    }
    if kind == "indicators" && indicators.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("indicators", "list at least one indicator"));
    }
    if kind == "recommended_actions" && actions.is_empty() {
        errors.push(FieldError::new(
            "actions",
            "list at least one recommended action",
        ));
    }
    if correction && input.change_note.trim().is_empty() {
        errors.push(FieldError::new(
            "change_note",
            "say what this correction changes",
        ));
    }
    if !errors.is_empty() {
        return Err(ServiceError::invalid(errors));
    }
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Ok(BulletinContent {
        kind: kind.to_string(),
        title_ko: input.title_ko.trim().to_string(),
        title_en: opt(&input.title_en),
        body_ko: input.body_ko.trim().to_string(),
        body_en: opt(&input.body_en),
        severity: severity.to_string(),
        lists: BulletinLists {
            sources: clean(&input.sources),
            products: clean(&input.products),
            cves,
            cwes,
            indicators,
            actions,
        },
        tlp: tlp.map_or("red", Tlp::as_str).to_string(),
        audience: audience.to_string(),
        audience_sector: sector,
        audience_institutions: named,
        change_note: opt(&input.change_note),
    })
}

/// The STIX bundle of one version of a bulletin.
pub fn bundle_of(
    row: &BulletinRow,
    c: &BulletinContent,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
    revoked: bool,
) -> serde_json::Value {
    let indicators: Vec<IndicatorValue> = c
        .lists
        .indicators
        .iter()
        .filter_map(|i| {
            Some(IndicatorValue {
                kind: IndicatorKind::parse(&i.kind)?,
                value: i.value.clone(),
                note: i.note.clone(),
            })
        })
        .collect();
    let mut description = c.body_ko.clone();
    if let Some(en) = &c.body_en {
        description.push_str("\n\n");
        description.push_str(en);
    }
    if !c.lists.products.is_empty() {
        description.push_str("\n\n영향받는 제품 / Affected products: ");
        description.push_str(&c.lists.products.join(", "));
    }
    let title = match &c.title_en {
        Some(en) => format!("{} ({en})", c.title_ko),
        None => c.title_ko.clone(),
    };
    BulletinDoc {
        uuid: &row.uuid,
        title: &title,
        description,
        report_type: report_type(&c.kind),
        severity: &c.severity,
        cves: &c.lists.cves,
        cwes: &c.lists.cwes,
        indicators: &indicators,
        actions: &c.lists.actions,
        sources: &c.lists.sources,
        tlp: c.tlp(),
        publisher: publisher_by_key(&row.publisher),
        created,
        modified,
        revoked,
        lang: "ko",
    }
    .bundle()
}

/// The TAXII collections a reach puts objects in (one per audience and TLP; a bulletin for
/// named institutions is in each one's collection).
pub fn collections_of(r: Reach<'_>) -> Vec<String> {
    let t = r.tlp.as_str();
    match r.audience {
        "all" => vec![format!("all/{t}")],
        "sector" => vec![format!("sector-{}/{t}", r.sector.unwrap_or("none"))],
        "named" => r
            .institutions
            .iter()
            .map(|i| format!("institution-{i}/{t}"))
            .collect(),
        _ => vec![format!("regulator/{t}")],
    }
}

/// The reach of a collection key (see [`collections_of`]); `None` for the contributions
/// collection and unknown keys.
pub fn reach_of_collection(key: &str) -> Option<(String, Option<String>, Option<i64>, Tlp)> {
    let (aud, t) = key.split_once('/')?;
    let tlp = Tlp::parse(t)?;
    if aud == "all" || aud == "regulator" {
        return Some((aud.to_string(), None, None, tlp));
    }
    if let Some(s) = aud.strip_prefix("sector-") {
        return Some(("sector".into(), Some(s.to_string()), None, tlp));
    }
    let i = aud.strip_prefix("institution-")?.parse().ok()?;
    Some(("named".into(), None, Some(i), tlp))
}

fn stix_writes(bundle: &serde_json::Value) -> Vec<StixWrite> {
    bundle["objects"]
        .as_array()
        .map(|objs| {
            objs.iter()
                .map(|o| StixWrite {
                    object_id: o["id"].as_str().unwrap_or_default().to_string(),
                    object_type: o["type"].as_str().unwrap_or_default().to_string(),
                    version: o["modified"]
                        .as_str()
                        .or_else(|| o["created"].as_str())
                        .unwrap_or_default()
                        .to_string(),
                    spec_version: o["spec_version"].as_str().unwrap_or("2.1").to_string(),
                    body: o.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Service {
    fn now_utc(&self) -> DateTime<Utc> {
        self.now().and_utc()
    }

    /// The stored text of the service clock with millisecond precision, so that a STIX
    /// `modified` (milliseconds) and the stored time agree.
    fn now_ms(&self) -> (String, DateTime<Utc>) {
        let t = self.now_utc();
        let t = DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t);
        (t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true), t)
    }

    async fn own_sector(&self, actor: &Actor) -> Result<Option<String>> {
        match actor.institution_id {
            Some(i) => Ok(haechi_store::get_institution(self.store.pool(), i)
                .await?
                .map(|inst| inst.input.sector.as_str().to_string())),
            None => Ok(None),
        }
    }

    /// The latest published content of a bulletin.
    async fn published_content(&self, id: i64) -> Result<Option<BulletinContent>> {
        let versions = haechi_store::bulletin_versions(self.store.pool(), id).await?;
        Ok(versions
            .first()
            .and_then(|v| serde_json::from_str(&v.snapshot_json).ok()))
    }

    fn write_of<'a>(c: &'a BulletinContent, lists: &'a str, named: &'a str) -> BulletinWrite<'a> {
        BulletinWrite {
            kind: &c.kind,
            title_ko: &c.title_ko,
            title_en: c.title_en.as_deref(),
            body_ko: &c.body_ko,
            body_en: c.body_en.as_deref(),
            severity: &c.severity,
            content_json: lists,
            tlp: &c.tlp,
            audience: &c.audience,
            audience_sector: c.audience_sector.as_deref(),
            audience_institutions: named,
            change_note: c.change_note.as_deref(),
        }
    }

    /// A writer's bulletin (any state but withdrawn), for a change.
    async fn writable(&self, id: i64) -> Result<BulletinRow> {
        haechi_store::get_bulletin(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Starts a bulletin as a draft of the actor's organisation.
    pub async fn create_bulletin(&self, actor: &Actor, input: &BulletinInput) -> Result<i64> {
        authz::authorize(actor, Action::WriteBulletins)?;
        let c = check_input(input, false)?;
        let lists = serde_json::to_string(&c.lists).unwrap_or_default();
        let named = serde_json::to_string(&c.audience_institutions).unwrap_or_default();
        let uuid = haechi_formats::stix::uuid_from(&format!(
            "bulletin:{}:{}",
            rand::random::<u64>(),
            self.now_text()
        ));
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_bulletin(
                &uuid,
                &Self::write_of(&c, &lists, &named),
                publisher_of(actor.role).key,
                &actor.username,
                &now,
            )
            .await?;
        tx.audit(record(
            actor,
            "bulletin.create",
            "bulletin",
            &id.to_string(),
            None,
            None,
            Some(crate::to_json(&c)),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a draft (a new bulletin, or a correction under way).
    pub async fn update_bulletin(
        &self,
        actor: &Actor,
        id: i64,
        input: &BulletinInput,
    ) -> Result<()> {
        authz::authorize(actor, Action::WriteBulletins)?;
        let row = self.writable(id).await?;
        if row.state != "draft" {
            return Err(ServiceError::rule(
                "bulletin_not_draft",
                "only a draft can be changed: begin a correction of a published bulletin first",
            ));
        }
        let c = check_input(input, row.version > 0)?;
        let lists = serde_json::to_string(&c.lists).unwrap_or_default();
        let named = serde_json::to_string(&c.audience_institutions).unwrap_or_default();
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        tx.update_bulletin_content(id, &Self::write_of(&c, &lists, &named), &now)
            .await?;
        tx.audit(record(
            actor,
            "bulletin.update",
            "bulletin",
            &id.to_string(),
            None,
            Some(crate::to_json(&BulletinContent::from_row(&row))),
            Some(crate::to_json(&c)),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn move_bulletin(
        &self,
        actor: &Actor,
        id: i64,
        from: &str,
        to: &str,
        comment: Option<&str>,
        action: &str,
    ) -> Result<()> {
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        tx.move_bulletin(id, from, to, &actor.username, comment, &now)
            .await
            .map_err(|e| match e {
                haechi_store::StoreError::NotFound => {
                    ServiceError::rule("bulletin_state", format!("the bulletin is not {from}"))
                }
                other => other.into(),
            })?;
        tx.audit(record(
            actor,
            action,
            "bulletin",
            &id.to_string(),
            None,
            Some(serde_json::json!({"state": from})),
            Some(serde_json::json!({"state": to, "comment": comment})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Asks a second person to review the draft.
    pub async fn submit_bulletin(&self, actor: &Actor, id: i64) -> Result<()> {
        authz::authorize(actor, Action::WriteBulletins)?;
        let row = self.writable(id).await?;
        // A draft saved before the rules tightened is checked again.
        let c = BulletinContent::from_row(&row);
        check_input(&input_of(&c), row.version > 0)?;
        self.move_bulletin(actor, id, "draft", "in_review", None, "bulletin.submit")
            .await
    }

    /// The reviewer sends the draft back with what must change.
    pub async fn return_bulletin(&self, actor: &Actor, id: i64, comment: &str) -> Result<()> {
        authz::authorize(actor, Action::WriteBulletins)?;
        self.writable(id).await?;
        if comment.trim().is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "comment",
                "say what must be corrected",
            )]));
        }
        self.move_bulletin(
            actor,
            id,
            "in_review",
            "draft",
            Some(comment.trim()),
            "bulletin.return",
        )
        .await
    }

    /// Begins a correction of a published bulletin: it stays published as it is until the
    /// correction (a new version) is reviewed and published.
    pub async fn correct_bulletin(&self, actor: &Actor, id: i64) -> Result<()> {
        authz::authorize(actor, Action::WriteBulletins)?;
        self.writable(id).await?;
        self.move_bulletin(actor, id, "published", "draft", None, "bulletin.correct")
            .await
    }

    /// A second person publishes the reviewed bulletin: its next version, STIX bundle and TAXII
    /// objects; an emergency advisory also publishes (or, on a correction, replaces) the advisory
    /// record that makes findings on its CVEs P1.
    pub async fn publish_bulletin(&self, actor: &Actor, id: i64) -> Result<BulletinRow> {
        authz::authorize(actor, Action::WriteBulletins)?;
        let row = self.writable(id).await?;
        if row.state != "in_review" {
            return Err(ServiceError::rule(
                "bulletin_state",
                "only a bulletin in review can be published",
            ));
        }
        if row.submitted_by.as_deref() == Some(actor.username.as_str()) {
            return Err(ServiceError::rule(
                "second_person",
                "a second person must review and publish: you submitted this bulletin",
            ));
        }
        let c = BulletinContent::from_row(&row);
        let version = row.version + 1;
        let (now, now_t) = self.now_ms();
        let created = row
            .first_published_at
            .as_deref()
            .and_then(parse_time)
            .unwrap_or(now_t);
        let bundle = bundle_of(&row, &c, created, now_t, false);
        let emergency = c.kind == EMERGENCY;
        let ack_due = emergency.then(|| {
            let days = self
                .policy()
                .priority
                .sla_days
                .get(&haechi_policy::model::Priority::P1)
                .copied()
                .unwrap_or(3);
            (now_t + Duration::days(i64::from(days)))
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        });
        let mut tx = self.store.begin().await?;
        let mut advisory = None;
        if let Some(old) = row.advisory_id {
            // A correction replaces the record: withdraw it (if still in force) first.
            let _ = tx
                .withdraw_advisory(
                    old,
                    &actor.username,
                    "superseded by a corrected bulletin",
                    &now,
                )
                .await;
        }
        if emergency {
            let cves: Vec<(i64, String)> = c
                .lists
                .cves
                .iter()
                .filter_map(|c| cve_key(c).map(|k| (k, c.clone())))
                .collect();
            let a = tx
                .insert_advisory(
                    &c.title_ko,
                    c.title_en.as_deref().unwrap_or(&c.title_ko),
                    &self.today().to_string(),
                    &cves,
                    &actor.username,
                    &now,
                )
                .await?;
            advisory = Some(a);
        }
        tx.publish_bulletin(
            id,
            version,
            row.submitted_by.as_deref().unwrap_or(&row.created_by),
            &actor.username,
            advisory,
            ack_due.as_deref(),
            &serde_json::to_string(&c).unwrap_or_default(),
            &bundle.to_string(),
            &now,
        )
        .await?;
        tx.add_stix_objects(&collections_of(c.reach()), &stix_writes(&bundle), Some(id))
            .await?;
        tx.audit(record(
            actor,
            "bulletin.publish",
            "bulletin",
            &id.to_string(),
            None,
            Some(serde_json::json!({"state": row.state, "version": row.version})),
            Some(serde_json::json!({"state": "published", "version": version, "advisory_id": advisory, "change_note": c.change_note})),
        ))
        .await?;
        tx.commit().await?;
        if emergency || row.advisory_id.is_some() {
            // Priorities follow the advisory at once (as the advisory page does); the recompute
            // is the system's consequence of this publication.
            self.recompute_after_feeds(&Actor::system()).await?;
        }
        self.writable(id).await
    }

    /// Withdraws a published bulletin (every STIX object is re-issued revoked); an emergency
    /// advisory's record is withdrawn with it.
    pub async fn withdraw_bulletin(&self, actor: &Actor, id: i64, reason: &str) -> Result<()> {
        authz::authorize(actor, Action::WriteBulletins)?;
        let row = self.writable(id).await?;
        if reason.trim().is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "reason",
                "say why the bulletin is withdrawn",
            )]));
        }
        if row.version == 0 || row.state == "withdrawn" {
            return Err(ServiceError::rule(
                "bulletin_state",
                "only a published bulletin can be withdrawn",
            ));
        }
        let c = self
            .published_content(id)
            .await?
            .unwrap_or_else(|| BulletinContent::from_row(&row));
        let (now, now_t) = self.now_ms();
        let created = row
            .first_published_at
            .as_deref()
            .and_then(parse_time)
            .unwrap_or(now_t);
        let bundle = bundle_of(&row, &c, created, now_t, true);
        let mut tx = self.store.begin().await?;
        tx.move_bulletin(
            id,
            &row.state,
            "withdrawn",
            &actor.username,
            Some(reason.trim()),
            &now,
        )
        .await?;
        if let Some(a) = row.advisory_id {
            let _ = tx
                .withdraw_advisory(a, &actor.username, reason.trim(), &now)
                .await;
        }
        tx.add_stix_objects(&collections_of(c.reach()), &stix_writes(&bundle), Some(id))
            .await?;
        tx.audit(record(
            actor,
            "bulletin.withdraw",
            "bulletin",
            &id.to_string(),
            None,
            Some(serde_json::json!({"state": row.state})),
            Some(serde_json::json!({"state": "withdrawn", "reason": reason.trim()})),
        ))
        .await?;
        tx.commit().await?;
        if row.advisory_id.is_some() {
            self.recompute_after_feeds(&Actor::system()).await?;
        }
        Ok(())
    }

    /// An institution acknowledges a bulletin that reached it.
    pub async fn acknowledge_bulletin(&self, actor: &Actor, id: i64) -> Result<()> {
        authz::authorize(actor, Action::AcknowledgeBulletins)?;
        let inst = actor.institution_id.ok_or(ServiceError::NotFound)?;
        let view = self.bulletin_view(actor, id).await?;
        if view.row.state == "withdrawn" {
            return Err(ServiceError::rule(
                "bulletin_state",
                "a withdrawn bulletin needs no acknowledgement",
            ));
        }
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        tx.acknowledge_bulletin(id, inst, view.row.version, &actor.username, &now)
            .await?;
        tx.audit(record(
            actor,
            "bulletin.acknowledge",
            "bulletin",
            &id.to_string(),
            Some(inst),
            None,
            Some(serde_json::json!({"version": view.row.version})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    fn view_of(
        actor: &Actor,
        sector: Option<&str>,
        row: BulletinRow,
        published: Option<BulletinContent>,
    ) -> Option<BulletinView> {
        let writer =
            authz::allows(actor.role, Action::WriteBulletins) || actor.role == Role::Auditor;
        match &published {
            Some(c) if reaches(Some(actor), sector, c.reach()) => {
                Some(BulletinView { row, published })
            }
            None if writer => Some(BulletinView { row, published }),
            _ => None,
        }
    }

    /// One bulletin as the actor may see it ("not found" outside its reach).
    pub async fn bulletin_view(&self, actor: &Actor, id: i64) -> Result<BulletinView> {
        authz::authorize(actor, Action::ReadBulletins)?;
        let row = haechi_store::get_bulletin(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let sector = self.own_sector(actor).await?;
        let published = self.published_content(id).await?;
        Self::view_of(actor, sector.as_deref(), row, published).ok_or_else(|| {
            tracing::warn!(user = %actor.username, bulletin = id, "refused: bulletin outside the actor's reach");
            ServiceError::NotFound
        })
    }

    /// The bulletins the actor may see, newest first.
    pub async fn bulletins(&self, actor: &Actor) -> Result<Vec<BulletinView>> {
        authz::authorize(actor, Action::ReadBulletins)?;
        let sector = self.own_sector(actor).await?;
        let rows = haechi_store::list_bulletins(self.store.pool()).await?;
        let mut out = Vec::new();
        for row in rows {
            let published = if row.version > 0 {
                self.published_content(row.id).await?
            } else {
                None
            };
            if let Some(v) = Self::view_of(actor, sector.as_deref(), row, published) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// The bulletin page: content, versions, what it touches in the reader's estate, and the
    /// acknowledgements (regulator side).
    pub async fn bulletin_detail(&self, actor: &Actor, id: i64) -> Result<BulletinDetail> {
        let view = self.bulletin_view(actor, id).await?;
        let pool = self.store.pool();
        let writer =
            authz::allows(actor.role, Action::WriteBulletins) || actor.role == Role::Auditor;
        let draft = (writer && matches!(view.row.state.as_str(), "draft" | "in_review"))
            .then(|| BulletinContent::from_row(&view.row));
        let versions = if view.published.is_some() {
            haechi_store::bulletin_versions(pool, id).await?
        } else {
            Vec::new()
        };
        let mut affected = None;
        let mut my_ack = None;
        let mut acks = Vec::new();
        let all_acks = haechi_store::bulletin_acks(pool, Some(id)).await?;
        if let (Some(inst), Some(c)) = (actor.institution_id, &view.published) {
            if authz::allows(actor.role, Action::ReadFindings) {
                let rows =
                    haechi_store::findings_matching(pool, inst, &c.lists.cves, &c.lists.cwes)
                        .await?;
                let resources: BTreeSet<i64> = rows.iter().filter_map(|r| r.1).collect();
                affected = Some(Affected {
                    findings: rows.len(),
                    resources: resources.len(),
                    finding_ids: rows.iter().take(20).map(|r| r.0).collect(),
                });
            }
            my_ack = all_acks.iter().find(|a| a.institution_id == inst).cloned();
        } else if actor.institution_id.is_none() && actor.role != Role::Advisor {
            if let Some(c) = &view.published {
                acks = self.ack_states(&view.row, c, &all_acks).await?;
            }
        }
        Ok(BulletinDetail {
            view,
            draft,
            versions,
            affected,
            my_ack,
            acks,
        })
    }

    /// Every institution a published bulletin addresses, with its acknowledgement.
    async fn ack_states(
        &self,
        row: &BulletinRow,
        c: &BulletinContent,
        acks: &[BulletinAckRow],
    ) -> Result<Vec<AckState>> {
        let institutions = haechi_store::all_institutions(self.store.pool()).await?;
        let now = self.now_utc();
        let due = row.ack_due_at.as_deref().and_then(parse_time);
        let withdrawn = row.state == "withdrawn";
        Ok(institutions
            .into_iter()
            .filter(|i| match c.audience.as_str() {
                "all" => true,
                "sector" => c.audience_sector.as_deref() == Some(i.input.sector.as_str()),
                "named" => c.audience_institutions.contains(&i.id),
                _ => false,
            })
            .map(|i| {
                let ack = acks.iter().find(|a| a.institution_id == i.id).cloned();
                AckState {
                    institution_id: i.id,
                    institution_name_ko: i.input.name_ko.clone(),
                    institution_name_en: i.input.name_en.clone(),
                    overdue: ack.is_none() && !withdrawn && due.is_some_and(|d| now > d),
                    ack,
                }
            })
            .collect())
    }

    /// Overdue acknowledgements of emergency advisories: (bulletin, institutions overdue).
    pub async fn overdue_acknowledgements(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(BulletinRow, usize)>> {
        authz::authorize(actor, Action::ReadBulletins)?;
        if actor.institution_id.is_some() || actor.role == Role::Advisor {
            return Ok(Vec::new());
        }
        let acks = haechi_store::bulletin_acks(self.store.pool(), None).await?;
        let mut out = Vec::new();
        for row in haechi_store::list_bulletins(self.store.pool()).await? {
            if row.kind != EMERGENCY || row.version == 0 || row.state == "withdrawn" {
                continue;
            }
            let Some(c) = self.published_content(row.id).await? else {
                continue;
            };
            let mine: Vec<BulletinAckRow> = acks
                .iter()
                .filter(|a| a.bulletin_id == row.id)
                .cloned()
                .collect();
            let n = self
                .ack_states(&row, &c, &mine)
                .await?
                .iter()
                .filter(|a| a.overdue)
                .count();
            if n > 0 {
                out.push((row, n));
            }
        }
        Ok(out)
    }

    /// The STIX bundle of a published version (`None`: the latest).
    pub async fn bulletin_bundle(
        &self,
        actor: &Actor,
        id: i64,
        version: Option<i64>,
    ) -> Result<String> {
        let view = self.bulletin_view(actor, id).await?;
        if view.published.is_none() {
            return Err(ServiceError::NotFound);
        }
        let versions = haechi_store::bulletin_versions(self.store.pool(), id).await?;
        versions
            .into_iter()
            .find(|v| version.is_none_or(|n| v.version == n))
            .map(|v| v.bundle_json)
            .ok_or(ServiceError::NotFound)
    }

    // ------------------------------------------------------------ TAXII

    /// The TAXII collections the actor may read (their keys).
    pub async fn taxii_collections(&self, actor: &Actor) -> Result<Vec<String>> {
        authz::authorize(actor, Action::ReadBulletins)?;
        let sector = self.own_sector(actor).await?;
        let all = haechi_store::stix_collections(self.store.pool()).await?;
        Ok(all
            .into_iter()
            .filter(|k| self.collection_readable(actor, sector.as_deref(), k))
            .collect())
    }

    fn collection_readable(&self, actor: &Actor, sector: Option<&str>, key: &str) -> bool {
        if key == CONTRIBUTIONS {
            return authz::allows(actor.role, Action::WriteBulletins)
                || actor.role == Role::Auditor;
        }
        let Some((aud, sec, inst, tlp)) = reach_of_collection(key) else {
            return false;
        };
        let named: Vec<i64> = inst.into_iter().collect();
        reaches(
            Some(actor),
            sector,
            Reach {
                audience: &aud,
                sector: sec.as_deref(),
                institutions: &named,
                tlp,
            },
        )
    }

    /// One page of a collection the actor may read ("not found" otherwise).
    pub async fn taxii_page(&self, actor: &Actor, q: &StixQuery) -> Result<Vec<StixObjectRow>> {
        authz::authorize(actor, Action::ReadBulletins)?;
        let sector = self.own_sector(actor).await?;
        if !self.collection_readable(actor, sector.as_deref(), &q.collection) {
            return Err(ServiceError::NotFound);
        }
        Ok(haechi_store::stix_page(self.store.pool(), q).await?)
    }

    /// Whether the actor may write to a collection (only the contributions collection, by
    /// institutions and writers).
    pub fn taxii_may_write(&self, actor: &Actor, key: &str) -> bool {
        key == CONTRIBUTIONS
            && (authz::allows(actor.role, Action::AcknowledgeBulletins)
                || authz::allows(actor.role, Action::WriteBulletins))
    }

    /// Adds objects posted to the contributions collection; returns the status resource (JSON),
    /// stored for later polling.
    pub async fn taxii_add(
        &self,
        actor: &Actor,
        key: &str,
        objects: &[serde_json::Value],
    ) -> Result<serde_json::Value> {
        authz::authorize(actor, Action::ReadBulletins)?;
        if !self.taxii_may_write(actor, key) {
            return Err(ServiceError::Forbidden("add objects to this collection"));
        }
        let now = self.now_text();
        let mut ok = Vec::new();
        let mut failures = Vec::new();
        let mut writes = Vec::new();
        for o in objects {
            let id = o["id"].as_str().unwrap_or_default();
            let ty = o["type"].as_str().unwrap_or_default();
            let version = o["modified"].as_str().or_else(|| o["created"].as_str());
            let valid = !ty.is_empty()
                && id.starts_with(&format!("{ty}--"))
                && id.len() == ty.len() + 2 + 36
                && o["spec_version"].as_str() == Some("2.1")
                && version.is_some_and(|v| parse_time(v).is_some());
            match (valid, version) {
                (true, Some(v)) => {
                    ok.push(serde_json::json!({"id": id, "version": v}));
                    writes.push(StixWrite {
                        object_id: id.to_string(),
                        object_type: ty.to_string(),
                        version: v.to_string(),
                        spec_version: "2.1".into(),
                        body: o.to_string(),
                    });
                }
                _ => failures.push(serde_json::json!({"id": if id.is_empty() { "unknown" } else { id }, "message": "not a STIX 2.1 object with type, id, spec_version 2.1 and created/modified"})),
            }
        }
        let status_id = haechi_formats::stix::uuid_from(&format!(
            "taxii-status:{}:{}",
            rand::random::<u64>(),
            now
        ));
        let status = serde_json::json!({
            "id": status_id,
            "status": "complete",
            "request_timestamp": now,
            "total_count": ok.len() + failures.len(),
            "success_count": ok.len(),
            "successes": ok,
            "failure_count": failures.len(),
            "failures": failures,
            "pending_count": 0,
            "pendings": [],
        });
        let mut tx = self.store.begin().await?;
        tx.add_stix_objects(&[key.to_string()], &writes, None)
            .await?;
        tx.insert_taxii_status(&status_id, actor.user_id, &status.to_string(), &now)
            .await?;
        tx.audit(record(
            actor,
            "taxii.add",
            "taxii_collection",
            key,
            actor.institution_id,
            None,
            Some(serde_json::json!({"status": status_id, "success_count": writes.len(), "failure_count": status["failure_count"]})),
        ))
        .await?;
        tx.commit().await?;
        Ok(status)
    }

    /// A status resource of the actor's own request.
    pub async fn taxii_status(&self, actor: &Actor, id: &str) -> Result<serde_json::Value> {
        authz::authorize(actor, Action::ReadBulletins)?;
        match haechi_store::get_taxii_status(self.store.pool(), id).await? {
            Some((user, body)) if user == actor.user_id => {
                serde_json::from_str(&body).map_err(|_| ServiceError::NotFound)
            }
            _ => Err(ServiceError::NotFound),
        }
    }
}

/// The collection institutions and writers post contributed objects to (read by the
/// regulator side only).
pub const CONTRIBUTIONS: &str = "contributions";

/// The input that would produce a content (to re-check a stored draft).
pub fn input_of(c: &BulletinContent) -> BulletinInput {
    BulletinInput {
        kind: c.kind.clone(),
        title_ko: c.title_ko.clone(),
        title_en: c.title_en.clone().unwrap_or_default(),
        body_ko: c.body_ko.clone(),
        body_en: c.body_en.clone().unwrap_or_default(),
        severity: c.severity.clone(),
        sources: c.lists.sources.clone(),
        products: c.lists.products.clone(),
        cves: c.lists.cves.clone(),
        cwes: c.lists.cwes.iter().map(|c| c.to_string()).collect(),
        indicators: c
            .lists
            .indicators
            .iter()
            .map(|i| {
                format!("{} {} {}", i.kind, i.value, i.note)
                    .trim()
                    .to_string()
            })
            .collect(),
        actions: c.lists.actions.clone(),
        tlp: c.tlp.clone(),
        audience: c.audience.clone(),
        audience_sector: c.audience_sector.clone().unwrap_or_default(),
        audience_institutions: c.audience_institutions.clone(),
        change_note: c.change_note.clone().unwrap_or_default(),
    }
}

impl Service {
    /// Institution ids for the codes a writer typed for a named audience; unknown codes are
    /// field errors (`audience_institutions`).
    pub async fn institutions_by_code(&self, actor: &Actor, codes: &[String]) -> Result<Vec<i64>> {
        authz::authorize(actor, Action::WriteBulletins)?;
        let all = haechi_store::all_institutions(self.store.pool()).await?;
        let mut ids = Vec::new();
        let mut errors = Vec::new();
        for c in codes.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
            match all.iter().find(|i| i.input.code.eq_ignore_ascii_case(c)) {
                Some(i) => ids.push(i.id),
                None => errors.push(FieldError::new(
                    "audience_institutions",
                    "no such institution",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        Ok(ids)
    }

    /// Codes of institutions, for showing a named audience.
    pub async fn institution_codes(&self, ids: &[i64]) -> Result<Vec<String>> {
        let all = haechi_store::all_institutions(self.store.pool()).await?;
        Ok(ids
            .iter()
            .filter_map(|id| {
                all.iter()
                    .find(|i| i.id == *id)
                    .map(|i| i.input.code.clone())
            })
            .collect())
    }
}

impl Service {
    /// The published bulletins a reader may see, with their latest published content: without a
    /// reader (a public feed), TLP:CLEAR bulletins for all institutions only.
    pub async fn public_or_reachable_bulletins(
        &self,
        reader: Option<&Actor>,
    ) -> Result<Vec<(BulletinRow, BulletinContent)>> {
        if let Some(a) = reader {
            authz::authorize(a, Action::ReadBulletins)?;
        }
        let sector = match reader {
            Some(a) => self.own_sector(a).await?,
            None => None,
        };
        let mut out = Vec::new();
        for row in haechi_store::list_bulletins(self.store.pool()).await? {
            if row.version == 0 {
                continue;
            }
            if let Some(c) = self.published_content(row.id).await? {
                if reaches(reader, sector.as_deref(), c.reach()) {
                    out.push((row, c));
                }
            }
        }
        Ok(out)
    }
}
