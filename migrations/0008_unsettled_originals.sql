-- A journal of originals whose fate is open: an entry is committed before an original
-- is put (or before an image's originals are dropped) and removed once the image row
-- pointing at it is committed (or the originals dropped). A process that dies or fails
-- in between leaves its entry, and the sweeper then removes the blob unless an image
-- uses it: no orphan outlives a crash.

CREATE TABLE unsettled_originals (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256  text NOT NULL,
    since   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX unsettled_originals_since ON unsettled_originals (since);
