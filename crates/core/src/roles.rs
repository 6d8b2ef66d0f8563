//! The roles of SPEC §2 and the acting user every use case receives. What each role may do is
//! decided in the service crate's authorisation module, not here.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    RegulatorAdmin,
    RegulatorOfficer,
    Analyst,
    SupportCenter,
    Advisor,
    Ciso,
    SecurityStaff,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::RegulatorAdmin,
        Role::RegulatorOfficer,
        Role::Analyst,
        Role::SupportCenter,
        Role::Advisor,
        Role::Ciso,
        Role::SecurityStaff,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::RegulatorAdmin => "regulator_admin",
            Role::RegulatorOfficer => "regulator_officer",
            Role::Analyst => "analyst",
            Role::SupportCenter => "support_center",
            Role::Advisor => "advisor",
            Role::Ciso => "ciso",
            Role::SecurityStaff => "security_staff",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Institution roles act only within their own institution.
    pub fn is_institution_role(self) -> bool {
        matches!(self, Role::Ciso | Role::SecurityStaff)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The authenticated user on whose behalf a use case runs. Every state change is attributed to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// Set for institution roles (CISO, security staff); `None` on the regulator side.
    pub institution_id: Option<i64>,
}

impl Actor {
    /// The actor used by batch commands run on the server itself (`haechi … import`), which have
    /// the operator's full authority; recorded as such in the audit log.
    pub fn system() -> Actor {
        Actor {
            user_id: 0,
            username: "system".into(),
            role: Role::RegulatorAdmin,
            institution_id: None,
        }
    }
}
