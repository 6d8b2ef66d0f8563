-- No-action letters (C6), the reporting obligations they create (C7 schedule), in-app
-- notifications, and the full-removal candidate list. Tokens as in 0001.

CREATE TABLE signing_keys (
    key_id TEXT PRIMARY KEY,
    public_pem TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);

CREATE TABLE letter_sequences (
    year BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

CREATE TABLE letters (
    id {ID},
    letter_number TEXT UNIQUE,
    application_id BIGINT NOT NULL REFERENCES applications (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    phase_id TEXT,
    state TEXT NOT NULL,
    draft_json TEXT NOT NULL,
    signed_file TEXT,
    content_sha256 TEXT,
    key_id TEXT REFERENCES signing_keys (key_id),
    issued_on TEXT,
    valid_until TEXT,
    renews_letter_id BIGINT REFERENCES letters (id),
    revoked_on TEXT,
    revoked_reason TEXT,
    revoked_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX letters_inst ON letters (institution_id);
CREATE INDEX letters_app ON letters (application_id);

CREATE TABLE obligations (
    id {ID},
    letter_id BIGINT NOT NULL REFERENCES letters (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    kind TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    due_on TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_at TEXT,
    decided_at TEXT,
    note TEXT
);
CREATE INDEX obligations_letter ON obligations (letter_id);
CREATE INDEX obligations_inst ON obligations (institution_id, due_on);

CREATE TABLE notifications (
    id {ID},
    institution_id BIGINT REFERENCES institutions (id),
    audience TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_ko TEXT NOT NULL,
    subject_en TEXT NOT NULL,
    letter_id BIGINT REFERENCES letters (id),
    dedupe_key TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    read_at TEXT
);
CREATE INDEX notifications_inst ON notifications (institution_id, id);

CREATE TABLE removal_candidates (
    institution_id BIGINT PRIMARY KEY REFERENCES institutions (id),
    letter_id BIGINT NOT NULL REFERENCES letters (id),
    note TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);
