-- Runs and lineage.

CREATE TABLE runs (
    entity     TEXT COLLATE "C" NOT NULL,
    project    TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    name       TEXT,
    run_group  TEXT,
    job_type   TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (entity, project, id)
);

-- Which runs used which versions (first use kept).
CREATE TABLE usages (
    collection_id BIGINT NOT NULL REFERENCES collections (id),
    idx           BIGINT NOT NULL,
    run_id        TEXT NOT NULL,
    used_at       TEXT NOT NULL,
    PRIMARY KEY (collection_id, idx, run_id)
);
CREATE INDEX usages_by_run ON usages (run_id);

ALTER TABLE versions ADD COLUMN logged_by TEXT;
CREATE INDEX versions_by_run ON versions (logged_by);
