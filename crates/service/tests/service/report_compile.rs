//! Compiling a report reads aggregates through covering indexes (`report_source.rs`, migration
//! 0017), not finding rows. This story fills an institution with synthetic findings (the bench's
//! generator) plus the awkward cases the generator does not make — findings without a priority
//! or without a priority row, AI-annotated ones, two CWEs on one finding, a fix before the period
//! and a second fix later — then checks every figure of the compile against a straightforward
//! computation over the raw rows, on both databases.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate};
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_service::reports::Figures;
use sqlx::Row;

use crate::{on_both, open};

const FROM: &str = "2025-04-01";
const UNTIL: &str = "2025-07-01";

fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let v = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64);
    Some((v * 10.0).round() / 10.0)
}

fn count(m: &mut BTreeMap<String, i64>, k: &str) {
    *m.entry(k.to_string()).or_insert(0) += 1;
}

fn secs(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

/// The figures computed the plain way from every row of the institution.
async fn by_hand(pool: &sqlx::AnyPool, inst: i64) -> Figures {
    let in_period = |t: &str| (FROM..UNTIL).contains(&t);
    let findings = sqlx::query("SELECT id, severity, status, ai_origin, tool_name, ai_model, created_at FROM findings WHERE institution_id = $1")
        .bind(inst)
        .fetch_all(pool)
        .await
        .unwrap();
    let prio: BTreeMap<i64, (Option<String>, Option<String>, String)> = sqlx::query(
        "SELECT finding_id, priority, due_date, status FROM finding_priorities WHERE institution_id = $1",
    )
    .bind(inst)
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get::<i64, _>("finding_id"),
            (r.get("priority"), r.get("due_date"), r.get("status")),
        )
    })
    .collect();
    let mut cwes_of: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for r in sqlx::query("SELECT finding_id, cwe FROM finding_cwes WHERE institution_id = $1")
        .bind(inst)
        .fetch_all(pool)
        .await
        .unwrap()
    {
        cwes_of
            .entry(r.get("finding_id"))
            .or_default()
            .push(r.get("cwe"));
    }
    let mut first_fix: BTreeMap<i64, String> = BTreeMap::new();
    for r in sqlx::query("SELECT finding_id, changed_at FROM finding_status_changes WHERE institution_id = $1 AND to_status IN ('fixed', 'verified')")
        .bind(inst)
        .fetch_all(pool)
        .await
        .unwrap()
    {
        let at: String = r.get("changed_at");
        let e = first_fix.entry(r.get("finding_id")).or_insert(at.clone());
        if at < *e {
            *e = at;
        }
    }
    let mut f = Figures::default();
    let (mut sev, mut st, mut pr, mut tools, mut cwe) = Default::default();
    let mut months: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut created: BTreeMap<i64, String> = BTreeMap::new();
    for r in &findings {
        let id: i64 = r.get("id");
        let at: String = r.get("created_at");
        created.insert(id, at.clone());
        if !in_period(&at) {
            continue;
        }
        f.findings += 1;
        let ai = r.get::<String, _>("ai_origin") == "ai_generated";
        if ai {
            f.ai_found += 1;
        } else {
            f.conventional += 1;
        }
        let m = months.entry(at[..7].to_string()).or_default();
        if ai {
            m.0 += 1;
        } else {
            m.1 += 1;
        }
        count(&mut sev, &r.get::<String, _>("severity"));
        count(&mut st, &r.get::<String, _>("status"));
        let p = prio
            .get(&id)
            .and_then(|p| p.0.clone())
            .unwrap_or_else(|| "none".into());
        count(&mut pr, &p);
        let model: Option<String> = r.get("ai_model");
        count(
            &mut tools,
            &format!(
                "{}\u{1f}{}",
                r.get::<String, _>("tool_name"),
                model.unwrap_or_default()
            ),
        );
        for c in cwes_of.get(&id).into_iter().flatten() {
            count(&mut cwe, &c.to_string());
        }
    }
    let list = |m: BTreeMap<String, i64>| {
        let mut v: Vec<(String, i64)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let key = |v: Vec<(String, i64)>| -> Vec<haechi_service::reports::Count> {
        v.into_iter()
            .map(|(key, n)| haechi_service::reports::Count { key, n })
            .collect()
    };
    f.by_severity = key(list(sev));
    f.by_status = key(list(st));
    let mut p = key(list(pr));
    p.sort_by(|a, b| a.key.cmp(&b.key));
    f.by_priority = p;
    // The 15 most frequent CWEs (ties: the lower number), shown most frequent first.
    let mut c: Vec<(String, i64)> = cwe.into_iter().collect();
    c.sort_by(|a, b| {
        b.1.cmp(&a.1).then(
            a.0.parse::<i64>()
                .unwrap()
                .cmp(&b.0.parse::<i64>().unwrap()),
        )
    });
    c.truncate(15);
    c.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    f.by_cwe = key(c);
    f.by_tool = tools
        .into_iter()
        .map(|(k, n)| {
            let (tool, model) = k.split_once('\u{1f}').unwrap();
            haechi_service::reports::ToolCount {
                tool: tool.into(),
                ai_model: (!model.is_empty()).then(|| model.to_string()),
                n,
            }
        })
        .collect();
    f.by_month = months
        .into_iter()
        .map(
            |(month, (ai, conventional))| haechi_service::reports::MonthCount {
                month,
                ai,
                conventional,
            },
        )
        .collect();
    let mut days: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut sla: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for (id, fixed_at) in &first_fix {
        if !in_period(fixed_at) {
            continue;
        }
        let Some((Some(p), due, _)) = prio.get(id) else {
            continue;
        };
        let d = (secs(fixed_at) - secs(&created[id])).max(0) as f64 / 86_400.0;
        days.entry(p.clone()).or_default().push(d);
        if let Some(due) = due {
            let e = sla.entry(p.clone()).or_default();
            if &fixed_at[..10] <= due.as_str() {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    for (p, due, status) in prio.values() {
        if let (Some(p), Some(due)) = (p, due) {
            if (status == "open" || status == "in_progress") && due.as_str() < UNTIL {
                sla.entry(p.clone()).or_default().2 += 1;
            }
        }
    }
    for p in ["P1", "P2", "P3", "P4", "P5"] {
        if let Some(mut v) = days.remove(p) {
            v.sort_by(f64::total_cmp);
            f.remediation.push(haechi_service::reports::Remediation {
                priority: p.into(),
                fixed: v.len() as i64,
                median_days: quantile(&v, 0.5),
                p90_days: quantile(&v, 0.9),
            });
        }
        if let Some((a, b, c)) = sla.remove(p) {
            f.sla.push(haechi_service::reports::Sla {
                priority: p.into(),
                fixed_in_time: a,
                fixed_late: b,
                open_breached: c,
            });
        }
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_figures_equal_a_plain_computation_over_the_rows() {
    on_both(|url| async move {
        let (store, svc) = open(&url).await;
        let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let inst = svc
            .create_institution(
                &Actor::system(),
                InstitutionInput {
                    code: "CMP".into(),
                    name_ko: "집계은행".into(),
                    name_en: "Compile Bank".into(),
                    sector: Sector::Bank,
                    total_assets_krw: 1_000_000_000_000,
                    assets_as_of: day,
                    full_time_employees: 100,
                    employees_as_of: day,
                    dedicated_ciso: true,
                    ciso_name: Some("김보안".into()),
                    size_class: SizeClass::Large,
                    contact_name: None,
                    contact_email: None,
                    contact_phone: None,
                },
            )
            .await
            .unwrap()
            .id;
        let filled = store.fill_synthetic_findings(inst, 4000).await.unwrap();
        assert_eq!(filled.findings, 4000);
        let pool = store.pool();
        // The cases the generator does not make.
        for sql in [
            "UPDATE finding_priorities SET priority = NULL, due_date = NULL WHERE finding_id % 17 = 0",
            "DELETE FROM finding_priorities WHERE finding_id % 53 = 0",
            "UPDATE findings SET ai_origin = 'ai_annotated' WHERE id % 11 = 0",
            "DELETE FROM finding_cwes WHERE finding_id % 13 = 0",
            "UPDATE findings SET cwes = ',79,89,' WHERE id % 13 = 0",
            "INSERT INTO finding_cwes (institution_id, cwe, finding_id) SELECT institution_id, 79, id FROM findings WHERE id % 13 = 0",
            "INSERT INTO finding_cwes (institution_id, cwe, finding_id) SELECT institution_id, 89, id FROM findings WHERE id % 13 = 0",
            // Fixed again later (the first fix counts), and fixed before the period began.
            "INSERT INTO finding_status_changes (finding_id, institution_id, from_status, to_status, changed_at) \
             SELECT finding_id, institution_id, 'open', 'verified', '2025-06-30T23:59:59Z' FROM finding_status_changes WHERE finding_id % 7 = 0",
            "INSERT INTO finding_status_changes (finding_id, institution_id, from_status, to_status, changed_at) \
             SELECT id, institution_id, 'open', 'fixed', '2025-03-31T23:59:59Z' FROM findings WHERE id % 19 = 0 AND status = 'open'",
        ] {
            sqlx::query(sql).execute(pool).await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        let now = haechi_store::now_text();
        let app = tx
            .insert_application(inst, &serde_json::json!({}), &now)
            .await
            .unwrap();
        let letter = tx
            .insert_letter_draft(app, inst, None, "{}", None)
            .await
            .unwrap();
        let ob = tx
            .insert_obligation(letter, inst, "quarterly_report", 2, FROM, "2025-06-30", "2025-07-31")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let ciso = Actor {
            user_id: 0,
            username: "cmp.ciso".into(),
            role: Role::Ciso,
            institution_id: Some(inst),
        };
        svc.compile_report(&ciso, ob).await.unwrap();
        let got = svc
            .report(&ciso, ob)
            .await
            .unwrap()
            .latest()
            .unwrap()
            .figures
            .clone();
        let want = by_hand(pool, inst).await;
        assert!(got.findings > 500 && got.findings < 4000, "{}", got.findings);
        assert!(got.remediation.iter().all(|r| r.fixed > 0) && got.remediation.len() == 5);
        assert!(got.by_priority.iter().any(|c| c.key == "none"));
        assert!(got.by_cwe.iter().any(|c| c.key == "89"));
        assert_eq!(got.findings, want.findings);
        assert_eq!(got.ai_found, want.ai_found);
        assert_eq!(got.conventional, want.conventional);
        assert_eq!(got.by_severity, want.by_severity);
        assert_eq!(got.by_status, want.by_status);
        assert_eq!(got.by_priority, want.by_priority);
        assert_eq!(got.by_cwe, want.by_cwe);
        let mut tools = got.by_tool.clone();
        tools.sort_by(|a, b| a.tool.cmp(&b.tool).then(a.ai_model.cmp(&b.ai_model)));
        assert_eq!(tools, want.by_tool);
        assert_eq!(got.by_month, want.by_month);
        assert_eq!(got.remediation, want.remediation);
        assert_eq!(got.sla, want.sla);
        let distinct: BTreeSet<&str> = got.by_month.iter().map(|m| m.month.as_str()).collect();
        assert_eq!(distinct.len(), 3, "three months of the quarter");
    })
    .await;
}
