-- The request URIs the origin answered for each image, as sent (raw). nginx's cache
-- purge module removes one exact cache key at a time, so a purge of an image must be
-- able to name every URI under which nginx may hold one of its variants.
CREATE TABLE served_uris (
    image_id  text NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    uri       text NOT NULL,
    PRIMARY KEY (image_id, uri)
);
