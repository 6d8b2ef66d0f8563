//! Data-driven tests of the policy crate: each feature has one `check` helper and a fixture file
//! under `tests/fixtures/` holding its cases.

// As clippy.toml says for tests: a panic here is the test failing. Clippy only sees `#[test]`
// functions as tests, not the check helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use haechi_policy::classification::{classify, ResourceFacts};
use haechi_policy::cohort::{plan, Candidate};
use haechi_policy::eligibility::screen;
use haechi_policy::evaluation::{aggregate, CriterionScore, ReviewerScores};
use haechi_policy::immunity::{evaluate, ImmunityFacts};
use haechi_policy::priority::{decide, exploitation_from, exposure_from_zone, PriorityInputs};
use haechi_policy::{incident, program, reporting, weakness};
use haechi_policy::{Fact, NetworkZone, Policy, PolicyErrorKind, DEFAULT_POLICY_TOML};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::value::Datetime;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(name: &str) -> String {
    let path = fixtures().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load<T: DeserializeOwned>(name: &str) -> T {
    toml::from_str(&read(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn policy() -> Policy {
    let mut p = Policy::default_policy();
    p.version = 7;
    p
}

fn date(d: &Datetime) -> NaiveDate {
    NaiveDate::parse_from_str(&d.to_string(), "%Y-%m-%d").unwrap()
}

fn datetime(d: &Datetime) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(&d.to_string(), "%Y-%m-%dT%H:%M:%S").unwrap()
}

// ---------------------------------------------------------------------------------------------
// Loading

#[test]
fn default_policy_validates() {
    let p = Policy::from_toml_str(DEFAULT_POLICY_TOML).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        p.version, 0,
        "the version comes from the store, not the file"
    );
    assert_eq!(p.phases.len(), 3);
    assert_eq!(p.phases[2].max, None);
    assert_eq!(p.evaluation.criteria.len(), 12);
    assert_eq!(Policy::default_policy(), p);
    let on = |y, m, d| {
        p.phase_on(NaiveDate::from_ymd_opt(y, m, d).unwrap())
            .map(|x| x.id.as_str())
    };
    assert_eq!(on(2026, 6, 23), Some("phase-1"));
    assert_eq!(on(2026, 8, 1), Some("phase-2"));
    assert_eq!(on(2026, 12, 31), Some("phase-3"));
    assert_eq!(on(2027, 1, 1), None);
}

#[test]
fn policy_survives_a_round_trip_through_toml() {
    let p = Policy::default_policy();
    let text = p.to_toml_string().unwrap();
    let again = Policy::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again, p);
}

/// Each broken fixture lists what it expects in `# expect: <kind> <path> @<line> ~ <fragment>`
/// lines; the errors must be exactly those, in reading order.
fn check_broken(name: &str, text: &str) {
    let expected: Vec<(String, String, usize, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# expect: "))
        .map(|l| {
            let (head, fragment) = l.split_once(" ~ ").unwrap();
            let mut parts = head.split_whitespace();
            let kind = parts.next().unwrap().to_string();
            let path = parts.next().unwrap().to_string();
            let line = parts
                .next()
                .unwrap()
                .trim_start_matches('@')
                .parse()
                .unwrap();
            (kind, path, line, fragment.to_string())
        })
        .collect();
    assert!(!expected.is_empty(), "{name} has no expectations");
    let errors = match Policy::from_toml_str(text) {
        Ok(_) => panic!("{name}: a broken policy was accepted"),
        Err(e) => e.0,
    };
    let mut seen: Vec<(String, String, usize, String)> = errors
        .iter()
        .map(|e| {
            let kind = match e.kind {
                PolicyErrorKind::Syntax => "syntax",
                PolicyErrorKind::Schema => "schema",
                PolicyErrorKind::Invalid => "invalid",
            };
            (kind.to_string(), e.path.clone(), e.line, e.message.clone())
        })
        .collect();
    let mut want = expected.clone();
    seen.sort_by(|a, b| (a.2, &a.1).cmp(&(b.2, &b.1)));
    want.sort_by(|a, b| (a.2, &a.1).cmp(&(b.2, &b.1)));
    let brief = |v: &[(String, String, usize, String)]| -> Vec<String> {
        v.iter()
            .map(|(k, p, l, _)| format!("{k} {p} @{l}"))
            .collect()
    };
    assert_eq!(brief(&seen), brief(&want), "{name}: {errors:#?}");
    for (got, exp) in seen.iter().zip(&want) {
        assert!(
            got.3.contains(&exp.3),
            "{name}: `{}` should mention `{}`",
            got.3,
            exp.3
        );
    }
    for e in &errors {
        assert!(e.column >= 1, "{name}: column of {e}");
    }
}

#[test]
fn broken_policies_name_the_field_and_line() {
    let dir = fixtures().join("broken");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 8,
        "expected the broken fixtures in {}",
        dir.display()
    );
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        check_broken(&name, &std::fs::read_to_string(&path).unwrap());
    }
}

