//! Demo data of patch prioritisation (C13): for the demo institutions with a CISO account, a
//! few computing resources and a few hundred dependency findings imported through the normal
//! SARIF path; a small synthetic EPSS and KEV set covering their CVEs (demo values, not FIRST's
//! or CISA's); one emergency advisory; priorities computed; a SaaS register entry with its
//! self-evaluation. Everything goes through the use cases, so the audit log tells the same story.
//!
//! The findings have months of history, so the burn-down shows a curve and the SLA chart every
//! outcome: from the program's first phase to today, each resource is scanned every few weeks
//! (each scan finds new findings, dated that day) and every week the institution patches the
//! most urgent open ones (patch records dated that day). The service clock is set to each day
//! in turn, so a finding is never fixed before it was found and every date lies between the
//! program start and today; what was found last and what the weekly capacity did not reach are
//! still open (some past their due date, some within it).

use chrono::{NaiveDate, NaiveDateTime};
use haechi_core::{Actor, Role};
use haechi_policy::{DataKind, NetworkZone};
use haechi_store::{SaasWrite, WorkPlan};

use crate::feeds::{AdvisoryInput, FeedFile, FeedKind};
use crate::findings::{FindingsUpload, ResourceInput};
use crate::patching::{PatchInput, SaasEvaluationInput};
use crate::{Result, Service, ServiceError};

/// CVEs the demo findings mention, with a demo EPSS score each.
const CVES: [(&str, f64); 20] = [
    ("CVE-2021-44228", 0.94358),
    ("CVE-2021-45046", 0.9434),
    ("CVE-2022-22965", 0.94442),
    ("CVE-2022-42889", 0.9375),
    ("CVE-2023-44487", 0.8162),
    ("CVE-2023-46604", 0.9429),
    ("CVE-2022-1471", 0.0489),
    ("CVE-2023-38545", 0.2364),
    ("CVE-2022-3602", 0.0121),
    ("CVE-2023-0286", 0.0178),
    ("CVE-2020-9484", 0.9271),
    ("CVE-2024-3094", 0.8561),
    ("CVE-2023-34362", 0.9447),
    ("CVE-2022-25857", 0.0055),
    ("CVE-2023-2976", 0.0007),
    ("CVE-2022-45868", 0.0021),
    ("CVE-2023-20863", 0.0031),
    ("CVE-2024-22243", 0.0152),
    ("CVE-2023-6378", 0.0009),
    ("CVE-2024-29025", 0.0011),
];

/// KEV-listed among them (demo catalog).
const KEV: [(&str, &str); 5] = [
    ("CVE-2021-44228", "2021-12-10"),
    ("CVE-2022-22965", "2022-04-04"),
    ("CVE-2023-46604", "2023-11-02"),
    ("CVE-2023-34362", "2023-06-02"),
    ("CVE-2020-9484", "2023-01-12"),
];

/// A scan of one resource: `results` dependency findings, fingerprints unique to (seed, scan).
fn sarif(results: usize, seed: usize, scan: usize) -> Vec<u8> {
    let out: Vec<serde_json::Value> = (0..results)
        .map(|i| {
            let (cve, _) = CVES[(i * 7 + seed + scan * 3) % CVES.len()];
            let sev = ["9.8", "8.1", "7.5", "5.3", "3.1"][(i + seed + scan) % 5];
            serde_json::json!({
                "ruleId": format!("dependency/{cve}"),
                "level": "error",
                "message": {"text": format!("Vulnerable dependency ({cve}) in module {}", (i + scan * 11) % 37)},
                "properties": {"security-severity": sev},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("services/svc-{}/pom.xml", i % 23)}, "region": {"startLine": 10 + i % 40}}}],
                "partialFingerprints": {"primaryLocationLineHash": format!("demo-{seed}-{scan}-{i}")}
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "dependency-scan", "version": "4.2.0", "rules": []}}, "results": out}]}))
        .unwrap_or_default()
}

/// The first day of the findings history: the first phase's letters were issued in June 2026.
const HISTORY_FROM: (i32, u32, u32) = (2026, 6, 15);
/// Scans of each resource over the history (the first on the first day).
const SCANS: usize = 6;
/// Findings a demo institution patches in a week, at most.
const WEEKLY_CAPACITY: i64 = 9;

/// Seeds the C13 demo data (once: skipped when advisories exist already). The history is written
/// on past dates; the clock is "now" again afterwards, whatever happened.
pub async fn seed(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    if !haechi_store::list_advisories(pool).await?.is_empty() {
        return Ok(());
    }
    let result = seed_history(svc).await;
    svc.set_clock(None);
    result
}

/// A time of `day` (hour, minute).
fn at(day: NaiveDate, hour: u32, minute: u32) -> Result<NaiveDateTime> {
    day.and_hms_opt(hour, minute, 0).ok_or_else(|| {
        ServiceError::rule("demo_data", format!("invalid time {day} {hour}:{minute}"))
    })
}

