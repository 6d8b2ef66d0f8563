-- Issue #17 (C8, C14): evidence files on disruption reports, the outcome reports of funded
-- firms, and the AI Security Support Center's cases.
--
-- Evidence files of a disruption report, stored like an application's attachments: the exact
-- bytes with their SHA-256 and size. Added while the report is undecided; never changed.
CREATE TABLE disruption_attachments (
    id {ID},
    report_id BIGINT NOT NULL REFERENCES disruption_reports (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data {BLOB} NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX disruption_attachments_report ON disruption_attachments (report_id, id);

-- What an award achieved, filed by the funded firm after a payment; the reviewer accepts it or
-- asks for more, and a firm asked for more files the next version.
CREATE TABLE funding_outcomes (
    id {ID},
    application_id BIGINT NOT NULL REFERENCES funding_applications (id),
    version BIGINT NOT NULL,
    achieved_ko TEXT NOT NULL,
    achieved_en TEXT NOT NULL,
    used_krw BIGINT NOT NULL,
    state TEXT NOT NULL,
    review_note TEXT,
    reviewed_by TEXT,
    reviewed_at TEXT,
    filed_by TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    UNIQUE (application_id, version)
);

CREATE TABLE funding_outcome_attachments (
    id {ID},
    outcome_id BIGINT NOT NULL REFERENCES funding_outcomes (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data {BLOB} NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX funding_outcome_attachments_outcome ON funding_outcome_attachments (outcome_id, id);

-- A small firm's case with the support center: open -> in_progress -> answered -> closed, each
-- step (and every message) kept as an event both sides read.
CREATE TABLE support_cases (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX support_cases_inst ON support_cases (institution_id, id);

CREATE TABLE support_case_events (
    id {ID},
    case_id BIGINT NOT NULL REFERENCES support_cases (id),
    from_status TEXT,
    to_status TEXT NOT NULL,
    body TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    side TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX support_case_events_case ON support_case_events (case_id, id);
