-- The MD5 of blobs a project holds: clients of other registries (the W&B SDK) name files by MD5.
-- Per project, never across projects: MD5 collisions can be made, so an MD5 only ever resolves to
-- bytes the same project uploaded or was shown.
CREATE TABLE blob_md5 (
    entity  TEXT COLLATE "C" NOT NULL,
    project TEXT COLLATE "C" NOT NULL,
    md5     TEXT COLLATE "C" NOT NULL,            -- 32 lowercase hex digits
    digest  TEXT NOT NULL,              -- sha256:<hex>
    size    BIGINT NOT NULL,
    PRIMARY KEY (entity, project, md5)
);
CREATE INDEX blob_md5_by_digest ON blob_md5 (entity, project, digest);

-- What compatibility layers keep between requests (a W&B artifact being saved, a W&B run's
-- Cairn id, the URL-signing secret), as JSON by key, so any replica can answer the next request.
CREATE TABLE compat_state (
    key        TEXT COLLATE "C" PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