#[test]
fn error_display_and_code_are_stable() {
    let text = read("broken/phases.toml");
    let err = Policy::from_toml_str(&text).unwrap_err();
    assert_eq!(err.code(), "policy_invalid");
    let shown = err.to_string();
    assert!(shown.contains("phase[1].max (line "), "{shown}");
    let json = serde_json::to_value(&err.0[0]).unwrap();
    assert_eq!(json["kind"], "invalid");
}

// ---------------------------------------------------------------------------------------------
// Eligibility

#[derive(Deserialize)]
struct EligibilityCase {
    name: String,
    facts: BTreeMap<String, Fact>,
    eligible: bool,
    failed: Vec<String>,
    #[serde(default)]
    null_observed: Vec<String>,
}

fn check_eligibility(p: &Policy, case: &EligibilityCase) {
    let d = screen(p, &case.facts);
    assert_eq!(d.eligible, case.eligible, "{}", case.name);
    assert_eq!(d.failed_rules(), case.failed, "{}", case.name);
    assert_eq!(
        d.rules.len(),
        p.eligibility.rules.len(),
        "{}: every rule is reported",
        case.name
    );
    assert_eq!(d.policy_version, 7);
    for r in &d.rules {
        assert_eq!(
            r.observed.is_null(),
            case.null_observed.contains(&r.rule),
            "{}: {}",
            case.name,
            r.rule
        );
    }
}

#[test]
fn eligibility() {
    #[derive(Deserialize)]
    struct File {
        case: Vec<EligibilityCase>,
    }
    let p = policy();
    let file: File = load("eligibility.toml");
    for case in &file.case {
        check_eligibility(&p, case);
    }
    // The threshold shown is the policy's, so a decision explains itself.
    let d = screen(&p, &file.case[0].facts);
    assert_eq!(
        d.rules[0].threshold,
        serde_json::json!(10_000_000_000_000_i64)
    );
}

// ---------------------------------------------------------------------------------------------
// Evaluation

#[derive(Deserialize)]
struct Sheet {
    id: i64,
    base: u8,
    #[serde(default)]
    set: BTreeMap<String, u8>,
    #[serde(default)]
    omit: Vec<String>,
    #[serde(default)]
    extra: BTreeMap<String, u8>,
}

#[derive(Deserialize)]
struct EvaluationCase {
    name: String,
    reviewers: Vec<Sheet>,
    error: Option<String>,
    passed: Option<bool>,
    security: Option<f64>,
    ai: Option<f64>,
    #[serde(default)]
    disagreement: Vec<String>,
    #[serde(default)]
    reasons: Vec<String>,
}

