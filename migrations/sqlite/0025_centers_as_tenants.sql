-- Centers as tenants (issue #18): one database holds several township centers. Every
-- center-owned row carries its center (`center.id`, the center's code); the center is part of the
-- key wherever the natural key is center-local (window numbers, queue letters, per-day ticket
-- numbers, booking codes, the queue revision, duty, pauses, slot plans). Rows keyed by a UUID keep
-- their key and gain the column, first in their indexes.
--
-- County-wide, no column: the guide catalogue, the lexicon, the working-day calendar (published
-- by the county's 政务服务管理机构), sign-in failures (staff ids are unique in the county), and
-- sessions and device_staff (they name a staff member, whose row says the center).
-- Staff and audit lines get a nullable center: NULL is the county (its admin, and what the
-- county admin does).
--
-- In place: a one-center database becomes tenant #1, every row given the one center there is.
-- SQLite cannot add a NOT NULL column without a default or change a key, so each such table is
-- created anew, copied (`SELECT *` then the center: the new column is last, the others keep
-- their order), dropped and renamed, with its indexes made again. A database with rows but no
-- center cannot be given one: the copy then fails on NOT NULL and the migration stops, undone.

ALTER TABLE staff ADD COLUMN center_id TEXT REFERENCES center(id);
UPDATE staff SET center_id = (SELECT id FROM center);
CREATE INDEX staff_by_center ON staff(center_id);

ALTER TABLE audit ADD COLUMN center_id TEXT REFERENCES center(id);
UPDATE audit SET center_id = (SELECT id FROM center);
CREATE INDEX audit_by_center ON audit(center_id, id);

-- queue_revision: one counter per center (the live feed's revisions are per center). A database
-- not yet seeded has no center and gets its row when it is seeded.
CREATE TABLE queue_revision_tenant (
    center_id TEXT PRIMARY KEY REFERENCES center(id),
    rev INTEGER NOT NULL
);
INSERT INTO queue_revision_tenant (center_id, rev) SELECT c.id, r.rev FROM center c, queue_revision r WHERE r.id = 1;
DROP TABLE queue_revision;
ALTER TABLE queue_revision_tenant RENAME TO queue_revision;

-- queue_categories
CREATE TABLE queue_categories_tenant (
    letter TEXT NOT NULL,
    name TEXT NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id),
    PRIMARY KEY (center_id, letter)
);
INSERT INTO queue_categories_tenant SELECT *, (SELECT id FROM center) FROM queue_categories;
DROP TABLE queue_categories;
ALTER TABLE queue_categories_tenant RENAME TO queue_categories;

-- windows
CREATE TABLE windows_tenant (
    window_no INTEGER NOT NULL,
    body TEXT NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id),
    PRIMARY KEY (center_id, window_no)
);
INSERT INTO windows_tenant SELECT *, (SELECT id FROM center) FROM windows;
DROP TABLE windows;
ALTER TABLE windows_tenant RENAME TO windows;

-- duty
CREATE TABLE duty_tenant (
    window_no INTEGER NOT NULL,
    body TEXT NOT NULL,
    changed_at INTEGER NOT NULL DEFAULT 0,
    center_id TEXT NOT NULL REFERENCES center(id),
    PRIMARY KEY (center_id, window_no)
);
INSERT INTO duty_tenant SELECT *, (SELECT id FROM center) FROM duty;
DROP TABLE duty;
ALTER TABLE duty_tenant RENAME TO duty;

-- queue_windows
CREATE TABLE queue_windows_tenant (
    window_no INTEGER NOT NULL,
    paused_reason TEXT,
    paused_at INTEGER,
    paused_by TEXT,
    center_id TEXT NOT NULL REFERENCES center(id),
    PRIMARY KEY (center_id, window_no)
);
INSERT INTO queue_windows_tenant SELECT *, (SELECT id FROM center) FROM queue_windows;
DROP TABLE queue_windows;
ALTER TABLE queue_windows_tenant RENAME TO queue_windows;

-- appointment_slots
CREATE TABLE appointment_slots_tenant (
    category TEXT NOT NULL,
    -- China time, minutes after midnight.
    start_min INTEGER NOT NULL,
    end_min INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id),
    PRIMARY KEY (center_id, category, start_min)
);
INSERT INTO appointment_slots_tenant SELECT *, (SELECT id FROM center) FROM appointment_slots;
DROP TABLE appointment_slots;
ALTER TABLE appointment_slots_tenant RENAME TO appointment_slots;

-- appointment_bookings references queue_tickets: its rows wait in a table without constraints
-- while queue_tickets is rebuilt, so no foreign key is ever violated.
CREATE TABLE appointment_bookings_stash AS SELECT * FROM appointment_bookings;
DROP TABLE appointment_bookings;

-- queue_tickets
CREATE TABLE queue_tickets_tenant (
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
    status_token TEXT,
    center_id TEXT NOT NULL REFERENCES center(id),
    UNIQUE (center_id, day, letter, seq)
);
INSERT INTO queue_tickets_tenant SELECT *, (SELECT id FROM center) FROM queue_tickets;
DROP TABLE queue_tickets;
ALTER TABLE queue_tickets_tenant RENAME TO queue_tickets;
CREATE INDEX queue_tickets_line ON queue_tickets(center_id, day, status, category, tier, rank_at);
CREATE INDEX queue_tickets_by_status ON queue_tickets(status, day);
CREATE UNIQUE INDEX queue_tickets_one_per_window ON queue_tickets(center_id, window_no) WHERE status IN ('已叫号', '办理中');
CREATE INDEX queue_tickets_waiting ON queue_tickets(center_id, day, tier, rank_at, letter, seq) WHERE status = '等候';

-- appointment_bookings
CREATE TABLE appointment_bookings (
    ticket_id TEXT PRIMARY KEY REFERENCES queue_tickets(id),
    -- China-time day of the slot, YYYY-MM-DD.
    day TEXT NOT NULL,
    category TEXT NOT NULL,
    -- Unix milliseconds: the slot booked; places are counted per (category, slot_start).
    slot_start INTEGER NOT NULL,
    -- Six digits (domain::appointment::booking_code), unique within the center's day.
    code TEXT NOT NULL,
    phone TEXT,
    center_id TEXT NOT NULL REFERENCES center(id),
    UNIQUE (center_id, day, code)
);
INSERT INTO appointment_bookings SELECT *, (SELECT id FROM center) FROM appointment_bookings_stash;
DROP TABLE appointment_bookings_stash;
CREATE INDEX appointment_bookings_slot ON appointment_bookings(center_id, category, slot_start);
CREATE INDEX appointment_bookings_phone ON appointment_bookings(center_id, day, phone);

-- cases
CREATE TABLE cases_tenant (
    id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    status TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    updated_at INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,
    version_id TEXT,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO cases_tenant SELECT *, (SELECT id FROM center) FROM cases;
DROP TABLE cases;
ALTER TABLE cases_tenant RENAME TO cases;
CREATE INDEX cases_by_window ON cases(center_id, window_no, status);

-- device_records
CREATE TABLE device_records_tenant (
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    idx INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    window_no INTEGER NOT NULL,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    post TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    envelope TEXT NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id),
    PRIMARY KEY (device, stream, idx)
);
INSERT INTO device_records_tenant SELECT *, (SELECT id FROM center) FROM device_records;
DROP TABLE device_records;
ALTER TABLE device_records_tenant RENAME TO device_records;
CREATE INDEX device_records_by_window ON device_records(center_id, window_no);

-- visits
CREATE TABLE visits_tenant (
    id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO visits_tenant SELECT *, (SELECT id FROM center) FROM visits;
DROP TABLE visits;
ALTER TABLE visits_tenant RENAME TO visits;
CREATE INDEX visits_by_window ON visits(center_id, window_no, created_at);

-- stream_heads
CREATE TABLE stream_heads_tenant (
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    window_no INTEGER NOT NULL,
    last INTEGER NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id),
    PRIMARY KEY (device, stream)
);
INSERT INTO stream_heads_tenant SELECT *, (SELECT id FROM center) FROM stream_heads;
DROP TABLE stream_heads;
ALTER TABLE stream_heads_tenant RENAME TO stream_heads;
CREATE INDEX stream_heads_by_window ON stream_heads(center_id, window_no);

-- notices
CREATE TABLE notices_tenant (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    number TEXT NOT NULL,
    window_no INTEGER NOT NULL,
    given_at INTEGER NOT NULL,
    given_by TEXT NOT NULL,
    body TEXT NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO notices_tenant SELECT *, (SELECT id FROM center) FROM notices;
DROP TABLE notices;
ALTER TABLE notices_tenant RENAME TO notices;
CREATE INDEX notices_by_case ON notices(case_id);
CREATE INDEX notices_by_center ON notices(center_id, window_no);

-- handovers
CREATE TABLE handovers_tenant (
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
    body TEXT NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO handovers_tenant SELECT *, (SELECT id FROM center) FROM handovers;
DROP TABLE handovers;
ALTER TABLE handovers_tenant RENAME TO handovers;
CREATE INDEX handovers_by_window ON handovers(center_id, window_no, written_at);

-- handover_acks
CREATE TABLE handover_acks_tenant (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    handover_id TEXT NOT NULL,
    by_staff TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO handover_acks_tenant SELECT *, (SELECT id FROM center) FROM handover_acks;
DROP TABLE handover_acks;
ALTER TABLE handover_acks_tenant RENAME TO handover_acks;
CREATE INDEX handover_acks_by_handover ON handover_acks(handover_id);
CREATE INDEX handover_acks_by_center ON handover_acks(center_id);

-- inquiries
CREATE TABLE inquiries_tenant (
    id TEXT PRIMARY KEY,
    asked_at INTEGER NOT NULL,
    first_responder TEXT NOT NULL,
    guide_code TEXT,
    outcome TEXT NOT NULL,
    body TEXT NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO inquiries_tenant SELECT *, (SELECT id FROM center) FROM inquiries;
DROP TABLE inquiries;
ALTER TABLE inquiries_tenant RENAME TO inquiries;
CREATE INDEX inquiries_by_time ON inquiries(center_id, asked_at);

-- ratings
CREATE TABLE ratings_tenant (
    id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    staff_id TEXT NOT NULL,
    case_id TEXT,
    level TEXT NOT NULL,
    bad INTEGER NOT NULL,
    rated_at INTEGER NOT NULL,
    reply TEXT,
    body TEXT NOT NULL,
    ticket_id TEXT,
    author TEXT,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO ratings_tenant SELECT *, (SELECT id FROM center) FROM ratings;
DROP TABLE ratings;
ALTER TABLE ratings_tenant RENAME TO ratings;
CREATE INDEX ratings_by_window ON ratings(center_id, window_no, rated_at);
CREATE INDEX ratings_unanswered ON ratings(center_id, bad, reply);
CREATE UNIQUE INDEX ratings_one_per_ticket ON ratings(ticket_id) WHERE ticket_id IS NOT NULL;

-- case_conflicts
CREATE TABLE case_conflicts_tenant (
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
    seen_at INTEGER,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO case_conflicts_tenant SELECT *, (SELECT id FROM center) FROM case_conflicts;
DROP TABLE case_conflicts;
ALTER TABLE case_conflicts_tenant RENAME TO case_conflicts;
CREATE INDEX case_conflicts_open ON case_conflicts(center_id, window_no, seen_at);

-- case_transfers
CREATE TABLE case_transfers_tenant (
    record_id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    from_window INTEGER NOT NULL,
    to_window INTEGER NOT NULL,
    kind TEXT NOT NULL,
    by_staff TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO case_transfers_tenant SELECT *, (SELECT id FROM center) FROM case_transfers;
DROP TABLE case_transfers;
ALTER TABLE case_transfers_tenant RENAME TO case_transfers;
CREATE INDEX case_transfers_by_case ON case_transfers(case_id);
CREATE INDEX case_transfers_by_center ON case_transfers(center_id);

-- follow_ups
CREATE TABLE follow_ups_tenant (
    rating_id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    staff_id TEXT NOT NULL,
    opened_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    steps INTEGER NOT NULL,
    body TEXT NOT NULL,
    center_id TEXT NOT NULL REFERENCES center(id)
);
INSERT INTO follow_ups_tenant SELECT *, (SELECT id FROM center) FROM follow_ups;
DROP TABLE follow_ups;
ALTER TABLE follow_ups_tenant RENAME TO follow_ups;
CREATE INDEX follow_ups_by_window ON follow_ups(center_id, window_no, opened_on);

