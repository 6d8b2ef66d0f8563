-- Issue #15: compiling a report reads counts, not finding rows (`report_source.rs`). Each index
-- covers one of its reads, so SQLite answers from the index alone; the first is in the order of
-- its GROUP BY, so the findings of a period are counted while they are scanned instead of being
-- sorted first (a million findings: one index scan).
--
-- Findings by severity, status, origin, tool, AI model and CWE list, of one period.
CREATE INDEX findings_report ON findings (institution_id, severity, status, ai_origin, tool_name, ai_model, cwes, created_at);
-- Findings per month and origin: one index range per month.
CREATE INDEX findings_report_months ON findings (institution_id, created_at, ai_origin);
-- Findings per priority of one period.
CREATE INDEX finding_priorities_report ON finding_priorities (institution_id, priority, created_on);
-- The first fix of each finding (time to remediate, SLA outcome), grouped in index order.
CREATE INDEX finding_status_changes_first_fix ON finding_status_changes (institution_id, finding_id, to_status, changed_at);
