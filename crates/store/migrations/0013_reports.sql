-- Issue #15: reports of institutions under relief (C7). An obligation of a letter is answered by a
-- report: figures compiled from the institution's own data for the obligation's period (JSON, with
-- the figures of the compile before, so a recompile shows what changed) and the three narrative
-- sections the FSC asks for (JSON, Korean with optional English). Each version is a row: a draft
-- may change; submitting freezes it (its canonical content hash is set and a trigger refuses any
-- later change of its content), the officer accepts it or returns it with comments per section,
-- and a returned report is followed by a new version while the old one stays readable.
CREATE TABLE reports (
    id {ID},
    obligation_id BIGINT NOT NULL REFERENCES obligations (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    figures_json TEXT NOT NULL,
    previous_figures_json TEXT,
    compiled_at TEXT NOT NULL,
    narrative_json TEXT NOT NULL,
    content_hash TEXT,
    submitted_by TEXT,
    submitted_at TEXT,
    decided_by TEXT,
    decided_at TEXT,
    review_json TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (obligation_id, version)
);
CREATE INDEX reports_inst ON reports (institution_id, state);

{REPORT_FROZEN_TRIGGER}