fn check_evaluation(p: &Policy, case: &EvaluationCase) {
    let sheets: Vec<ReviewerScores> = case
        .reviewers
        .iter()
        .map(|s| {
            let mut scores: Vec<CriterionScore> = p
                .evaluation
                .criteria
                .iter()
                .filter(|c| !s.omit.contains(&c.id))
                .map(|c| CriterionScore {
                    criterion: c.id.clone(),
                    score: *s.set.get(&c.id).unwrap_or(&s.base),
                })
                .collect();
            scores.extend(s.extra.iter().map(|(k, v)| CriterionScore {
                criterion: k.clone(),
                score: *v,
            }));
            ReviewerScores {
                reviewer_id: s.id,
                scores,
            }
        })
        .collect();
    let result = aggregate(p, &sheets);
    if let Some(code) = &case.error {
        let err = result
            .err()
            .unwrap_or_else(|| panic!("{}: expected {code}", case.name));
        assert_eq!(err.code(), code, "{}: {err}", case.name);
        return;
    }
    let r = result.unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let mean = |rubric: &str| {
        r.rubrics
            .iter()
            .find(|x| x.rubric.as_str() == rubric)
            .unwrap()
            .weighted_mean
    };
    assert_eq!(Some(r.passed), case.passed, "{}", case.name);
    assert!(
        (mean("security") - case.security.unwrap()).abs() < 1e-5,
        "{}: security {}",
        case.name,
        mean("security")
    );
    assert!(
        (mean("ai") - case.ai.unwrap()).abs() < 1e-5,
        "{}: ai {}",
        case.name,
        mean("ai")
    );
    let flagged: Vec<&str> = r
        .criteria
        .iter()
        .filter(|c| c.disagreement)
        .map(|c| c.criterion.as_str())
        .collect();
    assert_eq!(flagged, case.disagreement, "{}", case.name);
    assert_eq!(
        r.any_disagreement,
        !case.disagreement.is_empty(),
        "{}",
        case.name
    );
    let codes: Vec<&str> = r.reasons.iter().map(|x| x.code.as_str()).collect();
    assert_eq!(codes, case.reasons, "{}", case.name);
    assert_eq!(r.policy_version, 7);
}

#[test]
fn evaluation() {
    #[derive(Deserialize)]
    struct File {
        case: Vec<EvaluationCase>,
    }
    let p = policy();
    let file: File = load("evaluation.toml");
    for case in &file.case {
        check_evaluation(&p, case);
    }
}

// ---------------------------------------------------------------------------------------------
// Cohorts

#[derive(Deserialize)]
struct CandidateRow {
    app: i64,
    inst: i64,
    score: f64,
    decided: Datetime,
    #[serde(default = "yes")]
    passed: bool,
    cohort: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct CohortCase {
    name: String,
    phase: String,
    candidates: Vec<CandidateRow>,
    error: Option<String>,
    #[serde(default)]
    below_minimum: bool,
    #[serde(default)]
    expect: Vec<String>,
}

fn check_cohort(p: &Policy, case: &CohortCase) {
    let candidates: Vec<Candidate> = case
        .candidates
        .iter()
        .map(|c| Candidate {
            application_id: c.app,
            institution_id: c.inst,
            institution_name: format!("Institution {}", c.inst),
            score: c.score,
            passed: c.passed,
            decided_on: date(&c.decided),
            already_in_cohort: c.cohort.clone(),
        })
        .collect();
    let result = plan(p, &case.phase, &candidates);
    if let Some(code) = &case.error {
        assert_eq!(
            result.err().map(|e| e.code()),
            Some(code.as_str()),
            "{}",
            case.name
        );
        return;
    }
    let plan = result.unwrap();
    let got: Vec<String> = plan
        .candidates
        .iter()
        .map(|c| format!("{} {}", c.application_id, c.code.as_str()))
        .collect();
    assert_eq!(got, case.expect, "{}", case.name);
    assert_eq!(plan.below_minimum, case.below_minimum, "{}", case.name);
    let included = plan.candidates.iter().filter(|c| c.included).count() as u32;
    assert_eq!(plan.included_count, included, "{}", case.name);
    if let Some(max) = plan.max {
        assert!(included <= max, "{}", case.name);
    }
    for c in &plan.candidates {
        assert_eq!(c.reason.code, c.code.as_str());
        assert!(!c.reason.ko.is_empty() && !c.reason.en.is_empty());
    }
}

#[test]
fn cohorts() {
    #[derive(Deserialize)]
    struct File {
        case: Vec<CohortCase>,
    }
    let p = policy();
    let file: File = load("cohort.toml");
    for case in &file.case {
        check_cohort(&p, case);
    }
}

// ---------------------------------------------------------------------------------------------
// Immunity

#[derive(Deserialize)]
struct ImmunityCase {
    name: String,
    set: toml::Table,
    eligible: bool,
    in_scope: bool,
    failed: Vec<String>,
}

fn check_immunity(p: &Policy, base: &toml::Table, case: &ImmunityCase) {
    let mut facts = base.clone();
    facts.extend(case.set.clone());
    let facts: ImmunityFacts = toml::Value::Table(facts).try_into().unwrap();
    let d = evaluate(p, &facts);
    assert_eq!(d.eligible, case.eligible, "{}: {:#?}", case.name, d.reasons);
    assert_eq!(d.in_scope, case.in_scope, "{}", case.name);
    let failed: Vec<&str> = d
        .criteria
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.rule.as_str())
        .chain(
            d.work_plan
                .iter()
                .chain(&d.post_event)
                .filter(|s| !s.present)
                .map(|s| s.id.as_str()),
        )
        .collect();
    assert_eq!(failed, case.failed, "{}", case.name);
    assert_eq!(
        d.criteria.len(),
        p.immunity.criteria.len(),
        "{}: every criterion shown",
        case.name
    );
    assert_eq!(d.policy_version, 7);
}

