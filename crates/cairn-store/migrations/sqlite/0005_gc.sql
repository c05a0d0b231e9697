-- Garbage collection that cannot lose acknowledged bytes (see docs/gc.md).

-- Blobs a collection has forgotten and is deleting: no project may hold one again until its
-- bytes are gone and the row with them.
CREATE TABLE gc_doomed (
    digest    BLOB PRIMARY KEY,
    doomed_at TEXT NOT NULL
) WITHOUT ROWID;

-- One row: advanced by every collection that dooms a blob, so an upload can tell whether one
-- ran between publishing its bytes and recording its holding.
CREATE TABLE gc_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO gc_state (id, epoch) VALUES (1, 0);
