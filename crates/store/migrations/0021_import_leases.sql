-- Imports never stuck (issue #18 item 2): an import records the node (host/process/start) that
-- accepted it and a heartbeat that node refreshes while the import is queued or running on it.
-- An import whose heartbeat is older than the lease (`import_lease_seconds`) belongs to a node
-- that died: the next node to start (or a running node's periodic sweep) marks it failed with a
-- conditional UPDATE, so a live node's import is never failed by another node. Imports stored
-- before this migration have no heartbeat; their upload time stands in for it.
ALTER TABLE finding_imports ADD COLUMN node_id TEXT;
ALTER TABLE finding_imports ADD COLUMN heartbeat_at TEXT;
CREATE INDEX finding_imports_open ON finding_imports (state, heartbeat_at);