/// One dated step of the history.
enum Step {
    /// Scan `resource` of institution `inst` (index into the CISOs) for the `scan`-th time.
    Scan {
        inst: usize,
        resource: usize,
        scan: usize,
    },
    /// The weekly patch of institution `inst`.
    Patch { inst: usize, week: usize },
}

async fn seed_history(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    let officer = haechi_store::list_users(pool, Some(Role::RegulatorOfficer))
        .await?
        .first()
        .map(haechi_store::User::actor)
        .unwrap_or_else(Actor::system);
    let cisos: Vec<Actor> = haechi_store::list_users(pool, Some(Role::Ciso))
        .await?
        .iter()
        .filter(|u| u.institution_id.is_some())
        .take(2)
        .map(haechi_store::User::actor)
        .collect();
    let today = svc.today();
    // The history runs from mid-June to yesterday; on an instance seeded before that (or too
    // soon after) everything happens today.
    let from = NaiveDate::from_ymd_opt(HISTORY_FROM.0, HISTORY_FROM.1, HISTORY_FROM.2)
        .filter(|d| (today - *d).num_days() >= 28)
        .unwrap_or(today);
    let span = (today - from).num_days().max(0);
    let day = |offset: i64| {
        from.checked_add_signed(chrono::Duration::days(offset.clamp(0, span)))
            .unwrap_or(today)
    };

    // The threat feeds as of the first day, so every import is prioritised with them.
    svc.set_clock(Some(at(from, 8, 30)?));
    import_feeds(svc, &officer, from).await?;

    let mut resources: Vec<Vec<i64>> = Vec::new();
    for ciso in &cisos {
        let inst = ciso.institution_id.ok_or(ServiceError::NotFound)?;
        let mut ids = Vec::new();
        // Free texts in both languages, `한국어 / English`: pages show the page's language.
        for (name, function, zone, kinds, pet) in [
            (
                "internet-banking-web",
                "인터넷뱅킹 / Internet banking",
                NetworkZone::Internet,
                vec![DataKind::CustomerPersonal],
                true,
            ),
            (
                "core-banking",
                "계정계(코어뱅킹) / Core banking",
                NetworkZone::Internal,
                vec![DataKind::PersonalCredit],
                true,
            ),
            (
                "partner-api-gateway",
                "제휴사 API 중계 / Partner API gateway",
                NetworkZone::Dmz,
                vec![DataKind::NonPublicBusiness],
                false,
            ),
        ] {
            let r = svc
                .create_resource(
                    ciso,
                    inst,
                    ResourceInput {
                        name: name.into(),
                        kind: "application".into(),
                        business_function: function.into(),
                        data_kinds: kinds,
                        network_zone: zone,
                        processes_electronic_transactions: pet,
                        dr_tier: Some("1".into()),
                        owner: Some("IT운영부 / IT operations".into()),
                    },
                )
                .await?;
            ids.push(r.id);
        }
        resources.push(ids);
    }

    // The steps, in date order: scans spread over the history (resources a few days apart),
    // a patch every week from the first week on.
    let mut steps: Vec<(NaiveDateTime, Step)> = Vec::new();
    for (inst, ids) in resources.iter().enumerate() {
        for resource in 0..ids.len() {
            for scan in 0..SCANS {
                let offset = if span == 0 {
                    0
                } else {
                    span * i64::try_from(scan).unwrap_or(0) / i64::try_from(SCANS).unwrap_or(1)
                        + i64::try_from(resource * 2 + inst).unwrap_or(0)
                };
                steps.push((
                    at(day(offset), 9 + u32::try_from(resource).unwrap_or(0), 10)?,
                    Step::Scan {
                        inst,
                        resource,
                        scan,
                    },
                ));
            }
        }
        let mut week = 0usize;
        let mut offset = 4 + i64::try_from(inst).unwrap_or(0);
        while span > 0 && offset < span {
            steps.push((at(day(offset), 16, 30)?, Step::Patch { inst, week }));
            week += 1;
            offset += 7;
        }
    }
    steps.sort_by_key(|(t, _)| *t);

    for (t, step) in steps {
        svc.set_clock(Some(t));
        match step {
            Step::Scan {
                inst,
                resource,
                scan,
            } => {
                let (Some(ciso), Some(rid)) = (
                    cisos.get(inst),
                    resources.get(inst).and_then(|r| r.get(resource)),
                ) else {
                    continue;
                };
                let institution_id = ciso.institution_id.ok_or(ServiceError::NotFound)?;
                let up = FindingsUpload {
                    institution_id,
                    resource_id: Some(*rid),
                    file_name: Some("dependency-scan.sarif".into()),
                    ..Default::default()
                };
                // Fewer new findings as the program goes on.
                let results = 26 + 4 * (SCANS - scan) + 3 * resource;
                svc.import_findings(
                    ciso,
                    &up,
                    std::io::Cursor::new(sarif(results, inst * 3 + resource, scan)),
                )
                .await?;
            }
            Step::Patch { inst, week } => {
                let Some(ciso) = cisos.get(inst) else {
                    continue;
                };
                weekly_patch(svc, ciso, week, t).await?;
            }
        }
    }
    svc.set_clock(None);

    // Today's feeds, so the feeds page shows them fresh.
    import_feeds(svc, &officer, today).await?;
    svc.publish_advisory(
        &officer,
        &AdvisoryInput {
            title_ko: "긴급 보안 패치 권고: HTTP/2 및 xz 취약점".into(),
            title_en: "Emergency patch advisory: HTTP/2 and xz vulnerabilities".into(),
            published_on: today,
            cves: vec!["CVE-2023-44487".into(), "CVE-2024-3094".into()],
        },
    )
    .await?;

    if let Some(ciso) = cisos.first() {
        let inst = ciso.institution_id.ok_or(ServiceError::NotFound)?;
        let saas = svc
            .create_saas(
                ciso,
                inst,
                &SaasWrite {
                    product: "Example Cloud WAF".into(),
                    vendor: "Example Security Co.".into(),
                    certifications: vec!["CSAP".into(), "ISO/IEC 27001".into()],
                    data_classes: vec!["access logs".into()],
                    users: "Security operations (8)".into(),
                    purpose: "Web application firewall for internet banking".into(),
                },
            )
            .await?;
        svc.record_saas_evaluation(
            ciso,
            saas.saas.id,
            &SaasEvaluationInput {
                evaluated_on: today,
                result: "pass".into(),
                notes: Some("Security SaaS rule checklist: all items met.".into()),
                reported_to_ciso_at: Some(svc.now()),
            },
        )
        .await?;
    }
    Ok(())
}

