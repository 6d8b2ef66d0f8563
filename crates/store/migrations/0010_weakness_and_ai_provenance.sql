-- Issue #13: findings without a CVE are judged on what they are. Each finding keeps its AI
-- provenance (model version, and whether the result was AI-generated, AI-annotated or found
-- conventionally: the draft SARIF AI profile's `ai/origin`) and the tool's evidence of a working
-- exploit (`exploit_evidence`: the property and value that counted under the policy, e.g.
-- `exploitConfirmed=true`; NULL when none did).
--
-- A decision now also reads the finding's weakness: `finding_priorities.weakness` is the CWE list
-- (`,78,89,`) followed by `!` when the tool's exploit evidence counted, a copy the trigger keeps
-- like the other inputs (and whose change marks the decision stale). Every decision is marked
-- stale here, so the next start decides every prioritised finding with the new input.

ALTER TABLE findings ADD COLUMN ai_model_version TEXT;
ALTER TABLE findings ADD COLUMN ai_origin TEXT NOT NULL DEFAULT 'conventional';
ALTER TABLE findings ADD COLUMN exploit_evidence TEXT;
UPDATE findings SET ai_origin = 'ai_generated' WHERE ai_model IS NOT NULL;

ALTER TABLE finding_priorities ADD COLUMN weakness TEXT NOT NULL DEFAULT ',';
UPDATE finding_priorities SET weakness = COALESCE((SELECT cwes FROM findings WHERE findings.id = finding_priorities.finding_id), ','), digest = NULL;

-- The covering index of a feed change's read now carries the weakness too.
DROP INDEX finding_priorities_sets;
CREATE INDEX finding_priorities_sets ON finding_priorities (cves, resource_id, severity, created_on, status, weakness) WHERE status IN ('open', 'in_progress', 'risk_accepted') AND cves <> ',';

{PRIORITY_TRIGGER_WEAKNESS}
