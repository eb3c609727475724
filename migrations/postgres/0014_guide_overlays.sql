-- A center's overlay on the county catalogue (issue #18): see sqlite/0028_guide_overlays.sql.
CREATE TABLE guide_overlays (
    center_id TEXT COLLATE "C" NOT NULL REFERENCES center(id),
    code TEXT COLLATE "C" NOT NULL,
    body TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (center_id, code)
);
