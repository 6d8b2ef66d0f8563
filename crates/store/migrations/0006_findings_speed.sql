-- Findings at scale (issue #5): the findings list over millions of rows, and per-upload mapping
-- of artefact paths or hosts to resources. Tokens as in 0001.
--
-- The list pages by keyset (id descending, or severity then id) inside an institution, so each
-- filter has an index that starts with the institution, then the filtered column, then id: the
-- page is the first rows of one index range and the total a count over that range, never a scan
-- of the table. Every one of these indexes is appended to in id order by an import (same key
-- prefix, growing id), which keeps their cost during bulk intake small.

-- Severity as a number (critical 4, high 3, medium 2, low 1, none 0) so "most severe first" is
-- an index order.
ALTER TABLE findings ADD COLUMN severity_rank BIGINT NOT NULL DEFAULT 0;
UPDATE findings SET severity_rank = CASE severity WHEN 'critical' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END;

CREATE INDEX findings_list ON findings (institution_id, id);
CREATE INDEX findings_list_severity ON findings (institution_id, severity_rank, id);
CREATE INDEX findings_list_status ON findings (institution_id, status, id);
CREATE INDEX findings_list_tool ON findings (institution_id, tool_name, id);
CREATE INDEX findings_list_ai ON findings (institution_id, ai_model, id);
CREATE INDEX findings_list_resource ON findings (institution_id, resource_id, id);

-- One row per (finding, CWE), written in bulk by the import beside the finding rows, so a CWE
-- filter is an index range instead of a LIKE over `findings.cwes` (which cannot use an index).
-- `findings.cwes` stays the finding's own copy (`,79,89,`). No foreign key, like the import ids
-- of `findings`: each checked key would cost a lookup per written row.
CREATE TABLE finding_cwes (
    institution_id BIGINT NOT NULL,
    cwe BIGINT NOT NULL,
    finding_id BIGINT NOT NULL,
    PRIMARY KEY (institution_id, cwe, finding_id)
);

-- Findings stored before this migration: CWE numbers 1..2000 (the CWE list ends below 1500).
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000)
INSERT INTO finding_cwes (institution_id, cwe, finding_id)
SELECT f.institution_id, n.x, f.id FROM findings f JOIN n ON f.cwes LIKE '%,' || n.x || ',%'
WHERE f.cwes <> ',';

-- The upload's mapping from artefact path prefixes or hosts to resources, as JSON
-- `[{"prefix": "...", "resource_id": 7}]`; NULL when the upload had none.
ALTER TABLE finding_imports ADD COLUMN resource_map TEXT;
