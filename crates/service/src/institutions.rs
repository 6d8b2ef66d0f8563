//! C1 institution registry (CRUD, CSV import/export, figure history) and C2 eligibility screening.

use chrono::NaiveDate;
use haechi_core::institution::FigureChange;
use haechi_core::{Actor, FieldError, Institution, InstitutionInput, Sector, SizeClass};
use haechi_policy::eligibility::{self, EligibilityDecision};
use haechi_policy::{Fact, Facts};
use haechi_store::{EligibilityRecord, InstitutionFilter};
use serde::Serialize;

use crate::authz::{self, Action, Owner};
use crate::{record, to_json, Result, Service, ServiceError};

/// The CSV columns, in export order. Import requires the header to name them (any order).
pub const CSV_COLUMNS: [&str; 14] = [
    "code",
    "name_ko",
    "name_en",
    "sector",
    "total_assets_krw",
    "assets_as_of",
    "full_time_employees",
    "employees_as_of",
    "dedicated_ciso",
    "ciso_name",
    "size_class",
    "contact_name",
    "contact_email",
    "contact_phone",
];

/// What the eligibility rules may read of an institution.
struct InstitutionFacts<'a>(&'a InstitutionInput);

impl Facts for InstitutionFacts<'_> {
    fn fact(&self, field: &str) -> Option<Fact> {
        let i = self.0;
        Some(match field {
            "total_assets_krw" => Fact::Int(i.total_assets_krw),
            "full_time_employees" => Fact::Int(i.full_time_employees),
            "dedicated_ciso" => Fact::Bool(i.dedicated_ciso),
            "sector" => Fact::Text(i.sector.as_str().to_string()),
            "size_class" => Fact::Text(i.size_class.as_str().to_string()),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InstitutionView {
    pub institution: Institution,
    pub history: Vec<FigureChange>,
    pub eligibility: Option<EligibilityRecord>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScreeningResult {
    pub institution_id: i64,
    pub name: String,
    pub eligible: bool,
    pub policy_version: i64,
    pub rules: Vec<ScreeningRule>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScreeningRule {
    pub rule: String,
    pub label_ko: String,
    pub label_en: String,
    pub observed: serde_json::Value,
    pub threshold: serde_json::Value,
    pub passed: bool,
}

fn screening_result(inst: &Institution, d: &EligibilityDecision) -> ScreeningResult {
    ScreeningResult {
        institution_id: inst.id,
        name: inst.input.name_ko.clone(),
        eligible: d.eligible,
        policy_version: d.policy_version,
        rules: d
            .rules
            .iter()
            .map(|r| ScreeningRule {
                rule: r.rule.clone(),
                label_ko: r.label_ko.clone(),
                label_en: r.label_en.clone(),
                observed: r.observed.clone(),
                threshold: r.threshold.clone(),
                passed: r.passed,
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImportReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// The figure fields whose changes are kept as history.
fn figure_changes(
    old: &InstitutionInput,
    new: &InstitutionInput,
) -> Vec<(&'static str, String, String, Option<NaiveDate>)> {
    let mut out = Vec::new();
    if old.total_assets_krw != new.total_assets_krw || old.assets_as_of != new.assets_as_of {
        out.push((
            "total_assets_krw",
            old.total_assets_krw.to_string(),
            new.total_assets_krw.to_string(),
            Some(new.assets_as_of),
        ));
    }
    if old.full_time_employees != new.full_time_employees
        || old.employees_as_of != new.employees_as_of
    {
        out.push((
            "full_time_employees",
            old.full_time_employees.to_string(),
            new.full_time_employees.to_string(),
            Some(new.employees_as_of),
        ));
    }
    if old.dedicated_ciso != new.dedicated_ciso {
        out.push((
            "dedicated_ciso",
            old.dedicated_ciso.to_string(),
            new.dedicated_ciso.to_string(),
            None,
        ));
    }
    if old.ciso_name != new.ciso_name {
        out.push((
            "ciso_name",
            old.ciso_name.clone().unwrap_or_default(),
            new.ciso_name.clone().unwrap_or_default(),
            None,
        ));
    }
    out
}

impl Service {
    pub async fn list_institutions(
        &self,
        actor: &Actor,
        filter: &InstitutionFilter,
    ) -> Result<(Vec<Institution>, i64)> {
        authz::authorize(actor, Action::ReadRegistry)?;
        Ok(haechi_store::list_institutions(self.store.pool(), filter).await?)
    }

    pub async fn get_institution(&self, actor: &Actor, id: i64) -> Result<InstitutionView> {
        authz::authorize(actor, Action::ReadInstitution)?;
        let institution = haechi_store::get_institution(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(actor, Action::ReadInstitution, Owner::Institution(id))?;
        let history = haechi_store::institution_history(self.store.pool(), id).await?;
        let eligibility = haechi_store::latest_eligibility(self.store.pool(), Some(id))
            .await?
            .into_iter()
            .next();
        Ok(InstitutionView {
            institution,
            history,
            eligibility,
        })
    }

    pub async fn create_institution(
        &self,
        actor: &Actor,
        input: InstitutionInput,
    ) -> Result<Institution> {
        authz::authorize(actor, Action::ManageInstitutions)?;
        let errors = input.validate();
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        let id = tx.insert_institution(&input).await?;
        tx.audit(record(
            actor,
            "institution.create",
            "institution",
            &id.to_string(),
            Some(id),
            None,
            Some(to_json(&input)),
        ))
        .await?;
        let inst = haechi_store::get_institution(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(inst)
    }

    pub async fn update_institution(
        &self,
        actor: &Actor,
        id: i64,
        input: InstitutionInput,
    ) -> Result<Institution> {
        authz::authorize(actor, Action::ManageInstitutions)?;
        let errors = input.validate();
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        let old = haechi_store::get_institution(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.apply_update(&mut tx, actor, &old, &input).await?;
        let inst = haechi_store::get_institution(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(inst)
    }

    async fn apply_update(
        &self,
        tx: &mut haechi_store::WriteTx,
        actor: &Actor,
        old: &Institution,
        input: &InstitutionInput,
    ) -> Result<()> {
        tx.update_institution(old.id, input).await?;
        let changed_at = self.clock_text().unwrap_or_else(haechi_store::now_text);
        for (field, old_value, new_value, as_of) in figure_changes(&old.input, input) {
            tx.insert_figure_change(&FigureChange {
                institution_id: old.id,
                field: field.into(),
                old_value,
                new_value,
                as_of,
                changed_at: changed_at.clone(),
                changed_by: actor.username.clone(),
            })
            .await?;
        }
        tx.audit(record(
            actor,
            "institution.update",
            "institution",
            &old.id.to_string(),
            Some(old.id),
            Some(to_json(&old.input)),
            Some(to_json(input)),
        ))
        .await?;
        Ok(())
    }

    /// Imports a registry CSV: all rows or none. Rows are matched to existing institutions by
    /// `code`; changed figures go to the history.
    pub async fn import_institutions_csv(
        &self,
        actor: &Actor,
        bytes: &[u8],
    ) -> Result<ImportReport> {
        authz::authorize(actor, Action::ManageInstitutions)?;
        if bytes.len() > self.config.max_import_bytes {
            return Err(ServiceError::TooLarge(format!(
                "the CSV is {} bytes; the limit is {} bytes",
                bytes.len(),
                self.config.max_import_bytes
            )));
        }
        let rows = parse_csv(bytes).map_err(ServiceError::invalid)?;
        let mut report = ImportReport {
            rows: rows.len(),
            ..Default::default()
        };
        let mut tx = self.store.begin().await?;
        for input in &rows {
            match haechi_store::get_institution_by_code(tx.conn(), &input.code).await? {
                Some(old) if old.input == *input => report.unchanged += 1,
                Some(old) => {
                    self.apply_update(&mut tx, actor, &old, input).await?;
                    report.updated += 1;
                }
                None => {
                    let id = tx.insert_institution(input).await?;
                    tx.audit(record(
                        actor,
                        "institution.create",
                        "institution",
                        &id.to_string(),
                        Some(id),
                        None,
                        Some(to_json(input)),
                    ))
                    .await?;
                    report.created += 1;
                }
            }
        }
        tx.audit(record(
            actor,
            "institution.import",
            "institution",
            "*",
            None,
            None,
            Some(to_json(&report)),
        ))
        .await?;
        tx.commit().await?;
        Ok(report)
    }

    pub async fn export_institutions_csv(&self, actor: &Actor) -> Result<String> {
        authz::authorize(actor, Action::ReadRegistry)?;
        let all = haechi_store::all_institutions(self.store.pool()).await?;
        let bytes = write_csv(all.iter().map(|i| &i.input))?;
        String::from_utf8(bytes).map_err(|e| ServiceError::rule("export_failed", e.to_string()))
    }

    /// Screens one institution, or all, under the policy in force; stores every decision.
    pub async fn screen(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
    ) -> Result<Vec<ScreeningResult>> {
        authz::authorize(actor, Action::RunScreening)?;
        let mut tx = self.store.begin().await?;
        let policy = self.policy_in(&mut tx).await?;
        let institutions = match institution_id {
            Some(id) => vec![haechi_store::get_institution(tx.conn(), id)
                .await?
                .ok_or(ServiceError::NotFound)?],
            None => haechi_store::all_institutions(tx.conn()).await?,
        };
        let mut results = Vec::with_capacity(institutions.len());
        for inst in &institutions {
            let d = eligibility::screen(&policy, &InstitutionFacts(&inst.input));
            tx.insert_eligibility(inst.id, policy.version, d.eligible, &to_json(&d))
                .await?;
            results.push(screening_result(inst, &d));
        }
        let eligible = results.iter().filter(|r| r.eligible).count();
        tx.audit(record(
            actor,
            "eligibility.screen",
            "institution",
            &institution_id.map_or("*".to_string(), |i| i.to_string()),
            institution_id,
            None,
            Some(serde_json::json!({"screened": results.len(), "eligible": eligible, "policy_version": policy.version})),
        ))
        .await?;
        tx.commit().await?;
        Ok(results)
    }

    /// The latest stored screening of every institution (or of the actor's own institution).
    pub async fn screening_results(&self, actor: &Actor) -> Result<Vec<ScreeningResult>> {
        authz::authorize(actor, Action::ReadScreening)?;
        let institutions = haechi_store::all_institutions(self.store.pool()).await?;
        let latest = haechi_store::latest_eligibility(self.store.pool(), None).await?;
        let mut out = Vec::new();
        for rec in latest {
            let Some(inst) = institutions.iter().find(|i| i.id == rec.institution_id) else {
                continue;
            };
            let d: EligibilityDecision = serde_json::from_value(rec.decision)
                .map_err(|e| ServiceError::rule("corrupt_decision", e.to_string()))?;
            out.push(screening_result(inst, &d));
        }
        Ok(out)
    }

    /// Eligibility of one institution under the policy in force, computed now (not stored).
    pub(crate) async fn eligibility_now(
        &self,
        tx: &mut haechi_store::WriteTx,
        institution_id: i64,
    ) -> Result<(Institution, EligibilityDecision)> {
        let policy = self.policy_in(tx).await?;
        let inst = haechi_store::get_institution(tx.conn(), institution_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let d = eligibility::screen(&policy, &InstitutionFacts(&inst.input));
        Ok((inst, d))
    }
}

/// Writes institutions as registry CSV (the columns of [`CSV_COLUMNS`], in that order): the
/// format `parse_csv` reads back.
pub fn write_csv<'a>(rows: impl IntoIterator<Item = &'a InstitutionInput>) -> Result<Vec<u8>> {
    let io = |e: csv::Error| ServiceError::rule("csv_failed", e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).map_err(io)?;
    for i in rows {
        let cells = [
            i.code.clone(),
            i.name_ko.clone(),
            i.name_en.clone(),
            i.sector.as_str().to_string(),
            i.total_assets_krw.to_string(),
            i.assets_as_of.to_string(),
            i.full_time_employees.to_string(),
            i.employees_as_of.to_string(),
            i.dedicated_ciso.to_string(),
            i.ciso_name.clone().unwrap_or_default(),
            i.size_class.as_str().to_string(),
            i.contact_name.clone().unwrap_or_default(),
            i.contact_email.clone().unwrap_or_default(),
            i.contact_phone.clone().unwrap_or_default(),
        ];
        // Spreadsheet formula injection: a name like `=HYPERLINK(…)` is written `'=HYPERLINK(…)`.
        w.write_record(
            cells
                .iter()
                .map(|c| haechi_formats::csv_cell::escape(c).into_owned()),
        )
        .map_err(io)?;
    }
    w.into_inner()
        .map_err(|e| ServiceError::rule("csv_failed", e.to_string()))
}

/// Parses and validates every row; returns all problems (row, column, what) or all rows.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<InstitutionInput>, Vec<FieldError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| vec![FieldError::new("header", e.to_string()).at_row(1)])?
        .clone();
    let mut index = std::collections::HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        index.insert(h.to_string(), i);
    }
    let missing: Vec<FieldError> = CSV_COLUMNS
        .iter()
        .take(11)
        .filter(|c| !index.contains_key(**c))
        .map(|c| FieldError::new(*c, "column is missing from the header").at_row(1))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (n, rec) in reader.records().enumerate() {
        let line = n + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(FieldError::new("*", format!("unreadable row: {e}")).at_row(line));
                continue;
            }
        };
        let get = |c: &str| {
            index
                .get(c)
                .and_then(|i| rec.get(*i))
                .map(haechi_formats::csv_cell::unescape)
                .unwrap_or("")
                .to_string()
        };
        let opt = |c: &str| Some(get(c)).filter(|s| !s.is_empty());
        let mut row_errors = Vec::new();
        let mut int = |c: &str| match get(c).replace(['_', ','], "").parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                row_errors.push(
                    FieldError::new(c, format!("'{}' is not a whole number", get(c))).at_row(line),
                );
                0
            }
        };
        let total_assets_krw = int("total_assets_krw");
        let full_time_employees = int("full_time_employees");
        let mut date = |c: &str| match NaiveDate::parse_from_str(&get(c), "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => {
                row_errors.push(
                    FieldError::new(c, format!("'{}' is not a date (YYYY-MM-DD)", get(c)))
                        .at_row(line),
                );
                NaiveDate::MIN
            }
        };
        let assets_as_of = date("assets_as_of");
        let employees_as_of = date("employees_as_of");
        let dedicated_ciso = match get("dedicated_ciso").to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => true,
            "false" | "no" | "n" | "0" => false,
            other => {
                row_errors.push(
                    FieldError::new("dedicated_ciso", format!("'{other}' is not true/false"))
                        .at_row(line),
                );
                false
            }
        };
        let sector = Sector::parse(&get("sector")).unwrap_or_else(|| {
            let names: Vec<&str> = Sector::ALL.iter().map(|s| s.as_str()).collect();
            row_errors.push(
                FieldError::new(
                    "sector",
                    format!("'{}' is not one of {}", get("sector"), names.join(", ")),
                )
                .at_row(line),
            );
            Sector::Bank
        });
        let size_class = SizeClass::parse(&get("size_class")).unwrap_or_else(|| {
            row_errors.push(
                FieldError::new(
                    "size_class",
                    format!("'{}' is not large, medium or small", get("size_class")),
                )
                .at_row(line),
            );
            SizeClass::Small
        });
        let input = InstitutionInput {
            code: get("code"),
            name_ko: get("name_ko"),
            name_en: get("name_en"),
            sector,
            total_assets_krw,
            assets_as_of,
            full_time_employees,
            employees_as_of,
            dedicated_ciso,
            ciso_name: opt("ciso_name"),
            size_class,
            contact_name: opt("contact_name"),
            contact_email: opt("contact_email"),
            contact_phone: opt("contact_phone"),
        };
        if row_errors.is_empty() {
            row_errors.extend(input.validate().into_iter().map(|e| e.at_row(line)));
        }
        if !seen.insert(input.code.clone()) {
            row_errors.push(
                FieldError::new(
                    "code",
                    format!("'{}' appears more than once in the file", input.code),
                )
                .at_row(line),
            );
        }
        if row_errors.is_empty() {
            rows.push(input);
        } else {
            errors.extend(row_errors);
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}