#[test]
fn immunity() {
    #[derive(Deserialize)]
    struct File {
        base: toml::Table,
        case: Vec<ImmunityCase>,
    }
    let p = policy();
    let file: File = load("immunity.toml");
    for case in &file.case {
        check_immunity(&p, &file.base, case);
    }
}

// ---------------------------------------------------------------------------------------------
// Classification

#[derive(Deserialize)]
struct ClassificationCase {
    name: String,
    resource: ResourceFacts,
    class: String,
    decided_by: String,
    matched: Vec<String>,
}

fn check_classification(p: &Policy, case: &ClassificationCase) {
    let c = classify(p, &case.resource);
    assert_eq!(c.class.as_str(), case.class, "{}", case.name);
    assert_eq!(c.decided_by, case.decided_by, "{}", case.name);
    let matched: Vec<&str> = c.matched.iter().map(|m| m.rule.as_str()).collect();
    assert_eq!(matched, case.matched, "{}", case.name);
    // The reasons name the decider first and then every other match.
    assert_eq!(
        c.reasons.len(),
        1 + case
            .matched
            .iter()
            .filter(|m| **m != case.decided_by)
            .count()
    );
    assert_eq!(c.policy_version, 7);
}

#[test]
fn classification() {
    #[derive(Deserialize)]
    struct File {
        case: Vec<ClassificationCase>,
    }
    let p = policy();
    let file: File = load("classification.toml");
    for case in &file.case {
        check_classification(&p, case);
    }
}

// ---------------------------------------------------------------------------------------------
// Priority

#[derive(Deserialize)]
struct PriorityCase {
    row: String,
    inputs: PriorityInputs,
    priority: String,
    sla_days: u32,
    due: Datetime,
}

fn check_priority(p: &Policy, found_on: NaiveDate, case: &PriorityCase) {
    let d = decide(p, &case.inputs, found_on).unwrap();
    assert_eq!(d.row, case.row);
    assert_eq!(d.priority.as_str(), case.priority, "{}", case.row);
    assert_eq!(d.sla_days, case.sla_days, "{}", case.row);
    assert_eq!(d.due_date, date(&case.due), "{}", case.row);
    assert_eq!(d.inputs, case.inputs);
    assert_eq!(d.policy_version, 7);
}

