-- A case's changes are ordered by its version (see domain::access::order_case_change), not by
-- the clocks of the terminals: the version held, and the id of that version. Cases stored before
-- versions keep version 0 and no id.
ALTER TABLE cases ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN version_id TEXT;

-- A snapshot that was not the next version (another terminal's change came first), or came
-- from a window the case had moved away from: kept, never applied, shown to the window until a
-- clerk there marks it seen. `edits` is what it says that the held version does not (JSON list of
-- Chinese phrases, computed when it arrived).
CREATE TABLE case_conflicts (
    record_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    window_no INTEGER NOT NULL,
    reason TEXT NOT NULL,
    version INTEGER NOT NULL,
    held_version INTEGER NOT NULL,
    author TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    guide_name TEXT NOT NULL,
    edits TEXT NOT NULL,
    seen_by TEXT,
    seen_at INTEGER
);
CREATE INDEX case_conflicts_open ON case_conflicts(window_no, seen_at);

-- Recorded moves of a case between windows (转办, or taken over where the applicant came back).
CREATE TABLE case_transfers (
    record_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    from_window INTEGER NOT NULL,
    to_window INTEGER NOT NULL,
    kind TEXT NOT NULL,
    by_staff TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX case_transfers_by_case ON case_transfers(case_id);

-- Refused requests are counted, not written line by line: one line per session (or address),
-- route, status and minute, with how many there were (see server::audit::trail).
ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN bucket TEXT;
CREATE UNIQUE INDEX audit_by_bucket ON audit(bucket) WHERE bucket IS NOT NULL;
