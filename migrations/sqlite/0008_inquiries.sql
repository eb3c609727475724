-- Questions at the guidance desk under first-question responsibility (首问负责制): what was
-- asked, which guide answered it, where the person was sent, and who was asked first.
CREATE TABLE inquiries (
    id TEXT PRIMARY KEY,
    asked_at INTEGER NOT NULL,
    first_responder TEXT NOT NULL,
    guide_code TEXT,
    outcome TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX inquiries_by_time ON inquiries(asked_at);
