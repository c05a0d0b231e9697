-- Tokens limited to one project of their entity, and tokens that expire (Unix seconds).
ALTER TABLE tokens ADD COLUMN project TEXT;
ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
