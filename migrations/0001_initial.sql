-- Libraries, API keys, images and their tags: the first catalog.

CREATE TABLE libraries (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    library_id    bigint REFERENCES libraries (id) ON DELETE CASCADE,  -- NULL: every library
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    key_hash      bytea NOT NULL UNIQUE,   -- sha256 of the key; the key itself is shown once
    prefix        text NOT NULL,           -- the first characters, to tell keys apart in lists
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);

CREATE TABLE images (
    id            text PRIMARY KEY,
    library_id    bigint NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    key           text NOT NULL,
    status        text NOT NULL CHECK (status IN ('pending', 'active', 'deleted')),
    version       integer NOT NULL DEFAULT 1,
    sha256        text NOT NULL,
    format        text NOT NULL,
    width         integer NOT NULL,
    height        integer NOT NULL,
    bytes         bigint NOT NULL,
    alt           text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    activated_at  timestamptz,
    deleted_at    timestamptz
);

-- A key names one live image; deleted rows keep their key for the record.
CREATE UNIQUE INDEX images_live_key ON images (library_id, key) WHERE status <> 'deleted';
-- Originals are shared by content: deleting a blob asks who else still points at it.
CREATE INDEX images_live_sha256 ON images (sha256) WHERE status <> 'deleted';

CREATE TABLE image_tags (
    image_id  text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    tag       text NOT NULL,
    PRIMARY KEY (image_id, tag)
);
CREATE INDEX image_tags_tag ON image_tags (tag);
