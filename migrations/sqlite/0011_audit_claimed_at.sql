-- The audit trail's time is the server's receipt; what the client said (a record's created_at)
-- is kept beside it as the claimed time, never instead. Unix seconds (UTC); NULL when the server
-- acted itself.
ALTER TABLE audit ADD COLUMN claimed_at INTEGER;
