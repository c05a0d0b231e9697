-- The most bytes a project may hold (its project_blobs sizes summed); no row: no limit.
CREATE TABLE quotas (
    entity  TEXT NOT NULL,
    project TEXT NOT NULL,
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (entity, project)
) WITHOUT ROWID;
