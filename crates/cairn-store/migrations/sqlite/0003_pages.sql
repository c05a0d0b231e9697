-- Manifests as content-addressed pages of at most 4,096 entries, shared between versions: a
-- commit that changes a few entries of a large base writes only the pages it changes.
CREATE TABLE manifest_pages (
    digest BLOB PRIMARY KEY,   -- SHA-256 of body
    body   BLOB NOT NULL,      -- canonical manifest JSON of the page's entries
    stream BLOB NOT NULL       -- the page's part of the artifact digest (path NUL digest LF ...)
) WITHOUT ROWID;

-- The version's page list (JSON); NULL for versions written before pages (manifest holds all).
ALTER TABLE versions ADD COLUMN pages TEXT;