#[test]
fn priority() {
    #[derive(Deserialize)]
    struct Zone {
        zone: NetworkZone,
        exposure: String,
    }
    #[derive(Deserialize)]
    struct Exploit {
        kev: bool,
        authority_advisory: bool,
        epss: Option<f64>,
        expect: String,
    }
    #[derive(Deserialize)]
    struct File {
        found_on: Datetime,
        case: Vec<PriorityCase>,
        zone: Vec<Zone>,
        exploitation: Vec<Exploit>,
    }
    let p = policy();
    let file: File = load("priority.toml");
    let found_on = date(&file.found_on);
    for case in &file.case {
        check_priority(&p, found_on, case);
    }
    // Every row of the table has its case, so a new row cannot go untested.
    let covered: Vec<&str> = file.case.iter().map(|c| c.row.as_str()).collect();
    let rows: Vec<&str> = p.priority.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(covered, rows);
    for z in &file.zone {
        let got = serde_json::to_value(exposure_from_zone(z.zone)).unwrap();
        assert_eq!(got, z.exposure.as_str());
    }
    for e in &file.exploitation {
        let got = serde_json::to_value(exploitation_from(e.kev, e.authority_advisory, e.epss, &p))
            .unwrap();
        assert_eq!(
            got,
            e.expect.as_str(),
            "kev {} advisory {} epss {:?}",
            e.kev,
            e.authority_advisory,
            e.epss
        );
    }
}

#[derive(Deserialize)]
struct WeaknessCase {
    name: String,
    cwes: Vec<u32>,
    #[serde(default)]
    properties: Vec<(String, String)>,
    level_severity: haechi_policy::Severity,
    exposure: haechi_policy::Exposure,
    class: haechi_policy::ResourceClass,
    class_expected: haechi_policy::WeaknessClass,
    matched: Option<u32>,
    path: Vec<u32>,
    exploit: bool,
    priority: String,
    row: String,
}

/// A finding without a CVE, from its CWEs and result properties to its priority: the weakness
/// class with the CWE that matched, the tool's exploit evidence, the automatable input the class
/// gives, and the row that decides.
fn check_weakness(p: &Policy, case: &WeaknessCase) {
    let m = weakness::classify(p, &case.cwes);
    assert_eq!(m.class, case.class_expected, "{}", case.name);
    assert_eq!(m.matched, case.matched, "{}", case.name);
    assert_eq!(m.path, case.path, "{}", case.name);
    if m.class != haechi_policy::WeaknessClass::Unmapped {
        assert!(
            m.source.as_deref().is_some_and(|s| s.contains("20")),
            "{}: the list's name and year",
            case.name
        );
    }
    let exploit = weakness::tool_exploit(p, &case.properties);
    assert_eq!(exploit.is_some(), case.exploit, "{}", case.name);
    let inputs = PriorityInputs {
        authority_advisory: false,
        exploitation: if exploit.is_some() {
            haechi_policy::Exploitation::Poc
        } else {
            haechi_policy::Exploitation::None
        },
        exposure: case.exposure,
        automatable: m.automatable,
        class: case.class,
        severity: case.level_severity,
        weakness: m.class,
    };
    let d = decide(p, &inputs, NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()).unwrap();
    assert_eq!(d.priority.as_str(), case.priority, "{}", case.name);
    assert_eq!(d.row, case.row, "{}", case.name);
}

#[test]
fn weakness() {
    #[derive(Deserialize)]
    struct File {
        finding: Vec<WeaknessCase>,
    }
    let p = policy();
    for case in &load::<File>("weakness.toml").finding {
        check_weakness(&p, case);
    }
    // Related CWEs: the same, or one refining the other; siblings are not.
    assert!(weakness::related(&p, 78, 77));
    assert!(weakness::related(&p, 74, 89));
    assert!(!weakness::related(&p, 78, 89));
}

#[test]
fn weakness_table_is_validated() {
    let cases = [
        (
            "parents = [",
            "parents = [\n  [78, 78],",
            "priority.weakness.parents[0]",
        ),
        (
            "parents = [",
            "parents = [\n  [77, 78],",
            "priority.weakness.parents",
        ),
        (
            "cwes = [327,",
            "cwes = [89, 327,",
            "priority.weakness.classes[2].cwes",
        ),
        (
            "class = \"hygiene\"",
            "class = \"unmapped\"",
            "priority.weakness.classes[2].class",
        ),
        (
            "when = { weakness = \"direct\", exploitation = \"poc\", class",
            "when = { weakness = [], exploitation = \"poc\", class",
            "priority.rows[5].when.weakness",
        ),
    ];
    for (from, to, path) in cases {
        assert!(DEFAULT_POLICY_TOML.contains(from), "{from}");
        let text = DEFAULT_POLICY_TOML.replacen(from, to, 1);
        let err = Policy::from_toml_str(&text).expect_err(path);
        assert!(err.to_string().contains(path), "{path}: {err}");
    }
}

