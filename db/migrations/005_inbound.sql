-- Requests by email: every message the inbound SMTP listener accepted, as
-- received (raw bytes, envelope), and what became of it. The SMTP session
-- inserts the row and its parse job in one transaction before answering
-- 250; the job fills in the rest.
CREATE TABLE inbound_emails (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    received_at   timestamptz NOT NULL,
    envelope_from text NOT NULL DEFAULT '',     -- MAIL FROM; '' for the null sender <>
    recipients    text[] NOT NULL,              -- accepted RCPT TO
    remote_ip     text NOT NULL DEFAULT '',
    helo          text NOT NULL DEFAULT '',
    message_id    text NOT NULL DEFAULT '',     -- Message-ID header without angle brackets
    raw           bytea NOT NULL,
    size          int NOT NULL,
    status        text NOT NULL DEFAULT 'received'
        CHECK (status IN ('received', 'request', 'reply', 'ignored', 'unreadable', 'not_a_request')),
    request_id    uuid REFERENCES requests (id), -- the request created or replied to
    from_address  text NOT NULL DEFAULT '',     -- From: header, once parsed
    subject       text NOT NULL DEFAULT '',
    dkim          text NOT NULL DEFAULT ''
        CHECK (dkim IN ('', 'pass', 'fail', 'none', 'temperror')),
    dkim_domain   text NOT NULL DEFAULT '',
    note          text NOT NULL DEFAULT '',     -- why ignored/unreadable, or the officer's reason
    marked_by     text NOT NULL DEFAULT '',     -- actor who marked it not a request
    processed_at  timestamptz
);
-- A message resent by the sender's MTA (after a lost 250, a 451, a second
-- MX) is stored once.
CREATE UNIQUE INDEX inbound_emails_message_id_idx ON inbound_emails (message_id) WHERE message_id <> '';
CREATE INDEX inbound_emails_status_idx ON inbound_emails (status, received_at);
CREATE INDEX inbound_emails_request_idx ON inbound_emails (request_id) WHERE request_id IS NOT NULL;
