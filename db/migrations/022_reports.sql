-- Issue #14 §2: regulators' reports and the dashboard at 10M requests.
--
-- Reports read a pre-aggregate, not requests: report_rollup holds, per
-- grain, the number of requests for each combination of the dimensions a
-- report groups by, including the exact calendar days to respond, so
-- medians and means are exact (a histogram of days). It is kept by
-- statement-level triggers on requests, set-based: each statement appends
-- +1/-1 rows per changed request to report_delta (insert-only, so
-- concurrent writers never wait on one counter row), and the report_fold
-- job folds the deltas into the rollup. Readers add rollup and unfolded
-- deltas, so a report is exact at any moment.
--
-- Grains (columns not used by a grain hold '' / -1 / NULL / false). Each
-- keeps only the dimensions its reports group by, so the rollup stays
-- small (one grain with every dimension would multiply the cells):
--   month   : period = first day of the received month; regime, kind,
--             days, on_time (the histogram of days to respond)
--   result  : period = received month; regime, kind, result, reason
--   flags   : period = received month; regime, kind, extended, paused
--   officer : period = received month; assignee_id, days, on_time
--   week    : period = Monday of the received week; days, on_time
-- result: open (any not-closed status), full, partial, no_data
-- (completed; '' outcome reads as full), denied, withdrawn, expired,
-- appealed. days: calendar days from received_on to the closing date in
-- the organisation's time zone for completed and denied requests, -1
-- otherwise. on_time: closed on or before due_on (NULL when not answered).

-- The denial reason code (workflow DenyReasons), copied from the denied
-- event so that reports can group by it.
ALTER TABLE requests ADD COLUMN deny_reason text NOT NULL DEFAULT '';
UPDATE requests r SET deny_reason = coalesce(e.data->>'reason', '')
FROM (SELECT DISTINCT ON (request_id) request_id, data FROM events WHERE type = 'denied'
      ORDER BY request_id, seq DESC) e
WHERE e.request_id = r.id;

CREATE FUNCTION events_deny_reason() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE requests SET deny_reason = coalesce(NEW.data->>'reason', '') WHERE id = NEW.request_id
        AND deny_reason IS DISTINCT FROM coalesce(NEW.data->>'reason', '');
    RETURN NULL;
END $$;
CREATE TRIGGER events_deny_reason AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.type = 'denied') EXECUTE FUNCTION events_deny_reason();

-- The organisation's time zone for "days to respond" (set by the engine
-- at start through db.SetReportTimeZone, which rebuilds the rollup when
-- it changes).
CREATE TABLE report_settings (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    time_zone text NOT NULL DEFAULT 'UTC'
);
INSERT INTO report_settings DEFAULT VALUES;

CREATE TABLE report_rollup (
    grain       text NOT NULL CHECK (grain IN ('month', 'result', 'flags', 'officer', 'week')),
    period      date NOT NULL,
    regime      text NOT NULL DEFAULT '',
    kind        text NOT NULL DEFAULT '',
    result      text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    days        int NOT NULL DEFAULT -1,
    on_time     boolean,
    extended    boolean NOT NULL DEFAULT false,
    paused      boolean NOT NULL DEFAULT false,
    assignee_id uuid,
    n           bigint NOT NULL,
    UNIQUE NULLS NOT DISTINCT (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id)
);

CREATE TABLE report_delta (
    id          bigserial PRIMARY KEY,
    grain       text NOT NULL,
    period      date NOT NULL,
    regime      text NOT NULL,
    kind        text NOT NULL,
    result      text NOT NULL,
    reason      text NOT NULL,
    days        int NOT NULL,
    on_time     boolean,
    extended    boolean NOT NULL,
    paused      boolean NOT NULL,
    assignee_id uuid,
    n           bigint NOT NULL
);
CREATE INDEX report_delta_grain_idx ON report_delta (grain, period);

-- report_keys are the rollup keys of one request (one per grain). One
-- SELECT without a CTE, so the planner inlines it into the triggers'
-- set-based statements instead of calling it per row.
CREATE FUNCTION report_keys(r requests, tz text)
RETURNS TABLE (grain text, period date, regime text, kind text, result text, reason text, days int,
               on_time boolean, extended boolean, paused boolean, assignee_id uuid)
