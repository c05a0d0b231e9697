-- Blobs stored whole that a collection packed into chunks (docs/chunking.md, "Storage"): their
-- whole objects are deleted by a later collection, once no download can still be reading them.
CREATE TABLE gc_whole_packed (
    digest    BLOB PRIMARY KEY,
    packed_at TEXT NOT NULL
) WITHOUT ROWID;
