-- Issue #17 (C14): the advisory group and the program's guidelines.
--
-- An advisory-group member is an advisor's user account with the member's field and
-- affiliation and the term in force; every appointment, correction and extension of the term
-- is kept in `advisory_terms`, so the member's history stays readable after an extension.
CREATE TABLE advisory_members (
    id {ID},
    user_id BIGINT NOT NULL UNIQUE REFERENCES users (id),
    field TEXT NOT NULL,
    affiliation TEXT NOT NULL,
    term_start TEXT NOT NULL,
    term_end TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    CHECK (term_start <= term_end)
);

CREATE TABLE advisory_terms (
    id {ID},
    member_id BIGINT NOT NULL REFERENCES advisory_members (id),
    kind TEXT NOT NULL,
    term_start TEXT NOT NULL,
    term_end TEXT NOT NULL,
    previous_end TEXT,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX advisory_terms_member ON advisory_terms (member_id, id);

-- A standing conflict of interest: with one institution or with a whole sector, from a day to
-- a day (open-ended when `valid_to` is null). Reviewer proposals leave such members out and an
-- assignment inside it is refused.
CREATE TABLE advisory_conflicts (
    id {ID},
    member_id BIGINT NOT NULL REFERENCES advisory_members (id),
    institution_id BIGINT REFERENCES institutions (id),
    sector TEXT,
    reason TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    declared_by TEXT NOT NULL,
    declared_at TEXT NOT NULL,
    CHECK ((institution_id IS NULL AND sector IS NOT NULL) OR (institution_id IS NOT NULL AND sector IS NULL))
);
CREATE INDEX advisory_conflicts_member ON advisory_conflicts (member_id);

CREATE TABLE advisory_meetings (
    id {ID},
    held_on TEXT NOT NULL,
    title TEXT NOT NULL,
    agenda TEXT NOT NULL,
    minutes TEXT,
    minutes_by TEXT,
    minutes_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE advisory_attendance (
    meeting_id BIGINT NOT NULL REFERENCES advisory_meetings (id),
    member_id BIGINT NOT NULL REFERENCES advisory_members (id),
    PRIMARY KEY (meeting_id, member_id)
);

-- Advice on a threat or on policy, in both languages, usually given at a meeting.
CREATE TABLE advisory_advice (
    id {ID},
    meeting_id BIGINT REFERENCES advisory_meetings (id),
    topic TEXT NOT NULL,
    title TEXT NOT NULL,
    text_ko TEXT NOT NULL,
    text_en TEXT NOT NULL,
    given_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

-- A guideline (resource classification, patch priority, other) and its versions. A version is
-- a draft until published; a published version never changes (the trigger refuses any change
-- to its content on both databases) and is superseded by the next published version.
CREATE TABLE guidelines (
    id {ID},
    kind TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE guideline_versions (
    id {ID},
    guideline_id BIGINT NOT NULL REFERENCES guidelines (id),
    version BIGINT NOT NULL,
    title_ko TEXT NOT NULL,
    title_en TEXT NOT NULL,
    body_ko TEXT NOT NULL,
    body_en TEXT NOT NULL,
    state TEXT NOT NULL,
    drafted_by TEXT NOT NULL,
    drafted_at TEXT NOT NULL,
    published_by TEXT,
    published_at TEXT,
    superseded_at TEXT,
    UNIQUE (guideline_id, version)
);
{GUIDELINE_FROZEN_TRIGGER}

-- The policy versions a guideline version describes.
CREATE TABLE guideline_policy_versions (
    version_id BIGINT NOT NULL REFERENCES guideline_versions (id),
    policy_version BIGINT NOT NULL REFERENCES policy_versions (version),
    PRIMARY KEY (version_id, policy_version)
);

-- An institution's acknowledgement (by its CISO) of one published version.
CREATE TABLE guideline_acks (
    version_id BIGINT NOT NULL REFERENCES guideline_versions (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    acknowledged_by TEXT NOT NULL,
    acknowledged_at TEXT NOT NULL,
    PRIMARY KEY (version_id, institution_id)
);

-- On-site briefings on the guidelines: when, where, on what, who is invited and who came
-- (`attended` is null until the attendance is recorded).
CREATE TABLE briefings (
    id {ID},
    starts_at TEXT NOT NULL,
    place TEXT NOT NULL,
    topic TEXT NOT NULL,
    guideline_id BIGINT REFERENCES guidelines (id),
    attendance_by TEXT,
    attendance_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE briefing_invitees (
    briefing_id BIGINT NOT NULL REFERENCES briefings (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    attended BIGINT,
    PRIMARY KEY (briefing_id, institution_id)
);

-- An institution's request for tailored support, and the regulator's answer: open, then
-- scheduled (with a day), then done.
CREATE TABLE support_requests (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    topic TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    scheduled_on TEXT,
    response TEXT,
    answered_by TEXT,
    answered_at TEXT,
    filed_by TEXT NOT NULL,
    filed_at TEXT NOT NULL
);
CREATE INDEX support_requests_inst ON support_requests (institution_id, id);
