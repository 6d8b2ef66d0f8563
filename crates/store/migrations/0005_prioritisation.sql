-- Patch prioritisation and remediation (C13): offline threat feeds (EPSS, CISA KEV, CVE JSON 5),
-- the authorities' emergency advisories, each finding's priority with its inputs, the patch
-- queue's assignment, patch records, the status history behind the burn-down chart, and the
-- security-SaaS register. Tokens as in 0001; {STATUS_TRIGGER} is spelled per dialect in
-- migrate.rs (a trigger body is the one thing SQLite and PostgreSQL write differently).

-- One row per imported feed file; (kind, sha256) unique makes re-importing a file a no-op.
CREATE TABLE feed_imports (
    id {ID},
    kind TEXT NOT NULL,
    source_date TEXT NOT NULL,
    model_version TEXT,
    row_count BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    signed_by_key TEXT,
    file_name TEXT,
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL
);
CREATE UNIQUE INDEX feed_imports_file ON feed_imports (kind, sha256);

-- cve_key = year * 10^10 + sequence number: an integer key is the rowid on SQLite, which is what
-- lets a 300,000-row EPSS file load in well under two seconds.
CREATE TABLE epss_scores (
    cve_key {ID},
    cve TEXT NOT NULL,
    epss DOUBLE PRECISION NOT NULL,
    percentile DOUBLE PRECISION NOT NULL,
    feed_import_id BIGINT NOT NULL REFERENCES feed_imports (id)
);

CREATE TABLE kev_entries (
    cve_key {ID},
    cve TEXT NOT NULL,
    vendor TEXT NOT NULL,
    product TEXT NOT NULL,
    name TEXT,
    date_added TEXT NOT NULL,
    due_date TEXT,
    ransomware TEXT NOT NULL,
    notes TEXT,
    feed_import_id BIGINT NOT NULL REFERENCES feed_imports (id)
);

-- The preferred metric (highest version, CNA before ADP) is copied onto the record so that
-- prioritisation reads one row per CVE.
CREATE TABLE cve_records (
    cve_key {ID},
    cve TEXT NOT NULL,
    state TEXT NOT NULL,
    assigner TEXT,
    date_published TEXT,
    date_updated TEXT,
    description TEXT,
    cwes TEXT NOT NULL,
    affected_json TEXT NOT NULL,
    pref_version TEXT,
    pref_source TEXT,
    pref_vector TEXT,
    pref_score DOUBLE PRECISION,
    pref_severity TEXT,
    pref_automatable BIGINT,
    feed_import_id BIGINT NOT NULL REFERENCES feed_imports (id)
);

CREATE TABLE cve_metrics (
    cve_key BIGINT NOT NULL REFERENCES cve_records (cve_key),
    source TEXT NOT NULL,
    version TEXT NOT NULL,
    vector TEXT NOT NULL,
    published_score DOUBLE PRECISION,
    computed_score DOUBLE PRECISION NOT NULL,
    severity TEXT NOT NULL,
    automatable BIGINT,
    score_disagrees BIGINT NOT NULL,
    path TEXT NOT NULL
);
CREATE INDEX cve_metrics_cve ON cve_metrics (cve_key);

CREATE TABLE advisories (
    id {ID},
    title_ko TEXT NOT NULL,
    title_en TEXT NOT NULL,
    published_on TEXT NOT NULL,
    state TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    withdrawn_at TEXT,
    withdrawn_by TEXT,
    withdraw_reason TEXT
);

CREATE TABLE advisory_cves (
    advisory_id BIGINT NOT NULL REFERENCES advisories (id),
    cve_key BIGINT NOT NULL,
    cve TEXT NOT NULL,
    PRIMARY KEY (advisory_id, cve_key)
);

