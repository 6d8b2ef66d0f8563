//! Semantic validation of a [`Policy`]: the checks serde cannot make, all collected in one pass.
//!
//! Each violation names the field path as written in the TOML document (`phase[1].max`), so the
//! loader can turn it into a line and column. Nothing here reads files or knows about spans.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{AnyOf, Policy, Priority, Rubric};
use crate::program::letter_format;
use crate::rule::{rule_problems, FieldType, Rule};
use crate::{eligibility, immunity};

/// One semantic problem: where (a field path) and what.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

#[derive(Default)]
struct Check {
    found: Vec<Violation>,
}

impl Check {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.found.push(Violation {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Ids must be present, free of spaces, and unique within their list.
    fn ids<'a>(&mut self, list: &str, ids: impl IntoIterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        for (i, id) in ids.into_iter().enumerate() {
            let path = format!("{list}[{i}].id");
            if id.trim().is_empty() || id.chars().any(char::is_whitespace) {
                self.fail(
                    path,
                    format!("id `{id}` must be non-empty and contain no spaces"),
                );
            } else if !seen.insert(id) {
                self.fail(path, format!("id `{id}` is used twice in {list}"));
            }
        }
    }

    fn labels(&mut self, path: &str, label_ko: &str, label_en: &str) {
        if label_ko.trim().is_empty() {
            self.fail(format!("{path}.label_ko"), "the Korean label is empty");
        }
        if label_en.trim().is_empty() {
            self.fail(format!("{path}.label_en"), "the English label is empty");
        }
    }

    fn positive(&mut self, path: &str, value: u64) {
        if value == 0 {
            self.fail(path, "must be at least 1");
        }
    }

    fn any_of<T>(&mut self, path: &str, list: &Option<AnyOf<T>>) {
        if list.as_ref().is_some_and(|l| l.0.is_empty()) {
            self.fail(
                path,
                "an empty list never matches; remove the condition or list values",
            );
        }
    }

    fn rules(&mut self, list: &str, rules: &[Rule], fields: &[(&str, FieldType)]) {
        self.ids(list, rules.iter().map(|r| r.id.as_str()));
        for (i, rule) in rules.iter().enumerate() {
            let path = format!("{list}[{i}]");
            self.labels(&path, &rule.label_ko, &rule.label_en);
            match fields.iter().find(|(name, _)| *name == rule.field) {
                None => {
                    let known: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                    self.fail(
                        format!("{path}.field"),
                        format!(
                            "unknown field `{}`; known: {}",
                            rule.field,
                            known.join(", ")
                        ),
                    );
                }
                Some((_, field_type)) => {
                    for (key, message) in rule_problems(rule, *field_type) {
                        self.fail(format!("{path}.{key}"), message);
                    }
                }
            }
        }
    }
}

impl Policy {
    /// Every semantic problem of this policy; empty when it is valid.
    pub fn validate(&self) -> Vec<Violation> {
        let mut c = Check::default();
        self.check_program(&mut c);
        self.check_eligibility(&mut c);
        self.check_phases(&mut c);
        self.check_evaluation(&mut c);
        self.check_reporting(&mut c);
        self.check_immunity(&mut c);
        self.check_classification(&mut c);
        self.check_priority(&mut c);
        self.check_weakness(&mut c);
        self.check_sharing(&mut c);
        if let Some(r) = &self.removal {
            for (path, message) in crate::removal::problems(r) {
                c.fail(path, message);
            }
        }
        c.found
    }

    fn check_program(&self, c: &mut Check) {
        let p = &self.program;
        if p.name_ko.trim().is_empty() {
            c.fail("program.name_ko", "the Korean name is empty");
        }
        if p.name_en.trim().is_empty() {
            c.fail("program.name_en", "the English name is empty");
        }
        c.positive(
            "program.relief_validity_months",
            p.relief_validity_months.into(),
        );
        if let Err(message) = letter_format(&p.letter_number_format) {
            c.fail("program.letter_number_format", message);
        }
        c.positive("program.renewal_window_days", p.renewal_window_days.into());
        let mut seen = HashSet::new();
        for (i, days) in p.expiry_reminder_days.iter().enumerate() {
            let path = format!("program.expiry_reminder_days[{i}]");
            if *days == 0 {
                c.fail(path, "reminder days must be positive (days before expiry)");
            } else if !seen.insert(days) {
                c.fail(path, format!("{days} days is listed twice"));
            }
        }
    }

