//! Row ↔ record mapping shared by the queries.

use chrono::NaiveDate;
use haechi_core::{
    Application, ApplicationState, Institution, InstitutionInput, Sector, SizeClass,
};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{Result, StoreError};

pub(crate) const INSTITUTION_COLUMNS: &str = "id, code, name_ko, name_en, sector, total_assets_krw, assets_as_of, full_time_employees, employees_as_of, dedicated_ciso, ciso_name, size_class, contact_name, contact_email, contact_phone, created_at, updated_at";

fn date(r: &AnyRow, col: &str) -> Result<NaiveDate> {
    let s: String = r.try_get(col)?;
    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("{col} '{s}': {e}")))
}

pub(crate) fn institution(r: &AnyRow) -> Result<Institution> {
    let sector: String = r.try_get("sector")?;
    let size: String = r.try_get("size_class")?;
    Ok(Institution {
        id: r.try_get("id")?,
        input: InstitutionInput {
            code: r.try_get("code")?,
            name_ko: r.try_get("name_ko")?,
            name_en: r.try_get("name_en")?,
            sector: Sector::parse(&sector)
                .ok_or_else(|| StoreError::Corrupt(format!("sector '{sector}'")))?,
            total_assets_krw: r.try_get("total_assets_krw")?,
            assets_as_of: date(r, "assets_as_of")?,
            full_time_employees: r.try_get("full_time_employees")?,
            employees_as_of: date(r, "employees_as_of")?,
            dedicated_ciso: r.try_get::<i64, _>("dedicated_ciso")? != 0,
            ciso_name: r.try_get("ciso_name")?,
            size_class: SizeClass::parse(&size)
                .ok_or_else(|| StoreError::Corrupt(format!("size_class '{size}'")))?,
            contact_name: r.try_get("contact_name")?,
            contact_email: r.try_get("contact_email")?,
            contact_phone: r.try_get("contact_phone")?,
        },
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub(crate) const APPLICATION_SELECT: &str = "SELECT a.id, a.institution_id, i.name_ko AS institution_name, a.state, a.content_json, a.created_at, a.updated_at, a.submitted_at, a.cohort_phase FROM applications a JOIN institutions i ON i.id = a.institution_id";

pub(crate) fn application(r: &AnyRow) -> Result<Application> {
    let state: String = r.try_get("state")?;
    let content: String = r.try_get("content_json")?;
    Ok(Application {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        institution_name: r.try_get("institution_name")?,
        state: ApplicationState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("application state '{state}'")))?,
        content: serde_json::from_str(&content)
            .map_err(|e| StoreError::Corrupt(format!("application content: {e}")))?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        submitted_at: r.try_get("submitted_at")?,
        cohort_phase: r.try_get("cohort_phase")?,
    })
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(r: &AnyRow, col: &str) -> Result<T> {
    let s: String = r.try_get(col)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}
