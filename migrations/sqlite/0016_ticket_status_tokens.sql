-- The token of a ticket's public status page (`GET /q/{day}/{number}?t=TOKEN`, clause 7.1.1):
-- random, made when the kiosk prints the slip, so only who holds the slip can see the page.
ALTER TABLE queue_tickets ADD COLUMN status_token TEXT;
