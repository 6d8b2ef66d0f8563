-- Issue #15: evidence files of a report version (C7) and the self-evaluation that fulfilled a
-- SaaS self-evaluation obligation.
--
-- A file belongs to one version of a report and is stored with its SHA-256 and size, like an
-- application's evidence (`attachments` of 0001). The hashes of a version's files are part of
-- the canonical content hashed when it is submitted, so once the version is frozen its files can
-- neither change nor go: a trigger refuses any UPDATE or DELETE of a frozen version's file, and
-- the store adds a file only to an unfrozen draft (a conditional INSERT; migrate-db copies frozen
-- versions' files with a plain INSERT, so there is no insert trigger). A new version after a
-- return starts with copies of the returned version's files.
CREATE TABLE report_attachments (
    id {ID},
    report_id BIGINT NOT NULL REFERENCES reports (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    data {BLOB} NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at TEXT NOT NULL
);
CREATE INDEX report_attachments_report ON report_attachments (report_id, id);

{REPORT_ATTACHMENTS_FROZEN_TRIGGER}

-- The self-evaluation recorded on /saas that fulfilled a `saas_self_evaluation` obligation (the
-- id of a `saas_evaluations` row; no foreign key, since migrate-db copies obligations before the
-- SaaS register).
ALTER TABLE obligations ADD COLUMN saas_evaluation_id BIGINT;
