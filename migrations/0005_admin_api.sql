-- The complete admin API: who made an image, since when it is pending (for the
-- sweeper), and every version of its original (listed, and restorable).

ALTER TABLE images ADD COLUMN created_by text;
ALTER TABLE images ADD COLUMN pending_since timestamptz;
UPDATE images SET pending_since = updated_at WHERE status = 'pending';

-- The sweeper's question: which pending images are older than their library's TTL.
CREATE INDEX images_pending ON images (library_id, pending_since) WHERE status = 'pending';
-- Listing a library newest first, and by key prefix, with keyset pagination.
CREATE INDEX images_library_created ON images (library_id, created_at, id);
CREATE INDEX images_library_key ON images (library_id, key text_pattern_ops, id);

-- One row per version of an image's original; the image row holds the current one.
-- Originals stay in the store while any version of a live image points at them.
CREATE TABLE image_versions (
    image_id    text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    version     integer NOT NULL,
    sha256      text NOT NULL,
    format      text NOT NULL,
    width       integer NOT NULL,
    height      integer NOT NULL,
    bytes       bigint NOT NULL,
    created_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (image_id, version)
);
CREATE INDEX image_versions_sha256 ON image_versions (sha256);

INSERT INTO image_versions (image_id, version, sha256, format, width, height, bytes, created_at)
SELECT id, version, sha256, format, width, height, bytes, updated_at FROM images;
