-- 差评整改: the follow-up each bad rating at an evaluator opens, stored whole as JSON (its steps
-- with their authors and server times) beside the columns it is listed by. `steps` counts the
-- steps so that two people adding a step at once cannot overwrite each other's.
CREATE TABLE follow_ups (
    rating_id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    staff_id TEXT NOT NULL,
    opened_on TEXT NOT NULL,
    due_on TEXT NOT NULL,
    steps INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX follow_ups_by_window ON follow_ups(window_no, opened_on);
