-- Issue #13: cross-tool clusters. A finding that several tools or AI models report about the same
-- place and weakness is one real problem: each member of a cluster of two or more has a row here
-- naming the cluster's leader (its most urgent member; the leader's own row names itself) and why
-- it was grouped (JSON: the anchor it was compared with, file, both lines, both CWEs and how they
-- relate). Findings in no cluster have no row, which is most of them. The clusters of an
-- institution are recomputed after each import that adds or changes findings.
CREATE TABLE finding_clusters (
    finding_id {KEY} REFERENCES findings (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    cluster_id BIGINT NOT NULL,
    reason TEXT
);
CREATE INDEX finding_clusters_cluster ON finding_clusters (cluster_id);
CREATE INDEX finding_clusters_inst ON finding_clusters (institution_id);
