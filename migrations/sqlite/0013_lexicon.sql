-- The guidance desk's colloquial lexicon (docs/lexicon-format.md) as one document, with a
-- change sequence that terminals use to fetch it only when it changed.
CREATE TABLE lexicon (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    body TEXT NOT NULL
);
