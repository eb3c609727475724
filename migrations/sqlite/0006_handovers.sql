-- A/B post handovers (clause 7.6.4), projected from the windows' logs. The handover is stored
-- whole as JSON in `body` as it was written; the acknowledgement (the first by the one who is to
-- acknowledge) and the server's refusal to switch the duty are kept beside it.
CREATE TABLE handovers (
    id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    -- 'A' (A to B, and B's emergency takeover) or 'B' (B's hand back).
    from_post TEXT NOT NULL,
    from_staff TEXT NOT NULL,
    to_staff TEXT NOT NULL,
    written_by TEXT NOT NULL,
    -- Unix microseconds.
    written_at INTEGER NOT NULL,
    emergency INTEGER NOT NULL,
    acknowledged_by TEXT,
    -- RFC 3339, exactly as acknowledged.
    acknowledged_at TEXT,
    acknowledged_note TEXT,
    -- Why the handover did not switch the window's duty (Chinese), if it did not.
    duty_refused TEXT,
    body TEXT NOT NULL
);
CREATE INDEX handovers_by_window ON handovers(window_no, written_at);

-- When the duty last changed (Unix microseconds; 0: as seeded). A handover written before that
-- and uploaded late (it waited offline) is recorded but does not switch the duty back.
ALTER TABLE duty ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;

-- Every acknowledgement as it arrived, so that one arriving before its handover (from another
-- device) still counts when the handover comes.
CREATE TABLE handover_acks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    handover_id TEXT NOT NULL,
    by_staff TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX handover_acks_by_handover ON handover_acks(handover_id);
