-- Every record made at a window, as uploaded from the device's log. A record is stored once:
-- a replay hits the primary key and is ignored; a different record claiming the same place (or
-- the same id elsewhere) is a conflict.
CREATE TABLE device_records (
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
    PRIMARY KEY (device, stream, idx)
);
CREATE INDEX device_records_by_window ON device_records(window_no);

-- Projection: walk-ins and paper tickets served at a window.
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    author TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX visits_by_window ON visits(window_no, created_at);

-- How far each (device, stream) log is complete, kept up to date by every upload so that the
-- sync status is one small read however long the logs grow.
CREATE TABLE stream_heads (
    device TEXT NOT NULL,
    stream TEXT NOT NULL,
    window_no INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (device, stream)
);
CREATE INDEX stream_heads_by_window ON stream_heads(window_no);
