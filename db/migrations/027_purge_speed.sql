-- Issue #14 §1: the retention purge at 1,000,000 closed requests in
-- at most 60 s (BENCHMARKS.md "Retention purge").
--
-- report_track (migration 022) runs without JIT, and plans its UPDATE
-- query for each statement. plpgsql cached the plan of that query from
-- the first UPDATE of requests in a session, sized for that statement's
-- transition tables: after a 10,000-row update (estimated at 500,000
-- joined rows, over jit_above_cost) every later update of the session,
-- one row included, compiled JIT code for about 1 s; after a one-row
-- update, the cached nested loop took 52 s to join the transition
-- tables of a 10,000-row update (measured on 100,000 requests).
--
-- It also skips an UPDATE statement run while the transaction-local
-- setting dsrdesk.report_unchanged is 'on': the caller's promise that
-- the statement changes none of the columns the reports count (status,
-- outcome, closed_at, due_on, received_on, extensions, paused_days,
-- paused_since, assignee_id, kind, regime, deny_reason). Only the purge
-- sets it, around its one UPDATE of requests (purged_at, details,
-- fields), and clears it right after (db.PurgeRequests); the
-- statement-level trigger cannot be given a column list instead
-- (PostgreSQL refuses column lists on triggers with transition tables).
CREATE OR REPLACE FUNCTION report_track() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    tz text := (SELECT time_zone FROM report_settings);
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('dsrdesk.report_unchanged', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO report_delta (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n)
        SELECT k.*, count(*) FROM report_new r, report_keys(r, tz) k
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO report_delta (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n)
        SELECT k.*, -count(*) FROM report_old r, report_keys(r, tz) k
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11;
    ELSE
        -- Only the requests whose report dimensions changed. Run through
        -- EXECUTE, so planned for this statement's transition tables: a
        -- plan cached by plpgsql for the first statement of a session
        -- fitted that one's size, and a nested loop kept from a one-row
        -- update joined a later 10,000-row update's tables in 52 s.
        EXECUTE $q$
        WITH d AS (
            SELECT k.*, -1 AS n FROM report_old o JOIN report_new n ON n.id = o.id, report_keys(o, $1) k
            WHERE (o.status, o.outcome, o.closed_at, o.due_on, o.received_on, o.extensions, o.paused_days,
                   o.paused_since IS NULL, o.assignee_id, o.kind, o.regime, o.deny_reason)
                  IS DISTINCT FROM
                  (n.status, n.outcome, n.closed_at, n.due_on, n.received_on, n.extensions, n.paused_days,
                   n.paused_since IS NULL, n.assignee_id, n.kind, n.regime, n.deny_reason)
            UNION ALL
            SELECT k.*, 1 FROM report_old o JOIN report_new n ON n.id = o.id, report_keys(n, $1) k
            WHERE (o.status, o.outcome, o.closed_at, o.due_on, o.received_on, o.extensions, o.paused_days,
                   o.paused_since IS NULL, o.assignee_id, o.kind, o.regime, o.deny_reason)
                  IS DISTINCT FROM
                  (n.status, n.outcome, n.closed_at, n.due_on, n.received_on, n.extensions, n.paused_days,
                   n.paused_since IS NULL, n.assignee_id, n.kind, n.regime, n.deny_reason)
        )
        INSERT INTO report_delta (grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, n)
        SELECT grain, period, regime, kind, result, reason, days, on_time, extended, paused, assignee_id, sum(n)
        FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 HAVING sum(n) <> 0
        $q$ USING tz;
    END IF;
    RETURN NULL;
END $$;

-- requests_requester_idx (requester_id) is a prefix of
-- requests_requester_kind_idx (requester_id, kind, received_at, migration
-- 020), which serves every lookup by requester: one index fewer to write
-- on each new row version of a request.
DROP INDEX requests_requester_idx;

-- The purge looks up, for each agent of a batch, whether an unpurged
-- request still names it (partial on purged_at IS NULL, so the agent
-- queue keeps reading requests_agent_queue_idx), and deletes a batch's
-- stored answers by request.
CREATE INDEX requests_unpurged_agent_idx ON requests (agent_id) WHERE agent_id IS NOT NULL AND purged_at IS NULL;
CREATE INDEX idempotency_keys_request_idx ON idempotency_keys (request_id);
