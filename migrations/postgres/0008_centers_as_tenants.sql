-- Centers as tenants (issue #18), as SQLite's 0025_centers_as_tenants.sql (which says what gets a
-- center and why): every center-owned row carries its center, part of the key wherever the key is
-- center-local. In place: a one-center database becomes tenant #1. The scalar subquery
-- `(SELECT id FROM center)` fails if a database somehow held two centers before this migration,
-- rather than guessing; with none, a table with rows fails on NOT NULL. Either way the migration
-- is undone, nothing half-done.

ALTER TABLE staff ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE staff SET center_id = (SELECT id FROM center);
CREATE INDEX staff_by_center ON staff(center_id);

ALTER TABLE audit ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE audit SET center_id = (SELECT id FROM center);
CREATE INDEX audit_by_center ON audit(center_id, id);

-- One queue revision counter per center; a database not yet seeded gets its row when seeded.
CREATE TABLE queue_revision_tenant (
    center_id TEXT COLLATE "C" PRIMARY KEY REFERENCES center(id),
    rev BIGINT NOT NULL
);
INSERT INTO queue_revision_tenant (center_id, rev) SELECT c.id, r.rev FROM center c, queue_revision r WHERE r.id = 1;
DROP TABLE queue_revision;
ALTER TABLE queue_revision_tenant RENAME TO queue_revision;

-- queue_categories
ALTER TABLE queue_categories ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE queue_categories SET center_id = (SELECT id FROM center);
ALTER TABLE queue_categories ALTER COLUMN center_id SET NOT NULL;
ALTER TABLE queue_categories DROP CONSTRAINT queue_categories_pkey, ADD PRIMARY KEY (center_id, letter);

-- windows
ALTER TABLE windows ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE windows SET center_id = (SELECT id FROM center);
ALTER TABLE windows ALTER COLUMN center_id SET NOT NULL;
ALTER TABLE windows DROP CONSTRAINT windows_pkey, ADD PRIMARY KEY (center_id, window_no);

-- duty
ALTER TABLE duty ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE duty SET center_id = (SELECT id FROM center);
ALTER TABLE duty ALTER COLUMN center_id SET NOT NULL;
ALTER TABLE duty DROP CONSTRAINT duty_pkey, ADD PRIMARY KEY (center_id, window_no);

-- queue_windows
ALTER TABLE queue_windows ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE queue_windows SET center_id = (SELECT id FROM center);
ALTER TABLE queue_windows ALTER COLUMN center_id SET NOT NULL;
ALTER TABLE queue_windows DROP CONSTRAINT queue_windows_pkey, ADD PRIMARY KEY (center_id, window_no);

-- appointment_slots
ALTER TABLE appointment_slots ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE appointment_slots SET center_id = (SELECT id FROM center);
ALTER TABLE appointment_slots ALTER COLUMN center_id SET NOT NULL;
ALTER TABLE appointment_slots DROP CONSTRAINT appointment_slots_pkey, ADD PRIMARY KEY (center_id, category, start_min);

-- queue_tickets
ALTER TABLE queue_tickets ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE queue_tickets SET center_id = (SELECT id FROM center);
ALTER TABLE queue_tickets ALTER COLUMN center_id SET NOT NULL;
ALTER TABLE queue_tickets DROP CONSTRAINT queue_tickets_day_letter_seq_key;
ALTER TABLE queue_tickets ADD UNIQUE (center_id, day, letter, seq);
DROP INDEX queue_tickets_line;
CREATE INDEX queue_tickets_line ON queue_tickets(center_id, day, status, category, tier, rank_at);
DROP INDEX queue_tickets_one_per_window;
CREATE UNIQUE INDEX queue_tickets_one_per_window ON queue_tickets(center_id, window_no) WHERE status IN ('已叫号', '办理中');
DROP INDEX queue_tickets_waiting;
CREATE INDEX queue_tickets_waiting ON queue_tickets(center_id, day, tier, rank_at, letter, seq) WHERE status = '等候';

