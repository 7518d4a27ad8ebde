-- Account and token lifecycle (issue 10 §5).

-- API tokens may expire; NULL means no expiry (tokens created before this).
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

-- Disabling a user and changing a password end sessions by user; the
-- periodic cleanup deletes by absolute and idle expiry.
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_last_seen_idx ON sessions (last_seen_at);

-- The record of changes to accounts: who (actor_id; NULL for the dsrdesk
-- command on the server) did what to whom. Never a password or a token.
CREATE TABLE user_events (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL,
    actor_id uuid REFERENCES users (id),
    user_id  uuid NOT NULL REFERENCES users (id),
    action   text NOT NULL CHECK (action IN ('disable', 'enable', 'role', 'password', 'token_create', 'token_revoke')),
    detail   text NOT NULL DEFAULT ''
);
CREATE INDEX user_events_user_idx ON user_events (user_id, at);
