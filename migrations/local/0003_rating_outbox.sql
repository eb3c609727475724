-- The evaluator's ratings kept on its PC until the server has them (until now a JSON-lines file
-- beside this store, carried over into this table the first time the evaluator opens the store).
-- The rating's id is made on the device: kept once, and a resend is the same rating on the server.
CREATE TABLE rating_outbox (
    id TEXT PRIMARY KEY,
    window_no INTEGER NOT NULL,
    body TEXT NOT NULL,
    kept_at INTEGER NOT NULL
);
