-- Tenants, step 3 (issue #18): `migrate` into a county database of several centers, and indexes
-- for statements bound to a center.
--
-- `bianmin migrate` into a county database that already holds other centers (issue #18):
-- per table and center, whether the county's own rows of a county-wide table (guides, lexicon,
-- calendar) were kept instead of the source's, and by how much the source's identity values
-- (audit ids, acknowledgement and sign-in failure sequence numbers) were shifted so that they do
-- not meet the county's (0 when the table was empty: the values are kept as they were).
ALTER TABLE migration_progress ADD COLUMN kept_county BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE migration_progress ADD COLUMN id_offset BIGINT NOT NULL DEFAULT 0;

-- A refusal's counting bucket is per center (sqlite/0027): two centers' lines never count as
-- one, and two townships' trails moved into one county database never meet on a bucket.
DROP INDEX audit_by_bucket;
CREATE UNIQUE INDEX audit_by_bucket ON audit(center_id, bucket) WHERE bucket IS NOT NULL;

-- A handover's acknowledgements and a case's transfers are looked up with their center
-- (sqlite/0027).
DROP INDEX handover_acks_by_center;
CREATE INDEX handover_acks_by_center ON handover_acks(center_id, handover_id, seq);
DROP INDEX case_transfers_by_center;
CREATE INDEX case_transfers_by_center ON case_transfers(center_id, case_id);
