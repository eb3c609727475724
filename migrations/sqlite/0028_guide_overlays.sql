-- A center's overlay on the county catalogue (issue #18): per center and guide code, one JSON
-- document (`domain::overlay::GuideOverlay`: hidden, local aliases, replaced 办理地点 and phones).
-- The guides table stays county-wide. A row is never deleted (an overlay changed back to nothing
-- is kept as an empty document), and every change moves the guide's own change sequence on, so
-- a center's terminals receive it in their next delta sync.
CREATE TABLE guide_overlays (
    center_id TEXT NOT NULL REFERENCES center(id),
    code TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (center_id, code)
);
