-- DSR Desk schema. Instants are timestamptz (UTC); legal dates are date
-- columns in the organisation's time zone.

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL UNIQUE,
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL CHECK (role IN ('admin', 'officer', 'viewer')),
    password_hash text NOT NULL,
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id),
    name         text NOT NULL DEFAULT '',
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

-- The people who ask: data subjects and authorized agents.
CREATE TABLE requesters (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email      text NOT NULL,
    name       text NOT NULL DEFAULT '',
    country    text NOT NULL DEFAULT '',
    state      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX requesters_email_idx ON requesters (lower(email));

CREATE TABLE agents (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL,
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE request_ref_seq;

CREATE TABLE requests (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    ref                  bigint NOT NULL UNIQUE DEFAULT nextval('request_ref_seq'),
    kind                 text NOT NULL,
    regime               text NOT NULL,
    status               text NOT NULL,
    channel              text NOT NULL CHECK (channel IN ('web', 'api', 'email', 'gpc', 'officer')),
    requester_id         uuid NOT NULL REFERENCES requesters (id),
    agent_id             uuid REFERENCES agents (id),
    details              text NOT NULL DEFAULT '',
    fields               jsonb NOT NULL DEFAULT '{}',
    calendar             text NOT NULL,
    received_at          timestamptz NOT NULL,
    received_on          date NOT NULL,
    ack_due              date,
    ack_sent_at          timestamptz,
    legal_due            date NOT NULL,
    policy_due           date,
    due_on               date NOT NULL, -- effective due date: earlier of law and policy, moved by pauses and extensions
    extended_due         date,          -- latest legal date with the maximum extension
    extension_notice_by  date,
    extensions           int NOT NULL DEFAULT 0,
    paused_since         timestamptz,
    paused_days          int NOT NULL DEFAULT 0,
    needs_verification   boolean NOT NULL,
    verified_at          timestamptz,
    verified_method      text NOT NULL DEFAULT '',
    agent_confirmed_at   timestamptz,
    assignee_id          uuid REFERENCES users (id),
    closed_at            timestamptz,
    close_reason         text NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- The officer queue: open requests by effective due date (keyset: due_on, ref).
CREATE INDEX requests_queue_idx ON requests (due_on, ref)
    WHERE status IN ('pending_verification', 'open', 'in_progress', 'awaiting_requester');
CREATE INDEX requests_status_idx ON requests (status);
CREATE INDEX requests_requester_idx ON requests (requester_id);

-- Append-only audit trail, hash-chained per request.
CREATE TABLE events (
    id         bigserial PRIMARY KEY,
    request_id uuid NOT NULL REFERENCES requests (id),
    seq        int NOT NULL,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,         -- 'requester', 'agent', 'system', 'user:<uuid>'
    type       text NOT NULL,
    public     boolean NOT NULL DEFAULT false, -- shown on the requester's status page
    data       jsonb NOT NULL DEFAULT '{}',
    prev_hash  bytea NOT NULL,
    hash       bytea NOT NULL,
    UNIQUE (request_id, seq)
);

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- Every computed or changed date with the rule that produced it.
CREATE TABLE deadline_ledger (
    id         bigserial PRIMARY KEY,
    request_id uuid NOT NULL REFERENCES requests (id),
    at         timestamptz NOT NULL,
    what       text NOT NULL,
    date       date NOT NULL,
    rule       text NOT NULL
);
CREATE INDEX deadline_ledger_request_idx ON deadline_ledger (request_id, id);

-- Outgoing mail: the record of what was told to whom and when.
CREATE TABLE messages (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id     uuid REFERENCES requests (id),
    event          text NOT NULL,
    locale         text NOT NULL DEFAULT 'en',
    recipient_role text NOT NULL CHECK (recipient_role IN ('subject', 'agent', 'officer', 'admin')),
    to_name        text NOT NULL DEFAULT '',
    to_email       text NOT NULL,
    from_email     text NOT NULL,
    subject        text NOT NULL,
    text_body      text NOT NULL,
    html_body      text NOT NULL,
    message_id     text NOT NULL UNIQUE,
    status         text NOT NULL CHECK (status IN ('captured', 'queued', 'sent', 'failed')),
    attempts       int NOT NULL DEFAULT 0,
    last_error     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz
);
CREATE INDEX messages_request_idx ON messages (request_id, created_at);
CREATE INDEX messages_status_idx ON messages (status, created_at);

-- Single-use and link tokens; only the SHA-256 of the token is stored.
CREATE TABLE tokens (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id uuid NOT NULL REFERENCES requests (id),
    purpose    text NOT NULL CHECK (purpose IN ('verify', 'status', 'download')),
    holder     text NOT NULL CHECK (holder IN ('subject', 'agent')),
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX tokens_request_idx ON tokens (request_id);

CREATE TABLE attachments (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id   uuid NOT NULL REFERENCES requests (id),
    purpose      text NOT NULL CHECK (purpose IN ('permission', 'export', 'answer', 'inbound')),
    filename     text NOT NULL,
    content_type text NOT NULL,
    size         bigint NOT NULL,
    sha256       bytea NOT NULL,
    content      bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_request_idx ON attachments (request_id);

-- Idempotency-Key replay: the first answer, sealed with a key derived from
-- the client's Idempotency-Key (which we never store), so a retry gets the
-- same bytes back without the database holding a usable status link.
CREATE TABLE idempotency_keys (
    key_hash     bytea PRIMARY KEY,
    fingerprint  bytea NOT NULL,
    request_id   uuid NOT NULL REFERENCES requests (id),
    response     bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Free text written about a request: officers' internal notes and the
-- requester's answers. Kept apart from events, which hold no free text.
CREATE TABLE notes (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id uuid NOT NULL REFERENCES requests (id),
    author     text NOT NULL,          -- 'subject', 'agent' or 'user:<uuid>'
    internal   boolean NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX notes_request_idx ON notes (request_id, created_at);
