-- The live queue of the center; the server is the authority. A ticket is stored whole as JSON in
-- `body`; the columns beside it are what selection, counts and look-ups filter and order on, and
-- every write keeps them in step with the body. (The `tickets` table of 0001 is not used.)
CREATE TABLE queue_tickets (
    id TEXT PRIMARY KEY,
    -- China-time day the number belongs to, YYYY-MM-DD.
    day TEXT NOT NULL,
    -- The number: its letter and daily sequence. Never changes, not even with a transfer.
    letter TEXT NOT NULL,
    seq INTEGER NOT NULL,
    -- The line it waits in now (changes with a transfer).
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    -- Called to, served at, or parked at.
    window_no INTEGER,
    -- Transferred to one window: only that window calls it.
    target_window INTEGER,
    -- Place in the line (domain::queue::rank): tier, then Unix milliseconds.
    tier INTEGER NOT NULL,
    rank_at INTEGER NOT NULL,
    -- Unix milliseconds; set while an appointment holds its slot.
    slot_start INTEGER,
    body TEXT NOT NULL,
    UNIQUE (day, letter, seq)
);
CREATE INDEX queue_tickets_line ON queue_tickets(day, status, category, tier, rank_at);
CREATE INDEX queue_tickets_by_status ON queue_tickets(status, day);
-- A window holds at most one ticket called or in service; the database itself refuses a second.
CREATE UNIQUE INDEX queue_tickets_one_per_window ON queue_tickets(window_no) WHERE status IN ('已叫号', '办理中');

-- Windows paused (暂停), with the reason. Unix milliseconds.
CREATE TABLE queue_windows (
    window_no INTEGER PRIMARY KEY,
    paused_reason TEXT,
    paused_at INTEGER,
    paused_by TEXT
);

-- Revision of the queue: every committed change takes the next one in its own transaction, so
-- committed revisions have no gaps and terminals can tell whether they missed a change.
CREATE TABLE queue_revision (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rev INTEGER NOT NULL
);
INSERT INTO queue_revision (id, rev) VALUES (1, 0);