    fn check_eligibility(&self, c: &mut Check) {
        if self.eligibility.rules.is_empty() {
            c.fail(
                "eligibility.rules",
                "at least one eligibility rule is needed",
            );
        }
        c.rules(
            "eligibility.rules",
            &self.eligibility.rules,
            eligibility::FIELDS,
        );
    }

    fn check_phases(&self, c: &mut Check) {
        if self.phases.is_empty() {
            c.fail("phase", "at least one [[phase]] is needed");
        }
        c.ids("phase", self.phases.iter().map(|p| p.id.as_str()));
        for (i, phase) in self.phases.iter().enumerate() {
            let path = format!("phase[{i}]");
            c.labels(&path, &phase.label_ko, &phase.label_en);
            if phase.start > phase.end {
                c.fail(
                    format!("{path}.end"),
                    format!("ends ({}) before it starts ({})", phase.end, phase.start),
                );
            }
            if let Some(max) = phase.max {
                if max == 0 {
                    c.fail(
                        format!("{path}.max"),
                        "max must be at least 1 (leave it out for no limit)",
                    );
                } else if phase.min > max {
                    c.fail(
                        format!("{path}.max"),
                        format!("max {max} is below min {}", phase.min),
                    );
                }
            }
            if i > 0 {
                let before = &self.phases[i - 1];
                if phase.start <= before.end {
                    c.fail(
                        format!("{path}.start"),
                        format!(
                            "starts {} but phase[{}] (`{}`) runs to {}: phases must be in date order and must not overlap",
                            phase.start,
                            i - 1,
                            before.id,
                            before.end
                        ),
                    );
                }
            }
        }
    }

    fn check_evaluation(&self, c: &mut Check) {
        let e = &self.evaluation;
        c.positive(
            "evaluation.reviewers_per_application",
            e.reviewers_per_application.into(),
        );
        let top = e.scale.len();
        if !(2..=10).contains(&top) {
            c.fail(
                "evaluation.scale",
                format!("the scale needs 2 to 10 levels, not {top}"),
            );
        }
        for (i, level) in e.scale.iter().enumerate() {
            let path = format!("evaluation.scale[{i}]");
            if usize::from(level.level) != i + 1 {
                c.fail(
                    format!("{path}.level"),
                    format!(
                        "levels must run 1, 2, 3, … in order; expected {} here, found {}",
                        i + 1,
                        level.level
                    ),
                );
            }
            c.labels(&path, &level.label_ko, &level.label_en);
        }
        let top = top as f64;
        if e.criteria.is_empty() {
            c.fail("evaluation.criteria", "at least one criterion is needed");
        }
        c.ids(
            "evaluation.criteria",
            e.criteria.iter().map(|k| k.id.as_str()),
        );
        for (i, criterion) in e.criteria.iter().enumerate() {
            let path = format!("evaluation.criteria[{i}]");
            c.labels(&path, &criterion.label_ko, &criterion.label_en);
            if !(criterion.weight.is_finite() && criterion.weight > 0.0) {
                c.fail(
                    format!("{path}.weight"),
                    format!("weight must be above 0, not {}", criterion.weight),
                );
            }
        }
        for rubric in Rubric::ALL {
            let r = rubric.as_str();
            if !e.criteria.is_empty() && !e.criteria.iter().any(|k| k.rubric == rubric) {
                c.fail(
                    "evaluation.criteria",
                    format!("no criterion belongs to the `{r}` rubric"),
                );
            }
            let mark = e.pass_marks.get(rubric);
            let in_scale = |v: f64| v.is_finite() && (1.0..=top).contains(&v);
            if !in_scale(mark.min_mean) {
                c.fail(
                    format!("evaluation.pass_marks.{r}.min_mean"),
                    format!("pass mark {} is outside the scale 1..={top}", mark.min_mean),
                );
            }
            if let Some(floor) = mark.min_criterion_mean {
                if !in_scale(floor) {
                    c.fail(
                        format!("evaluation.pass_marks.{r}.min_criterion_mean"),
                        format!("floor {floor} is outside the scale 1..={top}"),
                    );
                }
            }
        }
        let spread = f64::from(e.disagreement_spread);
        if spread < 1.0 || spread > top - 1.0 {
            c.fail(
                "evaluation.disagreement_spread",
                format!(
                    "spread must be between 1 and {} (the widest gap the scale allows)",
                    top - 1.0
                ),
            );
        }
    }

