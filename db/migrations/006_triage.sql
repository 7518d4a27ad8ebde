-- Requests by email start in pending_triage, which is an open status: the
-- partial indexes of the officer queue list the open statuses literally,
-- so they are rebuilt with it (db/queue.go openStatusSQL and
-- workflow/sweep.go openStatuses use the same list, in the same order).
DROP INDEX requests_queue_idx;
CREATE INDEX requests_queue_idx ON requests (due_on, ref)
    WHERE status IN ('pending_triage', 'pending_verification', 'open', 'in_progress', 'awaiting_requester');
DROP INDEX requests_assignee_queue_idx;
CREATE INDEX requests_assignee_queue_idx ON requests (assignee_id, due_on, ref)
    WHERE status IN ('pending_triage', 'pending_verification', 'open', 'in_progress', 'awaiting_requester');
DROP INDEX requests_agent_queue_idx;
CREATE INDEX requests_agent_queue_idx ON requests (due_on, ref)
    WHERE agent_id IS NOT NULL AND status IN ('pending_triage', 'pending_verification', 'open', 'in_progress', 'awaiting_requester');