#[test]
fn priority_sla_can_differ_by_class() {
    let text = DEFAULT_POLICY_TOML.replace(
        "[priority.sla_days]\n",
        "[priority.sla_days_by_class.C]\nP3 = 14\n\n[priority.sla_days]\n",
    );
    let p = Policy::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}"));
    #[derive(Deserialize)]
    struct File {
        case: Vec<PriorityCase>,
    }
    let cases = load::<File>("priority.toml").case;
    let found_on = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    let class_c = cases
        .iter()
        .find(|c| c.row == "p3-class-c-critical")
        .unwrap();
    assert_eq!(decide(&p, &class_c.inputs, found_on).unwrap().sla_days, 14);
    let other = cases.iter().find(|c| c.row == "p3-open-critical").unwrap();
    assert_eq!(decide(&p, &other.inputs, found_on).unwrap().sla_days, 30);
}

// ---------------------------------------------------------------------------------------------
// Letters, obligations, incidents

#[derive(Deserialize)]
struct ScheduleCase {
    name: String,
    issued: Datetime,
    expires: Datetime,
    expect: Vec<String>,
}

fn check_schedule(p: &Policy, case: &ScheduleCase) {
    let got: Vec<String> = reporting::schedule(p, date(&case.issued), date(&case.expires))
        .unwrap()
        .iter()
        .map(|o| {
            let kind = serde_json::to_value(o.kind).unwrap();
            format!(
                "{} {} {} {} {}",
                kind.as_str().unwrap(),
                o.sequence,
                o.period_start,
                o.period_end,
                o.due
            )
        })
        .collect();
    assert_eq!(got, case.expect, "{}", case.name);
}

#[test]
fn letters_and_obligations() {
    #[derive(Deserialize)]
    struct Expiry {
        issued: Datetime,
        expires: Datetime,
    }
    #[derive(Deserialize)]
    struct Number {
        year: i32,
        seq: u32,
        expect: String,
    }
    #[derive(Deserialize)]
    struct Reportable {
        outage_minutes: u32,
        subscribers: u64,
        reportable: bool,
        trigger: String,
    }
    #[derive(Deserialize)]
    struct Deadline {
        aware_at: Datetime,
        initial_due: Datetime,
        first_interim_due: Datetime,
        closed_at: Datetime,
        interim_dues: Vec<Datetime>,
    }
    #[derive(Deserialize)]
    struct File {
        expiry: Vec<Expiry>,
        number: Vec<Number>,
        schedule: Vec<ScheduleCase>,
        reportable: Vec<Reportable>,
        deadline: Vec<Deadline>,
    }
    let p = policy();
    let file: File = load("letters.toml");
    for e in &file.expiry {
        assert_eq!(
            program::letter_expiry(&p, date(&e.issued)),
            date(&e.expires),
            "issued {}",
            e.issued
        );
    }
    for n in &file.number {
        assert_eq!(program::format_letter_number(&p, n.year, n.seq), n.expect);
    }
    for case in &file.schedule {
        check_schedule(&p, case);
    }
    for r in &file.reportable {
        let got = incident::is_reportable(&p, r.outage_minutes, r.subscribers);
        assert_eq!(
            (got.reportable, got.trigger.as_str()),
            (r.reportable, r.trigger.as_str())
        );
        assert_eq!(got.reasons[0].code, r.trigger);
    }
    for d in &file.deadline {
        let got = incident::deadlines(&p, datetime(&d.aware_at));
        assert_eq!(got.initial_due, datetime(&d.initial_due));
        assert_eq!(got.first_interim_due, datetime(&d.first_interim_due));
        let interims: Vec<NaiveDateTime> = d.interim_dues.iter().map(datetime).collect();
        assert_eq!(got.interim_dues_until(datetime(&d.closed_at)), interims);
    }
    let issued = NaiveDate::from_ymd_opt(2026, 6, 23).unwrap();
    let expires = program::letter_expiry(&p, issued);
    let reminders = program::reminder_dates(&p, expires);
    assert_eq!(
        reminders
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["2027-04-23", "2027-05-23", "2027-06-15"]
    );
    assert_eq!(
        reporting::schedule(&p, expires, issued).unwrap_err().code(),
        "invalid_period"
    );
}

