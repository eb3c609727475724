-- Record schema 2: kinds and states are stored as stable ASCII codes (docs/record-format.md)
-- instead of their Chinese labels. The rewrite of what is already stored (device_records'
-- envelopes, and the bodies and state columns of cases, notices, ratings, inquiries and
-- handovers) needs the domain's serde aliases, so it runs in Rust when the store opens
-- (src/server/store/record_schema.rs) while this marker is present, and removes the marker in the
-- same transaction.
CREATE TABLE pending_upgrades (
    name TEXT PRIMARY KEY
);
INSERT INTO pending_upgrades (name) VALUES ('record_schema_2');

-- The post a record's author held, kept beside the envelope: its code ('A', 'B') as in the
-- envelope itself, not the label.
UPDATE device_records SET post = CASE post WHEN 'A岗' THEN 'A' WHEN 'B岗' THEN 'B' ELSE post END
WHERE post IN ('A岗', 'B岗');
