-- Replies whose From: is neither the requester's nor the agent's address
-- are held for officers: 'unverified' until an officer accepts one
-- ('accepted'). '' is every other message (and replies from the right
-- address). The held text and the would-be author (subject or agent: whom
-- our mail went to) are what accepting applies, exactly as a matching
-- reply would have been applied.
ALTER TABLE inbound_emails
    ADD COLUMN trust text NOT NULL DEFAULT '' CHECK (trust IN ('', 'unverified', 'accepted')),
    ADD COLUMN held_for text NOT NULL DEFAULT '' CHECK (held_for IN ('', 'subject', 'agent')),
    ADD COLUMN held_text text NOT NULL DEFAULT '',
    ADD COLUMN held_attachments uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN accepted_by text NOT NULL DEFAULT '',
    ADD COLUMN accepted_at timestamptz;
CREATE INDEX inbound_emails_unverified_idx ON inbound_emails (request_id) WHERE trust = 'unverified';

-- The attachments of an unverified reply are stored but are no answer
-- documents until the reply is accepted.
ALTER TABLE attachments DROP CONSTRAINT attachments_purpose_check;
ALTER TABLE attachments ADD CONSTRAINT attachments_purpose_check
    CHECK (purpose IN ('permission', 'export', 'answer', 'inbound', 'unverified'));
