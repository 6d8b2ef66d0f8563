//! haechi-formats: bytes in, typed values plus diagnostics out, for the security-operations side
//! of Haechi.
//!
//! - [`sarif`]: streaming SARIF 2.1.0 reader (findings intake) and a synthetic log generator;
//! - [`feeds`]: FIRST EPSS CSV, CISA KEV JSON, CVE JSON 5 records (patch-priority enrichment);
//! - [`cyclonedx`]: CycloneDX 1.5/1.6 JSON BOM components;
//! - [`io`]: reader adapters (progress counter, transparent gunzip);
//! - [`csv_cell`]: the formula-injection escaping every CSV export and import goes through.
//!
//! Architecture invariant: this crate does no I/O of its own. It reads only from a
//! `std::io::Read` the caller hands in (and the generator writes only to a given `Write`); it
//! never depends on tokio, sqlx or axum, and it never decides policy: it reports what the input
//! says, with errors that name the place (byte offset, line, JSON path or CSV row).

pub mod csv_cell;
pub mod cyclonedx;
pub mod feeds;
pub mod io;
pub mod sarif;
pub mod stix;
