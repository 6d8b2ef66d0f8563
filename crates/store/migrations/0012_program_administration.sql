-- Issue #14: program administration from the portal.
--
-- An officer may remove an advisor from an application (with a reason): the assignment row stays
-- for the record, but a removed advisor no longer sees the application and their scores no longer
-- count. An approval against a failed evaluation carries the officer's explicit override reason.
-- A member added to a confirmed cohort after its confirmation (an application approved late)
-- carries who added it, when and why.

ALTER TABLE review_assignments ADD COLUMN removed_at TEXT;
ALTER TABLE review_assignments ADD COLUMN removed_by TEXT;
ALTER TABLE review_assignments ADD COLUMN removed_reason TEXT;

ALTER TABLE decisions ADD COLUMN override_reason TEXT;

ALTER TABLE cohort_members ADD COLUMN added_reason TEXT;
ALTER TABLE cohort_members ADD COLUMN added_by TEXT;
ALTER TABLE cohort_members ADD COLUMN added_at TEXT;
