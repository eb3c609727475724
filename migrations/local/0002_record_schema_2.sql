-- Record schema 2: kinds and states are stored as stable ASCII codes (docs/record-format.md)
-- instead of their Chinese labels. The rewrite of the records already in the log needs the
-- domain's serde aliases, so it runs in Rust when the store opens (src/client/local.rs,
-- `upgrade_records`) while this marker is present, and removes the marker in the same
-- transaction.
INSERT OR REPLACE INTO kv (key, value) VALUES ('upgrade:record_schema_2', 'pending');
