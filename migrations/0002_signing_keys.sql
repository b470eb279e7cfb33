-- Keys that sign public URLs, several live per library so they can be rotated.
-- `scheme` is how a URL is signed with the key: `native` (HMAC-SHA256) or `imgix`
-- (imgix's md5 token scheme, for the imgix SDKs). Secrets are stored as they are:
-- verifying an HMAC needs the secret itself, not a hash of it.

CREATE TABLE signing_keys (
    id          text PRIMARY KEY,
    library_id  bigint NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    scheme      text NOT NULL CHECK (scheme IN ('native', 'imgix')),
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE INDEX signing_keys_live ON signing_keys (library_id) WHERE revoked_at IS NULL;
