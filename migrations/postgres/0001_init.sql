-- The server's schema on PostgreSQL: the final schema of migrations/sqlite (0001..0017) in one
-- step, as this backend starts without history. Tables the SQLite store no longer reads (`meta`,
-- the old `tickets`) and SQLite's one-off upgrade marker (`pending_upgrades`) are left out.
--
-- Types: integers, counts and times are BIGINT (Unix seconds, or milliseconds/microseconds where
-- the column's name in the Rust store says so), the same i64 the SQLite store binds. Ids (UUIDs),
-- China-time days (YYYY-MM-DD) and the stored JSON bodies are TEXT in their canonical form, as in
-- SQLite, so that a row reads the same on both backends (the content digest of a later
-- sqlite -> postgres migration compares them byte for byte). Text order of a day is date order.

CREATE TABLE center (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE queue_categories (
    letter TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE windows (
    window_no BIGINT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    active BIGINT NOT NULL,
    password_hash TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES staff(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_staff ON sessions(staff_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

CREATE TABLE guides (
    code TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX guides_by_seq ON guides(seq);

CREATE TABLE duty (
    window_no BIGINT PRIMARY KEY,
    body TEXT NOT NULL,
    changed_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    window_no BIGINT NOT NULL,
    status TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 0,
    version_id TEXT
);
CREATE INDEX cases_by_window ON cases(window_no, status);

CREATE TABLE device_records (
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    idx BIGINT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    window_no BIGINT NOT NULL,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    post TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    envelope TEXT NOT NULL,
    PRIMARY KEY (device, stream, idx)
);
CREATE INDEX device_records_by_window ON device_records(window_no);

CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    window_no BIGINT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX visits_by_window ON visits(window_no, created_at);

CREATE TABLE stream_heads (
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    window_no BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (device, stream)
);
CREATE INDEX stream_heads_by_window ON stream_heads(window_no);

CREATE TABLE calendar (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE queue_tickets (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    letter TEXT NOT NULL,
    seq BIGINT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    window_no BIGINT,
    target_window BIGINT,
    tier BIGINT NOT NULL,
    rank_at BIGINT NOT NULL,
    slot_start BIGINT,
    body TEXT NOT NULL,
    status_token TEXT,
    UNIQUE (day, letter, seq)
);
CREATE INDEX queue_tickets_line ON queue_tickets(day, status, category, tier, rank_at);
CREATE INDEX queue_tickets_by_status ON queue_tickets(status, day);
-- The same statuses as `TicketStatus::is_at_window` (checked by the store's unit test on SQLite).
CREATE UNIQUE INDEX queue_tickets_one_per_window ON queue_tickets(window_no) WHERE status IN ('已叫号', '办理中');

CREATE TABLE queue_windows (
    window_no BIGINT PRIMARY KEY,
    paused_reason TEXT,
    paused_at BIGINT,
    paused_by TEXT
);

CREATE TABLE queue_revision (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    rev BIGINT NOT NULL
);
INSERT INTO queue_revision (id, rev) VALUES (1, 0);

CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    number TEXT NOT NULL,
    window_no BIGINT NOT NULL,
    given_at BIGINT NOT NULL,
    given_by TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX notices_by_case ON notices(case_id);
CREATE INDEX notices_by_number ON notices(number);

CREATE TABLE handovers (
    id TEXT PRIMARY KEY,
    window_no BIGINT NOT NULL,
    from_post TEXT NOT NULL,
    from_staff TEXT NOT NULL,
    to_staff TEXT NOT NULL,
    written_by TEXT NOT NULL,
    written_at BIGINT NOT NULL,
    emergency BIGINT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    acknowledged_note TEXT,
    duty_refused TEXT,
    body TEXT NOT NULL
);
CREATE INDEX handovers_by_window ON handovers(window_no, written_at);

CREATE TABLE handover_acks (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    handover_id TEXT NOT NULL,
    by_staff TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX handover_acks_by_handover ON handover_acks(handover_id);

CREATE TABLE login_failures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id TEXT NOT NULL,
    addr TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_staff ON login_failures(staff_id, at);
CREATE INDEX login_failures_by_addr ON login_failures(addr, at);

CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    staff_id TEXT NOT NULL,
    window_no BIGINT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    addr TEXT,
    claimed_at BIGINT,
    count BIGINT NOT NULL DEFAULT 1,
    bucket TEXT
);
CREATE INDEX audit_by_target ON audit(target_kind, target_id);
CREATE INDEX audit_by_staff ON audit(staff_id, id);
CREATE UNIQUE INDEX audit_by_bucket ON audit(bucket) WHERE bucket IS NOT NULL;

CREATE TABLE inquiries (
    id TEXT PRIMARY KEY,
    asked_at BIGINT NOT NULL,
    first_responder TEXT NOT NULL,
    guide_code TEXT,
    outcome TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX inquiries_by_time ON inquiries(asked_at);

CREATE TABLE ratings (
    id TEXT PRIMARY KEY,
    window_no BIGINT NOT NULL,
    staff_id TEXT NOT NULL,
    case_id TEXT,
    level TEXT NOT NULL,
    bad BIGINT NOT NULL,
    rated_at BIGINT NOT NULL,
    reply TEXT,
    body TEXT NOT NULL,
    ticket_id TEXT,
    author TEXT
);
CREATE INDEX ratings_by_window ON ratings(window_no, rated_at);
CREATE INDEX ratings_unanswered ON ratings(bad, reply);
CREATE UNIQUE INDEX ratings_one_per_ticket ON ratings(ticket_id) WHERE ticket_id IS NOT NULL;

CREATE TABLE device_staff (
    device TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (device, staff_id)
);

CREATE TABLE lexicon (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE case_conflicts (
    record_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    window_no BIGINT NOT NULL,
    reason TEXT NOT NULL,
    version BIGINT NOT NULL,
    held_version BIGINT NOT NULL,
    author TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    guide_name TEXT NOT NULL,
    edits TEXT NOT NULL,
    seen_by TEXT,
    seen_at BIGINT
);
CREATE INDEX case_conflicts_open ON case_conflicts(window_no, seen_at);

CREATE TABLE case_transfers (
    record_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    from_window BIGINT NOT NULL,
    to_window BIGINT NOT NULL,
    kind TEXT NOT NULL,
    by_staff TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX case_transfers_by_case ON case_transfers(case_id);

CREATE TABLE follow_ups (
    rating_id TEXT PRIMARY KEY,
    window_no BIGINT NOT NULL,
    staff_id TEXT NOT NULL,
    opened_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    steps BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX follow_ups_by_window ON follow_ups(window_no, opened_on);
