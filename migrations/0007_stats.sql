-- Library statistics: variants served per library, counted by every origin process in
-- memory and added here every IMGORIGIN_STATS_FLUSH_INTERVAL seconds (no write on the
-- serving path); and each image's average colour and alpha, measured at upload.

CREATE TABLE library_counters (
    library_id  bigint PRIMARY KEY REFERENCES libraries (id) ON DELETE CASCADE,
    renders     bigint NOT NULL DEFAULT 0,  -- variants rendered (X-Cache: MISS)
    hits        bigint NOT NULL DEFAULT 0,  -- variants served without a render
    since       timestamptz NOT NULL DEFAULT now()  -- the first count added
);

-- "#rrggbb": the original's average colour in sRGB (alpha laid on white); NULL for
-- images uploaded before it was measured.
ALTER TABLE images ADD COLUMN colour text;
-- Whether it has an alpha channel (a <picture>'s fallback is PNG then, else JPEG); NULL
-- likewise for images from before. Each version keeps both, so a restore brings them back.
ALTER TABLE images ADD COLUMN has_alpha boolean;
ALTER TABLE image_versions ADD COLUMN colour text;
ALTER TABLE image_versions ADD COLUMN has_alpha boolean;
