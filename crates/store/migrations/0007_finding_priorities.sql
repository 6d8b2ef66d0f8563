-- Each finding's priority moves out of `findings` into a narrow table of its own (issue #6's
-- speed target). A new EPSS file can move a third of a million findings across a threshold; with
-- the decision stored on the wide finding row (message, snippet, location, hashes), rewriting
-- those rows rewrote nearly every page of the findings table and most of the time went into
-- writing pages. Here a decision row is a fraction of a finding row, and everything a recompute
-- reads (status, CVE set, resource, severity, creation day, digest) is on it too, so a recompute
-- never touches `findings`. What every finding with the same inputs shares (the six inputs, the
-- deciding row) is stored once per policy version in `priority_decisions`, keyed by a code that
-- packs the inputs; a finding stores the code.
--
-- `status`, `cves`, `severity` and `resource_id` are copies kept by a trigger on `findings`
-- ({PRIORITY_TRIGGER}, spelled per dialect in migrate.rs). When a finding's inputs change (or it
-- reopens) the trigger clears `digest`: a NULL digest marks a decision that is missing or stale,
-- and the next recompute reads exactly those rows through `finding_priorities_pending`. The
-- import writes the rows of the findings it inserts. Decisions made before this migration are
-- kept (priority, due date) but marked stale, so the next recompute gives them their code.
-- Tokens as in 0001; {KEY} is an integer primary key that is not generated (SQLite's rowid
-- alias).

CREATE TABLE priority_decisions (
    policy_version BIGINT NOT NULL,
    decision BIGINT NOT NULL,
    priority TEXT NOT NULL,
    priority_row TEXT NOT NULL,
    inputs TEXT NOT NULL,
    PRIMARY KEY (policy_version, decision)
);

CREATE TABLE finding_priorities (
    finding_id {KEY},
    institution_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    cves TEXT NOT NULL,
    resource_id BIGINT,
    severity TEXT NOT NULL,
    created_on TEXT NOT NULL,
    priority TEXT,
    due_date TEXT,
    decision BIGINT,
    digest BIGINT,
    policy_version BIGINT,
    decided_at TEXT
);

INSERT INTO finding_priorities (finding_id, institution_id, status, cves, resource_id, severity, created_on, priority, due_date, policy_version, decided_at)
SELECT id, institution_id, status, cves, resource_id, severity, substr(created_at, 1, 10), priority, due_date, priority_policy_version, priority_decided_at
FROM findings;

DROP INDEX findings_cves;
DROP INDEX findings_unprioritised;
DROP INDEX findings_queue;
ALTER TABLE findings DROP COLUMN priority;
ALTER TABLE findings DROP COLUMN priority_row;
ALTER TABLE findings DROP COLUMN due_date;
ALTER TABLE findings DROP COLUMN priority_inputs;
ALTER TABLE findings DROP COLUMN priority_policy_version;
ALTER TABLE findings DROP COLUMN priority_digest;
ALTER TABLE findings DROP COLUMN priority_decided_at;

-- The findings a recompute keeps current, by CVE set: a feed change re-reads only the sets whose
-- inputs changed, from this index alone (it covers what that read needs; the digest is left out
-- because every decision written would move its entry).
CREATE INDEX finding_priorities_sets ON finding_priorities (cves, resource_id, severity, created_on, status) WHERE status IN ('open', 'in_progress', 'risk_accepted');
-- Decisions missing or stale.
CREATE INDEX finding_priorities_pending ON finding_priorities (finding_id) WHERE digest IS NULL;
-- The patch queue: open work of one institution by priority, due date, id (keyset order).
CREATE INDEX finding_priorities_queue ON finding_priorities (institution_id, priority, due_date, finding_id) WHERE status IN ('open', 'in_progress');

{PRIORITY_TRIGGER}
