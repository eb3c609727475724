-- Ratings given at the evaluator facing the window (评价器): bound to the ticket served, one per
-- ticket, authored by the evaluator's device account. Ratings from the clerks' logs have neither.
ALTER TABLE ratings ADD COLUMN ticket_id TEXT;
ALTER TABLE ratings ADD COLUMN author TEXT;
CREATE UNIQUE INDEX ratings_one_per_ticket ON ratings(ticket_id) WHERE ticket_id IS NOT NULL;
