-- A journal of originals being written: a row is committed before the blob is put and
-- removed once the image row pointing at it is committed (or the blob removed again).
-- A process that dies in between leaves its row, and the sweeper then removes the
-- blob unless an image uses it: no orphan outlives a crash.

CREATE TABLE original_writes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      text NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX original_writes_started ON original_writes (started_at);
