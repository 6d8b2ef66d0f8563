-- A feed (KEV, EPSS) only ever moves findings that name a CVE, so the index a feed change reads
-- (`finding_priorities_sets`, 0007) leaves out the findings without one (`cves = ','`): most
-- results of code scanners name none, and each of their rows cost an index entry on every
-- import (measured on the 100k-finding intake benchmark, whose findings are 80% without a CVE:
-- the whole index cost 10-14% of a first import; this keeps a fifth of its entries).
-- Queries meant for this index say `cves <> ','` so the planner can use it.

DROP INDEX finding_priorities_sets;
CREATE INDEX finding_priorities_sets ON finding_priorities (cves, resource_id, severity, created_on, status) WHERE status IN ('open', 'in_progress', 'risk_accepted') AND cves <> ',';
