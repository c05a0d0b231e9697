-- The most bytes a project may hold (its project_blobs sizes summed); no row: no limit.
CREATE TABLE quotas (
    entity  TEXT COLLATE "C" NOT NULL,
    project TEXT COLLATE "C" NOT NULL,
    bytes   BIGINT NOT NULL,
    PRIMARY KEY (entity, project)
);
