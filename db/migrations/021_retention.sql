-- Retention, purge and legal hold (issue #14 §1).
--
-- A purged request stays as its record form: purged_at says when its
-- personal data went. A legal hold (held_at, held_by, hold_reason) stops
-- every purge of the request.
ALTER TABLE requests
    ADD COLUMN purged_at   timestamptz,
    ADD COLUMN held_at     timestamptz,
    ADD COLUMN held_by     text NOT NULL DEFAULT '',
    ADD COLUMN hold_reason text NOT NULL DEFAULT '';
-- The purge's candidates: closed, not yet purged, by close.
CREATE INDEX requests_unpurged_idx ON requests (closed_at) WHERE purged_at IS NULL AND closed_at IS NOT NULL;

-- A message redacted to its record: event, role, status, sent_at.
ALTER TABLE messages ADD COLUMN redacted_at timestamptz;
CREATE INDEX messages_unredacted_idx ON messages (created_at) WHERE redacted_at IS NULL;

-- An inbound email whose raw message and headers were erased.
ALTER TABLE inbound_emails ADD COLUMN purged_at timestamptz;
CREATE INDEX inbound_emails_unpurged_idx ON inbound_emails (processed_at) WHERE purged_at IS NULL;

CREATE INDEX tokens_ended_idx ON tokens (coalesce(used_at, expires_at));

-- The audit chain, version 2: an event's personal data (free text people
-- wrote) sits in personal, outside the hashed material; its SHA-256
-- (personal_digest, over a salt and the data) is hashed instead. The
-- purge nulls personal and keeps the digest, so the chain still
-- verifies. Rows written before this migration are hash_version 1 (the
-- whole data hashed) and verify as before.
ALTER TABLE events
    ADD COLUMN hash_version    smallint NOT NULL DEFAULT 1 CHECK (hash_version IN (1, 2)),
    ADD COLUMN personal        jsonb,
    ADD COLUMN personal_digest bytea;

-- Events stay append-only; the one update allowed is the purge's: the
-- personal part set to NULL, every other column unchanged.
CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.personal IS NOT NULL AND NEW.personal IS NULL
       AND (NEW.id, NEW.request_id, NEW.seq, NEW.at, NEW.actor, NEW.type, NEW.public, NEW.data,
            NEW.prev_hash, NEW.hash, NEW.hash_version, NEW.personal_digest)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.request_id, OLD.seq, OLD.at, OLD.actor, OLD.type, OLD.public, OLD.data,
            OLD.prev_hash, OLD.hash, OLD.hash_version, OLD.personal_digest) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'events are append-only';
END $$;
