-- 好差评 given at the windows. `bad` marks the ratings that must be replied to (clause 8.2.1.4
-- asks for a 100% reply rate); `reply` holds the center's answer.
CREATE TABLE ratings (
    id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    staff_id TEXT NOT NULL,
    case_id TEXT,
    level TEXT NOT NULL,
    bad INTEGER NOT NULL,
    rated_at INTEGER NOT NULL,
    reply TEXT,
    body TEXT NOT NULL
);
CREATE INDEX ratings_by_window ON ratings(window_no, rated_at);
CREATE INDEX ratings_unanswered ON ratings(bad, reply);
