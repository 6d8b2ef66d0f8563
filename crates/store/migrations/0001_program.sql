-- Haechi schema v1: the program spine (registry, policy versions, accounts, applications,
-- evaluation, cohorts, audit log). Written once for both databases: the loader replaces the
-- tokens {ID}, {BLOB} and {NOW} with each dialect's spelling (see migrate.rs). Booleans are
-- BIGINT 0/1 and timestamps RFC 3339 UTC text so that both backends store identical values.

CREATE TABLE audit_head (
    singleton BIGINT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (singleton, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    actor_id BIGINT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    institution_id BIGINT,
    before_json TEXT,
    after_json TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id);

CREATE TABLE policy_versions (
    version BIGINT PRIMARY KEY,
    effective_from TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    loaded_by TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    source_toml TEXT NOT NULL
);

CREATE TABLE institutions (
    id {ID},
    code TEXT NOT NULL UNIQUE,
    name_ko TEXT NOT NULL,
    name_en TEXT NOT NULL,
    sector TEXT NOT NULL,
    total_assets_krw BIGINT NOT NULL,
    assets_as_of TEXT NOT NULL,
    full_time_employees BIGINT NOT NULL,
    employees_as_of TEXT NOT NULL,
    dedicated_ciso BIGINT NOT NULL,
    ciso_name TEXT,
    size_class TEXT NOT NULL,
    contact_name TEXT,
    contact_email TEXT,
    contact_phone TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX institutions_sector ON institutions (sector);

CREATE TABLE institution_history (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    field TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    as_of TEXT,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL
);
CREATE INDEX institution_history_inst ON institution_history (institution_id);

CREATE TABLE eligibility_decisions (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    policy_version BIGINT NOT NULL REFERENCES policy_versions (version),
    eligible BIGINT NOT NULL,
    decision_json TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE INDEX eligibility_decisions_inst ON eligibility_decisions (institution_id, id);

CREATE TABLE users (
    id {ID},
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    institution_id BIGINT REFERENCES institutions (id),
    password_hash TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id {ID},
    user_id BIGINT NOT NULL REFERENCES users (id),
    token_sha256 TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE applications (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    state TEXT NOT NULL,
    content_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_at TEXT,
    cohort_phase TEXT
);
CREATE INDEX applications_inst ON applications (institution_id);
CREATE INDEX applications_state ON applications (state);

CREATE TABLE application_events (
    id {ID},
    application_id BIGINT NOT NULL REFERENCES applications (id),
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    comment TEXT,
    at TEXT NOT NULL
);
CREATE INDEX application_events_app ON application_events (application_id, id);

CREATE TABLE attachments (
    id {ID},
    application_id BIGINT NOT NULL REFERENCES applications (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data {BLOB} NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX attachments_app ON attachments (application_id);

CREATE TABLE review_assignments (
    id {ID},
    application_id BIGINT NOT NULL REFERENCES applications (id),
    advisor_id BIGINT NOT NULL REFERENCES users (id),
    assigned_by TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    conflict BIGINT,
    conflict_note TEXT,
    declared_at TEXT,
    submitted_at TEXT,
    UNIQUE (application_id, advisor_id)
);

CREATE TABLE review_scores (
    assignment_id BIGINT NOT NULL REFERENCES review_assignments (id),
    criterion TEXT NOT NULL,
    score BIGINT NOT NULL,
    justification TEXT NOT NULL,
    PRIMARY KEY (assignment_id, criterion)
);

CREATE TABLE evaluations (
    application_id BIGINT PRIMARY KEY REFERENCES applications (id),
    policy_version BIGINT NOT NULL REFERENCES policy_versions (version),
    passed BIGINT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    disagreement BIGINT NOT NULL,
    result_json TEXT NOT NULL,
    computed_at TEXT NOT NULL
);

CREATE TABLE decisions (
    application_id BIGINT PRIMARY KEY REFERENCES applications (id),
    outcome TEXT NOT NULL,
    rationale TEXT NOT NULL,
    follows_evaluation BIGINT NOT NULL,
    policy_version BIGINT NOT NULL REFERENCES policy_versions (version),
    decided_by TEXT NOT NULL,
    decided_on TEXT NOT NULL,
    decided_at TEXT NOT NULL
);

CREATE TABLE cohorts (
    phase_id TEXT PRIMARY KEY,
    policy_version BIGINT NOT NULL REFERENCES policy_versions (version),
    plan_json TEXT NOT NULL,
    confirmed_by TEXT NOT NULL,
    confirmed_at TEXT NOT NULL
);

CREATE TABLE cohort_members (
    phase_id TEXT NOT NULL REFERENCES cohorts (phase_id),
    application_id BIGINT NOT NULL REFERENCES applications (id),
    rank BIGINT NOT NULL,
    PRIMARY KEY (phase_id, application_id)
);