/// The demo's synthetic EPSS scores and KEV catalog, dated `on`.
async fn import_feeds(svc: &Service, officer: &Actor, on: NaiveDate) -> Result<()> {
    let today = on;
    let mut csv = format!(
        "#model_version:v2025.03.14,score_date:{today}T00:00:00+0000\ncve,epss,percentile\n"
    );
    for (cve, e) in CVES {
        csv.push_str(&format!("{cve},{e},{:.5}\n", (0.5 + e / 2.0).min(0.99999)));
    }
    let file = |name: &str, bytes: Vec<u8>| {
        vec![FeedFile {
            name: name.into(),
            bytes,
        }]
    };
    svc.import_feed(
        officer,
        FeedKind::Epss,
        file("epss-demo.csv", csv.into_bytes()),
        None,
    )
    .await?;
    let vulns: Vec<serde_json::Value> = KEV
        .iter()
        .map(|(c, d)| serde_json::json!({"cveID": c, "vendorProject": "Example", "product": "Demo component", "vulnerabilityName": format!("{c} (demo)"),
            "dateAdded": d, "shortDescription": "Demo entry.", "requiredAction": "Apply the vendor update.", "dueDate": d,
            "knownRansomwareCampaignUse": "Unknown", "notes": "demo catalog"}))
        .collect();
    let kev = serde_json::json!({"title": "KEV (demo)", "catalogVersion": today.to_string(), "dateReleased": format!("{today}T00:00:00.000Z"), "count": KEV.len(), "vulnerabilities": vulns});
    svc.import_feed(
        officer,
        FeedKind::Kev,
        file("kev-demo.json", kev.to_string().into_bytes()),
        None,
    )
    .await?;
    Ok(())
}

/// One week's patch of an institution at `t`: the most urgent open findings (the queue's order),
/// up to the week's capacity, one patch record per resource, applied an hour before.
async fn weekly_patch(svc: &Service, ciso: &Actor, week: usize, t: NaiveDateTime) -> Result<()> {
    let inst = ciso.institution_id.ok_or(ServiceError::NotFound)?;
    // Some weeks the team gets less done (holidays, a release freeze).
    let capacity = match week % 5 {
        1 => WEEKLY_CAPACITY / 2,
        3 => WEEKLY_CAPACITY + 3,
        _ => WEEKLY_CAPACITY,
    };
    let queue = svc.patch_queue(ciso, inst, None, capacity).await?;
    let mut by_resource: Vec<(Option<i64>, Vec<i64>)> = Vec::new();
    for e in &queue.items {
        match by_resource
            .iter_mut()
            .find(|(r, _)| *r == e.item.resource_id)
        {
            Some((_, ids)) => ids.push(e.item.id),
            None => by_resource.push((e.item.resource_id, vec![e.item.id])),
        }
    }
    for (k, (resource_id, ids)) in by_resource.into_iter().enumerate() {
        svc.record_patch(
            ciso,
            &PatchInput {
                institution_id: inst,
                resource_id,
                applied: format!(
                    "dependency updates, week {} batch {} (vendor fixed versions)",
                    week + 1,
                    k + 1
                ),
                applied_at: (t - chrono::Duration::hours(1)).into(),
                applied_by: "IT operations".into(),
                work_plan: WorkPlan {
                    pre_testing_done: true,
                    rollback_ready: true,
                    kill_switch_ready: (week + k).is_multiple_of(2),
                    isolation_ready: true,
                    continuity_plan: true,
                    customers_notified_in_advance: k == 0,
                },
                notes: Some("Applied in the weekly maintenance window.".into()),
                finding_ids: ids,
            },
        )
        .await?;
    }
    Ok(())
}
