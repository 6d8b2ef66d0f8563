-- Issue #17 (C14): the AI security response team and the full-removal track.
--
-- The response team's members come from the FSC, the FSS, the FSI and the institutions' CISOs
-- (by sector); a CISO member is an institution user. A member leaves the team by being retired,
-- never deleted, so past owners and attendance stay readable.
CREATE TABLE response_members (
    id {ID},
    organisation TEXT NOT NULL,
    sector TEXT,
    name TEXT NOT NULL,
    team_role TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id),
    institution_id BIGINT REFERENCES institutions (id),
    active BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    retired_at TEXT
);

-- A field challenge an institution raises with the team: open -> in_progress ->
-- resolved | closed (open may also be closed). The owner is a member; the response is the
-- team's answer, required to resolve.
CREATE TABLE field_challenges (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    sector TEXT NOT NULL,
    owner_member_id BIGINT REFERENCES response_members (id),
    status TEXT NOT NULL,
    response TEXT,
    due_on TEXT NOT NULL,
    raised_by TEXT NOT NULL,
    raised_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    closed_at TEXT
);
CREATE INDEX field_challenges_inst ON field_challenges (institution_id, id);

-- A regular check-in of the team: who attended, the notes, and the actions agreed.
CREATE TABLE response_checkins (
    id {ID},
    held_on TEXT NOT NULL,
    notes TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);

CREATE TABLE checkin_attendance (
    checkin_id BIGINT NOT NULL REFERENCES response_checkins (id),
    member_id BIGINT NOT NULL REFERENCES response_members (id),
    PRIMARY KEY (checkin_id, member_id)
);

CREATE TABLE checkin_actions (
    id {ID},
    checkin_id BIGINT NOT NULL REFERENCES response_checkins (id),
    description TEXT NOT NULL,
    owner_member_id BIGINT NOT NULL REFERENCES response_members (id),
    due_on TEXT NOT NULL,
    done_at TEXT,
    done_by TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The officer's steps on the full-removal track: a shortlisting, then decisions (recommend or
-- not now), each with its reason and the ranking it saw (the candidate's factors, score and
-- policy version at that moment), so a later policy or later data never rewrites why.
CREATE TABLE removal_decisions (
    id {ID},
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    ranking_json TEXT NOT NULL,
    policy_version BIGINT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at TEXT NOT NULL
);
CREATE INDEX removal_decisions_inst ON removal_decisions (institution_id, id);