#[test]
fn decisions_serialise_to_json_for_the_store() {
    let p = policy();
    let file: toml::Table = toml::from_str(&read("classification.toml")).unwrap();
    let cases: Vec<ClassificationCase> = file["case"].clone().try_into().unwrap();
    let json = serde_json::to_value(classify(&p, &cases[1].resource)).unwrap();
    assert_eq!(json["class"], "C");
    assert_eq!(json["policy_version"], 7);
    let back: haechi_policy::classification::Classification = serde_json::from_value(json).unwrap();
    assert_eq!(back.decided_by, "c-personal-credit");
}

#[test]
fn clustering() {
    use haechi_policy::cluster::{cluster, split_location, ClusterCandidate};
    type Row = (i64, i64, String, u32, Vec<u32>, String, String, u8);
    #[derive(Deserialize)]
    struct Case {
        name: String,
        findings: Vec<Row>,
        clusters: Vec<Vec<i64>>,
    }
    #[derive(Deserialize)]
    struct File {
        case: Vec<Case>,
    }
    let p = policy();
    for case in load::<File>("clusters.toml").case {
        let candidates: Vec<ClusterCandidate> = case
            .findings
            .into_iter()
            .map(
                |(id, res, path, line, cwes, tool, model, rank)| ClusterCandidate {
                    finding_id: id,
                    resource_id: Some(res),
                    path,
                    line,
                    cwes,
                    tool,
                    ai_model: (!model.is_empty()).then_some(model),
                    priority_rank: rank,
                },
            )
            .collect();
        let members = cluster(&p, &candidates);
        let mut got: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for m in &members {
            got.entry(m.cluster_id).or_default().push(m.finding_id);
            // Every member but the anchor says why it is there.
            if let Some(r) = &m.reason {
                assert!(
                    r.line.abs_diff(r.anchor_line) <= r.line_tolerance,
                    "{}",
                    case.name
                );
                assert!(weakness::related(&p, r.cwe, r.anchor_cwe), "{}", case.name);
            }
        }
        let mut got: Vec<Vec<i64>> = got
            .into_iter()
            .map(|(leader, mut ids)| {
                ids.retain(|i| *i != leader);
                ids.insert(0, leader);
                ids
            })
            .collect();
        got.sort();
        let mut want = case.clusters;
        want.sort();
        assert_eq!(got, want, "{}", case.name);
    }
    // Without [priority.clustering] nothing is grouped.
    let mut off = p.clone();
    off.priority.clustering = None;
    let two = |id| ClusterCandidate {
        finding_id: id,
        resource_id: None,
        path: "a.py".into(),
        line: 1,
        cwes: vec![78],
        tool: format!("tool {id}"),
        ai_model: None,
        priority_rank: 2,
    };
    assert_eq!(cluster(&p, &[two(1), two(2)]).len(), 2);
    assert!(cluster(&off, &[two(1), two(2)]).is_empty());

    for (loc, want) in [
        ("src/gw.py:21:5", Some(("src/gw.py", 21))),
        ("src/gw.py:21", Some(("src/gw.py", 21))),
        ("C:/src/gw.py:7:1", Some(("C:/src/gw.py", 7))),
        ("src/gw.py", None),
        (":4", None),
    ] {
        assert_eq!(split_location(loc), want, "{loc}");
    }
}
