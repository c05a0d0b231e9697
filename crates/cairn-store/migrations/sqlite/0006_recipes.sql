-- Blobs stored as chunks in packs (see docs/chunking.md).

-- A blob's recipe: its chunks in order and where each one is (encoded by recipe.rs).
CREATE TABLE recipes (
    digest BLOB PRIMARY KEY,
    size   BIGINT NOT NULL,
    body   BLOB NOT NULL
) WITHOUT ROWID;

-- Which packs each recipe reads: a pack no row names is garbage.
CREATE TABLE recipe_packs (
    pack   TEXT NOT NULL,
    digest BLOB NOT NULL,
    PRIMARY KEY (pack, digest)
) WITHOUT ROWID;
CREATE INDEX recipe_packs_digest ON recipe_packs (digest);

-- Packs a collection is deleting: no recipe may name one until it is gone.
CREATE TABLE gc_doomed_packs (
    pack      TEXT PRIMARY KEY,
    doomed_at TEXT NOT NULL
) WITHOUT ROWID;
