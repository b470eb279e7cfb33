-- What each original is, found at upload (origin.pipeline.describe): colour space,
-- camera EXIF fields, blurhash, dominant colour, a tiny placeholder and, for libraries
-- with `keep_gps`, where it was taken. NULL for originals uploaded before this: they
-- are not analysed after the fact (a new version or a restore of a later one is).
-- Each version keeps its own, so a restore brings it back.
ALTER TABLE images ADD COLUMN analysis jsonb;
ALTER TABLE image_versions ADD COLUMN analysis jsonb;
