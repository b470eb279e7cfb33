-- Webhooks per library: the events they hear (none listed: every event), the URL
-- they are POSTed to, and the secret that signs each body (HMAC-SHA256).

CREATE TABLE webhooks (
    id          text PRIMARY KEY,
    library_id  bigint NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    url         text NOT NULL,
    events      text[] NOT NULL DEFAULT '{}',
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhooks_library ON webhooks (library_id);