-- The decision on each finding: priority, deciding row, due date, the six inputs the table saw
-- (small JSON), the policy version. priority_digest hashes all of it so that a recompute compares
-- one integer. The evidence behind the inputs (EPSS value and model, KEV date, advisory, CVSS
-- metric) is kept once per set of CVEs in priority_evidence rather than on every finding: a new
-- EPSS file moves most scores a little, and rewriting every finding for that would rewrite the
-- whole findings table.
ALTER TABLE findings ADD COLUMN priority TEXT;
ALTER TABLE findings ADD COLUMN priority_row TEXT;
ALTER TABLE findings ADD COLUMN due_date TEXT;
ALTER TABLE findings ADD COLUMN priority_inputs TEXT;
ALTER TABLE findings ADD COLUMN priority_policy_version BIGINT;
ALTER TABLE findings ADD COLUMN priority_digest BIGINT;
ALTER TABLE findings ADD COLUMN priority_decided_at TEXT;
ALTER TABLE findings ADD COLUMN assignee_user_id BIGINT REFERENCES users (id);

-- cve_set_key: FNV-1a of the findings' `cves` text (see the service's priority module).
CREATE TABLE priority_evidence (
    cve_set_key {ID},
    cves TEXT NOT NULL,
    inputs TEXT NOT NULL,
    evidence_json TEXT NOT NULL,
    digest BIGINT NOT NULL,
    decided_at TEXT NOT NULL
);

-- The findings a recompute keeps current, by CVE set: a feed change re-reads only the sets whose
-- inputs changed.
CREATE INDEX findings_cves ON findings (cves) WHERE status IN ('open', 'in_progress', 'risk_accepted');
CREATE INDEX findings_unprioritised ON findings (id) WHERE priority IS NULL;

-- The patch queue: open work of one institution by priority, due date, id (keyset order).
CREATE INDEX findings_queue ON findings (institution_id, priority, due_date, id) WHERE status IN ('open', 'in_progress');

-- Every status change of a finding, written by a trigger so that every path that moves a finding
-- (transitions, close-missing imports, reopening) is recorded without each one remembering to.
CREATE TABLE finding_status_changes (
    finding_id BIGINT NOT NULL REFERENCES findings (id),
    institution_id BIGINT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX finding_status_changes_inst ON finding_status_changes (institution_id, changed_at);
CREATE INDEX finding_status_changes_finding ON finding_status_changes (finding_id);

-- Findings closed before this migration get one change at their last update.
INSERT INTO finding_status_changes (finding_id, institution_id, from_status, to_status, changed_at)
    SELECT id, institution_id, 'open', status, updated_at FROM findings WHERE status <> 'open';

{STATUS_TRIGGER}

CREATE TABLE patch_records (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    resource_id BIGINT REFERENCES resources (id),
    applied TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    applied_by TEXT NOT NULL,
    pre_testing_done BIGINT NOT NULL,
    rollback_ready BIGINT NOT NULL,
    kill_switch_ready BIGINT NOT NULL,
    isolation_ready BIGINT NOT NULL,
    continuity_plan BIGINT NOT NULL,
    customers_notified_in_advance BIGINT NOT NULL,
    notes TEXT,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX patch_records_inst ON patch_records (institution_id, id);

CREATE TABLE patch_record_findings (
    patch_id BIGINT NOT NULL REFERENCES patch_records (id),
    finding_id BIGINT NOT NULL REFERENCES findings (id),
    PRIMARY KEY (patch_id, finding_id)
);
CREATE INDEX patch_record_findings_finding ON patch_record_findings (finding_id);

CREATE TABLE saas_services (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    product TEXT NOT NULL,
    vendor TEXT NOT NULL,
    certifications TEXT NOT NULL,
    data_classes TEXT NOT NULL,
    users TEXT NOT NULL,
    purpose TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (institution_id, product, vendor)
);

CREATE TABLE saas_evaluations (
    id {ID},
    saas_id BIGINT NOT NULL REFERENCES saas_services (id),
    evaluated_on TEXT NOT NULL,
    result TEXT NOT NULL,
    notes TEXT,
    reported_to_ciso_at TEXT,
    recorded_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX saas_evaluations_saas ON saas_evaluations (saas_id, evaluated_on);
