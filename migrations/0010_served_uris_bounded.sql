-- served_uris, bounded: each row says when the origin last answered its URI, so a key's
-- rows can be capped (IMGORIGIN_NGINX_URIS_PER_IMAGE) and rows nginx can no longer hold
-- (older than its `inactive`, IMGORIGIN_NGINX_INACTIVE) pruned. Rows from before start
-- their count now.
ALTER TABLE served_uris ADD COLUMN served_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX served_uris_served_at ON served_uris (served_at);
