-- A refusal's counting bucket is per center (postgres/0013): two centers' lines never count as
-- one, and two townships' trails moved into one county database never meet on a bucket.
DROP INDEX audit_by_bucket;
CREATE UNIQUE INDEX audit_by_bucket ON audit(center_id, bucket) WHERE bucket IS NOT NULL;