LANGUAGE sql IMMUTABLE AS $$
    SELECT g.grain,
           CASE WHEN g.grain = 'week' THEN date_trunc('week', r.received_on)::date
                ELSE date_trunc('month', r.received_on)::date END,
           CASE WHEN g.grain IN ('month', 'result', 'flags') THEN r.regime ELSE '' END,
           CASE WHEN g.grain IN ('month', 'result', 'flags') THEN r.kind ELSE '' END,
           CASE WHEN g.grain <> 'result' THEN ''
                WHEN r.status = 'completed' THEN CASE WHEN r.outcome = '' THEN 'full' ELSE r.outcome END
                WHEN r.status IN ('denied', 'withdrawn', 'expired', 'appealed') THEN r.status
                ELSE 'open' END,
           CASE WHEN g.grain = 'result' AND r.status = 'denied' THEN r.deny_reason ELSE '' END,
           CASE WHEN g.grain IN ('month', 'officer', 'week') AND r.status IN ('completed', 'denied') AND r.closed_at IS NOT NULL
                THEN (r.closed_at AT TIME ZONE tz)::date - r.received_on ELSE -1 END,
           CASE WHEN g.grain IN ('month', 'officer', 'week') AND r.status IN ('completed', 'denied') AND r.closed_at IS NOT NULL
                THEN (r.closed_at AT TIME ZONE tz)::date <= r.due_on END,
           g.grain = 'flags' AND r.extensions > 0,
           g.grain = 'flags' AND (r.paused_days > 0 OR r.paused_since IS NOT NULL),
           CASE WHEN g.grain = 'officer' THEN r.assignee_id END
    FROM (VALUES ('month'), ('result'), ('flags'), ('officer'), ('week')) g(grain)
$$;

CREATE FUNCTION report_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tz text := (SELECT time_zone FROM report_settings);
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_delta (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n)
        SELECT k.*, count(*) FROM report_new r, report_keys(r, tz) k
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO report_delta (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n)
        SELECT k.*, -count(*) FROM report_old r, report_keys(r, tz) k
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;
    ELSE
        -- Only the requests whose report dimensions changed.
        WITH d AS (
            SELECT k.*, -1 AS n FROM report_old o JOIN report_new n ON n.id = o.id, report_keys(o, tz) k
            WHERE (o.status, o.outcome, o.closed_at, o.due_on, o.received_on, o.extensions, o.paused_days,
                   o.paused_since IS NULL, o.assignee_id, o.kind, o.regime, o.deny_reason)
                  IS DISTINCT FROM
                  (n.status, n.outcome, n.closed_at, n.due_on, n.received_on, n.extensions, n.paused_days,
                   n.paused_since IS NULL, n.assignee_id, n.kind, n.regime, n.deny_reason)
            UNION ALL
            SELECT k.*, 1 FROM report_old o JOIN report_new n ON n.id = o.id, report_keys(n, tz) k
            WHERE (o.status, o.outcome, o.closed_at, o.due_on, o.received_on, o.extensions, o.paused_days,
                   o.paused_since IS NULL, o.assignee_id, o.kind, o.regime, o.deny_reason)
                  IS DISTINCT FROM
                  (n.status, n.outcome, n.closed_at, n.due_on, n.received_on, n.extensions, n.paused_days,
                   n.paused_since IS NULL, n.assignee_id, n.kind, n.regime, n.deny_reason)
        )
        INSERT INTO report_delta (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n)
        SELECT grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, sum(n)
        FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 HAVING sum(n) <> 0;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER requests_report_ins AFTER INSERT ON requests
    REFERENCING NEW TABLE AS report_new FOR EACH STATEMENT EXECUTE FUNCTION report_track();
CREATE TRIGGER requests_report_upd AFTER UPDATE ON requests
    REFERENCING OLD TABLE AS report_old NEW TABLE AS report_new FOR EACH STATEMENT EXECUTE FUNCTION report_track();
CREATE TRIGGER requests_report_del AFTER DELETE ON requests
    REFERENCING OLD TABLE AS report_old FOR EACH STATEMENT EXECUTE FUNCTION report_track();

-- report_fold moves the deltas into the rollup (the report_fold job).
-- A concurrent fold waits on the rows the first one deletes and then
-- skips them, so no delta is counted twice.
CREATE FUNCTION report_fold() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    moved bigint;
BEGIN
    WITH d AS (DELETE FROM report_delta RETURNING *),
    s AS (
        SELECT grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, sum(n) AS n
        FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    ), up AS (
        INSERT INTO report_rollup AS r (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n)
        SELECT * FROM s WHERE n <> 0
        ON CONFLICT (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id)
        DO UPDATE SET n = r.n + EXCLUDED.n
        RETURNING 1
    )
    SELECT count(*) INTO moved FROM up;
    DELETE FROM report_rollup WHERE n = 0;
    RETURN moved;
END $$;

-- report_rebuild recomputes the rollup from requests (after a time-zone
-- change, or after a bulk load with the triggers' work done at once).
CREATE FUNCTION report_rebuild() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    tz text := (SELECT time_zone FROM report_settings);
BEGIN
    LOCK TABLE report_delta IN EXCLUSIVE MODE;
    DELETE FROM report_delta;
    DELETE FROM report_rollup;
    INSERT INTO report_rollup (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n)
    SELECT k.*, count(*) FROM requests r, report_keys(r, tz) k
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;
END $$;

SELECT report_rebuild();

-- The dashboard's "due this week" and "overdue" read the partial queue
-- index (due_on); its counts by kind and law read this one.
CREATE INDEX requests_open_kind_regime_idx ON requests (kind, regime, status, due_on)
    WHERE status IN ('pending_triage', 'pending_verification', 'open', 'in_progress', 'awaiting_requester');
