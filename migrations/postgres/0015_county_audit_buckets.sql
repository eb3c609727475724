-- The county's counted refusals (audit lines of no center: a request without a session, a
-- county account) merge per bucket as a center's do. The (center_id, bucket) index cannot do it:
-- NULLs never conflict in a unique index.
CREATE UNIQUE INDEX audit_by_county_bucket ON audit(bucket) WHERE bucket IS NOT NULL AND center_id IS NULL;
