-- Appeals of refusals (issue #13 §2): each appeal is its own case on its
-- request, with its own answer date and a reviewer other than the refuser.
-- refused_on and request_due keep the request's dates at the refusal, for
-- a reversal (the request reopens with the days that were left).
CREATE TABLE appeals (
    id            uuid PRIMARY KEY,
    request_id    uuid NOT NULL REFERENCES requests (id),
    received_at   timestamptz NOT NULL,
    received_on   date NOT NULL,
    channel       text NOT NULL CHECK (channel IN ('status_page', 'officer', 'email')),
    reason        text NOT NULL,
    late          boolean NOT NULL DEFAULT false,
    due_on        date NOT NULL,
    max_due       date,
    extended      boolean NOT NULL DEFAULT false,
    refuser_id    uuid REFERENCES users (id),
    reviewer_id   uuid REFERENCES users (id),
    outcome       text CHECK (outcome IN ('reversed', 'upheld')),
    explanation   text NOT NULL DEFAULT '',
    decided_at    timestamptz,
    attachment_id uuid,
    refused_on    date NOT NULL,
    request_due   date NOT NULL,
    CHECK ((outcome IS NULL) = (decided_at IS NULL))
);
CREATE INDEX appeals_request_idx ON appeals (request_id, received_at);
-- At most one undecided appeal per request.
CREATE UNIQUE INDEX appeals_open_idx ON appeals (request_id) WHERE outcome IS NULL;

ALTER TABLE attachments DROP CONSTRAINT attachments_purpose_check;
ALTER TABLE attachments ADD CONSTRAINT attachments_purpose_check
    CHECK (purpose IN ('permission', 'export', 'answer', 'inbound', 'unverified', 'appeal'));
