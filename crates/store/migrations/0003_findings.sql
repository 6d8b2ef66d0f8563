-- Security operations (C11, C12): the computing-resource inventory with its classification and
-- software components, SARIF finding imports with their provenance, findings, and the intervals
-- of imports that saw each finding. Tokens as in 0001.
--
-- Findings are keyed by a 16-byte fingerprint ({BLOB}: BLOB on SQLite, BYTEA on PostgreSQL)
-- rather than its 32-hex text: the unique index is half the size and compares faster, which is
-- what bounds bulk ingestion (reference/performance.md); the API shows it as hex.

CREATE TABLE resources (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    business_function TEXT NOT NULL,
    data_kinds TEXT NOT NULL,
    network_zone TEXT NOT NULL,
    processes_electronic_transactions BIGINT NOT NULL,
    dr_tier TEXT,
    owner TEXT,
    class TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    classification_json TEXT NOT NULL,
    policy_version BIGINT NOT NULL REFERENCES policy_versions (version),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (institution_id, name)
);

CREATE TABLE resource_components (
    id {ID},
    resource_id BIGINT NOT NULL REFERENCES resources (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    grp TEXT,
    version TEXT,
    purl TEXT,
    bom_ref TEXT
);
CREATE INDEX resource_components_res ON resource_components (resource_id);

CREATE TABLE finding_imports (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    resource_id BIGINT REFERENCES resources (id),
    state TEXT NOT NULL,
    close_missing BIGINT NOT NULL,
    file_name TEXT,
    file_sha256 TEXT,
    file_size BIGINT,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL,
    finished_at TEXT,
    tool_name TEXT,
    tool_version TEXT,
    tools_json TEXT,
    ai_model TEXT,
    ai_model_version TEXT,
    run_started_at TEXT,
    run_ended_at TEXT,
    bytes_read BIGINT NOT NULL,
    results_processed BIGINT NOT NULL,
    report_json TEXT,
    error_code TEXT,
    error_message TEXT,
    error_location TEXT
);
CREATE INDEX finding_imports_inst ON finding_imports (institution_id, id);

-- No foreign keys on the import ids: they always name the import that writes the row, and each
-- checked key costs a lookup per inserted finding.
CREATE TABLE findings (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    resource_id BIGINT REFERENCES resources (id),
    fingerprint {BLOB} NOT NULL,
    tool_name TEXT NOT NULL,
    ai_model TEXT,
    rule_id TEXT,
    level TEXT NOT NULL,
    severity TEXT NOT NULL,
    security_severity DOUBLE PRECISION,
    cwes TEXT NOT NULL,
    cves TEXT NOT NULL,
    message TEXT NOT NULL,
    location TEXT,
    snippet TEXT,
    code_flow TEXT,
    content_hash {BLOB} NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    risk_accepted_until TEXT,
    first_seen_import_id BIGINT NOT NULL,
    last_changed_import_id BIGINT NOT NULL,
    seen_since_import_id BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX findings_fingerprint ON findings (institution_id, fingerprint);
CREATE INDEX findings_scope ON findings (institution_id, tool_name, resource_id, seen_since_import_id);

-- Closed intervals of sightings: the finding was in every succeeded import of its scope
-- (institution, resource, tool) with from_import_id <= id < until_import_id. The open interval
-- is `findings.seen_since_import_id`, so an identical re-import writes no row at all.
CREATE TABLE finding_sightings (
    finding_id BIGINT NOT NULL REFERENCES findings (id),
    from_import_id BIGINT NOT NULL,
    until_import_id BIGINT NOT NULL,
    PRIMARY KEY (finding_id, from_import_id)
);