-- appointment_bookings
ALTER TABLE appointment_bookings ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE appointment_bookings SET center_id = (SELECT id FROM center);
ALTER TABLE appointment_bookings ALTER COLUMN center_id SET NOT NULL;
ALTER TABLE appointment_bookings DROP CONSTRAINT appointment_bookings_day_code_key;
ALTER TABLE appointment_bookings ADD UNIQUE (center_id, day, code);
DROP INDEX appointment_bookings_slot;
CREATE INDEX appointment_bookings_slot ON appointment_bookings(center_id, category, slot_start);
DROP INDEX appointment_bookings_phone;
CREATE INDEX appointment_bookings_phone ON appointment_bookings(center_id, day, phone);

-- cases
ALTER TABLE cases ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE cases SET center_id = (SELECT id FROM center);
ALTER TABLE cases ALTER COLUMN center_id SET NOT NULL;
DROP INDEX cases_by_window;
CREATE INDEX cases_by_window ON cases(center_id, window_no, status);

-- device_records
ALTER TABLE device_records ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE device_records SET center_id = (SELECT id FROM center);
ALTER TABLE device_records ALTER COLUMN center_id SET NOT NULL;
DROP INDEX device_records_by_window;
CREATE INDEX device_records_by_window ON device_records(center_id, window_no);

-- visits
ALTER TABLE visits ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE visits SET center_id = (SELECT id FROM center);
ALTER TABLE visits ALTER COLUMN center_id SET NOT NULL;
DROP INDEX visits_by_window;
CREATE INDEX visits_by_window ON visits(center_id, window_no, created_at);

-- stream_heads
ALTER TABLE stream_heads ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE stream_heads SET center_id = (SELECT id FROM center);
ALTER TABLE stream_heads ALTER COLUMN center_id SET NOT NULL;
DROP INDEX stream_heads_by_window;
CREATE INDEX stream_heads_by_window ON stream_heads(center_id, window_no);

-- notices
ALTER TABLE notices ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE notices SET center_id = (SELECT id FROM center);
ALTER TABLE notices ALTER COLUMN center_id SET NOT NULL;
CREATE INDEX notices_by_center ON notices(center_id, window_no);

-- handovers
ALTER TABLE handovers ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE handovers SET center_id = (SELECT id FROM center);
ALTER TABLE handovers ALTER COLUMN center_id SET NOT NULL;
DROP INDEX handovers_by_window;
CREATE INDEX handovers_by_window ON handovers(center_id, window_no, written_at);

-- handover_acks
ALTER TABLE handover_acks ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE handover_acks SET center_id = (SELECT id FROM center);
ALTER TABLE handover_acks ALTER COLUMN center_id SET NOT NULL;
CREATE INDEX handover_acks_by_center ON handover_acks(center_id);

-- inquiries
ALTER TABLE inquiries ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE inquiries SET center_id = (SELECT id FROM center);
ALTER TABLE inquiries ALTER COLUMN center_id SET NOT NULL;
DROP INDEX inquiries_by_time;
CREATE INDEX inquiries_by_time ON inquiries(center_id, asked_at);

-- ratings
ALTER TABLE ratings ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE ratings SET center_id = (SELECT id FROM center);
ALTER TABLE ratings ALTER COLUMN center_id SET NOT NULL;
DROP INDEX ratings_by_window;
CREATE INDEX ratings_by_window ON ratings(center_id, window_no, rated_at);
DROP INDEX ratings_unanswered;
CREATE INDEX ratings_unanswered ON ratings(center_id, bad, reply);

-- case_conflicts
ALTER TABLE case_conflicts ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE case_conflicts SET center_id = (SELECT id FROM center);
ALTER TABLE case_conflicts ALTER COLUMN center_id SET NOT NULL;
DROP INDEX case_conflicts_open;
CREATE INDEX case_conflicts_open ON case_conflicts(center_id, window_no, seen_at);

-- case_transfers
ALTER TABLE case_transfers ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE case_transfers SET center_id = (SELECT id FROM center);
ALTER TABLE case_transfers ALTER COLUMN center_id SET NOT NULL;
CREATE INDEX case_transfers_by_center ON case_transfers(center_id);

-- follow_ups
ALTER TABLE follow_ups ADD COLUMN center_id TEXT COLLATE "C" REFERENCES center(id);
UPDATE follow_ups SET center_id = (SELECT id FROM center);
ALTER TABLE follow_ups ALTER COLUMN center_id SET NOT NULL;
DROP INDEX follow_ups_by_window;
CREATE INDEX follow_ups_by_window ON follow_ups(center_id, window_no, opened_on);

