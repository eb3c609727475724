-- The terminal's own store: a cache of what the server owns (catalogue, snapshots of the window)
-- and the device's append-only log of what was done at this window.

CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE guides (
    code TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL
);

-- This device's records and those of other devices at the same window, as downloaded.
CREATE TABLE records (
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    idx INTEGER NOT NULL,
    id TEXT NOT NULL UNIQUE,
    window_no INTEGER NOT NULL,
    kind TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    envelope TEXT NOT NULL,
    PRIMARY KEY (device, stream, idx)
);

-- How far the server holds each log, as it last said. What lies beyond is the outbox.
CREATE TABLE acked (
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (device, stream)
);
