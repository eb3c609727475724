-- The working-day calendar (State Council holiday schedules) as one document, with a change
-- sequence that terminals use to fetch it only when it changed.
CREATE TABLE calendar (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    body TEXT NOT NULL
);
