//! Domain vocabulary of Haechi: the records of the relief program (institutions, applications,
//! evaluations, cohorts), the roles of SPEC §2, the application lifecycle and the domain errors.
//!
//! This crate does no I/O and knows nothing of databases, HTTP or policy numbers: it is the shared
//! language that the engines, the store and the service speak.

pub mod application;
pub mod error;
pub mod institution;
pub mod roles;

pub use application::{Application, ApplicationAction, ApplicationState, ServiceEntry};
pub use error::{DomainError, FieldError};
pub use institution::{Institution, InstitutionInput, Sector, SizeClass};
pub use roles::{Actor, Role};
