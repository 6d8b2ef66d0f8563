//! Demo data of patch prioritisation (C13): for the demo institutions with a CISO account, a
//! few computing resources and a few hundred dependency findings imported through the normal
//! SARIF path; a small synthetic EPSS and KEV set covering their CVEs (demo values, not FIRST's
//! or CISA's); one emergency advisory; priorities computed; a few patch records; a SaaS
//! register entry with its self-evaluation. Everything goes through the use cases, so the
//! audit log tells the same story.

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

fn sarif(results: usize, seed: usize) -> Vec<u8> {
    let out: Vec<serde_json::Value> = (0..results)
        .map(|i| {
            let (cve, _) = CVES[(i * 7 + seed) % CVES.len()];
            let sev = ["9.8", "8.1", "7.5", "5.3", "3.1"][(i + seed) % 5];
            serde_json::json!({
                "ruleId": format!("dependency/{cve}"),
                "level": "error",
                "message": {"text": format!("Vulnerable dependency ({cve}) in module {}", i % 37)},
                "properties": {"security-severity": sev},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("services/svc-{}/pom.xml", i % 23)}, "region": {"startLine": 10 + i % 40}}}],
                "partialFingerprints": {"primaryLocationLineHash": format!("demo-{seed}-{i}")}
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "dependency-scan", "version": "4.2.0", "rules": []}}, "results": out}]}))
        .unwrap_or_default()
}

fn actor_of(u: &haechi_store::User) -> Actor {
    Actor {
        user_id: u.id,
        username: u.username.clone(),
        role: u.role,
        institution_id: u.institution_id,
    }
}

/// Seeds the C13 demo data (once: skipped when advisories exist already).
pub async fn seed(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    if !haechi_store::list_advisories(pool).await?.is_empty() {
        return Ok(());
    }
    let officer = haechi_store::list_users(pool, Some(Role::RegulatorOfficer))
        .await?
        .first()
        .map(actor_of)
        .unwrap_or_else(Actor::system);
    let cisos: Vec<Actor> = haechi_store::list_users(pool, Some(Role::Ciso))
        .await?
        .iter()
        .filter(|u| u.institution_id.is_some())
        .take(2)
        .map(actor_of)
        .collect();
    let today = svc.today();
    for (n, ciso) in cisos.iter().enumerate() {
        let inst = ciso.institution_id.ok_or(ServiceError::NotFound)?;
        let mut resources = Vec::new();
        for (name, zone, kinds, pet) in [
            (
                "internet-banking-web",
                NetworkZone::Internet,
                vec![DataKind::CustomerPersonal],
                true,
            ),
            (
                "core-banking",
                NetworkZone::Internal,
                vec![DataKind::PersonalCredit],
                true,
            ),
            (
                "partner-api-gateway",
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
                        business_function: "banking services".into(),
                        data_kinds: kinds,
                        network_zone: zone,
                        processes_electronic_transactions: pet,
                        dr_tier: Some("1".into()),
                        owner: Some("IT operations".into()),
                    },
                )
                .await?;
            resources.push(r.id);
        }
        for (i, rid) in resources.iter().enumerate() {
            let up = FindingsUpload {
                institution_id: inst,
                resource_id: Some(*rid),
                file_name: Some("dependency-scan.sarif".into()),
                ..Default::default()
            };
            svc.import_findings(
                ciso,
                &up,
                std::io::Cursor::new(sarif(90 + 10 * i, n * 3 + i)),
            )
            .await?;
        }
    }

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
        &officer,
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
        &officer,
        FeedKind::Kev,
        file("kev-demo.json", kev.to_string().into_bytes()),
        None,
    )
    .await?;
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
        let queue = svc.patch_queue(ciso, inst, None, 6).await?;
        for (i, pair) in queue.items.chunks(2).enumerate() {
            let ids: Vec<i64> = pair.iter().map(|e| e.item.id).collect();
            svc.record_patch(
                ciso,
                &PatchInput {
                    institution_id: inst,
                    resource_id: pair.first().and_then(|e| e.item.resource_id),
                    applied: format!("dependency update batch {} (vendor fixed versions)", i + 1),
                    applied_at: svc.now() - chrono::Duration::hours(2 + i as i64),
                    applied_by: "IT operations".into(),
                    work_plan: WorkPlan {
                        pre_testing_done: true,
                        rollback_ready: true,
                        kill_switch_ready: i % 2 == 0,
                        isolation_ready: true,
                        continuity_plan: true,
                        customers_notified_in_advance: i == 0,
                    },
                    notes: Some("Applied in the maintenance window.".into()),
                    finding_ids: ids,
                },
            )
            .await?;
        }
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
