-- `bianmin migrate --from sqlite://... --to postgres://...` (server::store::migrate): which
-- center was moved here from which SQLite file, and how far. A run is one center's move; it is
-- finished once every table was copied and checked (row count and content digest on both sides),
-- and a finished run makes a second one refuse. The progress per table lets a run killed midway
-- continue where its last committed batch ended. These tables are the migration's own: it does
-- not copy them and a center's server never reads them.
CREATE TABLE migration_runs (
    center_id TEXT COLLATE "C" PRIMARY KEY,
    -- The source as given on the command line (a path, no secret).
    source TEXT COLLATE "C" NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE TABLE migration_progress (
    center_id TEXT COLLATE "C" NOT NULL REFERENCES migration_runs(center_id),
    table_name TEXT COLLATE "C" NOT NULL,
    rows_copied BIGINT NOT NULL DEFAULT 0,
    done BOOLEAN NOT NULL DEFAULT FALSE,
    -- Set when the run finishes: the checked row count and SHA-256 content digest (hex).
    checked_rows BIGINT,
    digest TEXT COLLATE "C",
    PRIMARY KEY (center_id, table_name)
);
