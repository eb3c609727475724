-- Indexes for statements bound to a center (issue #18, step 3).
--
-- A refusal's counting bucket is per center (postgres/0013): two centers' lines never count as
-- one, and two townships' trails moved into one county database never meet on a bucket.
DROP INDEX audit_by_bucket;
CREATE UNIQUE INDEX audit_by_bucket ON audit(center_id, bucket) WHERE bucket IS NOT NULL;

-- A handover's acknowledgements and a case's transfers are looked up with their center: with
-- only (center_id) and (handover_id) / (case_id) to choose from, SQLite (no statistics) took the
-- center's index and scanned every acknowledgement / transfer of the center.
DROP INDEX handover_acks_by_center;
CREATE INDEX handover_acks_by_center ON handover_acks(center_id, handover_id, seq);
DROP INDEX case_transfers_by_center;
CREATE INDEX case_transfers_by_center ON case_transfers(center_id, case_id);