    fn check_reporting(&self, c: &mut Check) {
        let r = &self.reporting;
        c.positive("reporting.cadence_months", r.cadence_months.into());
        let mut seen = HashSet::new();
        for (i, days) in r.report_reminder_days.iter().enumerate() {
            let path = format!("reporting.report_reminder_days[{i}]");
            if *days == 0 {
                c.fail(
                    path,
                    "reminder days must be positive (days before the due date)",
                );
            } else if !seen.insert(days) {
                c.fail(path, format!("{days} days is listed twice"));
            }
        }
        let a = &r.attachments;
        c.positive("reporting.attachments.max_bytes", a.max_bytes);
        if a.max_total_bytes < a.max_bytes {
            c.fail(
                "reporting.attachments.max_total_bytes",
                format!(
                    "{} bytes is less than one file's limit of {} bytes",
                    a.max_total_bytes, a.max_bytes
                ),
            );
        }
        if a.content_types.is_empty() {
            c.fail(
                "reporting.attachments.content_types",
                "no file type could be attached; name at least one media type",
            );
        }
        for (i, t) in a.content_types.iter().enumerate() {
            let ok = t.split_once('/').is_some_and(|(k, s)| {
                !k.trim().is_empty() && !s.trim().is_empty() && !t.contains(';')
            });
            if !ok {
                c.fail(
                    format!("reporting.attachments.content_types[{i}]"),
                    format!("'{t}' is not a media type such as application/pdf"),
                );
            }
        }
        c.positive(
            "reporting.saas_self_evaluation_months",
            r.saas_self_evaluation_months.into(),
        );
        let i = &r.incident;
        c.positive(
            "reporting.incident.initial_report_days",
            i.initial_report_days.into(),
        );
        c.positive(
            "reporting.incident.interim_report_months",
            i.interim_report_months.into(),
        );
        c.positive(
            "reporting.incident.interim_repeat_months",
            i.interim_repeat_months.into(),
        );
        let t = &i.trigger;
        c.positive(
            "reporting.incident.trigger.outage_minutes",
            t.outage_minutes.into(),
        );
        c.positive(
            "reporting.incident.trigger.large_service_outage_minutes",
            t.large_service_outage_minutes.into(),
        );
        c.positive(
            "reporting.incident.trigger.large_service_subscribers",
            t.large_service_subscribers,
        );
        if t.large_service_outage_minutes > t.outage_minutes {
            c.fail(
                "reporting.incident.trigger.large_service_outage_minutes",
                format!(
                    "{} minutes is longer than the general trigger of {} minutes, so it would never apply",
                    t.large_service_outage_minutes, t.outage_minutes
                ),
            );
        }
    }

