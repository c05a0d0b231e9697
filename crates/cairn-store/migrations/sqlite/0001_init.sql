-- Cairn metadata, SQLite flavour.

CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,          -- SHA-256 of the secret
    name       TEXT NOT NULL,
    entity     TEXT,                      -- NULL: every entity
    role       TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    created_at TEXT NOT NULL
) WITHOUT ROWID;

-- Which verified blobs each project holds (the bytes live in the blob store, shared).
CREATE TABLE project_blobs (
    entity     TEXT NOT NULL,
    project    TEXT NOT NULL,
    digest     BLOB NOT NULL,
    size       INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (entity, project, digest)
) WITHOUT ROWID;

CREATE TABLE collections (
    id         INTEGER PRIMARY KEY,
    entity     TEXT NOT NULL,
    project    TEXT NOT NULL,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL,
    next_index INTEGER NOT NULL DEFAULT 0,  -- never goes down: deleted numbers are not reused
    created_at TEXT NOT NULL,
    UNIQUE (entity, project, name)
);

CREATE TABLE versions (
    collection_id INTEGER NOT NULL REFERENCES collections (id),
    idx           INTEGER NOT NULL,
    digest        TEXT NOT NULL,            -- artifact digest
    manifest      BLOB NOT NULL,            -- canonical manifest bytes
    size          INTEGER NOT NULL,
    file_count    INTEGER NOT NULL,
    description   TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}',
    base          INTEGER,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (collection_id, idx)
);
CREATE INDEX versions_by_digest ON versions (collection_id, digest);

CREATE TABLE aliases (
    collection_id INTEGER NOT NULL REFERENCES collections (id),
    alias         TEXT NOT NULL,
    idx           INTEGER NOT NULL,
    PRIMARY KEY (collection_id, alias)
);
CREATE INDEX aliases_by_version ON aliases (collection_id, idx);

CREATE TABLE pending (
    entity         TEXT NOT NULL,
    project        TEXT NOT NULL,
    name           TEXT NOT NULL,
    distributed_id TEXT NOT NULL,
    type           TEXT NOT NULL,
    manifest       BLOB NOT NULL,
    aliases        TEXT NOT NULL DEFAULT '[]',
    created_at     TEXT NOT NULL,
    PRIMARY KEY (entity, project, name, distributed_id)
);
