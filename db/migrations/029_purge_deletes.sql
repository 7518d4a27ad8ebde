-- Issue #14 §1: the retention purge deletes the requester and agent rows
-- of the requests it turns into their record form, instead of blanking
-- them in place. Blanking made a much smaller row version that the free
-- space map placed in the leftover space of some other page, a
-- different page for nearly every row: one 8 KB full page image in the
-- WAL per requester, 85 MB per batch of 10,000 (EXPLAIN (ANALYZE, WAL)
-- at 1,000,000 requests). A delete writes a few dozen bytes per row.
--
-- A purged request names the anonymous requester below (and, if it came
-- through an agent, the anonymous agent): the record keeps that it was
-- made, and whether through an agent, and no one's identity. Both rows
-- are the nil UUID; nothing else can be them (dsr.NewID makes UUIDv7s).
INSERT INTO requesters (id, email, name) VALUES ('00000000-0000-0000-0000-000000000000', '', '');
INSERT INTO agents (id, email, name) VALUES ('00000000-0000-0000-0000-000000000000', '', '');

-- Requests purged before this migration name their own blanked rows:
-- they name the anonymous ones now, and the blanked rows go, so that a
-- purged request always names the anonymous person (the purge deletes a
-- row once no request outside its batch names it). The columns the
-- reports count do not change (migration 027).
SELECT set_config('dsrdesk.report_unchanged', 'on', true);
UPDATE requests SET requester_id = '00000000-0000-0000-0000-000000000000'
    WHERE purged_at IS NOT NULL AND requester_id <> '00000000-0000-0000-0000-000000000000';
UPDATE requests SET agent_id = '00000000-0000-0000-0000-000000000000'
    WHERE purged_at IS NOT NULL AND agent_id <> '00000000-0000-0000-0000-000000000000';
SELECT set_config('dsrdesk.report_unchanged', '', true);
DELETE FROM requesters s WHERE s.id <> '00000000-0000-0000-0000-000000000000'
    AND (s.email, s.name, s.country, s.state, s.postal_address) = ('', '', '', '', '')
    AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.requester_id = s.id);
DELETE FROM agents s WHERE s.id <> '00000000-0000-0000-0000-000000000000'
    AND (s.email, s.name) = ('', '')
    AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.agent_id = s.id);

-- An event's personal part moves out of events into event_personal, a
-- row of its own that the purge deletes. Erasing it in place (personal
-- set to NULL, the one update the events trigger allowed) rewrote the
-- event row: a new row version, often on another page, and a PL/pgSQL
-- trigger call per row, about 125 ms per batch of 10,000 at 1,000,000
-- events; a delete of the side row writes a few bytes and calls
-- nothing. The hash chain is unchanged: events keep personal_digest,
-- which the chain hashes, and `audit verify` checks the side row
-- against it. Events are append-only again, without exception.
CREATE TABLE event_personal (
    request_id uuid NOT NULL,
    seq        int NOT NULL,
    personal   jsonb NOT NULL,  -- {"salt": hex, "data": {...}} (db.personalPart)
    PRIMARY KEY (request_id, seq),
    -- It follows its event (which the events trigger keeps from changing).
    FOREIGN KEY (request_id, seq) REFERENCES events (request_id, seq) ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO event_personal (request_id, seq, personal)
    SELECT request_id, seq, personal FROM events WHERE personal IS NOT NULL;
DROP TRIGGER events_no_update ON events;
ALTER TABLE events DROP COLUMN personal;
CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

-- A personal part is written once and deleted by the purge; it is never
-- changed.
CREATE FUNCTION event_personal_delete_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the personal part of an event is never changed, only deleted by the purge';
END $$;
CREATE TRIGGER event_personal_no_update BEFORE UPDATE ON event_personal
    FOR EACH ROW EXECUTE FUNCTION event_personal_delete_only();
