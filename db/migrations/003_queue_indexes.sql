-- Queue filters that select a small share of the open requests get an
-- index in queue order, so a page reads about a page of index entries.
DROP INDEX requests_status_idx;
CREATE INDEX requests_status_due_idx ON requests (status, due_on, ref);
CREATE INDEX requests_assignee_queue_idx ON requests (assignee_id, due_on, ref)
    WHERE status IN ('pending_verification', 'open', 'in_progress', 'awaiting_requester');
CREATE INDEX requests_agent_queue_idx ON requests (due_on, ref)
    WHERE agent_id IS NOT NULL AND status IN ('pending_verification', 'open', 'in_progress', 'awaiting_requester');