    fn check_immunity(&self, c: &mut Check) {
        let m = &self.immunity;
        if m.scope.is_empty() {
            c.fail("immunity.scope", "at least one activity must be in scope");
        }
        let mut seen = HashSet::new();
        for (i, kind) in m.scope.iter().enumerate() {
            if !seen.insert(kind) {
                c.fail(
                    format!("immunity.scope[{i}]"),
                    format!("`{}` is listed twice", kind.as_str()),
                );
            }
        }
        c.rules("immunity.criteria", &m.criteria, immunity::FIELDS);
        let mut seen = HashSet::new();
        for (list, items) in [
            ("immunity.work_plan", &m.work_plan),
            ("immunity.post_event", &m.post_event),
        ] {
            for (i, item) in items.iter().enumerate() {
                let path = format!("{list}[{i}]");
                c.labels(&path, &item.label_ko, &item.label_en);
                if !seen.insert(item.id) {
                    c.fail(
                        format!("{path}.id"),
                        format!("`{}` is required twice", item.id.as_str()),
                    );
                }
            }
        }
    }

    fn check_classification(&self, c: &mut Check) {
        let k = &self.classification;
        c.labels(
            "classification.default",
            &k.default.label_ko,
            &k.default.label_en,
        );
        c.ids(
            "classification.rules",
            k.rules.iter().map(|r| r.id.as_str()),
        );
        for (i, rule) in k.rules.iter().enumerate() {
            let path = format!("classification.rules[{i}]");
            c.labels(&path, &rule.label_ko, &rule.label_en);
            if rule.id == k.default.id {
                c.fail(
                    format!("{path}.id"),
                    format!("`{}` is already the default's id", rule.id),
                );
            }
            let w = &rule.when;
            if w.is_empty() {
                c.fail(
                    format!("{path}.when"),
                    "a rule without conditions matches every resource; use classification.default instead",
                );
            }
            c.any_of(&format!("{path}.when.kind"), &w.kind);
            c.any_of(&format!("{path}.when.network_zone"), &w.network_zone);
            c.any_of(
                &format!("{path}.when.business_function"),
                &w.business_function,
            );
            c.any_of(&format!("{path}.when.data_kinds"), &w.data_kinds);
        }
    }

    fn check_priority(&self, c: &mut Check) {
        let p = &self.priority;
        if !(p.epss_poc_threshold > 0.0 && p.epss_poc_threshold <= 1.0) {
            c.fail(
                "priority.epss_poc_threshold",
                format!(
                    "an EPSS probability must be above 0 and at most 1, not {}",
                    p.epss_poc_threshold
                ),
            );
        }
        c.ids("priority.rows", p.rows.iter().map(|r| r.id.as_str()));
        let last = p.rows.len().saturating_sub(1);
        for (i, row) in p.rows.iter().enumerate() {
            let path = format!("priority.rows[{i}]");
            let w = &row.when;
            c.any_of(&format!("{path}.when.exploitation"), &w.exploitation);
            c.any_of(&format!("{path}.when.exposure"), &w.exposure);
            c.any_of(&format!("{path}.when.automatable"), &w.automatable);
            c.any_of(&format!("{path}.when.class"), &w.class);
            c.any_of(&format!("{path}.when.severity"), &w.severity);
            c.any_of(&format!("{path}.when.weakness"), &w.weakness);
            if w.is_catch_all() && i != last {
                c.fail(
                    format!("{path}.when"),
                    format!(
                        "row `{}` matches everything, so the rows after it can never apply",
                        row.id
                    ),
                );
            }
        }
        match p.rows.last() {
            None => c.fail("priority.rows", "the decision table has no rows"),
            Some(row) if !row.when.is_catch_all() => c.fail(
                format!("priority.rows[{last}].when"),
                format!(
                    "the last row (`{}`) must be a catch-all (`when = {{}}`) so every finding gets a priority",
                    row.id
                ),
            ),
            Some(_) => {}
        }
        let missing: Vec<&str> = Priority::ALL
            .iter()
            .filter(|q| !p.sla_days.contains_key(q))
            .map(|q| q.as_str())
            .collect();
        if !missing.is_empty() {
            c.fail(
                "priority.sla_days",
                format!("no SLA for {}", missing.join(", ")),
            );
        }
        for (priority, days) in &p.sla_days {
            if *days == 0 {
                c.fail(
                    format!("priority.sla_days.{}", priority.as_str()),
                    "SLA days must be positive",
                );
            }
        }
        for (class, table) in &p.sla_days_by_class {
            for (priority, days) in table {
                if *days == 0 {
                    c.fail(
                        format!(
                            "priority.sla_days_by_class.{}.{}",
                            class.as_str(),
                            priority.as_str()
                        ),
                        "SLA days must be positive",
                    );
                }
            }
        }
    }

