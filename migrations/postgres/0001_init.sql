-- The server's schema on PostgreSQL: the final schema of migrations/sqlite (0001..0017) in one
-- step, as this backend starts without history. Tables the SQLite store no longer reads (`meta`,
-- the old `tickets`) and SQLite's one-off upgrade marker (`pending_upgrades`) are left out.
--
-- Types: integers, counts and times are BIGINT (Unix seconds, or milliseconds/microseconds where
-- the column's name in the Rust store says so), the same i64 the SQLite store binds. Ids (UUIDs),
-- China-time days (YYYY-MM-DD) and the stored JSON bodies are TEXT in their canonical form, as in
-- SQLite, so that a row reads the same on both backends (the content digest of a later
-- sqlite -> postgres migration compares them byte for byte). Text order of a day is date order.
-- Every text column compares by bytes (COLLATE "C"), as SQLite's do, whatever the database's
-- locale: orderings by id, letter or day are the same on both backends.

CREATE TABLE center (
    id TEXT COLLATE "C" PRIMARY KEY,
    body TEXT COLLATE "C" NOT NULL
);

CREATE TABLE queue_categories (
    letter TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL
);

CREATE TABLE windows (
    window_no BIGINT PRIMARY KEY,
    body TEXT COLLATE "C" NOT NULL
);

CREATE TABLE staff (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL,
    active BIGINT NOT NULL,
    password_hash TEXT COLLATE "C" NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT COLLATE "C" PRIMARY KEY,
    staff_id TEXT COLLATE "C" NOT NULL REFERENCES staff(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_staff ON sessions(staff_id);
CREATE INDEX sessions_by_expiry ON sessions(expires_at);

CREATE TABLE guides (
    code TEXT COLLATE "C" PRIMARY KEY,
    seq BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX guides_by_seq ON guides(seq);

CREATE TABLE duty (
    window_no BIGINT PRIMARY KEY,
    body TEXT COLLATE "C" NOT NULL,
    changed_at BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE cases (
    id TEXT COLLATE "C" PRIMARY KEY,
    window_no BIGINT NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    opened_at BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 0,
    version_id TEXT COLLATE "C"
);
CREATE INDEX cases_by_window ON cases(window_no, status);

CREATE TABLE device_records (
    device TEXT COLLATE "C" NOT NULL,
    stream TEXT COLLATE "C" NOT NULL,
    idx BIGINT NOT NULL,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    window_no BIGINT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    author TEXT COLLATE "C" NOT NULL,
    post TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    envelope TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (device, stream, idx)
);
CREATE INDEX device_records_by_window ON device_records(window_no);

CREATE TABLE visits (
    id TEXT COLLATE "C" PRIMARY KEY,
    window_no BIGINT NOT NULL,
    author TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX visits_by_window ON visits(window_no, created_at);

CREATE TABLE stream_heads (
    device TEXT COLLATE "C" NOT NULL,
    stream TEXT COLLATE "C" NOT NULL,
    window_no BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (device, stream)
);
CREATE INDEX stream_heads_by_window ON stream_heads(window_no);

CREATE TABLE calendar (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);

CREATE TABLE queue_tickets (
    id TEXT COLLATE "C" PRIMARY KEY,
    day TEXT COLLATE "C" NOT NULL,
    letter TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    window_no BIGINT,
    target_window BIGINT,
    tier BIGINT NOT NULL,
    rank_at BIGINT NOT NULL,
    slot_start BIGINT,
    body TEXT COLLATE "C" NOT NULL,
    status_token TEXT COLLATE "C",
    UNIQUE (day, letter, seq)
);
CREATE INDEX queue_tickets_line ON queue_tickets(day, status, category, tier, rank_at);
CREATE INDEX queue_tickets_by_status ON queue_tickets(status, day);
-- The same statuses as `TicketStatus::is_at_window` (checked by the store's unit test on SQLite).
CREATE UNIQUE INDEX queue_tickets_one_per_window ON queue_tickets(window_no) WHERE status IN ('已叫号', '办理中');

CREATE TABLE queue_windows (
    window_no BIGINT PRIMARY KEY,
    paused_reason TEXT COLLATE "C",
    paused_at BIGINT,
    paused_by TEXT COLLATE "C"
);

CREATE TABLE queue_revision (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    rev BIGINT NOT NULL
);
INSERT INTO queue_revision (id, rev) VALUES (1, 0);

CREATE TABLE notices (
    id TEXT COLLATE "C" PRIMARY KEY,
    case_id TEXT COLLATE "C" NOT NULL,
    number TEXT COLLATE "C" NOT NULL,
    window_no BIGINT NOT NULL,
    given_at BIGINT NOT NULL,
    given_by TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX notices_by_case ON notices(case_id);
CREATE INDEX notices_by_number ON notices(number);

CREATE TABLE handovers (
    id TEXT COLLATE "C" PRIMARY KEY,
    window_no BIGINT NOT NULL,
    from_post TEXT COLLATE "C" NOT NULL,
    from_staff TEXT COLLATE "C" NOT NULL,
    to_staff TEXT COLLATE "C" NOT NULL,
    written_by TEXT COLLATE "C" NOT NULL,
    written_at BIGINT NOT NULL,
    emergency BIGINT NOT NULL,
    acknowledged_by TEXT COLLATE "C",
    acknowledged_at TEXT COLLATE "C",
    acknowledged_note TEXT COLLATE "C",
    duty_refused TEXT COLLATE "C",
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX handovers_by_window ON handovers(window_no, written_at);

CREATE TABLE handover_acks (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id TEXT COLLATE "C" NOT NULL UNIQUE,
    handover_id TEXT COLLATE "C" NOT NULL,
    by_staff TEXT COLLATE "C" NOT NULL,
    at TEXT COLLATE "C" NOT NULL,
    note TEXT COLLATE "C" NOT NULL
);
CREATE INDEX handover_acks_by_handover ON handover_acks(handover_id);

CREATE TABLE login_failures (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id TEXT COLLATE "C" NOT NULL,
    addr TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_by_staff ON login_failures(staff_id, at);
CREATE INDEX login_failures_by_addr ON login_failures(addr, at);

CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    staff_id TEXT COLLATE "C" NOT NULL,
    window_no BIGINT,
    action TEXT COLLATE "C" NOT NULL,
    target_kind TEXT COLLATE "C" NOT NULL,
    target_id TEXT COLLATE "C" NOT NULL,
    addr TEXT COLLATE "C",
    claimed_at BIGINT,
    count BIGINT NOT NULL DEFAULT 1,
    bucket TEXT COLLATE "C"
);
CREATE INDEX audit_by_target ON audit(target_kind, target_id);
CREATE INDEX audit_by_staff ON audit(staff_id, id);
CREATE UNIQUE INDEX audit_by_bucket ON audit(bucket) WHERE bucket IS NOT NULL;

CREATE TABLE inquiries (
    id TEXT COLLATE "C" PRIMARY KEY,
    asked_at BIGINT NOT NULL,
    first_responder TEXT COLLATE "C" NOT NULL,
    guide_code TEXT COLLATE "C",
    outcome TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX inquiries_by_time ON inquiries(asked_at);

CREATE TABLE ratings (
    id TEXT COLLATE "C" PRIMARY KEY,
    window_no BIGINT NOT NULL,
    staff_id TEXT COLLATE "C" NOT NULL,
    case_id TEXT COLLATE "C",
    level TEXT COLLATE "C" NOT NULL,
    bad BIGINT NOT NULL,
    rated_at BIGINT NOT NULL,
    reply TEXT COLLATE "C",
    body TEXT COLLATE "C" NOT NULL,
    ticket_id TEXT COLLATE "C",
    author TEXT COLLATE "C"
);
CREATE INDEX ratings_by_window ON ratings(window_no, rated_at);
CREATE INDEX ratings_unanswered ON ratings(bad, reply);
CREATE UNIQUE INDEX ratings_one_per_ticket ON ratings(ticket_id) WHERE ticket_id IS NOT NULL;

CREATE TABLE device_staff (
    device TEXT COLLATE "C" NOT NULL,
    staff_id TEXT COLLATE "C" NOT NULL,
    first_seen BIGINT NOT NULL,
    PRIMARY KEY (device, staff_id)
);

CREATE TABLE lexicon (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);

CREATE TABLE case_conflicts (
    record_id TEXT COLLATE "C" PRIMARY KEY,
    case_id TEXT COLLATE "C" NOT NULL,
    window_no BIGINT NOT NULL,
    reason TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    held_version BIGINT NOT NULL,
    author TEXT COLLATE "C" NOT NULL,
    received_at BIGINT NOT NULL,
    guide_name TEXT COLLATE "C" NOT NULL,
    edits TEXT COLLATE "C" NOT NULL,
    seen_by TEXT COLLATE "C",
    seen_at BIGINT
);
CREATE INDEX case_conflicts_open ON case_conflicts(window_no, seen_at);

CREATE TABLE case_transfers (
    record_id TEXT COLLATE "C" PRIMARY KEY,
    case_id TEXT COLLATE "C" NOT NULL,
    from_window BIGINT NOT NULL,
    to_window BIGINT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    by_staff TEXT COLLATE "C" NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX case_transfers_by_case ON case_transfers(case_id);

CREATE TABLE follow_ups (
    rating_id TEXT COLLATE "C" PRIMARY KEY,
    window_no BIGINT NOT NULL,
    staff_id TEXT COLLATE "C" NOT NULL,
    opened_on TEXT COLLATE "C" NOT NULL,
    due_on TEXT COLLATE "C" NOT NULL,
    steps BIGINT NOT NULL,
    body TEXT COLLATE "C" NOT NULL
);
CREATE INDEX follow_ups_by_window ON follow_ups(window_no, opened_on);
