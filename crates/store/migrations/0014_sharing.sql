-- Issue #16: threat-sharing bulletins (C10). A bulletin is written by the research institute or
-- the support center, reviewed by a second person and published; a correction is a new version
-- that says what changed (every published version is kept, as its STIX bundle), a withdrawal
-- ends it. An emergency patch advisory bulletin publishes the advisory record that drives P1.
-- Institutions acknowledge what reached them. Every published STIX object version is a row of
-- stix_objects, in the TAXII collection(s) of its audience and TLP, numbered in the order it was
-- added (id), so TAXII pages by keyset over (collection, id).
CREATE TABLE bulletins (
    id {ID},
    uuid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    title_ko TEXT NOT NULL,
    title_en TEXT,
    body_ko TEXT NOT NULL,
    body_en TEXT,
    severity TEXT NOT NULL,
    content_json TEXT NOT NULL,
    tlp TEXT NOT NULL,
    audience TEXT NOT NULL,
    audience_sector TEXT,
    audience_institutions TEXT NOT NULL,
    publisher TEXT NOT NULL,
    change_note TEXT,
    advisory_id BIGINT REFERENCES advisories (id),
    ack_due_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    submitted_by TEXT,
    submitted_at TEXT,
    review_comment TEXT,
    first_published_at TEXT,
    published_at TEXT,
    published_by TEXT,
    reviewed_by TEXT,
    withdrawn_at TEXT,
    withdrawn_by TEXT,
    withdraw_reason TEXT
);
CREATE INDEX bulletins_state ON bulletins (state, published_at);

CREATE TABLE bulletin_versions (
    bulletin_id BIGINT NOT NULL REFERENCES bulletins (id),
    version BIGINT NOT NULL,
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL,
    reviewed_by TEXT NOT NULL,
    change_note TEXT,
    snapshot_json TEXT NOT NULL,
    bundle_json TEXT NOT NULL,
    PRIMARY KEY (bulletin_id, version)
);

CREATE TABLE bulletin_acks (
    bulletin_id BIGINT NOT NULL REFERENCES bulletins (id),
    institution_id BIGINT NOT NULL REFERENCES institutions (id),
    version BIGINT NOT NULL,
    acknowledged_by TEXT NOT NULL,
    acknowledged_at TEXT NOT NULL,
    PRIMARY KEY (bulletin_id, institution_id)
);

CREATE TABLE stix_objects (
    id {ID},
    collection TEXT NOT NULL,
    object_id TEXT NOT NULL,
    object_type TEXT NOT NULL,
    version TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    date_added TEXT NOT NULL,
    latest BIGINT NOT NULL,
    bulletin_id BIGINT,
    body TEXT NOT NULL,
    UNIQUE (collection, object_id, version)
);
CREATE INDEX stix_objects_page ON stix_objects (collection, id);
CREATE INDEX stix_objects_latest ON stix_objects (collection, latest, id);
CREATE INDEX stix_objects_object ON stix_objects (collection, object_id, id);
-- added_after: the first position added after a time (date_added grows with id).
CREATE INDEX stix_objects_added ON stix_objects (collection, date_added, id);

-- The collections that hold objects (read on every TAXII request; counting stix_objects would
-- cost a scan of millions of rows).
CREATE TABLE taxii_collections (
    collection TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

CREATE TABLE taxii_status (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    body_json TEXT NOT NULL,
    created_at TEXT NOT NULL
);