    fn check_weakness(&self, c: &mut Check) {
        let w = &self.priority.weakness;
        let mut parent: HashMap<u32, u32> = HashMap::new();
        for (i, [child, up]) in w.parents.iter().enumerate() {
            let path = format!("priority.weakness.parents[{i}]");
            if child == up {
                c.fail(path, format!("CWE-{child} cannot be its own parent"));
            } else if let Some(other) = parent.insert(*child, *up) {
                c.fail(
                    path,
                    format!("CWE-{child} already has parent CWE-{other}; give one parent per CWE"),
                );
            }
        }
        // A cycle would make "nearest mapped ancestor" endless.
        for start in parent.keys() {
            let mut at = *start;
            for _ in 0..=parent.len() {
                match parent.get(&at) {
                    Some(up) if up == start => {
                        c.fail(
                            "priority.weakness.parents",
                            format!("the parents of CWE-{start} lead back to it"),
                        );
                        break;
                    }
                    Some(up) => at = *up,
                    None => break,
                }
            }
        }
        let mut seen: HashMap<u32, usize> = HashMap::new();
        for (i, class) in w.classes.iter().enumerate() {
            let path = format!("priority.weakness.classes[{i}]");
            if class.class == crate::WeaknessClass::Unmapped {
                c.fail(
                    format!("{path}.class"),
                    "`unmapped` is what a CWE outside every class gets; it lists no CWEs",
                );
            }
            if class.source.trim().is_empty() {
                c.fail(
                    format!("{path}.source"),
                    "name the public list (and its year) the CWEs come from",
                );
            }
            for cwe in &class.cwes {
                if let Some(j) = seen.insert(*cwe, i) {
                    c.fail(
                        format!("{path}.cwes"),
                        format!("CWE-{cwe} is already in classes[{j}]"),
                    );
                }
            }
        }
        let t = &self.priority.tool_evidence;
        if t.exploit_properties.iter().any(|p| p.trim().is_empty()) {
            c.fail(
                "priority.tool_evidence.exploit_properties",
                "a property name is empty",
            );
        }
        if let Some(k) = &self.priority.clustering {
            if k.line_tolerance > 50 {
                c.fail(
                    "priority.clustering.line_tolerance",
                    format!(
                        "{} lines would group unrelated places of a file; use at most 50",
                        k.line_tolerance
                    ),
                );
            }
        }
    }

    fn check_sharing(&self, c: &mut Check) {
        let s = &self.sharing;
        if s.anonymity_k < 2 {
            c.fail(
                "sharing.anonymity_k",
                format!(
                    "k = {} would let a single institution be singled out; use at least 2",
                    s.anonymity_k
                ),
            );
        }
        if s.dominance.top_n < 1 {
            c.fail(
                "sharing.dominance.top_n",
                "the dominance rule counts at least the largest contributor (1 or more)",
            );
        }
        if !(s.dominance.max_percent > 0.0 && s.dominance.max_percent <= 100.0) {
            c.fail(
                "sharing.dominance.max_percent",
                format!(
                    "{} is not a share of a cell; use a percentage above 0 and at most 100",
                    s.dominance.max_percent
                ),
            );
        }
        let kinds: BTreeSet<&String> = s.default_tlp.keys().collect();
        for kind in kinds {
            let snake = !kind.is_empty()
                && kind
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            if !snake {
                c.fail(
                    format!("sharing.default_tlp.{kind}"),
                    "bulletin kinds are written in snake_case (a-z, 0-9, _)",
                );
            }
        }
    }
}
