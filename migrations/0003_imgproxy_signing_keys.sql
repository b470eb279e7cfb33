-- A third signing scheme: `imgproxy`, imgproxy's path signature, so URLs signed for
-- an imgproxy deployment keep working here. Its secret is imgproxy's key and salt,
-- both hex-encoded, as "{key}:{salt}" (what IMGPROXY_KEY and IMGPROXY_SALT hold).

ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_scheme_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_scheme_check
    CHECK (scheme IN ('native', 'imgix', 'imgproxy'));
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_imgproxy_secret_check
    CHECK (scheme <> 'imgproxy' OR secret ~ '^([0-9a-f]{2})+:([0-9a-f]{2})+$');
