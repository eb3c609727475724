-- Domain objects are stored whole as JSON in `body`; the columns beside it are what queries filter
-- and order on. Times are Unix seconds (UTC).

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE center (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE queue_categories (
    letter TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE windows (
    window_no INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    active INTEGER NOT NULL,
    password_hash TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id TEXT NOT NULL REFERENCES staff(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- `seq` is the catalogue change sequence: every insert or content change takes the next value,
-- so a client asks for "everything after the seq I have".
CREATE TABLE guides (
    code TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX guides_by_seq ON guides(seq);

CREATE TABLE duty (
    window_no INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    category TEXT NOT NULL,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    window_no INTEGER,
    body TEXT NOT NULL,
    UNIQUE (day, category, seq)
);
CREATE INDEX tickets_by_status ON tickets(day, status, category);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    status TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX cases_by_window ON cases(window_no, status);
