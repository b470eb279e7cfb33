-- The request URIs the origin answered for each image key, as sent (raw). nginx's cache
-- purge module removes one exact cache key at a time, so a purge must be able to name
-- every URI under which nginx may hold a variant. By key, not by image: a URI names a
-- key, so whatever image was ever served under it, purging the key's image reaches it.
CREATE TABLE served_uris (
    library_id  bigint NOT NULL REFERENCES libraries (id) ON DELETE CASCADE,
    key         text NOT NULL,
    uri         text NOT NULL,
    PRIMARY KEY (library_id, key, uri)
);
