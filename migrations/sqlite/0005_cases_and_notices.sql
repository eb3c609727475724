-- Cases arrive as snapshots from the windows' logs; the newest snapshot of a case wins.
ALTER TABLE cases ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;

-- One-time notices as given: what the center told the applicant, when, by whom.
CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    number TEXT NOT NULL,
    window_no INTEGER NOT NULL,
    given_at INTEGER NOT NULL,
    given_by TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX notices_by_case ON notices(case_id);
