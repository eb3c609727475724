-- Appointments (线上预约, clause 7.1.1), as SQLite's 0019_appointments.sql: the slots of a working
-- day per queue category, set by the admin, and the bookings. A booking is a queue ticket in
-- status 已预约 (queue_tickets); this table holds what must not travel with the ticket on the live
-- feed: the booking code the applicant checks in with, and the phone number (personal data, read
-- only to find the booking).
CREATE TABLE appointment_slots (
    category TEXT COLLATE "C" NOT NULL,
    -- China time, minutes after midnight.
    start_min BIGINT NOT NULL,
    end_min BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    PRIMARY KEY (category, start_min)
);

CREATE TABLE appointment_bookings (
    ticket_id TEXT COLLATE "C" PRIMARY KEY REFERENCES queue_tickets(id),
    -- China-time day of the slot, YYYY-MM-DD.
    day TEXT COLLATE "C" NOT NULL,
    category TEXT COLLATE "C" NOT NULL,
    -- Unix milliseconds: the slot booked; places are counted per (category, slot_start).
    slot_start BIGINT NOT NULL,
    -- Six digits (domain::appointment::booking_code), unique within the day.
    code TEXT COLLATE "C" NOT NULL,
    phone TEXT COLLATE "C",
    UNIQUE (day, code)
);
CREATE INDEX appointment_bookings_slot ON appointment_bookings(category, slot_start);
CREATE INDEX appointment_bookings_phone ON appointment_bookings(day, phone);
