-- `finding_cwes` (0006) holds nothing but its primary key. On SQLite a table with a primary key
-- other than its rowid is two b-trees, the rowid table and the key's index, so every CWE row an
-- import writes cost two b-tree inserts; stored WITHOUT ROWID it is one. PostgreSQL has no such
-- distinction ({WITHOUT_ROWID} is empty there) and gets the same table back under the same name.

CREATE TABLE finding_cwes_keyed (
    institution_id BIGINT NOT NULL,
    cwe BIGINT NOT NULL,
    finding_id BIGINT NOT NULL,
    PRIMARY KEY (institution_id, cwe, finding_id)
){WITHOUT_ROWID};
INSERT INTO finding_cwes_keyed (institution_id, cwe, finding_id)
SELECT institution_id, cwe, finding_id FROM finding_cwes;
DROP TABLE finding_cwes;
ALTER TABLE finding_cwes_keyed RENAME TO finding_cwes;
