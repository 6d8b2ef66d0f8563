-- Issue #17 (C8): sanction immunity and the ordinary incident-report clock.
--
-- A disruption report is what an institution files after a security activity (an AI security
-- test, or an emergency patch answering an authority's advisory) disrupted its services: the
-- times, the damage, the work plan that existed beforehand (copied from the linked patch record
-- when there is one) and what was done afterwards. It does not change once filed.
CREATE TABLE disruption_reports (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    activity TEXT NOT NULL,
    patch_id BIGINT REFERENCES patch_records (id),
    import_id BIGINT REFERENCES finding_imports (id),
    advisory_id BIGINT REFERENCES advisories (id),
    title TEXT NOT NULL,
    started_at TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    recovered_at TEXT,
    outage_minutes BIGINT NOT NULL,
    affected_services TEXT NOT NULL,
    affected_subscribers BIGINT NOT NULL,
    financial_damage_krw BIGINT NOT NULL,
    leaked_records BIGINT NOT NULL,
    credit_info_leaked BIGINT NOT NULL,
    intent BIGINT NOT NULL,
    -- The work plan beforehand and the measures afterwards, as the immunity facts (JSON).
    safeguards_json TEXT NOT NULL,
    recovery_actions TEXT NOT NULL,
    consumer_actions TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    filed_at TEXT NOT NULL
);
CREATE INDEX disruption_reports_inst ON disruption_reports (institution_id, id);

-- Each review of a disruption report is a version: the policy's evaluation at the time (each
-- criterion with observed value, threshold and outcome, and the policy version), then the
-- committee's decision with its rationale. An appeal starts the next version.
CREATE TABLE immunity_reviews (
    id {ID},
    report_id BIGINT NOT NULL REFERENCES disruption_reports (id),
    version BIGINT NOT NULL,
    evaluation_json TEXT NOT NULL,
    eligible BIGINT NOT NULL,
    policy_version BIGINT NOT NULL,
    state TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    appeal_reason TEXT,
    rationale TEXT,
    decided_by TEXT,
    decided_at TEXT,
    UNIQUE (report_id, version)
);

-- An incident under the ordinary IT-incident reporting rules: a reportable disruption, or a
-- data-class breach (customer data sent where the letter does not allow), which may be tied to
-- the letter it led to revoke. Deadlines are stored as decided, with the policy version.
CREATE TABLE incidents (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    kind TEXT NOT NULL,
    disruption_id BIGINT REFERENCES disruption_reports (id),
    letter_id BIGINT REFERENCES letters (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    aware_at TEXT NOT NULL,
    trigger_json TEXT NOT NULL,
    initial_due TEXT NOT NULL,
    first_interim_due TEXT NOT NULL,
    interim_every_months BIGINT NOT NULL,
    policy_version BIGINT NOT NULL,
    closed_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX incidents_inst ON incidents (institution_id, id);

CREATE TABLE incident_reports (
    id {ID},
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    kind TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    body TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    UNIQUE (incident_id, kind, sequence)
);

-- C14: fintech funding of the AI Security Support Center. A call has a budget and the size
-- classes / sectors it is open to; awards are counted in `awarded_krw`, which a conditional
-- update moves and a check constraint keeps within the budget whatever the path, so no sequence
-- of awards and cancellations can exceed it, also under concurrent awards.
CREATE TABLE funding_calls (
    id {ID},
    title TEXT NOT NULL,
    budget_krw BIGINT NOT NULL,
    awarded_krw BIGINT NOT NULL,
    eligible_json TEXT NOT NULL,
    opens_on TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (awarded_krw >= 0 AND awarded_krw <= budget_krw)
);

CREATE TABLE funding_applications (
    id {ID},
    call_id BIGINT NOT NULL REFERENCES funding_calls (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    purpose TEXT NOT NULL,
    requested_krw BIGINT NOT NULL,
    state TEXT NOT NULL,
    score BIGINT,
    award_krw BIGINT,
    decision_note TEXT,
    decided_by TEXT,
    decided_at TEXT,
    filed_by TEXT NOT NULL,
    filed_at TEXT NOT NULL,
    UNIQUE (call_id, institution_id)
);

CREATE TABLE funding_disbursements (
    id {ID},
    application_id BIGINT NOT NULL REFERENCES funding_applications (id),
    amount_krw BIGINT NOT NULL,
    paid_on TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
