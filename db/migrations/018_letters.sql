-- Requests entered by an officer from a letter, a phone call or a visit
-- in person; the requester may have no email address, only a postal one.
ALTER TABLE requests DROP CONSTRAINT requests_channel_check;
ALTER TABLE requests ADD CONSTRAINT requests_channel_check
    CHECK (channel IN ('web', 'api', 'email', 'gpc', 'officer', 'letter', 'phone', 'in_person'));

ALTER TABLE requesters ADD COLUMN postal_address text NOT NULL DEFAULT '';

-- A message to a requester without an email address is a letter: the
-- message row (status captured, to_email '') holds what it says, and this
-- row where it goes and when an officer posted it.
CREATE TABLE letters (
    message_id     uuid PRIMARY KEY REFERENCES messages (id),
    request_id     uuid NOT NULL REFERENCES requests (id),
    postal_address text NOT NULL,
    posted_at      timestamptz,
    posted_by      uuid REFERENCES users (id)
);
CREATE INDEX letters_request_idx ON letters (request_id);

-- The scanned letter an officer attaches when entering a request.
ALTER TABLE attachments DROP CONSTRAINT attachments_purpose_check;
ALTER TABLE attachments ADD CONSTRAINT attachments_purpose_check
    CHECK (purpose IN ('permission', 'export', 'answer', 'inbound', 'unverified', 'appeal', 'letter'));
